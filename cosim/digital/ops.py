"""Dense, per-channel and elementwise digital ops, and the name -> class registry :data:`OPS`.

Per-channel ops (:class:`BatchNorm`, :class:`GainOffset`) act on axis 1 of ``(B, C)`` or ``(B, C, H, W)``.
"""

from __future__ import annotations

import inspect
from math import prod

import numpy as np

from cosim.digital.base import Op, OpCost, channel_axes, per_channel, positive_int, uniform_init
from cosim.digital.conv import AvgPool2d, Conv2d, MaxPool2d
from cosim.errors import ParameterError
from cosim.threads import matmul


class Linear(Op):
    """``y = x W + b`` for ``x`` ``(B, in_features)``; weight ``(in_features, out_features)``, bias ``(out,)``."""

    def __init__(
        self, in_features: int, out_features: int, rng: np.random.Generator, bias: bool = True, dtype=np.float64
    ):
        super().__init__(dtype)
        self.in_features = positive_int(in_features, "Linear in_features")
        self.out_features = positive_int(out_features, "Linear out_features")
        self.params["weight"] = uniform_init(rng, (self.in_features, self.out_features), self.in_features, self.dtype)
        if bias:
            self.params["bias"] = uniform_init(rng, (self.out_features,), self.in_features, self.dtype)

    def output_shape(self, input_shape):
        if tuple(input_shape) != (self.in_features,):
            raise ParameterError(
                f"Linear: expects per-sample shape ({self.in_features},), got {tuple(input_shape)} "
                "(insert a Flatten before it for image inputs)"
            )
        return (self.out_features,)

    def _forward(self, x, training):
        self._x = x
        y = matmul(x, self.params["weight"])
        if "bias" in self.params:
            y += self.params["bias"]
        return y

    def _backward(self, grad_y):
        self._parameter_gradients(grad_y)
        return matmul(grad_y, self.params["weight"].T)

    def _parameter_gradients(self, grad_y):
        self.grads["weight"] = matmul(self._x.T, grad_y)
        if "bias" in self.params:
            self.grads["bias"] = grad_y.sum(axis=0)

    def _macs(self, input_shape, batch):
        macs = batch * self.in_features * self.out_features
        return macs, 2 * macs


class _PerChannel(Op):
    """An op applying length-C vectors along axis 1; per-sample inputs ``(C, ...)`` with ``allowed_ndims`` axes."""

    allowed_ndims: tuple[int, ...] = (1, 2, 3)

    def __init__(self, num_features: int, dtype):
        super().__init__(dtype)
        self.num_features = positive_int(num_features, f"{self.name} num_features")

    def output_shape(self, input_shape):
        if len(input_shape) not in self.allowed_ndims or input_shape[0] != self.num_features:
            raise ParameterError(
                f"{self.name}: expects per-sample shape ({self.num_features}, ...) with "
                f"{' or '.join(map(str, self.allowed_ndims))} axes, got {tuple(input_shape)}"
            )
        return tuple(input_shape)


class BatchNorm(_PerChannel):
    """Batch normalisation over all axes but 1, for ``(B, C)`` or ``(B, C, H, W)``; gamma, beta ``(C,)``.

    Training normalises with the batch's mean and (biased) variance and moves ``running_mean`` and
    ``running_var`` (unbiased) towards them by ``momentum``; evaluation uses the running statistics.
    MACs per element: 4 forward (mean, variance, normalise, scale), 6 backward.
    """

    allowed_ndims = (1, 3)
    MACS_PER_ELEMENT = (4, 6)

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5, dtype=np.float64):
        super().__init__(num_features, dtype)
        if not 0.0 <= momentum <= 1.0:
            raise ParameterError(f"BatchNorm momentum must lie in [0, 1], got {momentum}")
        if not eps > 0.0:
            raise ParameterError(f"BatchNorm eps must be positive, got {eps}")
        self.momentum, self.eps = float(momentum), float(eps)
        self.params["gamma"] = np.ones(self.num_features, dtype=self.dtype)
        self.params["beta"] = np.zeros(self.num_features, dtype=self.dtype)
        self.running_mean = self.buffers["running_mean"] = np.zeros(self.num_features, dtype=self.dtype)
        self.running_var = self.buffers["running_var"] = np.ones(self.num_features, dtype=self.dtype)

    def _forward(self, x, training):
        axes = channel_axes(x.ndim)
        if training:
            count = x.size // self.num_features
            if count < 2:
                raise ParameterError("BatchNorm: training needs more than one value per channel (batch of 1?)")
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            self.running_mean += self.momentum * (mean - self.running_mean)
            self.running_var += self.momentum * (var * (count / (count - 1)) - self.running_var)
        else:
            mean, var = self.running_mean, self.running_var
        self._training = training
        self._inv_std = per_channel(1.0 / np.sqrt(var + self.eps), x.ndim)
        self._x_hat = (x - per_channel(mean, x.ndim)) * self._inv_std
        return self._x_hat * per_channel(self.params["gamma"], x.ndim) + per_channel(self.params["beta"], x.ndim)

    def _backward(self, grad_y):
        axes = channel_axes(grad_y.ndim)
        self.grads["gamma"] = (grad_y * self._x_hat).sum(axis=axes)
        self.grads["beta"] = grad_y.sum(axis=axes)
        grad_x_hat = grad_y * per_channel(self.params["gamma"], grad_y.ndim)
        if not self._training:
            return grad_x_hat * self._inv_std
        mean_grad = grad_x_hat.mean(axis=axes, keepdims=True)
        mean_grad_x_hat = (grad_x_hat * self._x_hat).mean(axis=axes, keepdims=True)
        return (grad_x_hat - mean_grad - self._x_hat * mean_grad_x_hat) * self._inv_std


class GainOffset(_PerChannel):
    """``y = gain * x + offset`` per feature (axis 1): the digital rescale between analog blocks.

    ``gain``, ``offset``: scalars or length-``num_features`` arrays (dimensionless, units of x). With
    ``learnable=False`` they are fixed (in ``levels``) and ``params`` is empty; else ``params`` is ``levels``.
    MACs per element: 1 forward, 2 backward.
    """

    MACS_PER_ELEMENT = (1, 2)

    def __init__(self, num_features: int, gain=1.0, offset=0.0, learnable: bool = False, dtype=np.float64):
        super().__init__(num_features, dtype)
        try:
            self.levels = {
                name: np.broadcast_to(np.asarray(value, dtype=self.dtype), (self.num_features,)).copy()
                for name, value in (("gain", gain), ("offset", offset))
            }
        except ValueError as err:
            raise ParameterError(f"GainOffset: gain and offset must be scalars or length {num_features}") from err
        self.learnable = bool(learnable)
        if self.learnable:
            self.params = self.levels

    def _forward(self, x, training):
        self._x = x
        return x * per_channel(self.levels["gain"], x.ndim) + per_channel(self.levels["offset"], x.ndim)

    def _backward(self, grad_y):
        if self.learnable:
            axes = channel_axes(grad_y.ndim)
            self.grads["gain"] = (grad_y * self._x).sum(axis=axes)
            self.grads["offset"] = grad_y.sum(axis=axes)
        return grad_y * per_channel(self.levels["gain"], grad_y.ndim)

    def _weight_elements(self):
        return 2 * self.num_features


class _Elementwise(Op):
    """``y = f(x)`` elementwise with ``grad_x = grad_y * f'(x)``; subclasses give ``_f`` and ``_df(x, y)``."""

    def _forward(self, x, training):
        self._x = x
        self._y = self._f(x)
        return self._y

    def _backward(self, grad_y):
        return grad_y * self._df(self._x, self._y)


class ReLU(_Elementwise):
    """``max(x, 0)``."""

    def _f(self, x):
        return np.maximum(x, 0)

    def _df(self, x, y):
        return x > 0


class HardTanh(_Elementwise):
    """``clip(x, lo, hi)``; gradient 1 strictly inside (lo, hi), else 0."""

    def __init__(self, lo: float = -1.0, hi: float = 1.0):
        super().__init__()
        if not lo < hi:
            raise ParameterError(f"HardTanh needs lo < hi, got lo={lo}, hi={hi}")
        self.lo, self.hi = float(lo), float(hi)

    def _f(self, x):
        return np.clip(x, self.lo, self.hi)

    def _df(self, x, y):
        return (x > self.lo) & (x < self.hi)


class _FromOutput(_Elementwise):
    """An elementwise op whose derivative is a function of its output; backward: 2 MACs/element."""

    MACS_PER_ELEMENT = (0, 2)

    def _cached_elements(self, n_in, n_out):
        return n_out


class Sigmoid(_FromOutput):
    """``1 / (1 + exp(-x))``, computed as ``(1 + tanh(x / 2)) / 2`` to avoid overflow."""

    def _f(self, x):
        return 0.5 * (1 + np.tanh(0.5 * x))

    def _df(self, x, y):
        return y * (1 - y)


class Tanh(_FromOutput):
    """``tanh(x)``."""

    def _f(self, x):
        return np.tanh(x)

    def _df(self, x, y):
        return 1 - y * y


class _View(Op):
    """An op that only re-labels its input's memory: it moves no bytes and does no MACs."""

    def cost(self, input_shape, batch, itemsize=4):
        self.output_shape(input_shape)
        return OpCost()


class Identity(_View):
    """``y = x``."""

    def _forward(self, x, training):
        return x

    def _backward(self, grad_y):
        return grad_y


class Flatten(_View):
    """``(B, *shape)`` -> ``(B, prod(shape))``."""

    def output_shape(self, input_shape):
        return (prod(input_shape),)

    def _forward(self, x, training):
        self._x_shape = x.shape
        return x.reshape(len(x), -1)

    def _backward(self, grad_y):
        return grad_y.reshape(self._x_shape)


OPS: dict[str, type[Op]] = {
    "linear": Linear,
    "conv2d": Conv2d,
    "maxpool2d": MaxPool2d,
    "avgpool2d": AvgPool2d,
    "batchnorm": BatchNorm,
    "flatten": Flatten,
    "relu": ReLU,
    "hardtanh": HardTanh,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "identity": Identity,
    "gainoffset": GainOffset,
}


def make_op(kind: str, **kwargs) -> Op:
    """Build the op registered as ``kind`` in :data:`OPS` with constructor arguments ``kwargs``."""
    if kind not in OPS:
        raise ParameterError(f"unknown digital op {kind!r}; valid kinds: {', '.join(sorted(OPS))}")
    cls = OPS[kind]
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as err:
        raise ParameterError(f"op {kind!r}: {err}; arguments are {inspect.signature(cls)}") from err
    return cls(**kwargs)

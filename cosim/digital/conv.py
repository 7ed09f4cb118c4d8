"""Spatial ops on NCHW batches: :class:`Conv2d` (im2col + one GEMM), :class:`MaxPool2d`, :class:`AvgPool2d`.

Shapes: ``x`` is ``(B, C, H, W)``; an output side is ``(H + 2 * padding - kernel) // stride + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cosim.digital.base import Op, positive_int, uniform_init
from cosim.digital.kernels import maxpool_backward, maxpool_forward
from cosim.errors import ParameterError


def _pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """``value`` (an int or a pair of ints, each >= ``minimum``) as a pair of ints."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    integers = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)
    if len(pair) != 2 or not integers or min(pair) < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


@dataclass(frozen=True)
class Window:
    """Sliding-window geometry (pixels): kernel, stride and zero padding, each (rows, columns)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int] = (0, 0)

    def output_hw(self, height: int, width: int, op_name: str) -> tuple[int, int]:
        """Output (rows, columns) for an input of ``height`` x ``width``; ParameterError if none fits."""
        padded = (height + 2 * self.padding[0], width + 2 * self.padding[1])
        if padded[0] < self.kernel[0] or padded[1] < self.kernel[1]:
            raise ParameterError(
                f"{op_name}: kernel {self.kernel} is larger than the padded input {padded} "
                f"(input {height}x{width}, padding {self.padding})"
            )
        return tuple((n - k) // s + 1 for n, k, s in zip(padded, self.kernel, self.stride))

    def im2col(self, x: np.ndarray) -> np.ndarray:
        """Read-only view ``(B, C, Ho, Wo, kh, kw)`` of the windows of ``x`` ``(B, C, H, W)``."""
        (ph, pw), (sh, sw) = self.padding, self.stride
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        return sliding_window_view(x, self.kernel, axis=(2, 3))[:, :, ::sh, ::sw]

    def col2im(self, cols: np.ndarray, x_shape: tuple) -> np.ndarray:
        """Adjoint of :meth:`im2col`: sums ``cols`` ``(B, C, Ho, Wo, kh, kw)`` into an array of ``x_shape``."""
        (ph, pw), (sh, sw) = self.padding, self.stride
        batch, channels, height, width = x_shape
        out_h, out_w = cols.shape[2:4]
        grad = np.zeros((batch, channels, height + 2 * ph, width + 2 * pw), dtype=cols.dtype)
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                grad[:, :, i : i + sh * (out_h - 1) + 1 : sh, j : j + sw * (out_w - 1) + 1 : sw] += cols[..., i, j]
        return grad[:, :, ph : ph + height, pw : pw + width]


class _Spatial(Op):
    """An op sliding a :class:`Window` over ``(C, H, W)`` samples; ``channels_in=None`` accepts any C."""

    def __init__(self, window: Window, channels_in: int | None, channels_out: int | None, dtype=None):
        super().__init__(dtype)
        self.window = window
        self._channels = (channels_in, channels_out)

    def output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3:
            raise ParameterError(f"{self.name}: expects per-sample shape (C, H, W), got {tuple(input_shape)}")
        channels_in, channels_out = self._channels
        if channels_in is not None and input_shape[0] != channels_in:
            raise ParameterError(f"{self.name}: expects {channels_in} input channels, got {input_shape[0]}")
        out_h, out_w = self.window.output_hw(input_shape[1], input_shape[2], self.name)
        return (input_shape[0] if channels_out is None else channels_out, out_h, out_w)


class Conv2d(_Spatial):
    """2-D convolution (cross-correlation, as in PyTorch); weight ``(C_out, C_in, kh, kw)``, bias ``(C_out,)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        rng: np.random.Generator,
        stride=1,
        padding=0,
        bias: bool = True,
        dtype=np.float64,
    ):
        in_channels = positive_int(in_channels, "Conv2d in_channels")
        out_channels = positive_int(out_channels, "Conv2d out_channels")
        kernel, stride = _pair(kernel_size, "Conv2d kernel_size"), _pair(stride, "Conv2d stride")
        window = Window(kernel, stride, _pair(padding, "Conv2d padding", minimum=0))
        super().__init__(window, in_channels, out_channels, dtype)
        fan_in = in_channels * prod(window.kernel)
        self.params["weight"] = uniform_init(rng, (out_channels, in_channels, *window.kernel), fan_in, self.dtype)
        if bias:
            self.params["bias"] = uniform_init(rng, (out_channels,), fan_in, self.dtype)

    def _forward(self, x, training):
        windows = self.window.im2col(x)
        batch, _, out_h, out_w = windows.shape[:4]
        self._x_shape = x.shape
        self._cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(batch * out_h * out_w, -1)
        weight = self.params["weight"]
        y = self._cols @ weight.reshape(len(weight), -1).T
        if "bias" in self.params:
            y += self.params["bias"]
        return np.ascontiguousarray(y.reshape(batch, out_h, out_w, -1).transpose(0, 3, 1, 2))

    def _backward(self, grad_y):
        batch, channels_out, out_h, out_w = grad_y.shape
        weight = self.params["weight"]
        grad_2d = grad_y.transpose(0, 2, 3, 1).reshape(-1, channels_out)
        self.grads["weight"] = (grad_2d.T @ self._cols).reshape(weight.shape)
        if "bias" in self.params:
            self.grads["bias"] = grad_2d.sum(axis=0)
        grad_cols = (grad_2d @ weight.reshape(channels_out, -1)).reshape(batch, out_h, out_w, *weight.shape[1:])
        return self.window.col2im(grad_cols.transpose(0, 3, 1, 2, 4, 5), self._x_shape)

    def _macs(self, input_shape, batch):
        macs = batch * prod(self.output_shape(input_shape)) * prod(self.params["weight"].shape[1:])
        return macs, 2 * macs


class _Pool2d(_Spatial):
    """A pooling op: per-channel reduction over ``kernel_size`` windows, stride defaulting to the kernel."""

    def __init__(self, kernel_size, stride=None):
        kernel = _pair(kernel_size, f"{self.name} kernel_size")
        stride = kernel if stride is None else _pair(stride, f"{self.name} stride")
        super().__init__(Window(kernel, stride), None, None)


class MaxPool2d(_Pool2d):
    """Max pooling (Numba kernels); backward routes each output's gradient to its window's first maximum."""

    def _forward(self, x, training):
        self._x_shape = x.shape
        y, self._argmax = maxpool_forward(x, *self.window.kernel, *self.window.stride)
        return y

    def _backward(self, grad_y):
        grad_x = np.zeros(self._x_shape, dtype=grad_y.dtype)
        return maxpool_backward(grad_y, self._argmax, self.window.kernel[1], *self.window.stride, grad_x)

    def _cached_elements(self, n_in, n_out):
        return n_out


class AvgPool2d(_Pool2d):
    """Average pooling; MACs count one accumulate per window element, forward and backward."""

    def _forward(self, x, training):
        self._x_shape = x.shape
        windows = self.window.im2col(x)
        return sum(windows[..., i, j] for i, j in np.ndindex(self.window.kernel)) / prod(self.window.kernel)

    def _backward(self, grad_y):
        share = (grad_y / prod(self.window.kernel))[..., None, None]
        return self.window.col2im(np.broadcast_to(share, grad_y.shape + self.window.kernel), self._x_shape)

    def _macs(self, input_shape, batch):
        macs = batch * prod(self.output_shape(input_shape)) * prod(self.window.kernel)
        return macs, macs

    def _cached_elements(self, n_in, n_out):
        return 0

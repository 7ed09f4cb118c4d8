"""Convolutional deep Hopfield networks: the energy blocks of the seed papers' conv ff-EBMs.

The same energy as :mod:`cosim.analog.hopfield.network` with each coupling matrix replaced by a linear
operator ``K_l`` (:mod:`cosim.analog.hopfield.conv`: a convolution then average pooling, or dense)::

    E(s) = 1/2 sum_{m>=1} |s_m|^2 - sum_{l>=0} s_{l+1} . K_l s_l - sum_{m>=1} b_m . s_m,   0 <= s_m <= 1

Layer 0 is clamped to the block input, a (C, H, W) image; layers 1..L are feature maps (or, after a dense
coupling, vectors) of states bounded in [0, 1] (the hard sigmoid of the papers). Biases are one per
channel of a feature map (one per unit of a vector layer). Layers couple only to their neighbours and
each state's own curvature is 1, so the odd/even fixed point ``s_m <- clip(K_{m-1} s_{m-1} +
K_m^T s_{m+1} + b_m, 0, 1)`` is exact block descent, and the energy, solver, gradients and block of the
dense wing serve unchanged: they see the couplings only through ``couple``/``couple_transpose``/
``coupling_gradient``/``bias_field``/``bias_gradient``. States are flat rows in height-width-channel order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog.hopfield.conv import ConvCoupling, DenseCoupling
from cosim.analog.hopfield.network import HopfieldNetwork, _frozen, checked_weights
from cosim.errors import ParameterError


@dataclass(frozen=True)
class ConvLayer:
    """A feature-map layer reached by a convolution (square kernel, px) and average pooling (q x q)."""

    channels: int
    kernel: int = 3
    stride: int = 1
    padding: int = 1
    pool: int = 1


@dataclass(frozen=True)
class DenseLayer:
    """A vector layer reached by a dense coupling (the classifier layer of a conv network)."""

    units: int


def _coupling(in_shape: tuple, layer) -> ConvCoupling | DenseCoupling:
    if isinstance(layer, DenseLayer):
        return DenseCoupling(in_shape, layer.units)
    return ConvCoupling(in_shape, layer.channels, layer.kernel, layer.stride, layer.padding, layer.pool)


class ConvHopfieldNetwork(HopfieldNetwork):
    """A Hopfield network of feature maps: ``input_shape`` (C, H, W), then one layer per item of ``layers``
    (:class:`ConvLayer` or :class:`DenseLayer`; a convolution cannot follow a dense layer).

    weights[l]: (k, k, C_l, C_{l+1}) for a convolution, (n_l, n_{l+1}) for a dense coupling; biases[m - 1]:
    (C_m,) or (n_m,). dtype: float64 (validation) or float32 (speed).
    """

    def __init__(self, input_shape: tuple, layers, weights, biases=None, dtype=np.float64):
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError(f"dtype must be float32 or float64, got {self.dtype}")
        if len(layers) < 1:
            raise ParameterError("a convolutional Hopfield network needs at least one layer above its input")
        self.input_shape, self.layers = tuple(int(v) for v in input_shape), tuple(layers)
        self.couplings, shape = [], self.input_shape
        for l, layer in enumerate(self.layers):
            if isinstance(layer, ConvLayer) and len(shape) != 3:
                raise ParameterError(f"layers[{l}]: a convolution cannot follow a dense layer")
            self.couplings.append(_coupling(shape, layer))
            shape = self.couplings[-1].out_shape
        self.shapes = (self.input_shape, *(c.out_shape for c in self.couplings))
        self.sizes = tuple(int(np.prod(s)) for s in self.shapes)
        self.set_weights(weights)
        self.set_biases([np.zeros(c.bias_shape) for c in self.couplings] if biases is None else biases)

    @classmethod
    def initialised(cls, input_shape: tuple, layers, rng: np.random.Generator, weight_scale: float = 1.0,
                    bias: float = 0.0, dtype=np.float64) -> "ConvHopfieldNetwork":
        """Weights uniform in +-weight_scale / sqrt(fan-in) (fan-in: kernel^2 x channels), biases ``bias``."""
        couplings, shape = [], tuple(input_shape)
        for layer in layers:
            couplings.append(_coupling(shape, layer))
            shape = couplings[-1].out_shape
        weights = [rng.uniform(-1, 1, c.weight_shape) * weight_scale / np.sqrt(c.fan_in) for c in couplings]
        biases = [np.full(c.bias_shape, bias) for c in couplings]
        return cls(input_shape, layers, weights, biases, dtype)

    def set_weights(self, weights) -> None:
        self.weights = checked_weights(weights, [c.weight_shape for c in self.couplings], self.dtype)

    def set_biases(self, biases) -> None:
        if len(biases) != self.n_layers:
            raise ParameterError(f"expected {self.n_layers} bias arrays (layers 1..L), got {len(biases)}")
        checked = []
        for m, (b, coupling) in enumerate(zip(biases, self.couplings), start=1):
            b = np.broadcast_to(np.asarray(b, dtype=np.float64), coupling.bias_shape)
            if not np.isfinite(b).all():
                raise ParameterError(f"biases[{m - 1}] (layer {m}) must be finite")
            checked.append(_frozen(b.astype(self.dtype)))
        self.biases = tuple(checked)

    # ------------------------------------------------------------------ the coupling operators
    def couple(self, l: int, s: np.ndarray) -> np.ndarray:
        return self.couplings[l].forward(self.weights[l], s)

    def couple_transpose(self, l: int, s: np.ndarray) -> np.ndarray:
        return self.couplings[l].transpose(self.weights[l], s)

    def coupling_gradient(self, l: int, below: np.ndarray, above: np.ndarray) -> np.ndarray:
        return self.couplings[l].weight_gradient(below, above)

    def bias_field(self, m: int) -> np.ndarray:
        """Per-channel biases repeated over the pixels (channel index fastest)."""
        b = self.biases[m - 1]
        return np.tile(b, self.sizes[m] // b.size)

    def bias_gradient(self, m: int, s: np.ndarray) -> np.ndarray:
        return s.reshape(-1, self.biases[m - 1].size).sum(axis=0)

    def macs_per_sweep(self) -> int:
        """Multiply-accumulates of one product K s through every coupling, per sample (a sweep does each
        coupling once forward and once transposed: twice this)."""
        total = 0
        for c in self.couplings:
            out = c.conv_hw[0] * c.conv_hw[1] * c.weight_shape[-1] if isinstance(c, ConvCoupling) else c.out_shape[0]
            total += out * c.fan_in
        return total

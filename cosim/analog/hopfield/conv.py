"""Couplings between feature maps as linear operators: a convolution followed by average pooling, or dense.

States are flat rows ``(B, n)`` in height-width-channel order (``n = H * W * C``; the channel index runs
fastest), so the relaxations see a convolutional layer exactly like a dense one. A coupling ``K`` maps the
lower layer to the drive of the upper one, ``K s_l``; its transpose carries the upper layer back down. The
energy term of a coupling is ``- s_{l+1} . K s_l`` with

    K s = AvgPool_q( W * s )      (``*``: cross-correlation with stride and zero padding, as in CNNs)

Average pooling over non-overlapping ``q x q`` windows is linear, so ``K`` is linear, the energy stays a
quadratic form in the states and its layer-wise minimiser a clip (exact block descent); the transpose
spreads each pooled value evenly over its window (``/ q^2``) and scatters it back through the kernel.

Both directions are one GEMM on an im2col matrix; the padded image, the column matrix and the scatter
target are buffers kept per (batch, dtype) and reused across the many products of a relaxation.
"""

from __future__ import annotations

import numpy as np

from cosim.errors import ParameterError


class DenseCoupling:
    """A fully connected coupling from a layer of ``in_size`` units (any shape, flattened) to ``out_size``."""

    def __init__(self, in_shape: tuple, out_size: int):
        self.in_shape, self.out_shape = tuple(in_shape), (int(out_size),)
        self.fan_in = int(np.prod(in_shape))
        self.weight_shape = (self.fan_in, int(out_size))
        self.bias_shape = (int(out_size),)

    def forward(self, w: np.ndarray, s: np.ndarray) -> np.ndarray:
        return s @ w

    def transpose(self, w: np.ndarray, s: np.ndarray) -> np.ndarray:
        return s @ w.T

    def weight_gradient(self, below: np.ndarray, above: np.ndarray) -> np.ndarray:
        return below.T @ above


class ConvCoupling:
    """A 2-D convolution (square kernel, stride, zero padding) then average pooling over ``pool x pool``
    windows, from feature maps ``in_shape = (C, H, W)`` to ``out_shape = (out_channels, H', W')``.

    Weights: ``(kernel, kernel, C, out_channels)``; biases, one per output channel.
    """

    def __init__(self, in_shape: tuple, out_channels: int, kernel: int, stride: int = 1, padding: int = 0,
                 pool: int = 1):
        if len(in_shape) != 3:
            raise ParameterError(f"a convolutional coupling needs (channels, height, width) input, got {in_shape}")
        c, h, w = (int(v) for v in in_shape)
        self.kernel, self.stride, self.padding, self.pool = int(kernel), int(stride), int(padding), int(pool)
        if min(self.kernel, self.stride, self.pool, out_channels) < 1 or self.padding < 0:
            raise ParameterError("kernel, stride, pool and out_channels must be >= 1 and padding >= 0")
        self.conv_hw = tuple((side + 2 * self.padding - self.kernel) // self.stride + 1 for side in (h, w))
        if min(self.conv_hw) < 1:
            raise ParameterError(f"a {self.kernel}x{self.kernel} kernel does not fit a {h}x{w} map padded by "
                                 f"{self.padding}")
        if self.conv_hw[0] % self.pool or self.conv_hw[1] % self.pool:
            raise ParameterError(f"{self.pool}x{self.pool} pooling needs the convolution output "
                                 f"{self.conv_hw[0]}x{self.conv_hw[1]} to be a multiple of {self.pool}")
        self.in_shape = (c, h, w)
        self.out_shape = (int(out_channels), self.conv_hw[0] // self.pool, self.conv_hw[1] // self.pool)
        self.fan_in = self.kernel * self.kernel * c
        self.weight_shape = (self.kernel, self.kernel, c, int(out_channels))
        self.bias_shape = (int(out_channels),)
        self._buffers: dict = {}

    # ------------------------------------------------------------------ buffers
    def _buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        key = (name, shape, np.dtype(dtype))
        if key not in self._buffers:
            self._buffers[key] = np.zeros(shape, dtype=dtype)
        return self._buffers[key]

    def _padded_shape(self, batch: int) -> tuple:
        c, h, w = self.in_shape
        return (batch, h + 2 * self.padding, w + 2 * self.padding, c)

    def _taps(self):
        """(kernel row, kernel column, the strided window of the padded image each tap reads)."""
        (ho, wo), st = self.conv_hw, self.stride
        for i in range(self.kernel):
            for j in range(self.kernel):
                yield i, j, (slice(None), slice(i, i + st * (ho - 1) + 1, st), slice(j, j + st * (wo - 1) + 1, st))

    def columns(self, s: np.ndarray) -> np.ndarray:
        """im2col: (B * H_c * W_c, kernel^2 * C) patches of flat states s (B, H * W * C); a reused buffer."""
        batch, (c, h, w), p = s.shape[0], self.in_shape, self.padding
        padded = self._buffer("padded", self._padded_shape(batch), s.dtype)
        padded[:, p:p + h, p:p + w, :] = s.reshape(batch, h, w, c)
        cols = self._buffer("columns", (batch, *self.conv_hw, self.kernel, self.kernel, c), s.dtype)
        for i, j, window in self._taps():
            cols[:, :, :, i, j, :] = padded[window]
        return cols.reshape(-1, self.fan_in)

    # ------------------------------------------------------------------ pooling
    def _pool(self, y: np.ndarray, batch: int) -> np.ndarray:
        q, (ho, wo), co = self.pool, self.out_shape[1:], self.out_shape[0]
        if q == 1:
            return y.reshape(batch, -1)
        return y.reshape(batch, ho, q, wo, q, co).mean(axis=(2, 4)).reshape(batch, -1)

    def _unpool(self, s: np.ndarray) -> np.ndarray:
        """The transpose of average pooling: each value / q^2 over its window; (B * H_c * W_c, out_channels)."""
        q, (co, ho, wo) = self.pool, self.out_shape
        if q == 1:
            return s.reshape(-1, co)
        spread = np.broadcast_to(s.reshape(-1, ho, 1, wo, 1, co) / (q * q), (s.shape[0], ho, q, wo, q, co))
        return spread.reshape(-1, co)

    # ------------------------------------------------------------------ the operator
    def forward(self, w: np.ndarray, s: np.ndarray) -> np.ndarray:
        """K s: (B, n_in) -> (B, n_out)."""
        return self._pool(self.columns(s) @ w.reshape(self.fan_in, -1), s.shape[0])

    def transpose(self, w: np.ndarray, s: np.ndarray) -> np.ndarray:
        """K^T s: (B, n_out) -> (B, n_in), col2im of the back-projected columns."""
        batch, (c, h, w_), p = s.shape[0], self.in_shape, self.padding
        cols = (self._unpool(s) @ w.reshape(self.fan_in, -1).T).reshape(batch, *self.conv_hw, self.kernel,
                                                                           self.kernel, c)
        image = self._buffer("scatter", self._padded_shape(batch), cols.dtype)
        image.fill(0)
        for i, j, window in self._taps():
            image[window] += cols[:, :, :, i, j, :]
        return image[:, p:p + h, p:p + w_, :].reshape(batch, -1)

    def weight_gradient(self, below: np.ndarray, above: np.ndarray) -> np.ndarray:
        """d/dW of sum_batch above . K below = columns(below)^T unpool(above), shaped like the weights."""
        return (self.columns(below).T @ self._unpool(above)).reshape(self.weight_shape)

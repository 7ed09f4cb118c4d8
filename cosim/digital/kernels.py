"""Numba kernels for the digital ops; arrays in, arrays out, no checks (the op classes check).

Layout: ``x`` ``(B, C, H, W)``, outputs ``(B, C, Ho, Wo)``; ``argmax`` holds the flat offset ``u * kw + v``
of each window's first maximum.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def maxpool_forward(x, kh, kw, sh, sw):
    """Max over ``kh`` x ``kw`` windows at stride (``sh``, ``sw``): returns (y, argmax)."""
    batch, channels, height, width = x.shape
    out_h, out_w = (height - kh) // sh + 1, (width - kw) // sw + 1
    y = np.empty((batch, channels, out_h, out_w), dtype=x.dtype)
    argmax = np.empty((batch, channels, out_h, out_w), dtype=np.intp)
    for b in range(batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    best, best_at = x[b, c, i * sh, j * sw], 0
                    for u in range(kh):
                        for v in range(kw):
                            value = x[b, c, i * sh + u, j * sw + v]
                            if value > best:
                                best, best_at = value, u * kw + v
                    y[b, c, i, j] = best
                    argmax[b, c, i, j] = best_at
    return y, argmax


@numba.njit(cache=True, nogil=True)
def maxpool_backward(grad_y, argmax, kw, sh, sw, grad_x):
    """Adds each ``grad_y`` entry to ``grad_x`` (zeros, input shape) at its window's maximum; returns grad_x."""
    batch, channels, out_h, out_w = grad_y.shape
    for b in range(batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    at = argmax[b, c, i, j]
                    grad_x[b, c, i * sh + at // kw, j * sw + at % kw] += grad_y[b, c, i, j]
    return grad_x

"""One-pass Numba kernels behind :class:`~cosim.analog.devices.DeviceArray`'s writes and reads.

A write of every device (clip to the range, device gain, programming noise, clip, stuck devices) and a
noisy read (multiplicative read noise, floored at 0 S) each touch every device of a crossbar (2-D arrays), every
training step. Done with numpy that is up to ten passes and as many temporaries; these kernels do one
pass each, with the Gaussian noise drawn beforehand (in float32, into a buffer the array reuses) so the
random stream stays the caller's :class:`numpy.random.Generator`.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, error_model="numpy")
def settle(target, clip_target, gain, noise, sigma, g_min, g_max, stuck, out):
    """out = the conductances (S) held after writing ``target`` (S): ``target`` (clipped to [g_min, g_max]
    first when ``clip_target``) times ``gain``, plus ``sigma * noise``, clipped to [g_min, g_max], stuck
    devices (``stuck`` -1 / +1) pinned to g_min / g_max. ``gain``, ``noise`` and ``stuck`` may be None (no
    variability, no programming noise, no stuck devices). Returns ``out``."""
    rows, columns = out.shape
    for i in range(rows):
        for j in range(columns):
            g = np.float64(target[i, j])
            if clip_target:
                g = min(max(g, g_min), g_max)
            if gain is not None:
                g *= gain[i, j]
            if noise is not None:
                g += sigma * noise[i, j]
            g = min(max(g, g_min), g_max)
            if stuck is not None:
                g = g_min if stuck[i, j] < 0 else (g_max if stuck[i, j] > 0 else g)
            out[i, j] = g
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def noisy_read(conductances, noise, read_noise, out):
    """out = max(g * (1 + read_noise * noise), 0): the conductances (S) one solve sees. Returns ``out``."""
    rows, columns = out.shape
    for i in range(rows):
        for j in range(columns):
            out[i, j] = max(conductances[i, j] * (1.0 + read_noise * noise[i, j]), 0.0)
    return out


def standard_normal(rng: np.random.Generator, buffer: np.ndarray | None, shape: tuple) -> np.ndarray:
    """Standard Gaussian noise of ``shape`` in float32, drawn into ``buffer`` (reused when it fits)."""
    if buffer is None or buffer.shape != shape:
        buffer = np.empty(shape, np.float32)
    return rng.standard_normal(dtype=np.float32, out=buffer)

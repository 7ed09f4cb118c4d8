"""One-pass Numba kernels behind :class:`~cosim.analog.devices.DeviceArray`'s writes and reads.

A write of every device (clip to the range, device gain, programming noise, clip, stuck devices) and a
noisy read (multiplicative read noise, floored at 0 S) each touch every device of a crossbar (2-D arrays),
every training step. Done with numpy that is up to ten passes and as many temporaries; these kernels do
one pass each and draw the Gaussian noise inside the loop from the caller's
:class:`numpy.random.Generator` (Numba's implementation of ``standard_normal`` gives the very numbers, in
the very order, that ``rng.standard_normal(shape)`` gives, about 3x faster), so the random streams are
those of the plain numpy formulas.
"""

import numba


@numba.njit(cache=True, nogil=True, error_model="numpy")
def settle(target, clip_target, gain, rng, sigma, scale, g_min, g_max, stuck, out):
    """out = the conductances (S) held after writing ``target`` (S): ``target`` (clipped to [g_min, g_max]
    first when ``clip_target``) times ``gain``, plus Gaussian programming noise of std ``sigma * scale``
    (S) drawn from ``rng``, clipped to [g_min, g_max], stuck devices (``stuck`` -1 / +1) pinned to g_min /
    g_max. ``gain``, ``scale`` (per-device noise factors) and ``stuck`` may be None, and ``rng`` None
    means no programming noise. Returns ``out``."""
    rows, columns = out.shape
    for i in range(rows):
        for j in range(columns):
            g = float(target[i, j])
            if clip_target:
                g = min(max(g, g_min), g_max)
            if gain is not None:
                g *= gain[i, j]
            if rng is not None:
                spread = sigma if scale is None else sigma * scale[i, j]
                g += spread * rng.standard_normal()
            g = min(max(g, g_min), g_max)
            if stuck is not None:
                g = g_min if stuck[i, j] < 0 else (g_max if stuck[i, j] > 0 else g)
            out[i, j] = g
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def noisy_read(conductances, rng, read_noise, out):
    """out = max(g * (1 + read_noise * z), 0) with z standard Gaussian from ``rng``: the conductances (S)
    one solve sees. Returns ``out``."""
    rows, columns = out.shape
    for i in range(rows):
        for j in range(columns):
            out[i, j] = max(conductances[i, j] * (1.0 + read_noise * rng.standard_normal()), 0.0)
    return out

"""One-pass Numba kernels of the device writes and noisy reads of :class:`~cosim.analog.devices.DeviceArray`.

Each kernel does in one pass over the devices what :mod:`.array` states as numpy expressions (clip, levels,
gain, programming noise, stuck pins; pulses with or without soft bounds; multiplicative read noise), in
float64, writing into an output array of the working dtype. The Gaussians come in as ``z``: the next
standard normals of the array's stream (:class:`~cosim.analog.devices.normals.NormalStream`, numpy's numbers
in numpy's order), one per device in row-major order, or per written device for a pulsed update, so a kernel
consumes its stream exactly as ``rng.standard_normal(shape)`` did (tests/test_fast_paths.py checks every
kernel against the numpy form). The one change of semantics: a pulsed update draws programming noise only
for the devices that received pulses (the others were not written; their noise was multiplied by zero before).
"""

from __future__ import annotations

import numba
import numpy as np

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@numba.njit(inline="always")
def _settled(v, r, c, noise, g_min, g_max, stuck):
    """A written device: plus its programming ``noise`` (S), clipped to the range, stuck ones pinned."""
    v = min(max(v + noise, g_min), g_max)
    if stuck is not None:
        if stuck[r, c] < 0:
            v = g_min
        elif stuck[r, c] > 0:
            v = g_max
    return v


@numba.njit(**_JIT)
def program(target, g_min, g_max, levels, gain, sigma, z, stuck, out):
    """An exact write of every device: ``clip(target)``, rounded to ``levels`` (0: continuous), times the
    per-device ``gain`` (None: none), then settled (noise ``sigma z``, S; ``z`` None when ``sigma`` is 0).
    Each row takes its slice of ``z``: an index into the whole of ``z`` could be negative for all Numba
    knows, and its wrap-around check keeps the loop from vectorising (4x slower)."""
    span = g_max - g_min
    columns = target.shape[1]
    for r in range(target.shape[0]):
        row_z = None if z is None else z[r * columns:(r + 1) * columns]
        for c in range(columns):
            v = min(max(float(target[r, c]), g_min), g_max)
            if levels:
                v = g_min + np.rint((v - g_min) / span * (levels - 1)) / (levels - 1) * span
            if gain is not None:
                v *= gain[r, c]
            noise = 0.0 if row_z is None else sigma * row_z[c]
            out[r, c] = _settled(v, r, c, noise, g_min, g_max, stuck)


@numba.njit(**_JIT)
def pulse(g, target, step, step_up, step_down, soft, g_min, g_max, sigma, z, stuck):
    """A pulsed update in place: ``n = rint((target - g) / step)`` whole pulses per device of ``step_up`` /
    ``step_down`` (S, per device), saturating under ``soft`` bounds; a written device settles with noise
    ``sigma sqrt(|n|) z`` (the next normal of ``z`` per written device; None when ``sigma`` is 0); devices
    without pulses are left alone. Returns the pulses applied and the normals used."""
    span = g_max - g_min
    pulses = used = 0
    for r in range(g.shape[0]):
        for c in range(g.shape[1]):
            n = np.rint((target[r, c] - g[r, c]) / step)
            if n == 0.0:
                continue
            v = float(g[r, c])
            if soft:
                if n > 0:
                    v = g_max - (g_max - v) * (1.0 - min(max(step_up[r, c] / span, 0.0), 1.0)) ** n
                else:
                    v = g_min + (v - g_min) * (1.0 - min(max(step_down[r, c] / span, 0.0), 1.0)) ** -n
            else:
                v += n * (step_up[r, c] if n > 0 else step_down[r, c])
            noise = 0.0
            if z is not None:
                noise = sigma * np.sqrt(abs(n)) * z[used]
                used += 1
            g[r, c] = _settled(v, r, c, noise, g_min, g_max, stuck)
            pulses += int(abs(n))
    return pulses, used


@numba.njit(**_JIT)
def relative(g, g_max, out):
    """``max(|g| / g_max, 1e-7)``: the state as a fraction of ``g_max`` for the 1/f law (``drift._relative``)."""
    for r in range(g.shape[0]):
        for c in range(g.shape[1]):
            out[r, c] = max(abs(g[r, c]) / g_max, 1e-7)


@numba.njit(**_JIT)
def noisy_read(g, power, q, q_max, band, static, z, out):
    """One read: ``max(g (1 + s z), 0)``, ``z`` the next standard normal per device (row-major), with the relative std ``s = static`` where
    ``power`` is None, else ``s = sqrt(static^2 + (min(q power, q_max) band)^2)``: the 1/f amplitude of
    :func:`~cosim.analog.devices.drift.one_over_f_q` from ``power = (G/G_max)^-exponent`` per device, times
    ``band = sqrt(ln((t + t_read) / (2 t_read)))`` (:func:`~cosim.analog.devices.drift.one_over_f_read_noise_std`)."""
    columns = g.shape[1]
    for r in range(g.shape[0]):
        row_z = z[r * columns:(r + 1) * columns]  # a row's slice, as in :func:`program`
        for c in range(columns):
            s = static
            if power is not None:
                one_over_f = min(q * power[r, c], q_max) * band
                s = one_over_f if static == 0.0 else np.sqrt(static * static + one_over_f * one_over_f)
            out[r, c] = max(g[r, c] * (1.0 + s * row_z[c]), 0.0)

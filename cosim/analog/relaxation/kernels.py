"""Numba kernels for the node-local work of the relaxations, shared by every energy family.

The block-descent kernel updates one layer of states in place, given what its neighbours drive into
it, and returns ``(max |dv|, max |v|)`` over the layer so the caller can test convergence; the others
serve the dynamics. They take and return arrays and scalars only; tolerances, warnings and errors
belong to the strategies (:mod:`cosim.analog.relaxation`). A Hopfield layer is the case ``a = kappa = 1``,
``i_s = 0`` of the resistive one below.

Row-broadcast convention: ``source``, ``den``, ``lo`` and ``hi`` have shape ``(1, n)`` (shared by every
sample) or ``(B, n)`` (one row per sample).

Kirchhoff's current law at node ``i`` of sample ``b``::

    a * below[b, i] + kappa * above[b, i] + source[b, i] - den[b, i] * v + i_diode(v) = 0
"""

import math

import numba
import numpy as np
from numba import prange

from cosim.threads import parallel


@numba.njit(cache=True, nogil=True)
def _row(array, b):
    return b if array.shape[0] > 1 else 0


@numba.njit(cache=True, nogil=True)
def _shockley_kcl(x, den, current, lo, hi, i_s, nvt):
    """f(x) = den x - current - i_lower(x) + i_upper(x) and f'(x); f is increasing in x."""
    f = den * x - current
    df = den
    if lo > -np.inf:
        e = math.exp((lo - x) / nvt)
        f -= i_s * (e - 1.0)
        df += i_s * e / nvt
    if hi < np.inf:
        e = math.exp((x - hi) / nvt)
        f += i_s * (e - 1.0)
        df += i_s * e / nvt
    return f, df


@numba.njit(cache=True, nogil=True)
def solve_shockley_node(current, den, lo, hi, i_s, nvt, guess):
    """Root of KCL at one node with Shockley diodes to rails lo (anode at rail) and hi (cathode at rail).

    Safeguarded Newton: the root is bracketed by the unclipped linear solution and its clip to the
    rails (widened by 2 I_s / den for the reverse saturation currents); Newton steps that leave the
    bracket, or are not finite, are replaced by bisection.
    """
    linear = current / den
    clipped = min(max(linear, lo), hi)
    margin = 2.0 * i_s / den
    left = min(linear, clipped) - margin
    right = max(linear, clipped) + margin
    x = guess if left < guess < right else clipped
    for _ in range(200):
        f, df = _shockley_kcl(x, den, current, lo, hi, i_s, nvt)
        if f > 0.0:
            right = x
        elif f < 0.0:
            left = x
        else:
            return x
        step = f / df
        new = x - step
        if not (left < new < right) or not math.isfinite(new):
            new = 0.5 * (left + right)
        if abs(new - x) <= 4e-16 * max(abs(new), nvt):
            return new
        x = new
    return x


#: nodes per pass of :func:`_layer_update` (its float64 scratch holds one chunk per sample)
CHUNK = 512


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _store_chunk(new, magnitude, v, size, largest_dv, largest_v):
    """v[:size] = new[:size]; returns the running maxima of |dv| and |v| updated with this chunk's.

    The maxima are kept as the bit patterns of the (nonnegative) float64 values, which order as the values
    do: integer maxima vectorise where floating ones do not (about 6x faster). A NaN counts as 0, as in a
    ``dv > largest`` comparison. ``new`` is overwritten with the |dv| and ``magnitude`` with the |v|."""
    for k in range(size):
        x = new[k]
        dv = abs(x - v[k])
        size_v = abs(x)
        new[k] = dv if dv == dv else 0.0
        magnitude[k] = size_v if size_v == size_v else 0.0
        v[k] = x
    dv_bits, v_bits = new.view(np.uint64), magnitude.view(np.uint64)
    for k in range(size):
        largest_dv = dv_bits[k] if dv_bits[k] > largest_dv else largest_dv
        largest_v = v_bits[k] if v_bits[k] > largest_v else largest_v
    return largest_dv, largest_v


def _layer_update(below, a, above, kappa, has_above, source, den, lo, hi, i_s, nvt, v):
    """Exact minimisation over one layer: with ideal diodes (``i_s = 0``) v = clip(currents / den, lo, hi);
    with Shockley diodes (saturation current ``i_s`` > 0, n V_T = ``nvt``) one scalar monotone equation
    per node, solved by :func:`solve_shockley_node`. Samples are independent (``prange``); each keeps its
    own maxima, so the result does not depend on the thread count.

    A row goes in chunks, in two passes each: the minimisers (float64, before rounding to v's dtype) into
    a scratch row, then the store and the maxima of |dv| and |v| (:func:`_store_chunk`). Without the
    Shockley solve both passes vectorise; the arithmetic is that of one fused loop, bit for bit."""
    batch, n = v.shape
    row_dv = np.zeros(batch)
    row_v = np.zeros(batch)
    scratch = np.empty((batch, 2, max(2, min(n, CHUNK))))  # at least 2: the maxima pass through it
    for sample in prange(batch):
        b = np.int64(sample)  # prange's index may be unsigned, which _row would not unify with 0
        sb, db, lb, hb = source[_row(source, b)], den[_row(den, b)], lo[_row(lo, b)], hi[_row(hi, b)]
        vb, wb, ab, new, magnitude = v[b], below[b], above[b], scratch[b, 0], scratch[b, 1]
        largest_dv = largest_v = np.uint64(0)  # bit patterns of max |dv| and max |v| (see _store_chunk)
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)  # slices: indices from 0, which Numba need not wrap
            vc, wc, ac = vb[start:stop], wb[start:stop], ab[start:stop]
            sc, dc, lc, hc = sb[start:stop], db[start:stop], lb[start:stop], hb[start:stop]
            size = stop - start
            if i_s > 0.0:
                for k in range(size):
                    current = a * wc[k] + sc[k]
                    if has_above:
                        current += kappa * ac[k]
                    new[k] = solve_shockley_node(current, dc[k], lc[k], hc[k], i_s, nvt, vc[k])
            elif has_above:
                for k in range(size):
                    x = (a * wc[k] + sc[k] + kappa * ac[k]) / dc[k]
                    new[k] = lc[k] if x < lc[k] else (hc[k] if x > hc[k] else x)
            else:
                for k in range(size):
                    x = (a * wc[k] + sc[k]) / dc[k]
                    new[k] = lc[k] if x < lc[k] else (hc[k] if x > hc[k] else x)
            largest_dv, largest_v = _store_chunk(new, magnitude, vc, size, largest_dv, largest_v)
        bits = new.view(np.uint64)
        bits[0], bits[1] = largest_dv, largest_v
        row_dv[b] = new[0]
        row_v[b] = new[1]
    return row_dv.max(), row_v.max()


serial_layer_update = numba.njit(cache=True, nogil=True, error_model="numpy")(_layer_update)
#: the same on several threads (compiled on first use, not cached: Numba's cache does not tell two builds of
#: one function apart)
parallel_layer_update = numba.njit(nogil=True, parallel=True, error_model="numpy")(_layer_update)


def layer_update(below, a, above, kappa, has_above, source, den, lo, hi, i_s, nvt, v):
    """:func:`_layer_update` on the threads :func:`cosim.threads.parallel` allows for ``v``."""
    kernel = parallel_layer_update if parallel(v) else serial_layer_update
    return kernel(below, a, above, kappa, has_above, source, den, lo, hi, i_s, nvt, v)


# ------------------------------------------------------------------ relaxation dynamics (relaxation/dynamics.py)


@numba.njit(cache=True, nogil=True)
def kkt_residual_layer(s, g, d, lo, hi):
    """max |s - clip(s - g / d, lo, hi)| over one layer (d: the diagonal of the Hessian); inf if any is NaN."""
    batch, n = s.shape
    worst = 0.0
    for b in range(batch):
        db, lb, hb = d[_row(d, b)], lo[_row(lo, b)], hi[_row(hi, b)]
        sb, gb = s[b], g[b]
        row = 0.0
        total = 0.0  # NaN-propagating, unlike max
        for i in range(n):
            r = abs(min(max(sb[i] - gb[i] / db[i], lb[i]), hb[i]) - sb[i])
            row = max(row, r)
            total += r
        if total != total:
            return np.inf
        worst = max(worst, row)
    return worst


@numba.njit(cache=True, nogil=True)
def momentum_layer_step(s, p, g, w, friction, dt, confine, centre, lo, hi, noise, noisy):
    """One symplectic-Euler step of one layer, in place; returns max |p dt| after it.

    p <- friction p - dt w g - dt confine (s - centre);  s <- s + dt p (+ noise);  outside [lo, hi]: clip s
    and zero p (inelastic wall). friction and dt are per sample (B,); w, centre are (1, n).
    """
    batch, n = s.shape
    fastest = 0.0
    w0, c0 = w[0], centre[0]
    for b in range(batch):
        lb, hb = lo[_row(lo, b)], hi[_row(hi, b)]
        sb, pb, gb = s[b], p[b], g[b]
        f, h = friction[b], dt[b]
        row = 0.0
        for i in range(n):
            v = f * pb[i] - h * (w0[i] * gb[i] + confine * (sb[i] - c0[i]))
            x = sb[i] + h * v
            if noisy:
                x += noise[b, i]
            y = min(max(x, lb[i]), hb[i])
            v = v if y == x else 0.0
            sb[i] = y
            pb[i] = v
            row = max(row, abs(v))
        fastest = max(fastest, row * h)
    return fastest


@numba.njit(cache=True, nogil=True)
def secant_sums(s, s_previous, g, g_previous, w, along, norm):
    """Add ds.dg and ds.(ds / w) per sample to along and norm (B,), then copy s and g into the previous."""
    batch, n = s.shape
    w0 = w[0]
    for b in range(batch):
        a = 0.0
        q = 0.0
        for i in range(n):
            ds = s[b, i] - s_previous[b, i]
            a += ds * (g[b, i] - g_previous[b, i])
            q += ds * ds / w0[i]
        along[b] += a
        norm[b] += q
    s_previous[:] = s
    g_previous[:] = g

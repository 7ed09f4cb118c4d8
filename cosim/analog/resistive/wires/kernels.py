"""Numba kernels: exact block minimisation over one layer of nodes together with the lines they drive.

Every layer node ``v_j`` is the middle of one chain: the bit line it senses in the crossbar below (through
``sense_ohm``) and the word line it drives in the crossbar above (through ``driver_ohm``). Chains of one layer
touch only chains of the layers next to it, and only through devices. With those neighbours fixed, each
chain is a tree-free path: its exact minimiser is one Thomas (tridiagonal) elimination per arm towards the
layer node, a scalar equation at the node (a divide and a clip, or safeguarded Newton for Shockley
diodes), and a back substitution.

The elimination runs in Norton form, every quantity a positive conductance or a current, so nothing
cancels even when a segment conducts 1e6 times more than a device. An arm that ends at node ``p`` is
equivalent to a conductance ``G`` to a current ``N`` (``G V - N`` flows into it at voltage ``V``)::

    L_p = W_p + G_{p-1},  J_p = W_p X_p + N_{p-1}          (device p to its fixed far node X_p, plus the arm so far)
    q_p = 1 / (1 + r_p L_p),  G_p = L_p q_p,  N_p = J_p q_p   (in series with the segment r_p towards the node)
    back:  V_p = (V_{p+1} + r_p J_p) q_p                    (r_p = 0: V_p = V_{p+1})

``q_p`` and ``G`` depend on the devices and wires only, not on any voltage: :func:`arm_factors` computes them
once per solve, so a sweep is two multiply-adds per wire node and arm pass, with no divide, shared by the
whole batch. Voltages are stored batch-innermost, ``(n_l, n_{l+1}, B)`` per line array and ``(n_l, B)`` per
layer, so every step of a chain updates ``B`` contiguous samples (vector code); chains go in blocks of
``_BLOCK`` whose nodes of one bit-line row lie side by side in memory, with their scratch in cache.

A crossbar partitioned over several arrays (``piece`` < steps) cuts every line into pieces of ``piece``
cells (the last one may be shorter), each with its own driven / sensed end and end resistor; all pieces of
a line meet at the same layer node, so the arm's Norton equivalent is the sum of its pieces' and each piece
is substituted back from the node's voltage. One piece (``piece`` >= steps) is the unpartitioned line.

Over-relaxation (``omega`` > 1, block SOR): the chain's exact minimiser ``z*`` is computed as above and every
node moves to ``z + omega (z* - z)`` (clipped to the rails for ideal diodes). With ``omega`` = 1 the update
is exact block Gauss-Seidel, and then :func:`wired_layer_update` also bounds the KCL residual the update
leaves at the *partner* nodes (the other end of each device), the only nodes whose balance it disturbs.
"""

import numba
import numpy as np

from cosim.analog.relaxation.kernels import solve_shockley_node

_FAST = {"nnan", "ninf", "nsz"}
#: chains updated together: their bit lines' nodes of one row lie side by side in memory
_BLOCK = 8


@numba.njit(cache=True, nogil=True)
def _step(p, start, size, last):
    """Index along the line of elimination step p of the piece ``start .. start + size`` (step 0: its far end)."""
    return start + (p if last else size - 1 - p)


@numba.njit(cache=True, nogil=True)
def arm_factors(w, r_line, r_end, last, piece, q, g):
    """Elimination factors of every line of an arm, ``w`` (lines, steps) siemens: ``q`` (lines, steps) and
    the arm's Norton conductance ``g`` (lines,) seen from the layer node (summed over the pieces)."""
    lines, steps = w.shape
    for j in range(lines):
        total = 0.0
        for start in range(0, steps, piece):
            size = min(piece, steps - start)
            conductance = 0.0
            for p in range(size):
                s = _step(p, start, size, last)
                r = r_line if p < size - 1 else r_end
                leak = w[j, s] + conductance
                qq = 1.0 / (1.0 + r * leak)
                q[j, s] = qq
                conductance = leak * qq
            total += conductance
        g[j] = total


@numba.njit(cache=True, nogil=True)
def _line(array, j, s, along_rows):
    """The (B,) samples of line node ``s`` of line ``j``: ``array[s, j]`` (bit lines) or ``array[j, s]``."""
    return array[s, j] if along_rows else array[j, s]


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _eliminate(w, q, x, j0, along_rows, last, piece, current, norton, partial):
    """Forward elimination of lines ``j0 .. j0 + J`` of an arm (``w``, ``q`` (lines, steps); far nodes ``x``
    (.., .., B)): leaves ``current`` (steps, J, B) for the back substitution and the arm's Norton currents in
    ``norton`` (J, B)."""
    steps = w.shape[1]
    count, batch = norton.shape
    norton[:] = 0.0
    for start in range(0, steps, piece):
        size = min(piece, steps - start)
        partial[:] = 0.0
        for p in range(size):
            s = _step(p, start, size, last)
            for k in range(count):
                ws, qs = w[j0 + k, s], q[j0 + k, s]
                xs, cs, ps = _line(x, j0 + k, s, along_rows), current[s, k], partial[k]
                for b in range(batch):
                    c = ws * xs[b] + ps[b]
                    cs[b] = c
                    ps[b] = c * qs
        norton += partial


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _substitute(w, q, x, out, j0, along_rows, r_line, r_end, last, piece, current, drive, nearer, omega,
                certify, partner_ohm, partner_piece, scores):
    """Back substitution of lines ``j0 .. j0 + J`` from ``drive`` (J, B) volts into ``out`` (relaxed by
    ``omega``); ``scores`` (3, B) accumulates per sample max |dv| and, with ``certify``, a bound on the
    partners' relative KCL residual: |W dv| over the partner's device and segment scale (its end resistor left
    out). The partner of a node on line j is on a line crossing it; its neighbours on that line are the nodes
    of lines j -/+ 1 at the same step, when in the same array."""
    steps = w.shape[1]
    lines = x.shape[1] if along_rows else x.shape[0]
    count, batch = drive.shape
    max_dv, worst = scores[0], scores[2]
    inverse = 1.0 / partner_ohm if partner_ohm > 0.0 else 0.0
    for start in range(0, steps, piece):
        size = min(piece, steps - start)
        nearer[:] = drive
        for p in range(size - 1, -1, -1):
            s = _step(p, start, size, last)
            r = r_line if p < size - 1 else r_end
            for k in range(count):
                qs = q[j0 + k, s]
                os, cs, ns = _line(out, j0 + k, s, along_rows), current[s, k], nearer[k]
                if omega == 1.0 and not certify:  # the common case, in its own tight loop
                    for b in range(batch):
                        new = (ns[b] + r * cs[b]) * qs
                        ns[b] = new
                        max_dv[b] = max(max_dv[b], abs(new - os[b]))
                        os[b] = new
                    continue
                for b in range(batch):
                    new = (ns[b] + r * cs[b]) * qs
                    ns[b] = new
                    old = os[b]
                    relaxed = old + omega * (new - old)
                    os[b] = relaxed
                    change = abs(relaxed - old)
                    max_dv[b] = max(max_dv[b], change)
                    cs[b] = change
            if certify:
                for k in range(count):
                    j = j0 + k
                    lower, upper = max(j - 1, 0), min(j + 1, lines - 1)
                    g_lower = inverse if j > 0 and lower // partner_piece == j // partner_piece else 0.0
                    g_upper = inverse if j + 1 < lines and upper // partner_piece == j // partner_piece else 0.0
                    ws, os, cs = w[j, s], _line(out, j, s, along_rows), current[s, k]
                    xs = _line(x, j, s, along_rows)
                    xl, xu = _line(x, lower, s, along_rows), _line(x, upper, s, along_rows)
                    for b in range(batch):
                        far = abs(xs[b])
                        scale = ws * (far + abs(os[b])) + g_lower * (far + abs(xl[b])) + g_upper * (far + abs(xu[b]))
                        worst[b] = max(worst[b], ws * cs[b] / max(scale, 1e-300))


@numba.njit(cache=True, nogil=True)
def _node(current, den, lo, hi, i_s, nvt, guess):
    if i_s > 0.0:
        return solve_shockley_node(current, den, lo, hi, i_s, nvt, guess)
    return min(max(current / den, lo), hi)


@numba.njit(cache=True, nogil=True)
def wired_layer_update(has_below, w_below, q_below, g_below, word_below, bit_below, rb_line, rb_end, rb_last,
                       rb_piece, rb_partner_ohm, rb_partner_piece,
                       has_above, w_above, q_above, g_above, bit_above, word_above, ra_line, ra_end, ra_last,
                       ra_piece, ra_partner_ohm, ra_partner_piece, gain, kappa,
                       has_node, source, den, lo, hi, i_s, nvt, v, omega, certify):
    """Block update of layer ``l``'s chains in place (exact for ``omega`` = 1, over-relaxed for ``omega`` > 1);
    returns ``(max |dv|, max |v|, KCL bound)`` (the bound is 0 unless ``certify``). ``max |v|`` is taken over
    the layer nodes and their drives: a line node, fed by no source, lies between the nodes driving it.

    Below (crossbar l-1, present if has_below): devices ``w_below`` (n_l, n_{l-1}) (the transpose: one row per
    bit line), their factors ``q_below``, ``g_below`` (:func:`arm_factors`), the fixed word lines
    ``word_below`` and the bit lines ``bit_below`` it updates (n_{l-1}, n_l, B), segment / sense ohms, whether
    the sensed end is the last row of an array, an array's rows, and the word lines' segment ohms and array
    columns (the partners' lines). Above (crossbar l): ``w_above`` (n_l, n_{l+1}), its factors, the fixed bit
    lines, the word lines it updates, segment / driver ohms, driven end, an array's columns, the bit lines'
    segment ohms and array rows, and the gap's amplifier gains.
    Node: ``v`` (n_l, B); ``has_node`` False for the input layer (``v`` then holds the source voltages, kept
    fixed); ``source``, ``den`` (extra conductance: nudge, small-signal diode), ``lo``, ``hi`` are (n, 1) or
    (n, B).
    """
    n, batch = v.shape
    blocks = -(-n // _BLOCK)
    scores = np.zeros((blocks, 3, batch))
    for block in range(blocks):
        j0 = block * _BLOCK
        count = min(_BLOCK, n - j0)
        current_b = np.empty((w_below.shape[1], count, batch))
        current_a = np.empty((w_above.shape[1], count, batch))
        n_b, n_a = np.zeros((count, batch)), np.zeros((count, batch))
        partial, nearer = np.empty((count, batch)), np.empty((count, batch))
        exact, drive = np.empty((count, batch)), np.empty((count, batch))
        if has_below:
            _eliminate(w_below, q_below, word_below, j0, True, rb_last, rb_piece, current_b, n_b, partial)
        if has_above:
            _eliminate(w_above, q_above, bit_above, j0, False, ra_last, ra_piece, current_a, n_a, partial)
        score = scores[block]
        for k in range(count):
            j = j0 + k
            g_b = g_below[j] if has_below else 0.0
            g_a = g_above[j] if has_above else 0.0
            for b in range(batch):
                old = v[j, b]
                e = old
                if has_node:
                    low, high = lo[j, min(b, lo.shape[1] - 1)], hi[j, min(b, hi.shape[1] - 1)]
                    current = n_b[k, b] + kappa * n_a[k, b] + source[j, min(b, source.shape[1] - 1)]
                    total = g_b + kappa * gain * g_a + den[j, min(b, den.shape[1] - 1)]
                    e = _node(current, total, low, high, i_s, nvt, old)
                    relaxed = e if omega == 1.0 else min(max(old + omega * (e - old), low), high)
                    v[j, b] = relaxed
                    score[0, b] = max(score[0, b], abs(relaxed - old))
                    score[1, b] = max(score[1, b], abs(relaxed))
                exact[k, b] = e
                drive[k, b] = gain * e
                score[1, b] = max(score[1, b], abs(e), abs(gain * e))
        if has_below:
            _substitute(w_below, q_below, word_below, bit_below, j0, True, rb_line, rb_end, rb_last, rb_piece,
                        current_b, exact, nearer, omega, certify, rb_partner_ohm, rb_partner_piece, score)
        if has_above:
            _substitute(w_above, q_above, bit_above, word_above, j0, False, ra_line, ra_end, ra_last, ra_piece,
                        current_a, drive, nearer, omega, certify, ra_partner_ohm, ra_partner_piece, score)
    return scores[:, 0].max(), scores[:, 1].max(), scores[:, 2].max()

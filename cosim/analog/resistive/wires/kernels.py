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

Arrays of an arm are passed as ``(steps, lines)`` views: steps along the line, lines side by side, so the
inner loop runs over independent lines.

A crossbar partitioned over several arrays (``piece`` < steps) cuts every line into pieces of ``piece``
cells (the last one may be shorter), each with its own driven / sensed end and end resistor; all pieces of
a line meet at the same layer node, so the arm's Norton equivalent is the sum of its pieces' and each piece
is substituted back from the node's voltage. One piece (``piece`` >= steps) is the unpartitioned line.
"""

import numba
import numpy as np

from cosim.analog.relaxation.kernels import solve_shockley_node


@numba.njit(cache=True, nogil=True)
def _step(p, start, size, last):
    """Index along the line of elimination step p of the piece ``start .. start + size`` (step 0: its far end)."""
    return start + (p if last else size - 1 - p)


@numba.njit(cache=True, nogil=True)
def arm_eliminate(w, x, r_line, r_end, last, piece, q, current, g_out, n_out, g_piece, n_piece):
    """Forward elimination of every line of an arm, piece by piece; leaves its Norton equivalent (the sum of
    its pieces') in g_out, n_out (lines,); g_piece, n_piece (lines,) are scratch."""
    steps, lines = w.shape
    g_out[:] = 0.0
    n_out[:] = 0.0
    for start in range(0, steps, piece):
        size = min(piece, steps - start)
        g_piece[:] = 0.0
        n_piece[:] = 0.0
        for p in range(size):
            s = _step(p, start, size, last)
            r = r_line if p < size - 1 else r_end
            for j in range(lines):
                leak = w[s, j] + g_piece[j]
                inflow = w[s, j] * x[s, j] + n_piece[j]
                qq = 1.0 / (1.0 + r * leak)
                q[s, j] = qq
                current[s, j] = inflow
                g_piece[j] = leak * qq
                n_piece[j] = inflow * qq
        for j in range(lines):
            g_out[j] += g_piece[j]
            n_out[j] += n_piece[j]


@numba.njit(cache=True, nogil=True)
def arm_substitute(drive, r_line, r_end, last, piece, q, current, out, nearer):
    """Back substitution of every piece from the driving voltages (lines,) to its far end; returns max |dv|,
    max |v|."""
    steps, lines = out.shape
    max_dv = 0.0
    max_v = 0.0
    for start in range(0, steps, piece):
        size = min(piece, steps - start)
        nearer[:] = drive
        for p in range(size - 1, -1, -1):
            s = _step(p, start, size, last)
            r = r_line if p < size - 1 else r_end
            for j in range(lines):
                new = (nearer[j] + r * current[s, j]) * q[s, j]
                max_dv = max(max_dv, abs(new - out[s, j]))
                max_v = max(max_v, abs(new))
                out[s, j] = new
                nearer[j] = new
    return max_dv, max_v


@numba.njit(cache=True, nogil=True)
def _node(current, den, lo, hi, i_s, nvt, guess):
    if i_s > 0.0:
        return solve_shockley_node(current, den, lo, hi, i_s, nvt, guess)
    return min(max(current / den, lo), hi)


@numba.njit(cache=True, nogil=True)
def wired_layer_update(has_below, w_below, word_below, bit_below, rb_line, rb_end, rb_last, rb_piece,
                       has_above, w_above, bit_above, word_above, ra_line, ra_end, ra_last, ra_piece, gain, kappa,
                       has_node, source, den, lo, hi, i_s, nvt, v):
    """Exact minimisation over layer ``l``'s chains, in place; returns ``(max |dv|, max |v|)``.

    Below (crossbar l-1, present if has_below): devices ``w_below`` (n_{l-1}, n_l), the fixed word lines
    ``word_below`` and the bit lines ``bit_below`` it updates (B, n_{l-1}, n_l), segment / sense ohms,
    whether the sensed end is the last row of an array, and an array's rows. Above (crossbar l): ``w_above``
    (n_l, n_{l+1}), the fixed bit lines, the word lines it updates, segment / driver ohms, driven end, an
    array's columns, and the gap's amplifier gains.
    Node: ``has_node`` False for the input layer (``v`` then holds the source voltages, kept fixed);
    ``source``, ``den`` (extra conductance: nudge, small-signal diode), ``lo``, ``hi`` are (1, n) or (B, n).
    """
    batch, n = v.shape
    g_b, n_b = np.zeros(n), np.zeros(n)
    g_a, n_a = np.zeros(n), np.zeros(n)
    drive = np.empty(n)
    nearer = np.empty(n)
    g_piece, n_piece = np.empty(n), np.empty(n)
    q_b = np.empty(w_below.shape)
    c_b = np.empty(w_below.shape)
    q_a = np.empty(w_above.T.shape)
    c_a = np.empty(w_above.T.shape)
    max_dv = 0.0
    max_v = 0.0
    for b in range(batch):
        if has_below:
            arm_eliminate(w_below, word_below[b], rb_line, rb_end, rb_last, rb_piece, q_b, c_b, g_b, n_b, g_piece,
                          n_piece)
        if has_above:
            arm_eliminate(w_above.T, bit_above[b].T, ra_line, ra_end, ra_last, ra_piece, q_a, c_a, g_a, n_a,
                          g_piece, n_piece)
        rs, rd, rl, rh = min(b, source.shape[0] - 1), min(b, den.shape[0] - 1), min(b, lo.shape[0] - 1), \
            min(b, hi.shape[0] - 1)
        for j in range(n):
            if has_node:
                current = n_b[j] + kappa * n_a[j] + source[rs, j]
                total = g_b[j] + kappa * gain * g_a[j] + den[rd, j]
                new = _node(current, total, lo[rl, j], hi[rh, j], i_s, nvt, v[b, j])
                max_dv = max(max_dv, abs(new - v[b, j]))
                max_v = max(max_v, abs(new))
                v[b, j] = new
            drive[j] = gain * v[b, j]
        if has_below:
            dv, vm = arm_substitute(v[b], rb_line, rb_end, rb_last, rb_piece, q_b, c_b, bit_below[b], nearer)
            max_dv, max_v = max(max_dv, dv), max(max_v, vm)
        if has_above:
            dv, vm = arm_substitute(drive, ra_line, ra_end, ra_last, ra_piece, q_a, c_a, word_above[b].T, nearer)
            max_dv, max_v = max(max_dv, dv), max(max_v, vm)
    return max_dv, max_v

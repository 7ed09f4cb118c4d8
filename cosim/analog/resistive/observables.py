"""Circuit quantities read from a solved network: currents, energy, power.

``layers`` is the list of node voltages of an :class:`~cosim.analog.core.Equilibrium` (index 0: the
input sources), each (B, n_m) in volts. Currents are in amperes, positive *into* a node.
"""

from __future__ import annotations

import numba
import numpy as np

from cosim.analog.resistive.network import ResistiveNetwork, ShockleyDiode
from cosim.threads import matmul


def _current_terms(network: ResistiveNetwork, layers, m: int, nudge) -> list[np.ndarray]:
    """The currents into the nodes of layer m, term by term (crossbar below, self, bias, above / nudge)."""
    net = network
    terms = [
        net.amplifiers[m - 1].forward_gain * (layers[m - 1] @ net.conductances[m - 1]),
        -net.self_conductances[m - 1] * layers[m],
        net.biases[m - 1][None, :],
    ]
    if m < net.n_layers:
        terms.append(net.amplifiers[m].backward_gain * (layers[m + 1] @ net.conductances[m].T))
    elif nudge is not None:
        terms += [nudge.current(net.dtype), -nudge.conductance * layers[m]]
    return terms


def element_currents(network: ResistiveNetwork, layers, nudge=None) -> list[np.ndarray]:
    """Net current into every node of layers 1 .. L from crossbars, amplifiers, biases and the nudge.

    Diode currents are excluded: at an equilibrium they balance these exactly (Kirchhoff's law), so at
    a free node (no conducting diode) the returned current is the KCL residual.
    """
    return [sum(_current_terms(network, layers, m, nudge)) for m in range(1, network.n_layers + 1)]


def kirchhoff_scale(network: ResistiveNetwork, layers, nudge=None) -> list[np.ndarray]:
    """Sum of the magnitudes of the branch currents at every node: the scale of a relative KCL residual."""
    magnitudes = [np.abs(v) for v in layers]
    return [sum(np.abs(t) for t in _current_terms(network, magnitudes, m, nudge))
            for m in range(1, network.n_layers + 1)]


def diode_currents(network: ResistiveNetwork, layers) -> list[np.ndarray]:
    """Shockley diode current into every hidden node (lower-rail diode minus upper-rail diode), amperes."""
    diode = network.diode
    if not isinstance(diode, ShockleyDiode):
        raise TypeError("diode_currents needs Shockley diodes; ideal diode currents follow from element_currents")
    nvt, i_s = diode.slope_voltage, diode.saturation_current
    currents = []
    for m in range(1, network.n_layers):
        v = layers[m]
        i = np.zeros_like(v)
        lo, hi = network.lower_rails[m - 1], network.upper_rails[m - 1]
        with np.errstate(over="ignore", invalid="ignore"):
            i += np.where(np.isfinite(lo), i_s * np.expm1((lo - v) / nvt), 0.0)
            i -= np.where(np.isfinite(hi), i_s * np.expm1((v - hi) / nvt), 0.0)
        currents.append(i)
    return currents


def source_currents(network: ResistiveNetwork, layers, conductances=None) -> np.ndarray:
    """Current each input voltage source delivers into the network, (B, n_0) amperes.

    With an amplifier in the first gap the source feeds only the CCCS return current,
    kappa_0 sum_j W_ij (A_0 x_i - v_1j). ``conductances``: the crossbars of the solve that produced
    ``layers`` (default: the network's present ones).
    """
    amp = network.amplifiers[0]
    w = (conductances or network.conductances)[0]
    return amp.backward_gain * (amp.forward_gain * layers[0] * w.sum(axis=1) - layers[1] @ w.T)


def energy(network: ResistiveNetwork, layers) -> np.ndarray:
    """Co-content E(v) per sample, (B,) watts (see :mod:`cosim.analog.resistive.network` for its weights)."""
    net = network
    gap, node = net.gap_weights, net.node_weights
    e = 0.5 * (crossbar_power(net, layers) @ gap)
    for m in range(1, net.n_layers + 1):
        e -= node[m] * (layers[m] @ net.biases[m - 1])
    if isinstance(net.diode, ShockleyDiode):
        e += _diode_cocontent(net, layers)
    return e


def _diode_cocontent(network: ResistiveNetwork, layers) -> np.ndarray:
    """sum over diodes of I_s n V_T (exp(v_d / n V_T) - 1) - I_s v_d, weighted by the node weights."""
    diode, node = network.diode, network.node_weights
    nvt, i_s = diode.slope_voltage, diode.saturation_current
    e = np.zeros(layers[0].shape[0], dtype=np.float64)
    for m in range(1, network.n_layers):
        v = layers[m]
        for vd, rail in (((network.lower_rails[m - 1] - v), network.lower_rails[m - 1]),
                         ((v - network.upper_rails[m - 1]), network.upper_rails[m - 1])):
            with np.errstate(over="ignore", invalid="ignore"):
                term = np.where(np.isfinite(rail), i_s * nvt * np.expm1(vd / nvt) - i_s * vd, 0.0)
            e += node[m] * term.sum(axis=1)
    return e


def crossbar_power(network: ResistiveNetwork, layers, input_product=None, products=None) -> np.ndarray:
    """Power dissipated in every crossbar, sum g (A v_i - v_j)^2, per sample: (B, L) watts.

    Expanded as A^2 sum_i v_i^2 r_i + sum_j v_j^2 c_j - 2 A v_lo W v_hi with the crossbars' row and column
    sums r, c. Products the solve already has save GEMMs: ``input_product`` (V_0 W[0]) and ``products``
    (an equilibrium's ``crossbar_products``: per crossbar (0, V_l W[l]) or (1, V_{l+1} W[l]^T), or None);
    the three sums are one pass per crossbar (:func:`_expanded_power`), accumulated in float64.
    """
    power = np.empty((layers[0].shape[0], network.n_layers))
    for l, w in enumerate(network.conductances):
        lo, hi = layers[l], layers[l + 1]
        known = (0, input_product) if l == 0 and input_product is not None else products and products[l]
        side, product = known or (0, matmul(lo, w))
        _expanded_power(lo, hi, network.row_sums[l], network.column_sums[l], product, lo if side else hi,
                        network.amplifiers[l].forward_gain, power[:, l])
    return power


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _expanded_power(lo, hi, row_sums, column_sums, product, partner, gain, out):
    """``out[b] = gain^2 sum_i lo_bi^2 r_i + sum_j hi_bj^2 c_j - 2 gain sum_k product_bk partner_bk``
    (sums reassociated so that they vectorise)."""
    for b in range(lo.shape[0]):
        rows = columns = cross = 0.0
        for i in range(lo.shape[1]):
            rows += float(lo[b, i]) * lo[b, i] * row_sums[i]
        for j in range(hi.shape[1]):
            columns += float(hi[b, j]) * hi[b, j] * column_sums[j]
        for k in range(product.shape[1]):
            cross += float(product[b, k]) * partner[b, k]
        out[b] = gain * gain * rows + columns - 2.0 * gain * cross

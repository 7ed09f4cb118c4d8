"""Kirchhoff's current law at every node of a solved wired network: the check of an exact solve."""

from __future__ import annotations

import numpy as np

from cosim.analog.resistive.network import ShockleyDiode
from cosim.analog.resistive.observables import diode_currents
from cosim.analog.resistive.wires.layout import WiredNetwork
from cosim.analog.resistive.wires.solve import WiredEquilibrium
from cosim.errors import ParameterError


def _pieces(steps: int, piece: int) -> list[slice]:
    """The cells of each array's piece of a line of ``steps`` cells (arrays of ``piece`` cells, in order)."""
    return [slice(start, start + piece) for start in range(0, steps, piece)]


def _line_currents(u, drive, r_line, r_end, end_last, piece):
    """:func:`_piece_currents` of lines cut into pieces of ``piece`` cells (one per array), each with its own
    driving end; the driving currents and their scales summed over the pieces (all meet at the layer node)."""
    into, magnitude = np.zeros_like(u), np.zeros_like(u)
    fed = fed_scale = 0.0
    for part in _pieces(u.shape[-1], piece):
        into[..., part], magnitude[..., part], piece_fed, piece_scale = _piece_currents(
            u[..., part], drive, r_line, r_end, end_last)
        fed, fed_scale = fed + piece_fed, fed_scale + piece_scale
    return into, magnitude, fed, fed_scale


def _piece_currents(u, drive, r_line, r_end, end_last):
    """Currents into every node of lines along the last axis (..., steps) from their segments, their scale
    (sum over branches of g (|v_a| + |v_b|), as cosim.analog.resistive.observables.kirchhoff_scale), and the
    current the driving end delivers; ``drive`` (..., 1) is the voltage behind r_end."""
    into = np.zeros_like(u)
    along = (u[..., 1:] - u[..., :-1]) / r_line if u.shape[-1] > 1 else u[..., :0]
    into[..., :-1] += along
    into[..., 1:] -= along
    end = -1 if end_last else 0
    fed = (drive[..., 0] - u[..., end]) / r_end
    into[..., end] += fed
    scale = (np.abs(u[..., 1:]) + np.abs(u[..., :-1])) / r_line
    magnitude = np.zeros_like(u)
    magnitude[..., :-1] += scale
    magnitude[..., 1:] += scale
    fed_scale = (np.abs(drive[..., 0]) + np.abs(u[..., end])) / r_end
    magnitude[..., end] += fed_scale
    return into, magnitude, fed, fed_scale


def kirchhoff_residuals(wired: WiredNetwork, eq: WiredEquilibrium) -> dict[str, float]:
    """Largest relative KCL residual (|sum of currents| / sum of g (|v_a| + |v_b|) over the node's branches) over the layer nodes, the
    word-line nodes and the bit-line nodes. Needs every wire resistance > 0 (a zero-ohm segment merges
    nodes, whose currents are then not defined one by one). Ideal-diode nodes at a rail are skipped
    (their diode carries whatever balances them)."""
    net = wired.network
    if any(w.word_segment_ohm <= 0 or w.bit_segment_ohm <= 0 or w.driver_ohm <= 0 or w.sense_ohm <= 0
           for w in wired.layouts):
        raise ParameterError("kirchhoff_residuals needs every wire resistance > 0")
    nets = [np.zeros_like(v) for v in eq.layers]
    scales = [np.zeros_like(v) for v in eq.layers]
    worst = {"layer": 0.0, "word": 0.0, "bit": 0.0}
    for l, layout in enumerate(wired.layouts):
        w, u, y = eq.conductances[l], eq.word_lines[l], eq.bit_lines[l]
        amp = net.amplifiers[l]
        device, device_scale = w * (y - u), w * (np.abs(y) + np.abs(u))  # into the word-line node
        rows, columns = layout.pieces(*w.shape)
        word, word_mag, fed, fed_scale = _line_currents(u, amp.forward_gain * eq.layers[l][..., None],
                                                        layout.word_segment_ohm, layout.driver_ohm,
                                                        layout.word_end_last, columns)
        bit_t, bit_mag, sensed, sensed_scale = _line_currents(np.swapaxes(y, 1, 2), eq.layers[l + 1][..., None],
                                                              layout.bit_segment_ohm, layout.sense_ohm,
                                                              layout.bit_end_last, rows)
        _record(worst, "word", word + device, word_mag + device_scale)
        _record(worst, "bit", np.swapaxes(bit_t, 1, 2) - device, np.swapaxes(bit_mag, 1, 2) + device_scale)
        nets[l] -= amp.backward_gain * fed
        scales[l] += amp.backward_gain * fed_scale
        nets[l + 1] -= sensed
        scales[l + 1] += sensed_scale
    for m in range(1, net.n_layers + 1):
        current, scale = nets[m] + net.biases[m - 1], scales[m] + np.abs(net.biases[m - 1])
        if m == net.n_layers and eq.nudge is not None:
            nudge = eq.nudge.current(net.dtype) - eq.nudge.conductance * eq.layers[m]
            current, scale = current + nudge, scale + np.abs(nudge) + 2 * abs(eq.nudge.conductance * eq.layers[m])
        keep = np.ones(current.shape, bool)
        if m < net.n_layers:
            if isinstance(net.diode, ShockleyDiode):
                diode = diode_currents(net, eq.layers)[m - 1]
                current, scale = current + diode, scale + np.abs(diode)
            else:
                keep = (eq.layers[m] != net.lower_rails[m - 1]) & (eq.layers[m] != net.upper_rails[m - 1])
        _record(worst, "layer", np.where(keep, current, 0.0), scale)
    return worst


def _record(worst: dict, key: str, current, scale) -> None:
    relative = np.abs(current) / np.maximum(scale, 1e-300)
    worst[key] = max(worst[key], float(relative.max()) if relative.size else 0.0)


def _line_power(u, drive, r_line, r_end, end_last, piece) -> np.ndarray:
    """:func:`_piece_power` of lines cut into pieces of ``piece`` cells, each with its own driving end."""
    return sum(_piece_power(u[..., part], drive, r_line, r_end, end_last) for part in _pieces(u.shape[-1], piece))


def _piece_power(u, drive, r_line, r_end, end_last) -> np.ndarray:
    """I^2 R of lines along the last axis of ``u`` (B, ..., steps) with their driving end, per sample (W);
    a zero-ohm resistor carries no voltage, hence no power."""
    along = (u[..., 1:] - u[..., :-1]) ** 2 / r_line if r_line > 0 else np.zeros_like(u[..., :0])
    end = (drive - u[..., -1 if end_last else 0]) ** 2 / r_end if r_end > 0 else np.zeros_like(drive)
    return along.reshape(u.shape[0], -1).sum(axis=1) + end.reshape(u.shape[0], -1).sum(axis=1)


def wired_power(wired: WiredNetwork, eq: WiredEquilibrium) -> tuple[np.ndarray, np.ndarray]:
    """Power dissipated per sample (W): (every crossbar's devices, every crossbar's wires: segments, drivers
    and sense resistors), each (B,) summed over crossbars."""
    net = wired.network
    devices = np.zeros(eq.layers[0].shape[0])
    wires = np.zeros_like(devices)
    for l, layout in enumerate(wired.layouts):
        u, y = eq.word_lines[l], eq.bit_lines[l]
        devices += np.einsum("bik,ik->b", (u - y) ** 2, eq.conductances[l])
        drive = net.amplifiers[l].forward_gain * eq.layers[l]
        rows, columns = layout.pieces(*eq.conductances[l].shape)
        wires += _line_power(u, drive, layout.word_segment_ohm, layout.driver_ohm, layout.word_end_last, columns)
        wires += _line_power(np.swapaxes(y, 1, 2), eq.layers[l + 1], layout.bit_segment_ohm, layout.sense_ohm,
                             layout.bit_end_last, rows)
    return devices, wires

"""A :class:`~cosim.analog.resistive.wires.WiredNetwork` with its inputs (and a nudge) as an ngspice netlist.

The layer nodes, input sources, biases, diodes, nudge and ``.control`` block are written by the sections of
:mod:`cosim.spice.netlist`; only the crossbars differ. Extra nodes and elements of crossbar ``g``:

- ``w{g}_{i}_{k}`` / ``b{g}_{i}_{k}``: word- / bit-line node at row ``i``, column ``k``;
- ``RW{g}_{i}_{k}``: word segment between columns ``k`` and ``k+1`` of row ``i``; ``RB{g}_{i}_{k}``: bit segment
  between rows ``i`` and ``i+1`` of column ``k`` (none between two arrays); ``RD{g}_{i}_{k0}``: the driver of
  row ``i``'s piece starting at column ``k0`` (layer node, or its amplifier's ammeter side, to the driven end);
  ``RS{g}_{k}_{i0}``: the sense resistor of column ``k``'s piece starting at row ``i0`` (sensed end to the
  layer node). A crossbar partitioned over several arrays (``WireLayout.array_rows`` / ``array_columns``)
  has one piece of each line per array; an unpartitioned one has one piece (``k0 = i0 = 0``);
- ``R{g}_{i}_{k}``: the device, from ``w{g}_{i}_{k}`` to ``b{g}_{i}_{k}``.

A zero-ohm segment is written as a 0 V source (``V`` instead of ``R``). ``wrdata`` writes the layer nodes,
then every word-line node and every bit-line node (row-major, crossbar by crossbar).
"""

from __future__ import annotations

import numpy as np

from cosim.analog.core import Nudge
from cosim.analog.resistive.wires.layout import WiredNetwork, WireLayout
from cosim.spice.netlist import (Netlist, SpiceSettings, _biases, _control, _diodes, _header, _input_sources,
                                 _nudge, _options, node_name, spice_number)


def word_node(gap: int, i: int, k: int) -> str:
    return f"w{gap}_{i}_{k}"


def bit_node(gap: int, i: int, k: int) -> str:
    return f"b{gap}_{i}_{k}"


def write_wired_netlist(wired: WiredNetwork, x, nudge: Nudge | None = None, *, comments=(),
                        settings: SpiceSettings = SpiceSettings(), output_file: str = "op.out",
                        record_wires: bool = True) -> Netlist:
    """The netlist of ``wired`` driven by block input ``x`` (one sample, volts); see :func:`write_netlist`.

    ``Netlist.nodes`` holds the layers 0 .. L, then per crossbar its word-line nodes and its bit-line nodes
    (each a flat row-major tuple), so ``SpiceResult.layers(netlist)`` returns them in that order.
    ``record_wires=False`` records the layer nodes only (ngspice 39's ``wrdata`` refuses some ten thousand
    vectors: "too many args").
    """
    network = wired.network
    v0 = network.input_voltages(np.asarray(x, dtype=np.float64).reshape(1, -1))[0]
    layers = tuple(tuple(node_name(m, i) for i in range(n)) for m, n in enumerate(network.sizes))
    lines = []
    for gap, (n, m) in enumerate(wired.shapes() if record_wires else ()):
        lines.append(tuple(word_node(gap, i, k) for i in range(n) for k in range(m)))
        lines.append(tuple(bit_node(gap, i, k) for i in range(n) for k in range(m)))
    diode = settings.spice_diode(network.diode)
    notes = [*comments, "Wires: w{gap}_{i}_{k} / b{gap}_{i}_{k} word / bit node; RW/RB segments, RD driver, "
             "RS sense, R{gap}_{i}_{k} device."]
    body = [
        *_header(network, diode, notes, output_file),
        *_options(diode, settings),
        *_input_sources(layers[0], v0),
        *[line for gap in range(network.n_layers) for line in _wired_crossbar(wired, gap, layers)],
        *_biases(network, layers),
        *_diodes(network, layers),
        *_nudge(network, layers[-1], nudge),
        *_control([f"v({n})" for group in (*layers, *lines) for n in group], output_file),
        ".end",
    ]
    return Netlist("\n".join(body) + "\n", (*layers, *lines), output_file)


def _resistor(name: str, a: str, b: str, ohms: float) -> str:
    """A resistor, or a 0 V source when the resistance is zero (SPICE has no zero-ohm resistor)."""
    if ohms == 0:
        return f"V{name} {a} {b} DC 0"
    return f"R{name} {a} {b} {spice_number(ohms)}"


def _wired_crossbar(wired: WiredNetwork, gap: int, layers) -> list[str]:
    network, layout = wired.network, wired.layouts[gap]
    amp = network.amplifiers[gap]
    n, m = network.sizes[gap], network.sizes[gap + 1]
    lines = [f"* crossbar {gap} with wires: {_describe(layout)}"]
    drivers = layers[gap]
    if not (amp.forward_gain == 1.0 and amp.backward_gain == 1.0):
        drivers = tuple(f"x{gap}_{i}" for i in range(n))
        for i, row in enumerate(layers[gap]):
            lines += [f"E{gap}_{i} a{gap}_{i} 0 {row} 0 {spice_number(amp.forward_gain)}",
                      f"VA{gap}_{i} a{gap}_{i} x{gap}_{i} DC 0",
                      f"F{gap}_{i} {row} 0 VA{gap}_{i} {spice_number(amp.backward_gain)}"]
    rows, columns = layout.pieces(n, m)
    for start in range(0, m, columns):  # one column of arrays: its own piece of every word line
        end = min(start + columns, m) - 1
        driven = end if layout.word_end_last else start
        for i in range(n):
            lines.append(_resistor(f"D{gap}_{i}_{start}", drivers[i], word_node(gap, i, driven), layout.driver_ohm))
            lines += [_resistor(f"W{gap}_{i}_{k}", word_node(gap, i, k), word_node(gap, i, k + 1),
                                layout.word_segment_ohm) for k in range(start, end)]
    for start in range(0, n, rows):  # one row of arrays: its own piece of every bit line
        end = min(start + rows, n) - 1
        sensed = end if layout.bit_end_last else start
        for k in range(m):
            lines.append(_resistor(f"S{gap}_{k}_{start}", bit_node(gap, sensed, k), layers[gap + 1][k],
                                   layout.sense_ohm))
            lines += [_resistor(f"B{gap}_{i}_{k}", bit_node(gap, i, k), bit_node(gap, i + 1, k),
                                layout.bit_segment_ohm) for i in range(start, end)]
    w = np.asarray(network.conductances[gap], dtype=np.float64)
    lines += [f"R{gap}_{i}_{k} {word_node(gap, i, k)} {bit_node(gap, i, k)} {spice_number(1.0 / w[i, k])}"
              for i, k in zip(*np.nonzero(w))]
    return lines


def _describe(layout: WireLayout) -> str:
    return (f"arrays of {layout.array_rows or 'all'} x {layout.array_columns or 'all'} lines, "
            f"word segment {layout.word_segment_ohm!r} ohm, bit segment {layout.bit_segment_ohm!r} ohm, "
            f"driver {layout.driver_ohm!r} ohm, sense {layout.sense_ohm!r} ohm, "
            f"word lines driven at the {layout.word_driven_at} column, bit lines sensed at the {layout.bit_sensed_at} row")

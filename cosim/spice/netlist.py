"""A :class:`~cosim.analog.resistive.network.ResistiveNetwork` with its inputs (and a nudge) as an ngspice netlist.

The netlist is the circuit cosim solves, element by element, plus a ``.control`` block that runs one
operating point and writes every layer node's voltage with ``wrdata`` (15 digits). Values are written
with ``%.17g``, so a float64 value survives the round trip exactly.

Nodes (ngspice lower-cases names; these are already lower case):

- ``l{layer}_{index}``: node ``index`` of layer ``layer`` (layer 0: the input sources; the last layer: outputs);
- ``a{gap}_{i}`` / ``x{gap}_{i}``: output of the amplifier (VCVS) driving row ``i`` of crossbar ``gap``, and
  the crossbar side of the zero-volt ammeter behind it (only in gaps with an amplifier);
- ``rail{k}``: a diode rail (one voltage source per distinct rail voltage);
- ``t{j}``: the target source of output ``j`` when the nudge is towards a target.

Elements:

- ``VIN{i}``: input source of input node ``i`` (volts);
- ``R{gap}_{i}_{j}``: the conductance ``W[gap][i, j]`` (written as its resistance, ohms; a zero
  conductance is an open circuit and is left out);
- ``E{gap}_{i}``, ``VA{gap}_{i}``, ``F{gap}_{i}``: the bidirectional amplifier of a gap: ``E`` drives the
  crossbar row at ``A * v``, ``VA`` measures the crossbar current, ``F`` draws ``kappa`` times that
  current out of the layer node (i.e. returns ``kappa`` times the crossbar's current into it);
- ``IB{m}_{i}``: bias current into node ``i`` of layer ``m`` (amperes);
- ``VR{k}``, ``DL{m}_{i}``, ``DU{m}_{i}``: rail sources and the lower-rail diode (anode at the rail,
  cathode at the node) and upper-rail diode (anode at the node, cathode at the rail), model ``dclamp``;
- ``IN{j}``: nudge current into output ``j`` (``-beta * error``); or, towards a target,
  ``VT{j}`` with ``RN{j}`` (``beta > 0``: a resistor ``1/beta`` to the target) or ``GN{j}`` (``beta < 0``:
  a VCCS of transconductance ``beta``, a negative conductance no passive element can be).

This module only reads networks; :mod:`cosim.analog` never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog.core import Nudge
from cosim.analog.resistive.network import BOLTZMANN, ELEMENTARY_CHARGE, ResistiveNetwork, ShockleyDiode
from cosim.errors import ParameterError

#: ngspice 39 uses the CODATA-2014 Boltzmann constant and elementary charge (src/include/ngspice/const.h);
#: cosim the exact SI-2019 values. kT/q differs by 3.4e-7 relative, so the netlist sets ngspice's
#: temperature to the one at which ngspice's kT/q equals cosim's.
NGSPICE_BOLTZMANN = 1.38064852e-23  # J/K
NGSPICE_CHARGE = 1.6021766208e-19  # C
CELSIUS_OFFSET = 273.15  # K
DIODE_MODEL = "dclamp"


@dataclass(frozen=True)
class SpiceSettings:
    """How a network is written for ngspice.

    ideal_emission_coefficient: emission coefficient N of the SPICE diode that stands in for an ideal
        diode (ngspice has no ideal diode); its forward drop n V_T ln(1 + I/I_s) is the expected
        difference (see docs/spice.md);
    ideal_saturation_current: I_s of that diode (A);
    temperature: junction temperature (K) of that diode (Shockley networks use their own);
    gmin: conductance ngspice puts across every junction (S; ngspice's default 1e-12);
    reltol, vntol, abstol: ngspice's Newton convergence tolerances (relative; V; A). ngspice's defaults
        (1e-3, 1e-6 V, 1e-12 A) leave ~1e-7 V of error at a diode; these are tight enough for 1e-9 V.
    """

    ideal_emission_coefficient: float = 0.001
    ideal_saturation_current: float = 1e-14
    temperature: float = 300.15
    gmin: float = 1e-15
    reltol: float = 1e-9
    vntol: float = 1e-12
    abstol: float = 1e-15

    def spice_diode(self, diode) -> ShockleyDiode:
        """The Shockley diode ngspice simulates for a network diode (itself, if it is a Shockley diode)."""
        if isinstance(diode, ShockleyDiode):
            return diode
        return ShockleyDiode(self.ideal_saturation_current, self.ideal_emission_coefficient, self.temperature)


@dataclass(frozen=True)
class Netlist:
    """An exported circuit: its text, its node names per layer, and the file its ``wrdata`` writes."""

    text: str
    nodes: tuple[tuple[str, ...], ...]
    output_file: str

    @property
    def vectors(self) -> list[str]:
        """The ngspice vectors ``wrdata`` writes, in order: ``v(node)`` for layers 0 .. L."""
        return [f"v({name})" for layer in self.nodes for name in layer]

    def element_counts(self) -> dict[str, int]:
        """Number of element lines by element letter (R, V, E, F, I, D, G), for checks and summaries."""
        counts: dict[str, int] = {}
        for line in circuit_lines(self.text):
            letter = line[0].upper()
            if letter.isalpha():
                counts[letter] = counts.get(letter, 0) + 1
        return counts


def node_name(layer: int, index: int) -> str:
    """Name of node ``index`` of layer ``layer``."""
    return f"l{layer}_{index}"


def spice_number(value: float) -> str:
    """A float at full precision (``%.17g``): parsing the text gives back the same float64."""
    return "%.17g" % float(value)


def _short(value: float) -> str:
    """The shortest text that parses back to the same float64 (for options and comments)."""
    return repr(float(value))


def spice_temperature_celsius(kelvin: float) -> float:
    """The ngspice TEMP (degC) at which ngspice's kT/q equals cosim's thermal voltage at ``kelvin``."""
    ratio = (BOLTZMANN / ELEMENTARY_CHARGE) / (NGSPICE_BOLTZMANN / NGSPICE_CHARGE)
    return kelvin * ratio - CELSIUS_OFFSET


def circuit_lines(text: str) -> list[str]:
    """The element and dot lines of a netlist outside its ``.control`` block (title and comments dropped)."""
    lines, in_control = [], False
    for line in text.splitlines()[1:]:
        stripped = line.strip()
        lowered = stripped.lower()
        if lowered.startswith(".control"):
            in_control = True
        elif lowered.startswith(".endc"):
            in_control = False
        elif stripped and not in_control and not stripped.startswith("*"):
            lines.append(stripped)
    return lines


def write_netlist(network: ResistiveNetwork, x, nudge: Nudge | None = None, *, comments=(),
                  settings: SpiceSettings = SpiceSettings(), output_file: str = "op.out") -> Netlist:
    """The netlist of ``network`` driven by block input ``x`` (one sample, ``(input_width,)`` volts).

    nudge: output currents of a nudged phase for this one sample (arrays of shape ``(n_out,)`` or
        ``(1, n_out)``), or None for the free phase;
    comments: extra header lines (what was exported, from where);
    output_file: the file the ``wrdata`` command writes (relative to ngspice's working directory).
    """
    v0 = network.input_voltages(np.asarray(x, dtype=np.float64).reshape(1, -1))[0]
    nodes = tuple(tuple(node_name(m, i) for i in range(n)) for m, n in enumerate(network.sizes))
    diode = settings.spice_diode(network.diode)
    body = [
        *_header(network, diode, comments, output_file),
        *_options(diode, settings),
        *_input_sources(nodes[0], v0),
        *_crossbars(network, nodes),
        *_biases(network, nodes),
        *_diodes(network, nodes),
        *_nudge(network, nodes[-1], nudge),
        *_control([f"v({n})" for layer in nodes for n in layer], output_file),
        ".end",
    ]
    return Netlist("\n".join(body) + "\n", nodes, output_file)


# ---------------------------------------------------------------------------------------- sections
def _header(network: ResistiveNetwork, diode: ShockleyDiode, comments, output_file: str) -> list[str]:
    sizes = "-".join(str(n) for n in network.sizes)
    kind = "Shockley" if isinstance(network.diode, ShockleyDiode) else "ideal (simulated as a Shockley diode)"
    lines = [
        f"* cosim resistive network {sizes} (layers 0 .. {network.n_layers}), one DC operating point",
        *[f"* {c}" for c in comments],
        "*",
        "* Nodes: l{layer}_{index}: node <index> of layer <layer> (layer 0: input sources; "
        f"layer {network.n_layers}: outputs).",
        "*   a{gap}_{i}, x{gap}_{i}: amplifier output and crossbar side of its ammeter; rail{k}: diode rail;",
        "*   t{j}: nudge target of output j.",
        "* Elements: VIN{i} input source; R{gap}_{i}_{j} crossbar conductance W[gap][i,j] as 1/g ohm;",
        "*   E/VA/F{gap}_{i} amplifier (VCVS gain A, 0 V ammeter, CCCS gain kappa); IB{m}_{i} bias current",
        "*   into the node; VR{k} rail source; DL/DU{m}_{i} lower-/upper-rail diode; IN/RN/GN/VT{j} nudge.",
        f"* Diodes: {kind}: IS={_short(diode.saturation_current)} A "
        f"N={_short(diode.emission_coefficient)} T={_short(diode.temperature)} K",
        "*   (TEMP=TNOM below: the temperature at which ngspice's CODATA-2014 kT/q equals cosim's).",
        f"* Run: ngspice -b FILE.cir  -> writes {output_file}: a header of vector names, then one row",
        "*   (the first column is the plot's scale, a copy of the first node; then v(node) in node order).",
        "*",
    ]
    return lines


def _options(diode: ShockleyDiode, settings: SpiceSettings) -> list[str]:
    temp = spice_number(spice_temperature_celsius(diode.temperature))
    return [
        f".options TEMP={temp} TNOM={temp} gmin={_short(settings.gmin)} reltol={_short(settings.reltol)}"
        f" vntol={_short(settings.vntol)} abstol={_short(settings.abstol)}",
        f".model {DIODE_MODEL} D(IS={spice_number(diode.saturation_current)} "
        f"N={spice_number(diode.emission_coefficient)})",
    ]


def _input_sources(nodes: tuple[str, ...], v0: np.ndarray) -> list[str]:
    return ["* input sources"] + [f"VIN{i} {n} 0 DC {spice_number(v)}" for i, (n, v) in enumerate(zip(nodes, v0))]


def _crossbars(network: ResistiveNetwork, nodes) -> list[str]:
    lines = []
    for gap, (w, amp) in enumerate(zip(network.conductances, network.amplifiers)):
        rows, cols = nodes[gap], nodes[gap + 1]
        amplified = not (amp.forward_gain == 1.0 and amp.backward_gain == 1.0)
        lines.append(f"* crossbar {gap}: layer {gap} -> layer {gap + 1}"
                     + (f", amplifier A={spice_number(amp.forward_gain)} kappa={spice_number(amp.backward_gain)}"
                        if amplified else ""))
        drivers = rows
        if amplified:
            drivers = tuple(f"x{gap}_{i}" for i in range(len(rows)))
            for i, row in enumerate(rows):
                lines += [
                    f"E{gap}_{i} a{gap}_{i} 0 {row} 0 {spice_number(amp.forward_gain)}",
                    f"VA{gap}_{i} a{gap}_{i} x{gap}_{i} DC 0",
                    f"F{gap}_{i} {row} 0 VA{gap}_{i} {spice_number(amp.backward_gain)}",
                ]
        w = np.asarray(w, dtype=np.float64)
        for i, j in zip(*np.nonzero(w)):
            lines.append(f"R{gap}_{i}_{j} {drivers[i]} {cols[j]} {spice_number(1.0 / w[i, j])}")
    return lines


def _biases(network: ResistiveNetwork, nodes) -> list[str]:
    lines = ["* bias currents (into the node)"]
    for m, b in enumerate(network.biases, start=1):
        lines += [f"IB{m}_{i} 0 {nodes[m][i]} DC {spice_number(value)}" for i, value in enumerate(b)]
    return lines


def _diodes(network: ResistiveNetwork, nodes) -> list[str]:
    rails: dict[float, str] = {}
    diodes = []
    for m in range(1, network.n_layers):
        for side, values in (("L", network.lower_rails[m - 1]), ("U", network.upper_rails[m - 1])):
            for i, value in enumerate(np.asarray(values, dtype=np.float64)):
                if not np.isfinite(value):
                    continue
                rail = rails.setdefault(float(value), f"rail{len(rails)}")
                anode, cathode = (rail, nodes[m][i]) if side == "L" else (nodes[m][i], rail)
                diodes.append(f"D{side}{m}_{i} {anode} {cathode} {DIODE_MODEL}")
    if not diodes:
        return []
    sources = [f"VR{k} {name} 0 DC {spice_number(value)}" for k, (value, name) in enumerate(rails.items())]
    return ["* diode rails and clamping diodes", *sources, *diodes]


def _nudge(network: ResistiveNetwork, outputs: tuple[str, ...], nudge: Nudge | None) -> list[str]:
    if nudge is None:
        return []
    n_out = len(outputs)
    if nudge.target is None:
        current = _one_sample(nudge.current(np.float64), n_out, "nudge error")
        return [f"* nudge: error currents -beta*error, beta={spice_number(nudge.beta)} A per unit of error"] + [
            f"IN{j} 0 {node} DC {spice_number(c)}" for j, (node, c) in enumerate(zip(outputs, current))]
    target = _one_sample(nudge.target, n_out, "nudge target")
    beta = float(nudge.beta)
    lines = [f"* nudge: towards a target through a conductance beta={spice_number(beta)} S"]
    for j, (node, t) in enumerate(zip(outputs, target)):
        lines.append(f"VT{j} t{j} 0 DC {spice_number(t)}")
        if beta > 0:
            lines.append(f"RN{j} {node} t{j} {spice_number(1.0 / beta)}")
        elif beta < 0:
            lines.append(f"GN{j} 0 {node} t{j} {node} {spice_number(beta)}")
    return lines


def _one_sample(values, n_out: int, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.size != n_out:
        raise ParameterError(f"{what} must hold one sample of {n_out} outputs, got shape {array.shape}")
    return array.reshape(n_out)


def _control(vectors: list[str], output_file: str) -> list[str]:
    return [
        ".control",
        "option numdgt=15",
        "set wr_singlescale",
        "set wr_vecnames",
        "op",
        f"wrdata {output_file} " + " ".join(vectors),
        "quit",
        ".endc",
    ]

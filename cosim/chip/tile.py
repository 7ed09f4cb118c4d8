"""A tile: the hardware around one analog block — converters, devices, settling — and its accounting.

A :class:`Tile` is what an :class:`~cosim.learning.blocks.AnalogBlock` talks to:

* ``drive_inputs``: the input DACs (block input voltages, V);
* ``read_outputs``: the output ADCs (block output voltages for the next block, V);
* ``drive_nudge``: the nudge DACs (the error signal turned into output currents);
* ``program``: writes the optimiser's target conductances into the devices (S), returns what they hold;
* as the block's :class:`~cosim.analog.resistive.block.Readout`: ``before_solve`` draws the read noise of the next
  solve, ``after_solve`` books the crossbar energy and settling time of every phase, ``measure_pair``
  reads the node voltages (node ADCs) and input-source currents (current ADCs) of the two phases EP
  compares — either each phase on its own (``ep_readout: absolute``) or, as a sample-and-hold front end
  would, their difference and sum (``differential``), which keeps the small phase difference above the
  ADC's LSB.

Every action is booked in the chip's :class:`~cosim.chip.ledger.Ledger`, at the tile's location (``tile<id>``).

A tile whose crossbars have wires (``wires``: a :class:`~cosim.analog.resistive.wires.WiredNetwork`, set by
:func:`cosim.build.set_wires`) books the devices' power as ``crossbar`` and the lines' I^2 R as ``wires``,
and reads the input-source currents as what each driver delivers into its word line. The wires' own
capacitance is not modelled: the settling time is that of the layer nodes, as without wires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cosim.analog.devices import DeviceArray, DeviceModel, drift
from cosim.analog.core import Equilibrium
from cosim.analog.resistive.gradients import Reading, source_current_pair
from cosim.analog.resistive.network import ResistiveNetwork
from cosim.analog.resistive.observables import crossbar_power, source_currents
from cosim.analog.resistive.wires import WiredEquilibrium, WiredNetwork, wired_power, wired_source_currents
from cosim.chip.ledger import LedgerAt
from cosim.config.schema import ConverterConfig, TileConfig
from cosim.converters import Converter, ConverterSpec
from cosim.streams import Scope


@dataclass(frozen=True)
class TileSpec:
    """What the chip is handed for one tile (made by :mod:`cosim.build`): the tile's id, the index in
    ``model.blocks`` of the block it holds, its resolved config (costs, buffers, readout) and the physics
    made from it: the device model and one converter spec per converter kind (input_dac, nudge_dac,
    output_adc, node_adc, current_adc)."""

    tile_id: int
    block_index: int
    config: TileConfig
    device: DeviceModel
    converters: dict[str, ConverterSpec]


def conversion_cost(config: ConverterConfig, conversions: int) -> tuple[float, float]:
    """(joules, seconds) of ``conversions`` conversions on the tile's bank of ``parallel`` converters."""
    joules = conversions * config.energy_per_step_J * 2 ** config.bits
    seconds = math.ceil(conversions / config.parallel) * config.conversion_time_s
    return joules, seconds


def array_grid(sizes, rows: int, columns: int) -> list[tuple[int, int]]:
    """Arrays of ``rows`` x ``columns`` devices each crossbar of a network with layer ``sizes`` takes:
    (rows of arrays, columns of arrays) per crossbar; a crossbar larger than one array is partitioned."""
    return [(-(-a // rows), -(-b // columns)) for a, b in zip(sizes[:-1], sizes[1:])]


def reading_bytes(config: ConverterConfig) -> int:
    """Bytes one converted value occupies in a buffer."""
    return math.ceil(config.bits / 8)


def phase_of(state: Equilibrium) -> str:
    return "free" if state.beta == 0 else ("plus" if state.beta > 0 else "minus")


class Tile:
    """The tile of ``spec`` holding one analog block's ``network``; ``streams(name)`` gives the random
    generator of each of its components (``devices/<layer>``, ``<converter name>``), each its own."""

    def __init__(self, spec: TileSpec, network: ResistiveNetwork, ledger: LedgerAt, streams: Scope):
        self.id, self.block_index, self.config, self.ledger = spec.tile_id, spec.block_index, spec.config, ledger
        self.network = network
        self.wires: WiredNetwork | None = None
        self.network_sizes = network.sizes
        self.device = spec.device
        timed = self.device.retention != "none"  # only then a drift stream (no new stream in checkpoints)
        self.devices = [DeviceArray(self.device, w.shape, streams(f"devices/{l}"),
                                    streams(f"devices/{l}/drift") if timed else None, streams.normals(f"devices/{l}"))
                        for l, w in enumerate(network.conductances)]
        self._nominal_biases = self._reference0 = None  # at the last programming, for drift compensation
        self._settling: tuple = (None, 0.0)  # (the self-conductances it was worked out for, settling time in s)
        kinds = spec.converters
        self.input_dac = Converter(kinds["input_dac"], streams("input_dac"))
        self.nudge_dac = Converter(kinds["nudge_dac"], streams("nudge_dac"))
        self.output_adc = Converter(kinds["output_adc"], streams("output_adc"))
        # one calibrated range per layer and per reading kind (a phase's values, or the difference / sum)
        self.node_adcs = {kind: [Converter(kinds["node_adc"], streams(f"node_adc/{kind}/{m}"))
                                 for m in range(len(network.sizes) - 1)]
                          for kind in ("a", "b", "difference", "sum")}
        self.current_adc = Converter(kinds["current_adc"], streams("current_adc"))
        self.targets: list[np.ndarray | None] = [None] * len(self.devices)
        held = self.program(network.conductances, 1.0)
        if held is not None:
            network.set_conductances(held)

    # ------------------------------------------------------------------ converters on the data path
    def drive_inputs(self, volts: np.ndarray) -> np.ndarray:
        self._book_conversions("dac", self.config.input_dac, volts.size, "free")
        self._book_buffer(volts.size * reading_bytes(self.config.input_dac), "free", read=True)
        return self.input_dac(volts)

    def read_outputs(self, volts: np.ndarray) -> np.ndarray:
        self._book_conversions("adc", self.config.output_adc, volts.size, "free")
        self._book_buffer(volts.size * reading_bytes(self.config.output_adc), "free", read=False)
        return self.output_adc(volts)

    def drive_nudge(self, error: np.ndarray, phases: tuple[str, ...]) -> np.ndarray:
        """The error signal as the nudge DACs realise it (the same codes drive each nudged phase)."""
        for phase in phases:
            self._book_conversions("dac", self.config.nudge_dac, error.size, phase)
        return self.nudge_dac(error)

    # ------------------------------------------------------------------ readout around every solve
    @property
    def reads_before_solve(self) -> bool:
        """Noisy device reads: :meth:`before_solve` installs a fresh read before every free solve."""
        return self.device.noisy_reads

    def before_solve(self, network: ResistiveNetwork, free: bool) -> None:
        if self.device.noisy_reads and (free or self.config.device.read_noise_redraw == "solve"):
            network.set_conductances([array.read() for array in self.devices])

    def after_solve(self, network: ResistiveNetwork, state: Equilibrium) -> None:
        """Book the crossbars' dissipated energy over the phase's settling time."""
        settle = self.settling_time(network)
        if isinstance(state, WiredEquilibrium):
            devices, wires = wired_power(self.wires, state)
            self.ledger.add("wires", phase_of(state), wires.sum() * settle)
        else:
            devices = crossbar_power(network, state.layers, state.input_product, state.crossbar_products)
        self.ledger.add("crossbar", phase_of(state), devices.sum() * settle, settle)

    def measure_pair(self, network: ResistiveNetwork, a: Equilibrium, b: Equilibrium,
                     currents: bool = True) -> tuple[Reading, Reading]:
        """The readings of two phases through the node and current ADCs (input voltages are known codes);
        without ``currents`` (no block before to send an error to) the current ADCs read nothing."""
        layers_a, layers_b = self._read_voltages(a, b)
        currents_a, currents_b = self._read_currents(network, a, b) if currents else (None, None)
        n_nodes, n_sources = sum(v.size for v in a.layers[1:]), a.layers[0].size if currents else 0
        for state in (a, b):
            phase = phase_of(state)
            self._book_conversions("adc", self.config.node_adc, n_nodes, phase)
            self._book_conversions("adc", self.config.current_adc, n_sources, phase)
            self._book_buffer(n_nodes * reading_bytes(self.config.node_adc)
                              + n_sources * reading_bytes(self.config.current_adc), phase, read=False)
        return Reading(layers_a, currents_a, a.beta), Reading(layers_b, currents_b, b.beta)

    def _read_voltages(self, a: Equilibrium, b: Equilibrium) -> tuple[list, list]:
        if self.config.node_adc.ideal:
            return a.layers, b.layers
        if self.config.ep_readout == "absolute":
            return [a.layers[0]] + self._convert("a", a.layers[1:]), [b.layers[0]] + self._convert("b", b.layers[1:])
        # differential: convert the difference and the sum; a = (sum + difference) / 2, b = (sum - difference) / 2
        difference = self._convert("difference", [va - vb for va, vb in zip(a.layers[1:], b.layers[1:])])
        total = self._convert("sum", [va + vb for va, vb in zip(a.layers[1:], b.layers[1:])])
        return ([a.layers[0]] + [(s + d) / 2 for s, d in zip(total, difference)],
                [b.layers[0]] + [(s - d) / 2 for s, d in zip(total, difference)])

    def _read_currents(self, network: ResistiveNetwork, a: Equilibrium, b: Equilibrium):
        if isinstance(a, WiredEquilibrium):
            pair = wired_source_currents(self.wires, a), wired_source_currents(self.wires, b)
        else:
            pair = source_current_pair(network, a, b)
        if self.config.current_adc.ideal:
            return pair
        if self.config.ep_readout == "absolute":
            return tuple(self.current_adc(self._currents(network, state)) for state in (a, b))
        difference, offset = pair
        return self.current_adc(difference - offset), np.zeros_like(offset)  # only the difference is read

    def _currents(self, network: ResistiveNetwork, state: Equilibrium) -> np.ndarray:
        """The input-source currents of one phase (A)."""
        if isinstance(state, WiredEquilibrium):
            return wired_source_currents(self.wires, state)
        return source_currents(network, state.layers, state.conductances)

    def _convert(self, kind: str, layers: list[np.ndarray]) -> list[np.ndarray]:
        return [adc(v) for adc, v in zip(self.node_adcs[kind], layers)]

    # ------------------------------------------------------------------ devices
    def program(self, theta: list[np.ndarray], g_max: float) -> list[np.ndarray] | None:
        """Write the targets theta * g_max (S) through the device model; returns the conductances the
        devices hold, or None when an ideal device holds the targets exactly. Non-ideal devices keep the
        last targets (:attr:`targets`, S) for export."""
        if self.device.is_ideal:
            writes = sum(t.size for t in theta)
            held = None
        else:
            writes = sum(array.writes for array in self.devices)
            self.targets = [t * g_max for t in theta]
            held = [array.update(t) for array, t in zip(self.devices, self.targets)]
            writes = sum(array.writes for array in self.devices) - writes
            self._nominal_biases = self._reference0 = None
        self.ledger.add("programming", "update", writes * self.config.device.write_energy_J)
        return held

    def age(self, seconds: float, compensate: bool | None = None) -> None:
        """Evaluate the tile ``seconds`` after its last programming: reads see the devices' retained state
        (and the 1/f read noise of that age); the programmed state is unchanged, so any later age may follow.

        ``compensate`` (default: ``device.drift_compensation``): global drift compensation. A reference read
        (every input at the input DAC's full scale) measures the tile's summed column currents now and at
        programming; their ratio scales the tile's bias current sources. In a resistive network a common
        scale of every conductance leaves node voltages unchanged except against the bias currents, so this
        restores the mean operating point; the device-to-device spread of drift remains. Each calibration
        books one reference read in the ledger's ``calibration`` phase.
        """
        if self.device.is_ideal:
            return
        for array in self.devices:
            array.set_age(seconds)
        self.network.set_conductances([array.aged() for array in self.devices])
        if self._nominal_biases is None:
            self._nominal_biases = [np.array(b) for b in self.network.biases]
        compensate = self.config.device.drift_compensation if compensate is None else compensate
        factor = 1.0
        if compensate:
            if self._reference0 is None:
                self._reference0 = self._reference_read([array.conductances for array in self.devices])
            factor = 1.0 / drift.global_drift_scale(self._reference0, self._reference_read(
                [array.aged() for array in self.devices]))
        self.network.set_biases([b * factor for b in self._nominal_biases])

    def _reference_read(self, conductances: list[np.ndarray]) -> float:
        """Summed absolute column currents (A) for every input at full scale; books the read's cost.
        Read noise is left out: it averages away over the tile's devices."""
        volts = self.config.input_dac.full_scale
        for g in conductances:
            self._book_conversions("dac", self.config.input_dac, g.shape[0], "calibration")
            self._book_conversions("adc", self.config.current_adc, g.shape[1], "calibration")
            settle = self.settling_time(self.network)
            self.ledger.add("crossbar", "calibration", float(g.sum()) * volts**2 * settle, settle)
        return sum(drift.reference_read(g, np.full(g.shape[0], volts)) for g in conductances)

    def held_conductances(self) -> list[np.ndarray]:
        """What the devices hold per crossbar (S): the programmed state without read noise or drift (the
        network's present values for ideal devices, which hold exactly what was written)."""
        return [np.asarray(g) if array.conductances is None else array.conductances
                for array, g in zip(self.devices, self.network.conductances)]

    def book_gradient_arithmetic(self, macs: int) -> None:
        """The digital processor's share of EP: the dV^2 products and sums behind the weight gradients."""
        digital = self.config.digital
        self.ledger.add("digital", "update", macs * digital.mac_energy_J, macs / digital.macs_per_second)

    # ------------------------------------------------------------------ checkpoints
    def converters(self) -> dict:
        """Every converter of the tile by a stable name."""
        named = {"input_dac": self.input_dac, "nudge_dac": self.nudge_dac, "output_adc": self.output_adc,
                 "current_adc": self.current_adc}
        named.update({f"node_adc.{kind}.{m}": adc for kind, adcs in self.node_adcs.items() for m, adc in enumerate(adcs)})
        return named

    def state(self) -> tuple[dict, dict]:
        """(JSON-able scalars, arrays): converter ranges and counters, device states (the random streams are
        checkpointed by their owner, :class:`~cosim.streams.Streams`)."""
        scalars = {"converters": {}}
        arrays = {}
        for name, conv in self.converters().items():
            scalars["converters"][name], conv_arrays = conv.state()
            arrays.update({f"{name}.{key}": value for key, value in conv_arrays.items()})
        for l, devices in enumerate(self.devices):
            scalars[f"writes.{l}"] = devices.writes
            if devices.conductances is not None:
                arrays[f"devices.{l}"] = devices.conductances
                arrays[f"targets.{l}"] = self.targets[l]
        return scalars, arrays

    def load_state(self, scalars: dict, arrays: dict) -> None:
        """Restore a :meth:`state`; the network gets the conductances the devices held."""
        for name, conv in self.converters().items():
            prefix = f"{name}."
            conv.load_state(scalars["converters"][name],
                            {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
        for l, devices in enumerate(self.devices):
            devices.writes = scalars[f"writes.{l}"]
            if f"devices.{l}" in arrays:
                devices.restore(np.array(arrays[f"devices.{l}"]))
                self.targets[l] = np.array(arrays[f"targets.{l}"]) if f"targets.{l}" in arrays else None
        if not self.device.is_ideal:
            self.network.set_conductances([d.conductances for d in self.devices])

    # ------------------------------------------------------------------ physics and bookkeeping
    def settling_time(self, network: ResistiveNetwork) -> float:
        """Settling time of a phase: settling_time_constants x the slowest node's C / (its conductance).
        Worked out once per install (every install makes new self-conductances), not at every solve."""
        conductances, seconds = self._settling
        if conductances is not network.self_conductances:
            slowest = min(float(d.min()) for d in network.self_conductances)
            seconds = self.config.settling_time_constants * self.config.node_capacitance_F / slowest
            self._settling = network.self_conductances, seconds
        return seconds

    def _book_conversions(self, kind: str, config: ConverterConfig, conversions: int, phase: str) -> None:
        joules, seconds = conversion_cost(config, conversions)
        self.ledger.add(kind, phase, joules, seconds)

    def _book_buffer(self, nbytes: int, phase: str, read: bool) -> None:
        buffer = self.config.buffer
        per_byte = buffer.read_energy_J_per_byte if read else buffer.write_energy_J_per_byte
        self.ledger.add("tile_buffer", phase, nbytes * per_byte)

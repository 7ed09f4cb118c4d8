"""The chip: the mapping of a model's analog blocks onto tiles, capacity checks, and the accounting of
what happens outside the tiles' analog processors (digital blocks, buffers, I/O).

Mapping rules (see docs/chip.md):

* each analog block occupies one tile (``chip.mapping``, or analog block k on tile k); a crossbar larger
  than one of the tile's arrays (``rows`` x ``columns``) is **partitioned** over several arrays of the
  tile, filled in order (:func:`~cosim.chip.tile.array_grid`), whose lines join at the layer nodes: the
  same circuit with shorter wires (exactly the same network when the wires are ideal);
* a digital block runs on the digital processor of the tile of the analog block before it (the first
  tile for a digital front end);
* activations move tile buffer -> global buffer -> next tile buffer between blocks; samples and labels
  come from I/O through the global buffer.

Capacities are checked before training: a tile buffer must hold one batch of EP readings (node voltages
and source currents of both nudged phases) and the global buffer one batch of the widest activation;
otherwise the run stops with a message giving the bytes needed and the two ways out (a larger buffer or
a smaller ``data.batch_size``).
"""

from __future__ import annotations

import numpy as np

from cosim.chip.area import chip_area
from cosim.chip.ledger import CHIP, Ledger
from cosim.chip.tile import Tile, TileSpec, array_grid, reading_bytes
from cosim.config.schema import ChipConfig, TileConfig
from cosim.errors import ConfigError

ACTIVATION_BYTES = 4  # digital activations are float32 words in buffers


class Chip:
    """Tiles for the analog blocks of a model, and the ledger they all book into.

    ``default_tile``: the resolved config of tile 0, whose digital processor runs a model without analog
    blocks. The chip's tiles, each knowing the model block it holds (:attr:`placements`), are the one
    record of which block sits on which tile: the console, results.h5, plots, export-spice, spice-check
    and gradcheck all name tiles by it.
    """

    def __init__(self, config: ChipConfig, default_tile: TileConfig):
        self.config = config
        self.default_tile = default_tile
        self.ledger = Ledger()
        self.tiles: list[Tile] = []
        self._plan: list[tuple] = []  # (block, input shape, output shape, tile config, tile location) per block
        self._step_costs: dict[tuple[int, bool], list[tuple[str, str, float, float, str]]] = {}

    def tile_id(self, analog_index: int, block_path: str) -> int:
        """The tile of the ``analog_index``-th analog block: ``chip.mapping``, or its own index."""
        mapping = self.config.mapping
        if mapping is None:
            return analog_index
        if analog_index >= len(mapping):
            raise ConfigError(f"chip.mapping: gives {len(mapping)} tile(s) but {block_path} is analog block "
                              f"number {analog_index + 1}; list one tile id per analog block")
        return mapping[analog_index]

    @property
    def placements(self) -> dict[int, int]:
        """Index in ``model.blocks`` -> id of the tile that holds it, for every analog block."""
        return {tile.block_index: tile.id for tile in self.tiles}

    def add_tile(self, spec: TileSpec, network, streams) -> Tile:
        """Place a block's network on the tile of ``spec``; ``streams``: the tile's random streams (a
        :class:`~cosim.streams.Scope`)."""
        tile = Tile(spec, network, self.ledger.at(f"tile{spec.tile_id}"), streams)
        self.tiles.append(tile)
        return tile

    def plan(self, blocks: list, shapes: list[tuple[tuple, tuple]], batch: int) -> None:
        """Take the model (its blocks and their (input, output) shapes): check that buffers hold a batch
        of ``batch``, and fix which tile's digital processor runs each block (see :meth:`book_step`)."""
        self._check_capacities(shapes, batch)
        tiles = iter(self.tiles)
        current = (self.tiles[0].config, f"tile{self.tiles[0].id}") if self.tiles else (self.default_tile, "tile0")
        self._plan, self._step_costs = [], {}
        for block, (input_shape, output_shape) in zip(blocks, shapes):
            if block.kind == "analog":
                tile = next(tiles)
                current = tile.config, f"tile{tile.id}"
            self._plan.append((block, tuple(input_shape), tuple(output_shape), *current))

    def _check_capacities(self, shapes: list[tuple[tuple, tuple]], batch: int) -> None:
        """Buffers must hold one batch: EP readings per tile, the widest activation in the global buffer."""
        widest = 0
        for input_shape, output_shape in shapes:
            widest = max(widest, int(np.prod(input_shape)), int(np.prod(output_shape)))
        need = batch * widest * ACTIVATION_BYTES
        if need > self.config.global_buffer.capacity_bytes:
            raise ConfigError(
                f"chip.global_buffer.capacity_bytes: a batch of {batch} activations of width {widest} needs "
                f"{need} B but the global buffer holds {self.config.global_buffer.capacity_bytes} B; enlarge it "
                f"or lower data.batch_size")
        for tile in self.tiles:
            c, sizes = tile.config, tile.network_sizes
            need = 2 * batch * (sum(sizes[1:]) * reading_bytes(c.node_adc) + sizes[0] * reading_bytes(c.current_adc))
            if need > c.buffer.capacity_bytes:
                raise ConfigError(
                    f"chip.tile.buffer.capacity_bytes: tile {tile.id} must hold the EP readings of both nudged "
                    f"phases of a batch of {batch} ({need} B) but holds {c.buffer.capacity_bytes} B; enlarge the "
                    f"tile buffer (chip.tile.buffer.capacity_bytes or a per-tile override) or lower "
                    f"data.batch_size")

    def age(self, seconds: float, compensate: bool | None = None) -> None:
        """Evaluate the programmed chip ``seconds`` after its last programming (0: as programmed): every
        tile's reads see its devices' retained state; with ``compensate`` (default: each tile's
        ``device.drift_compensation``) each tile recalibrates from a reference read. The programmed state is
        unchanged, so ages can be visited in any order; the next write restarts the clock."""
        for tile in self.tiles:
            tile.age(seconds, compensate)

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> tuple[dict, dict]:
        """(JSON-able scalars, arrays) of every tile and the ledger, for an exact resume."""
        scalars, arrays = {"ledger": self.ledger.state(), "tiles": []}, {}
        for tile in self.tiles:
            tile_scalars, tile_arrays = tile.state()
            scalars["tiles"].append(tile_scalars)
            arrays.update({f"tile{tile.id}.{k}": v for k, v in tile_arrays.items()})
        return scalars, arrays

    def load_state(self, scalars: dict, arrays: dict) -> None:
        self.ledger.load_state(scalars["ledger"])
        for tile, tile_scalars in zip(self.tiles, scalars["tiles"]):
            prefix = f"tile{tile.id}."
            tile.load_state(tile_scalars, {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})

    # ------------------------------------------------------------------ accounting outside the analog tiles
    def book_step(self, batch: int, training: bool = True) -> None:
        """Digital work, buffer traffic and I/O of one batch through the model (forward and, if training,
        backward), on the tile each digital block belongs to. The costs of a batch size are worked out
        once from the planned shapes (:meth:`plan`) and booked as they are on every later batch."""
        key = (batch, training)
        if key not in self._step_costs:
            self._step_costs[key] = self._costs_of_step(batch, training)
        for component, phase, joules, seconds, location in self._step_costs[key]:
            self.ledger.add(component, phase, joules, seconds, location)
        if training:
            self.ledger.samples += batch

    def _costs_of_step(self, batch: int, training: bool) -> list[tuple[str, str, float, float, str]]:
        """The ledger entries (component, phase, J, s, location) of one step of ``batch`` samples."""
        io, glob = self.config.io, self.config.global_buffer
        input_shape = self._plan[0][1] if self._plan else ()
        sample_bytes = int(np.prod(input_shape)) * ACTIVATION_BYTES + 8  # a sample and its label
        costs = [("io", "digital_forward", batch * sample_bytes * io.energy_J_per_byte,
                  batch * sample_bytes / io.bytes_per_second, CHIP)]
        for block, shape, out_shape, tile_config, location in self._plan:
            moved = batch * (int(np.prod(shape)) + int(np.prod(out_shape))) * ACTIVATION_BYTES
            costs.append(("global_buffer", "digital_forward",
                          moved * (glob.read_energy_J_per_byte + glob.write_energy_J_per_byte) / 2, 0.0, CHIP))
            if block.kind == "digital":
                cost = block.cost(shape, batch, ACTIVATION_BYTES)
                costs += _digital(tile_config, cost.macs_forward,
                                  cost.bytes_read_forward + cost.bytes_written_forward, "digital_forward", location)
                if training:
                    costs += _digital(tile_config, cost.macs_backward,
                                      cost.bytes_read_backward + cost.bytes_written_backward, "digital_backward",
                                      location)
        return costs

    def area(self) -> dict:
        """The chip's area report (:func:`cosim.chip.area.chip_area`): m^2 per component and tile, total,
        node and sources; what results.h5 stores under ``area``."""
        return chip_area(self.config, [(t.id, t.config, sum(across * down for across, down in array_grid(
            t.network_sizes, t.config.rows, t.config.columns))) for t in self.tiles])

    def describe(self) -> str:
        area = self.area()
        lines = []
        for tile in self.tiles:
            c = tile.config
            lines.append(f"tile {tile.id} (model.blocks[{tile.block_index}]): crossbars {' -> '.join(map(str, tile.network_sizes))} nodes "
                         f"on {describe_arrays(tile)}; "
                         f"device {c.device.g_min_S:.3g}..{c.device.g_max_S:.3g} S; diode {c.diode.model}; "
                         f"ADC {_bits(c.output_adc)}/{_bits(c.node_adc)}/{_bits(c.current_adc)} "
                         f"(out/node/current); DAC {_bits(c.input_dac)}/{_bits(c.nudge_dac)} (in/nudge)")
            parts = area[f"tile{tile.id}"]
            lines.append(f"  area {parts['total'] * 1e6:.3g} mm2: " + ", ".join(
                f"{name} {value * 1e6:.3g}" for name, value in parts.items() if name != "total"))
        lines.append(f"chip area {area['total_mm2']:.3g} mm2 at {area['node_nm']:g} nm (tiles, global buffer "
                     f"{area['global_buffer_m2'] * 1e6:.3g}, I/O {area['io_m2'] * 1e6:.3g}); sources: docs/devices.md")
        return "\n".join(lines)


def _digital(config: TileConfig, macs: int, nbytes: int, phase: str,
             location: str) -> list[tuple[str, str, float, float, str]]:
    """Ledger entries of ``macs`` multiply-accumulates and ``nbytes`` of tile-buffer traffic on a tile."""
    digital, buffer = config.digital, config.buffer
    per_byte = (buffer.read_energy_J_per_byte + buffer.write_energy_J_per_byte) / 2
    return [("digital", phase, macs * digital.mac_energy_J, macs / digital.macs_per_second, location),
            ("tile_buffer", phase, nbytes * per_byte, 0.0, location)]


def describe_arrays(tile: Tile) -> str:
    """The tile's arrays and their line ends, e.g. ``6 arrays of 64 x 32 (crossbar 0: 2 x 2, 128 drivers, 64 sense
    ends; ...)``: every array has its own driver per word line and sense end per bit line."""
    c, sizes = tile.config, tile.network_sizes
    parts, total = [], 0
    for l, (across, down) in enumerate(array_grid(sizes, c.rows, c.columns)):
        total += across * down
        parts.append(f"crossbar {l}: {across} x {down}, {sizes[l] * down} drivers, {sizes[l + 1] * across} sense ends")
    return f"{total} array{'s' if total > 1 else ''} of {c.rows} x {c.columns} ({'; '.join(parts)})"


def _bits(converter) -> str:
    return "ideal" if converter.ideal else f"{converter.bits}b"

"""The chip: the mapping of a model's analog blocks onto tiles, capacity checks, and the accounting of
what happens outside the tiles' analog processors (digital blocks, buffers, I/O).

Mapping rules (see docs/chip.md):

* each analog block occupies one tile (``chip.mapping``, or analog block k on tile k); a block whose
  crossbar is larger than a tile's (``rows`` x ``columns``) is **rejected** with a message that says
  which crossbar and what to change — cosim does not split a resistive network across tiles, since the
  pieces would no longer be one circuit;
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

from cosim.chip.ledger import Ledger
from cosim.chip.tile import Tile, reading_bytes
from cosim.config import resolve_tile
from cosim.config.schema import ChipConfig, TileConfig
from cosim.errors import ConfigError

ACTIVATION_BYTES = 4  # digital activations are float32 words in buffers


class Chip:
    """Tiles for the analog blocks of a model, and the ledger they all book into."""

    def __init__(self, config: ChipConfig, seed: int):
        self.config = config
        self.seed = seed
        self.ledger = Ledger()
        self.tiles: list[Tile] = []

    def tile_config(self, tile_id: int) -> TileConfig:
        """The defaults with this tile's overrides applied."""
        overrides = [(f"chip.tiles[{i}].set", o.set) for i, o in enumerate(self.config.tiles) if o.tile == tile_id]
        return resolve_tile(self.config.tile, overrides)

    def tile_id(self, analog_index: int, block_path: str) -> int:
        mapping = self.config.mapping
        if mapping is None:
            return analog_index
        if analog_index >= len(mapping):
            raise ConfigError(f"chip.mapping: gives {len(mapping)} tile(s) but {block_path} is analog block "
                              f"number {analog_index + 1}; list one tile id per analog block")
        return mapping[analog_index]

    def check_fits(self, tile_id: int, config: TileConfig, sizes: tuple, block_path: str) -> None:
        """Reject a network whose crossbars exceed the tile's rows x columns."""
        for l, (rows, columns) in enumerate(zip(sizes[:-1], sizes[1:])):
            if rows > config.rows or columns > config.columns:
                raise ConfigError(
                    f"{block_path}: crossbar {l} needs {rows} x {columns} devices but tile {tile_id} holds "
                    f"{config.rows} x {config.columns}; raise chip.tile.rows/columns (or this tile's override), "
                    f"or split the block into smaller analog blocks with digital blocks between them")

    def add_tile(self, tile_id: int, config: TileConfig, network) -> Tile:
        tile = Tile(tile_id, config, network, self.ledger, np.random.default_rng([self.seed, 17, tile_id]))
        self.tiles.append(tile)
        return tile

    def check_capacities(self, block_shapes: list[tuple[str, tuple, tuple]], batch: int) -> None:
        """Buffers must hold one batch: EP readings per tile, the widest activation in the global buffer."""
        widest = 0
        for kind, input_shape, output_shape in block_shapes:
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

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> tuple[dict, dict]:
        """(JSON-able scalars, arrays) of every tile and the ledger, for an exact resume."""
        scalars, arrays = {"ledger": self.ledger.state(), "tiles": []}, {}
        for tile in self.tiles:
            tile_scalars, tile_arrays = tile.state()
            scalars["tiles"].append(tile_scalars)
            arrays.update({f"tile{tile.id}.{k}": v for k, v in tile_arrays.items()})
        return scalars, arrays

    def load_state(self, scalars: dict, arrays: dict, networks: list) -> None:
        self.ledger.load_state(scalars["ledger"])
        for tile, tile_scalars, network in zip(self.tiles, scalars["tiles"], networks):
            prefix = f"tile{tile.id}."
            tile.load_state(tile_scalars, {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)},
                            network)

    # ------------------------------------------------------------------ accounting outside the analog tiles
    def book_step(self, chain, input_shape: tuple, batch: int, training: bool = True) -> None:
        """Digital work, buffer traffic and I/O of one batch through the chain (forward and, if training,
        backward), on the tile each digital block belongs to."""
        ledger, shape = self.ledger, tuple(input_shape)
        tile_configs = self._tile_of_each_block(chain)
        io, glob = self.config.io, self.config.global_buffer
        sample_bytes = int(np.prod(shape)) * ACTIVATION_BYTES + 8  # a sample and its label
        ledger.add("io", "digital_forward", batch * sample_bytes * io.energy_J_per_byte,
                   batch * sample_bytes / io.bytes_per_second)
        for block, tile_config in zip(chain.blocks, tile_configs):
            out_shape = block.output_shape(shape)
            moved = batch * (int(np.prod(shape)) + int(np.prod(out_shape))) * ACTIVATION_BYTES
            ledger.add("global_buffer", "digital_forward",
                       moved * (glob.read_energy_J_per_byte + glob.write_energy_J_per_byte) / 2)
            if block.kind == "digital":
                cost = block.cost(shape, batch, ACTIVATION_BYTES)
                self._book_digital(tile_config, cost.macs_forward,
                                   cost.bytes_read_forward + cost.bytes_written_forward, "digital_forward")
                if training:
                    self._book_digital(tile_config, cost.macs_backward,
                                       cost.bytes_read_backward + cost.bytes_written_backward, "digital_backward")
            shape = out_shape
        if training:
            ledger.samples += batch

    def _book_digital(self, config: TileConfig, macs: int, nbytes: int, phase: str) -> None:
        digital, buffer = config.digital, config.buffer
        self.ledger.add("digital", phase, macs * digital.mac_energy_J, macs / digital.macs_per_second)
        per_byte = (buffer.read_energy_J_per_byte + buffer.write_energy_J_per_byte) / 2
        self.ledger.add("tile_buffer", phase, nbytes * per_byte)

    def _tile_of_each_block(self, chain) -> list[TileConfig]:
        """The tile config whose digital processor runs each block (analog blocks: their own tile)."""
        tiles = iter(self.tiles)
        current = self.tiles[0].config if self.tiles else self.tile_config(0)
        result = []
        for block in chain.blocks:
            if block.kind == "analog":
                current = next(tiles).config
            result.append(current)
        return result

    def describe(self) -> str:
        lines = []
        for tile in self.tiles:
            c = tile.config
            lines.append(f"tile {tile.id}: crossbars {' -> '.join(map(str, tile.network_sizes))} nodes; "
                         f"device {c.device.g_min_S:.3g}..{c.device.g_max_S:.3g} S; diode {c.diode.model}; "
                         f"ADC {_bits(c.output_adc)}/{_bits(c.node_adc)}/{_bits(c.current_adc)} "
                         f"(out/node/current); DAC {_bits(c.input_dac)}/{_bits(c.nudge_dac)} (in/nudge)")
        return "\n".join(lines)


def _bits(converter) -> str:
    return "ideal" if converter.ideal else f"{converter.bits}b"

"""The chip: tiles (converters, devices, settling) around the analog blocks, the mapping of a model onto
them, buffers and I/O, and the energy/latency ledger. Reads the config; builds on analog/ and digital/."""

from cosim.chip.chip import Chip
from cosim.chip.ledger import COMPONENTS, PHASES, Ledger
from cosim.chip.tile import Tile, TileSpec

__all__ = ["COMPONENTS", "Chip", "Ledger", "PHASES", "Tile", "TileSpec"]

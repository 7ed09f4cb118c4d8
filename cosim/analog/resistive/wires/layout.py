"""Where the wires of a crossbar run, and how much they resist (:class:`WireLayout`), and a network with them.

A crossbar between layer A (``n`` nodes) and layer B (``m`` nodes) is ``n`` word lines crossed by ``m`` bit
lines. The device ``W[i, k]`` joins word-line node ``(i, k)`` to bit-line node ``(i, k)``. Consecutive nodes
of a line are joined by one metal segment per cell pitch (``word_segment_ohm``, ``bit_segment_ohm``). One end
of word line ``i`` is driven by layer-A node ``i`` through ``driver_ohm`` (through the amplifier's VCVS when
the gap has one); one end of bit line ``k`` is sensed by layer-B node ``k`` through ``sense_ohm``.

Default ends: word lines driven at column 0 and bit lines sensed at the last row — the picture every
crossbar simulator draws (inputs on the left, outputs at the bottom; badcrossbar and CrossSim use it), so
results compare one to one. The cell farthest from both ends, (row 0, last column), sees the most IR drop.

A crossbar larger than one array is **partitioned**: cut into arrays of at most ``array_rows`` word lines by
``array_columns`` bit lines (filled in order from row 0 / column 0; the last array of a row or column of
arrays may be smaller). Each array has its own lines, drivers and sense resistors, with the same ends as
above within the array; word line ``i`` of every array in a row of arrays is driven by the same layer-A node
``i`` (each through its own driver), and bit line ``k`` of every array in a column of arrays is sensed by the
same layer-B node ``k``. Electrically the same network with shorter wires: with ideal wires it is exactly
the unpartitioned one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog.resistive.network import ResistiveNetwork
from cosim.errors import ParameterError

ENDS = ("first", "last")


@dataclass(frozen=True)
class WireLayout:
    """Wires of one crossbar (resistances in ohms; ends ``"first"`` (index 0) or ``"last"``).

    word_segment_ohm / bit_segment_ohm: one cell pitch of a word / bit line;
    driver_ohm: layer-A node (or its amplifier) to its word line's driven end;
    sense_ohm: bit line's sensed end to its layer-B node;
    word_driven_at: which column the word lines are driven at; bit_sensed_at: which row the bit lines are sensed at
    (both within an array);
    array_rows / array_columns: word / bit lines of one array (0: one array holds the whole crossbar).
    """

    word_segment_ohm: float = 0.0
    bit_segment_ohm: float = 0.0
    driver_ohm: float = 0.0
    sense_ohm: float = 0.0
    word_driven_at: str = "first"
    bit_sensed_at: str = "last"
    array_rows: int = 0
    array_columns: int = 0

    def __post_init__(self):
        for name in ("word_segment_ohm", "bit_segment_ohm", "driver_ohm", "sense_ohm"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ParameterError(f"WireLayout.{name} must be a finite resistance >= 0 ohm, got {value!r}")
        for name in ("word_driven_at", "bit_sensed_at"):
            if getattr(self, name) not in ENDS:
                raise ParameterError(f"WireLayout.{name} must be one of {ENDS}, got {getattr(self, name)!r}")
        for name in ("array_rows", "array_columns"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 0):
                raise ParameterError(f"WireLayout.{name} must be an integer >= 0 (0: one array), got {value!r}")

    @property
    def ideal(self) -> bool:
        """True when every resistance is zero: the crossbar is the wire-free one."""
        return not (self.word_segment_ohm or self.bit_segment_ohm or self.driver_ohm or self.sense_ohm)

    def pieces(self, rows: int, columns: int) -> tuple[int, int]:
        """(word lines, bit lines) of one array of a ``rows`` x ``columns`` crossbar: a bit line's piece and a
        word line's piece, in cells."""
        return min(self.array_rows or rows, rows), min(self.array_columns or columns, columns)

    def arrays(self, rows: int, columns: int) -> tuple[int, int]:
        """How many arrays a ``rows`` x ``columns`` crossbar takes: (rows of arrays, columns of arrays)."""
        piece_rows, piece_columns = self.pieces(rows, columns)
        return -(-rows // piece_rows), -(-columns // piece_columns)

    @property
    def word_end_last(self) -> bool:
        return self.word_driven_at == "last"

    @property
    def bit_end_last(self) -> bool:
        return self.bit_sensed_at == "last"


class WiredNetwork:
    """A :class:`ResistiveNetwork` whose crossbars have real wires: one :class:`WireLayout` per crossbar.

    ``layouts`` may be one layout (every crossbar) or a list with one per crossbar. The network's layer
    nodes keep their sources, biases, diodes and amplifiers; only the crossbars change.
    """

    def __init__(self, network: ResistiveNetwork, layouts):
        if isinstance(layouts, WireLayout):
            layouts = [layouts] * network.n_layers
        layouts = tuple(layouts)
        if len(layouts) != network.n_layers or not all(isinstance(w, WireLayout) for w in layouts):
            raise ParameterError(f"need one WireLayout per crossbar ({network.n_layers}), got {layouts!r}")
        self.network = network
        self.layouts = layouts

    @property
    def ideal(self) -> bool:
        """True when no crossbar has any wire resistance (the wire-free solver is used, unchanged)."""
        return all(w.ideal for w in self.layouts)

    def shapes(self) -> list[tuple[int, int]]:
        """Shape ``(n_l, n_{l+1})`` of every crossbar, i.e. of its word- and bit-line node arrays."""
        sizes = self.network.sizes
        return [(sizes[l], sizes[l + 1]) for l in range(self.network.n_layers)]

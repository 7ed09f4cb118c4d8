"""The linear crossbar outside simulators model (badcrossbar): inputs on word lines, bit lines at 0 V.

As a cosim network: layer 0 drives the word lines; layer 1 nodes are pinned at exactly 0 V by ideal diodes to
rails at 0 V (a virtual ground, like a transimpedance sense amplifier's input); a wire-free 1-node output
layer closes the network. badcrossbar puts one segment between the source and the first cell and one between
the last row and ground, so driver and sense resistances equal the segment resistances.
"""

from __future__ import annotations

import numpy as np

from cosim.analog.resistive.network import IdealDiode, ResistiveNetwork
from cosim.analog.resistive.wires.layout import WiredNetwork, WireLayout


def grounded_crossbar(conductances: np.ndarray, word_ohm: float, bit_ohm: float, dtype=np.float64) -> WiredNetwork:
    """A wired crossbar ``conductances`` (n, m) siemens whose bit lines end at a 0 V virtual ground."""
    n, m = conductances.shape
    network = ResistiveNetwork([conductances, np.ones((m, 1))], lower_rails=[0.0], upper_rails=[0.0],
                               diode=IdealDiode(), dtype=dtype)
    layout = WireLayout(word_ohm, bit_ohm, word_ohm, bit_ohm, word_driven_at="first", bit_sensed_at="last")
    return WiredNetwork(network, [layout, WireLayout()])

"""Crossbars with real wires: IR drop solved exactly inside a resistive network (issue 13).

Layering: imports cosim.analog (network, solve, gradients, kernels); nothing in cosim.analog imports it: a
ResistiveBlock is handed a WiredSolver and WiredRules by cosim.build.
"""

from cosim.analog.resistive.wires.gradients import (WiredRules, wired_ep_gradients, wired_implicit_gradients,
                                                    wired_readings, wired_source_currents)
from cosim.analog.resistive.wires.layout import WiredNetwork, WireLayout
from cosim.analog.resistive.wires.observables import kirchhoff_residuals, wired_power
from cosim.analog.resistive.wires.solve import WiredEquilibrium, WiredSolver

__all__ = [
    "WireLayout", "WiredEquilibrium", "WiredNetwork", "WiredRules", "WiredSolver", "kirchhoff_residuals",
    "wired_ep_gradients", "wired_implicit_gradients", "wired_power", "wired_readings", "wired_source_currents",
]

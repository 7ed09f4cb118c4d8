"""Crossbars with real wires: IR drop solved exactly inside a resistive network (issue 13).

Layering: imports cosim.analog (network, solve, gradients, kernels); nothing in cosim.analog imports it yet.
"""

from cosim.analog.resistive.wires.gradients import wired_ep_gradients, wired_implicit_gradients, wired_source_currents
from cosim.analog.resistive.wires.layout import WiredNetwork, WireLayout
from cosim.analog.resistive.wires.observables import kirchhoff_residuals
from cosim.analog.resistive.wires.solve import WiredEquilibrium, WiredSolver

__all__ = [
    "WireLayout", "WiredEquilibrium", "WiredNetwork", "WiredSolver", "kirchhoff_residuals", "wired_ep_gradients",
    "wired_implicit_gradients", "wired_source_currents",
]

"""Analog physics: layered nonlinear resistive networks, their solver, and gradients read from them.

Knows nothing of chips, YAML or training (see README.md in this folder).
"""

from cosim.analog.block import ResistiveBlock
from cosim.analog.gradients import BlockGradients, ep_gradients, implicit_gradients
from cosim.analog.network import Amplifier, IdealDiode, ResistiveNetwork, ShockleyDiode
from cosim.analog.solve import BCDSolver, ConvergenceWarning, Equilibrium, Nudge, SolveInfo

__all__ = [
    "Amplifier", "BCDSolver", "BlockGradients", "ConvergenceWarning", "Equilibrium", "IdealDiode", "Nudge",
    "ResistiveBlock", "ResistiveNetwork", "ShockleyDiode", "SolveInfo", "ep_gradients", "implicit_gradients",
]

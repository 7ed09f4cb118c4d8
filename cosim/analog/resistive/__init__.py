"""The resistive wing: layered nonlinear resistive networks, their energy, solvers, gradients and block."""

from cosim.analog.resistive.block import (ExactReadout, GradientRules, Readout, ResistiveBlock,
                                          WireFreeRules)
from cosim.analog.resistive.energy import InputDrive, ResistiveEnergy
from cosim.analog.resistive.gradients import BlockGradients, Reading, ep_gradients, implicit_gradients
from cosim.analog.resistive.network import Amplifier, IdealDiode, ResistiveNetwork, ShockleyDiode
from cosim.analog.resistive.solve import (NODE_CAPACITANCE, BCDSolver, GradientFlowSolver, MomentumSolver,
                                          ResistiveSolver)

__all__ = [
    "Amplifier", "BCDSolver", "BlockGradients", "ExactReadout", "GradientFlowSolver", "GradientRules", "IdealDiode",
    "InputDrive",
    "MomentumSolver", "NODE_CAPACITANCE", "Readout", "Reading", "ResistiveBlock", "ResistiveEnergy",
    "ResistiveNetwork", "ResistiveSolver", "ShockleyDiode", "WireFreeRules", "ep_gradients", "implicit_gradients",
]

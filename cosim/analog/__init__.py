"""Analog physics: energy blocks (resistive networks, deep Hopfield networks), their relaxations, and the
gradients read from their equilibria.

Layout (see README.md in this folder): ``core`` (nudges, equilibria, convergence checks, EP estimators),
``relaxation`` (block descent, gradient flow, momentum over any energy), one wing per energy family
(``resistive``, ``hopfield``), and ``devices``. Knows nothing of chips, YAML or training.
"""

from cosim.analog.core import (ESTIMATOR_PHASES, ESTIMATORS, ConvergenceWarning, Equilibrium, Nudge, SolveInfo,
                               default_tol)
from cosim.analog.hopfield import (ConvHopfieldNetwork, ConvLayer, DenseLayer, HopfieldBlock, HopfieldEnergy,
                                   HopfieldGradients, HopfieldNetwork, HopfieldSolver)
from cosim.analog.relaxation import (BlockDescent, BoxEnergy, DynamicsInfo, GradientFlow, Momentum, Relaxation,
                                     make_relaxation)
from cosim.analog.resistive import (Amplifier, BCDSolver, BlockGradients, ExactReadout, GradientFlowSolver,
                                    IdealDiode, MomentumSolver, Readout, Reading, ResistiveBlock, ResistiveEnergy,
                                    ResistiveNetwork, ResistiveSolver, ShockleyDiode, ep_gradients,
                                    implicit_gradients)
from cosim.analog.resistive import observables

__all__ = [
    "Amplifier", "BCDSolver", "BlockDescent", "BlockGradients", "BoxEnergy", "ConvergenceWarning", "DynamicsInfo",
    "ESTIMATORS", "ESTIMATOR_PHASES", "Equilibrium", "ExactReadout", "GradientFlow", "GradientFlowSolver",
    "ConvHopfieldNetwork", "ConvLayer", "DenseLayer", "HopfieldBlock", "HopfieldEnergy", "HopfieldGradients",
    "HopfieldNetwork", "HopfieldSolver", "IdealDiode",
    "Momentum", "MomentumSolver", "Nudge", "Readout", "Reading", "Relaxation", "ResistiveBlock", "ResistiveEnergy",
    "ResistiveNetwork", "ResistiveSolver", "ShockleyDiode", "SolveInfo", "default_tol", "ep_gradients",
    "implicit_gradients", "make_relaxation", "observables",
]

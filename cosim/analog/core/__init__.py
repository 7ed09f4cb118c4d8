"""The shared equilibrium core of every energy-block family: nudges, equilibria, solve reports and the
checks around them, default tolerances, the EP estimator table, the gradients' type. Imports nothing else
of cosim.analog."""

from cosim.analog.core.convergence import (DEFAULT_TOL, check_block_input, check_cap, check_convergence,
                                           check_on_unconverged, checked_tol, default_tol, initial_state)
from cosim.analog.core.equilibrium import ConvergenceWarning, Equilibrium, Nudge, SolveInfo
from cosim.analog.core.estimators import ESTIMATOR_PHASES, ESTIMATORS, ep_phase_pair, estimator_phases, nudged_phases
from cosim.analog.core.gradients import EnergyGradients

__all__ = [
    "ConvergenceWarning", "DEFAULT_TOL", "ESTIMATORS", "ESTIMATOR_PHASES", "EnergyGradients", "Equilibrium", "Nudge",
    "SolveInfo", "check_block_input", "check_cap", "check_convergence", "check_on_unconverged", "checked_tol", "default_tol", "ep_phase_pair",
    "estimator_phases", "initial_state", "nudged_phases",
]

"""A Hopfield energy block: the same small interface as :class:`~cosim.analog.resistive.block.ResistiveBlock`."""

from __future__ import annotations

import numpy as np

from cosim.analog.core import Equilibrium, Nudge, ep_phase_pair, nudged_phases
from cosim.analog.hopfield.energy import HopfieldDrive
from cosim.analog.hopfield.gradients import HopfieldGradients, hopfield_ep_gradients, hopfield_implicit_gradients
from cosim.analog.hopfield.network import HopfieldNetwork
from cosim.analog.hopfield.solve import HopfieldSolver
from cosim.errors import ParameterError


class HopfieldBlock:
    """A :class:`HopfieldNetwork` with its solver and the state of the current batch (cf. ResistiveBlock)."""

    def __init__(self, network: HopfieldNetwork, solver: HopfieldSolver | None = None):
        self.network = network
        self.solver = solver or HopfieldSolver(network)
        self.drive: HopfieldDrive | None = None
        self.free: Equilibrium | None = None
        self.phases: dict[str, Equilibrium | None] = {}

    def forward(self, x) -> np.ndarray:
        """Free equilibrium for block input x (B, input_width); returns the output states (B, n_out)."""
        self.drive = self.solver.drive(x)
        self.free = self.solver.relax(self.drive)
        self.phases = {}
        return self.free.output

    def nudged(self, beta: float, error=None, target=None) -> Equilibrium:
        """Equilibrium with the output nudged by beta * error (or towards target), from the free state."""
        return self.solver.relax(self.drive, Nudge(beta, target=target, error=error), init=self._require_free())

    def ep_gradients(self, beta: float, error=None, target=None, estimator: str = "centred") -> HopfieldGradients:
        """EP gradients of the loss whose output gradient is ``error`` (or squared error to ``target``)."""
        free = self._require_free()
        plus, minus = nudged_phases(self.nudged, beta, estimator, error, target)
        self.phases = {"plus": plus, "minus": minus}
        return hopfield_ep_gradients(self.network, *ep_phase_pair(estimator, free, plus, minus))

    def implicit_gradients(self, error=None, target=None) -> HopfieldGradients:
        """Exact gradients by implicit differentiation at the free equilibrium."""
        free = self._require_free()
        if (error is None) == (target is None):
            raise ParameterError("implicit_gradients needs exactly one of error= or target=")
        output_error = error if target is None else free.output - np.asarray(target, dtype=self.network.dtype)
        return hopfield_implicit_gradients(self.network, free, self.solver.adjoint(free, output_error))

    def _require_free(self) -> Equilibrium:
        if self.free is None:
            raise RuntimeError("call forward(x) before asking for gradients")
        return self.free

"""An analog resistive block: the small interface the learning code talks to.

``forward`` relaxes the block to its free equilibrium for a batch; ``ep_gradients`` runs the nudged
phases (warm-started from the free state, reusing the batch's input drive) and reads the gradients from
circuit quantities; ``implicit_gradients`` gives the exact reference at the same free equilibrium.
"""

from __future__ import annotations

import numpy as np

from cosim.analog.gradients import BlockGradients, ep_gradients, ep_phase_pair, implicit_gradients
from cosim.analog.network import ResistiveNetwork
from cosim.analog.solve import BCDSolver, Equilibrium, InputDrive, Nudge
from cosim.errors import ParameterError


class ResistiveBlock:
    """A :class:`ResistiveNetwork` with its solver and the state of the current batch."""

    def __init__(self, network: ResistiveNetwork, solver: BCDSolver | None = None):
        self.network = network
        self.solver = solver or BCDSolver(network)
        self.drive: InputDrive | None = None
        self.free: Equilibrium | None = None
        self.phases: dict[str, Equilibrium] = {}

    def forward(self, x) -> np.ndarray:
        """Free equilibrium for block input x (B, input_width); returns the output voltages (B, n_out)."""
        self.drive = self.solver.drive(x)
        self.free = self.solver.relax(self.drive)
        self.phases = {}
        return self.free.output

    def nudged(self, beta: float, error=None, target=None) -> Equilibrium:
        """Equilibrium with the outputs nudged by error current -beta*error or towards target via beta."""
        free = self._require_free()
        return self.solver.relax(self.drive, Nudge(beta, target=target, error=error), init=free)

    def ep_gradients(self, beta: float, error=None, target=None, estimator: str = "centred") -> BlockGradients:
        """EP gradients of the loss whose output gradient is ``error`` (or squared error to ``target``)."""
        if not beta > 0:
            raise ParameterError(f"EP nudge strength beta must be positive, got {beta!r}")
        free = self._require_free()
        plus = self.nudged(beta, error, target) if estimator in ("centred", "positive") else None
        minus = self.nudged(-beta, error, target) if estimator in ("centred", "negative") else None
        self.phases = {"plus": plus, "minus": minus}
        return ep_gradients(self.network, *ep_phase_pair(estimator, free, plus, minus))

    def implicit_gradients(self, error=None, target=None) -> BlockGradients:
        """Exact gradients by implicit differentiation at the free equilibrium."""
        free = self._require_free()
        if (error is None) == (target is None):
            raise ParameterError("implicit_gradients needs exactly one of error= or target=")
        output_error = error if target is None else free.output - np.asarray(target, dtype=self.network.dtype)
        adjoint = self.solver.adjoint(free, output_error)
        return implicit_gradients(self.network, free, adjoint)

    def _require_free(self) -> Equilibrium:
        if self.free is None:
            raise RuntimeError("call forward(x) before asking for gradients")
        return self.free

"""An analog resistive block: the small interface the learning code talks to.

``forward`` relaxes the block to its free equilibrium for a batch; ``ep_gradients`` runs the nudged
phases (warm-started from the free state, reusing the batch's input drive) and reads the gradients from
circuit quantities; ``implicit_gradients`` gives the exact reference at the same free equilibrium.

A :class:`Readout` instruments every solve: ``before_solve`` may change what the next solve sees (e.g.
redraw device read noise), ``after_solve`` sees every equilibrium (e.g. to account for its energy) and
``measure`` turns the equilibria EP needs into a :class:`Reading` (e.g. through ADCs). The default reads
exactly and accounts for nothing.
"""

from __future__ import annotations

import numpy as np

from typing import Protocol

from cosim.analog.gradients import (BlockGradients, Reading, ep_gradients, ep_phase_pair, exact_reading,
                                    implicit_gradients)
from cosim.analog.network import ResistiveNetwork
from cosim.analog.solve import BCDSolver, Equilibrium, InputDrive, Nudge
from cosim.errors import ParameterError


class Readout(Protocol):
    """Instruments around every solve of a block (see the module docstring)."""

    def before_solve(self, network: ResistiveNetwork) -> None: ...

    def after_solve(self, network: ResistiveNetwork, state: Equilibrium) -> None: ...

    def measure(self, network: ResistiveNetwork, state: Equilibrium) -> Reading: ...


class ExactReadout:
    """Ideal instruments: nothing changes between solves; readings are the solver's exact values."""

    def before_solve(self, network: ResistiveNetwork) -> None:
        """Nothing to do."""

    def after_solve(self, network: ResistiveNetwork, state: Equilibrium) -> None:
        """Nothing to account for."""

    def measure(self, network: ResistiveNetwork, state: Equilibrium) -> Reading:
        return exact_reading(network, state)


class ResistiveBlock:
    """A :class:`ResistiveNetwork` with its solver, its readout and the state of the current batch."""

    def __init__(self, network: ResistiveNetwork, solver: BCDSolver | None = None, readout: Readout | None = None):
        self.network = network
        self.solver = solver or BCDSolver(network)
        self.readout = readout or ExactReadout()
        self.drive: InputDrive | None = None
        self.free: Equilibrium | None = None
        self.phases: dict[str, Equilibrium] = {}

    def forward(self, x) -> np.ndarray:
        """Free equilibrium for block input x (B, input_width); returns the output voltages (B, n_out)."""
        self.readout.before_solve(self.network)
        self.drive = self.solver.drive(x)
        self.free = self.solver.relax(self.drive)
        self.readout.after_solve(self.network, self.free)
        self.phases = {}
        return self.free.output

    def nudged(self, beta: float, error=None, target=None) -> tuple[Equilibrium, Reading]:
        """Equilibrium (and its reading) with the outputs nudged by current -beta*error, or towards target."""
        free = self._require_free()
        self.readout.before_solve(self.network)
        state = self.solver.relax(self.drive, Nudge(beta, target=target, error=error), init=free)
        self.readout.after_solve(self.network, state)
        return state, self.readout.measure(self.network, state)

    def ep_gradients(self, beta: float, error=None, target=None, estimator: str = "centred") -> BlockGradients:
        """EP gradients of the loss whose output gradient is ``error`` (or squared error to ``target``)."""
        if not beta > 0:
            raise ParameterError(f"EP nudge strength beta must be positive, got {beta!r}")
        free = self._require_free()
        needs_free = estimator in ("positive", "negative")
        free_reading = self.readout.measure(self.network, free) if needs_free else None
        plus = self.nudged(beta, error, target) if estimator in ("centred", "positive") else (None, None)
        minus = self.nudged(-beta, error, target) if estimator in ("centred", "negative") else (None, None)
        self.phases = {"plus": plus[0], "minus": minus[0]}
        return ep_gradients(self.network, *ep_phase_pair(estimator, free_reading, plus[1], minus[1]))

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

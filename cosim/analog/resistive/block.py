"""An analog resistive block: the small interface the learning code talks to.

``forward`` relaxes the block to its free equilibrium for a batch; ``ep_gradients`` runs the nudged
phases (warm-started from the free state, reusing the batch's input drive) and reads the gradients from
circuit quantities; ``implicit_gradients`` gives the exact reference at the same free equilibrium.

A :class:`Readout` instruments every solve: ``before_solve`` may change what the next solve sees (e.g.
redraw device read noise), ``after_solve`` sees every equilibrium (e.g. to account for its energy) and
``measure_pair`` turns the two equilibria an EP estimate compares into :class:`Reading` s (e.g. through
ADCs, possibly converting their difference directly). The default reads exactly and accounts for nothing.
Every equilibrium remembers the crossbars its solve saw, so currents are read with the right ones.

:class:`GradientRules` turn the readings (and the equilibria) into gradients: the wire-free rules by
default; a wired crossbar (:mod:`cosim.analog.resistive.wires`) brings its own, which read every device's
drop between its own two wire nodes.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from cosim.analog.core import Equilibrium, Nudge, ep_phase_pair, nudged_phases
from cosim.analog.resistive.energy import InputDrive
from cosim.analog.resistive.gradients import (BlockGradients, Reading, ep_gradients, exact_readings,
                                              implicit_gradients)
from cosim.analog.resistive.network import ResistiveNetwork
from cosim.analog.resistive.solve import BCDSolver, ResistiveSolver
from cosim.errors import ParameterError


class Readout(Protocol):
    """Instruments around every solve of a block (see the module docstring)."""

    def before_solve(self, network: ResistiveNetwork, free: bool) -> None: ...

    def after_solve(self, network: ResistiveNetwork, state: Equilibrium) -> None: ...

    def measure_pair(self, network: ResistiveNetwork, a: Equilibrium, b: Equilibrium,
                     currents: bool = True) -> tuple[Reading, Reading]: ...


class GradientRules(Protocol):
    """How a block's gradients follow from its equilibria (EP) or its adjoint (implicit differentiation)."""

    def ep(self, network: ResistiveNetwork, reading_a: Reading, reading_b: Reading, a: Equilibrium,
           b: Equilibrium, conductance_unit: float, out) -> BlockGradients: ...

    def implicit(self, network: ResistiveNetwork, free: Equilibrium, adjoint,
                 conductance_unit: float) -> BlockGradients: ...


class WireFreeRules:
    """The rules of ideal wires: :func:`~cosim.analog.resistive.gradients.ep_gradients` and
    :func:`~cosim.analog.resistive.gradients.implicit_gradients`."""

    def ep(self, network, reading_a, reading_b, a, b, conductance_unit, out) -> BlockGradients:
        return ep_gradients(network, reading_a, reading_b, conductance_unit, out)

    def implicit(self, network, free, adjoint, conductance_unit) -> BlockGradients:
        return implicit_gradients(network, free, adjoint, conductance_unit)


class ExactReadout:
    """Ideal instruments: nothing changes between solves; readings are the solver's exact values."""

    def before_solve(self, network: ResistiveNetwork, free: bool) -> None:
        """Nothing to do."""

    def after_solve(self, network: ResistiveNetwork, state: Equilibrium) -> None:
        """Nothing to account for."""

    def measure_pair(self, network: ResistiveNetwork, a: Equilibrium, b: Equilibrium,
                     currents: bool = True) -> tuple[Reading, Reading]:
        return exact_readings(network, a, b, currents)


class ResistiveBlock:
    """A :class:`ResistiveNetwork` with its solver, its readout and the state of the current batch."""

    def __init__(self, network: ResistiveNetwork, solver: ResistiveSolver | None = None,
                 readout: Readout | None = None, rules: GradientRules | None = None):
        self.network = network
        self.solver = solver or BCDSolver(network)
        self.readout = readout or ExactReadout()
        self.rules = rules or WireFreeRules()
        self.drive: InputDrive | None = None
        self.free: Equilibrium | None = None
        self.phases: dict[str, Equilibrium] = {}

    def forward(self, x) -> np.ndarray:
        """Free equilibrium for block input x (B, input_width); returns the output voltages (B, n_out)."""
        self.readout.before_solve(self.network, free=True)
        self.drive = self.solver.drive(x)
        self.free = self.solver.relax(self.drive)
        self.readout.after_solve(self.network, self.free)
        self.phases = {}
        return self.free.output

    def nudged(self, beta: float, error=None, target=None) -> Equilibrium:
        """Equilibrium with the outputs nudged by current -beta*error, or towards target through beta."""
        free = self._require_free()
        self.readout.before_solve(self.network, free=False)
        state = self.solver.relax(self.drive, Nudge(beta, target=target, error=error), init=free)
        self.readout.after_solve(self.network, state)
        return state

    def ep_gradients(self, beta: float, error=None, target=None, estimator: str = "centred",
                     conductance_unit: float = 1.0, out=None, input_gradient: bool = True) -> BlockGradients:
        """EP gradients of the loss whose output gradient is ``error`` (or squared error to ``target``);
        conductance gradients per ``conductance_unit`` siemens, into the arrays of ``out`` if given; without
        ``input_gradient`` the input-source currents are not read and ``inputs`` is None."""
        free = self._require_free()
        plus, minus = nudged_phases(self.nudged, beta, estimator, error, target)
        self.phases = {"plus": plus, "minus": minus}
        a, b = ep_phase_pair(estimator, free, plus, minus)
        # a readout of the older three-argument form still serves every call that reads the currents
        readings = (self.readout.measure_pair(self.network, a, b) if input_gradient
                    else self.readout.measure_pair(self.network, a, b, currents=False))
        return self.rules.ep(self.network, *readings, a, b, conductance_unit, out)

    def implicit_gradients(self, error=None, target=None, conductance_unit: float = 1.0) -> BlockGradients:
        """Exact gradients by implicit differentiation at the free equilibrium (conductances per
        ``conductance_unit`` siemens)."""
        free = self._require_free()
        if (error is None) == (target is None):
            raise ParameterError("implicit_gradients needs exactly one of error= or target=")
        output_error = error if target is None else free.output - np.asarray(target, dtype=self.network.dtype)
        adjoint = self.solver.adjoint(free, output_error)
        return self.rules.implicit(self.network, free, adjoint, conductance_unit)

    def _require_free(self) -> Equilibrium:
        if self.free is None:
            raise RuntimeError("call forward(x) before asking for gradients")
        return self.free

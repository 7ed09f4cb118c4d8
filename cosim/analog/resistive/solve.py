"""Relaxing a resistive network: a relaxation strategy composed with the network's energy.

:class:`ResistiveSolver` takes any strategy of :mod:`cosim.analog.relaxation`; :class:`BCDSolver` (exact
block coordinate descent: crossbar products through BLAS, node-local work in Numba kernels),
:class:`GradientFlowSolver` (the RC transient ``C dv/dt = I``) and :class:`MomentumSolver` (damped
momentum) are its three presets, with the defaults of the config schema.

Every solver solves the *adjoint network* of implicit differentiation by exact block descent (the
network linearised at an equilibrium, driven by the output error as a current; see
:mod:`cosim.analog.resistive.energy`).
"""

from __future__ import annotations

import numpy as np

from cosim.analog.core import (Equilibrium, Nudge, check_cap, check_convergence, check_on_unconverged, checked_tol,
                               initial_state)
from cosim.analog.relaxation import MAX_SWEEPS, BlockDescent, GradientFlow, Momentum, Relaxation
from cosim.analog.resistive.energy import InputDrive, ResistiveEnergy
from cosim.analog.resistive.network import ResistiveNetwork, ShockleyDiode
from cosim.errors import ParameterError
from cosim.threads import matmul

#: default node capacitance in farads (the schema's ``chip.tile.node_capacitance_F``)
NODE_CAPACITANCE = 1e-13


class ResistiveSolver:
    """Relaxes a :class:`ResistiveNetwork` to equilibrium with a relaxation strategy.

    relaxation: the strategy (:class:`~cosim.analog.relaxation.BlockDescent`, ``GradientFlow``, ``Momentum``);
    capacitance: node capacitance in farads, a scalar or one (n_m,) vector per layer 1 .. L (the metric of
    the dynamics); on_unconverged: "warn" (ConvergenceWarning) or "raise" (ConvergenceError) when a cap is
    hit; max_sweeps: the cap on the sweeps of the adjoint solve.
    """

    def __init__(self, network: ResistiveNetwork, relaxation: Relaxation, capacitance=NODE_CAPACITANCE,
                 on_unconverged: str = "warn", max_sweeps: int = MAX_SWEEPS):
        self.on_unconverged = check_on_unconverged(on_unconverged)
        self.max_sweeps = check_cap(max_sweeps, "max_sweeps")
        if isinstance(network.diode, ShockleyDiode) and not relaxation.handles_stiff:
            raise ParameterError(f"the {relaxation.kind} relaxation supports ideal diodes only (a Shockley diode "
                                 "makes explicit time steps stiff); use the bcd relaxation")
        self.network, self.dynamics = network, relaxation
        self.tol = relaxation.tolerance(network.dtype)
        self.capacitance = self._capacitance(capacitance)

    @property
    def relaxation(self) -> str:
        """The strategy's config name: "bcd", "rc" or "momentum"."""
        return self.dynamics.kind

    def _capacitance(self, capacitance) -> list[np.ndarray]:
        net = self.network
        values = capacitance if isinstance(capacitance, (list, tuple)) else [capacitance] * net.n_layers
        if len(values) != net.n_layers:
            raise ParameterError(f"capacitance needs one entry per layer 1..{net.n_layers}, got {len(values)}")
        result = []
        for m, c in enumerate(values, start=1):
            c = np.broadcast_to(np.asarray(c, dtype=net.dtype), (net.sizes[m],))[None, :].copy()
            if not (np.isfinite(c).all() and (c > 0).all()):
                raise ParameterError(f"node capacitances of layer {m} must be positive and finite")
            result.append(c)
        return result

    # ------------------------------------------------------------------ public API
    def drive(self, x) -> InputDrive:
        """Input source voltages for block input ``x`` (B, input_width) and their drive into layer 1."""
        return self.drive_from_voltages(self.network.input_voltages(x))

    def drive_from_voltages(self, input_voltages: np.ndarray) -> InputDrive:
        net = self.network
        return InputDrive(input_voltages, matmul(input_voltages, net.conductances[0]), net.conductances)

    def relax(self, x_or_drive, nudge: Nudge | None = None, init: Equilibrium | None = None) -> Equilibrium:
        """Equilibrium of the network for a block input (or a precomputed :class:`InputDrive`).

        nudge: output currents of a nudged phase (None: free phase);
        init: a previous equilibrium of the same batch to warm-start from (e.g. the free state).
        """
        net = self.network
        drive = x_or_drive if isinstance(x_or_drive, InputDrive) else self.drive(x_or_drive)
        if drive.conductances is not net.conductances:  # weights changed since the drive was computed
            drive = self.drive_from_voltages(drive.input_voltages)
        energy = ResistiveEnergy.phase(net, drive, nudge, self.capacitance)
        state = initial_state(net.sizes, drive.input_voltages.shape[0], net.dtype, energy.lower, energy.upper, init)
        if init is None:
            energy.note_zero_layers(state)
        info = self.dynamics.run(energy, state, free=nudge is None)
        check_convergence(info, self.tol, self.on_unconverged, "relaxation", self.dynamics.remedy)
        products = energy.final_products() if isinstance(self.dynamics, BlockDescent) else None
        return Equilibrium([drive.input_voltages, *state], info, nudge, net.conductances, drive.product,
                           crossbar_products=products)

    def adjoint(self, equilibrium: Equilibrium, output_error, tol: float | None = None) -> list[np.ndarray]:
        """Solve H lambda = dL/dv at a free equilibrium (H: Hessian of the energy over free nodes).

        Returns lambda per layer (index 0, the inputs, is zero). Physically lambda is the voltage response
        of the network linearised at the equilibrium — inputs and clamped nodes grounded, Shockley diodes
        replaced by their small-signal conductances — to a current ``dL/dv_out`` injected at the outputs.
        """
        net = self.network
        error = np.asarray(output_error, dtype=net.dtype)
        batch = equilibrium.layers[0].shape[0]
        if error.shape != (batch, net.output_width):
            raise ParameterError(f"output error must have shape {(batch, net.output_width)}, got {error.shape}")
        lam = [np.zeros((batch, n), dtype=net.dtype) for n in net.sizes]
        tol = min(self.tol, 1e-12) if tol is None else tol
        if net.dtype == np.float32:
            tol = max(tol, 1e-6)
        solver = BlockDescent(tol, self.max_sweeps)
        energy = ResistiveEnergy.adjoint(net, equilibrium, error)
        energy.note_zero_layers(lam[1:])
        info = solver.run(energy, lam[1:])
        check_convergence(info, tol, self.on_unconverged, "adjoint solve", solver.remedy)
        return lam


class BCDSolver(ResistiveSolver):
    """Exact block coordinate descent (:class:`~cosim.analog.relaxation.BlockDescent`).

    tol: stop when the largest voltage change of a sweep, relative to the largest voltage, is <= tol
        (default 1e-10 in float64, 1e-5 in float32); max_sweeps: the sweep cap;
    on_unconverged: "warn" (ConvergenceWarning) or "raise" (ConvergenceError) when the cap is hit.
    """

    def __init__(self, network: ResistiveNetwork, tol: float | None = None, max_sweeps: int = MAX_SWEEPS,
                 on_unconverged: str = "warn"):
        super().__init__(network, BlockDescent(checked_tol(tol, network.dtype), max_sweeps),
                         on_unconverged=on_unconverged, max_sweeps=max_sweeps)


class GradientFlowSolver(ResistiveSolver):
    """RC transient ``C dv/dt = I`` of a resistive network; ``info.time`` is the settling time in seconds.

    Keywords are those of :class:`~cosim.analog.relaxation.GradientFlow` (step, tol, max_steps,
    noise_sigma, rng, record) plus capacitance (F), on_unconverged and max_sweeps (the adjoint's cap).
    Ideal diodes only: a Shockley diode's exponential conductance makes explicit time steps stiff.
    """

    def __init__(self, network: ResistiveNetwork, capacitance=NODE_CAPACITANCE, on_unconverged: str = "warn",
                 max_sweeps: int = MAX_SWEEPS, tol: float | None = None, **dynamics):
        super().__init__(network, GradientFlow(tol=checked_tol(tol, network.dtype), **dynamics), capacitance,
                         on_unconverged, max_sweeps)


class MomentumSolver(ResistiveSolver):
    """Damped momentum relaxation of a resistive network, metric ``s_m C`` as for the RC transient.

    Keywords are those of :class:`~cosim.analog.relaxation.Momentum` (step, damping, restart, tol,
    max_steps, bifurcation_steps, bifurcation_strength, noise_sigma, rng, record) plus capacitance,
    on_unconverged and max_sweeps. Ideal diodes only.
    """

    def __init__(self, network: ResistiveNetwork, capacitance=NODE_CAPACITANCE, on_unconverged: str = "warn",
                 max_sweeps: int = MAX_SWEEPS, tol: float | None = None, **dynamics):
        super().__init__(network, Momentum(tol=checked_tol(tol, network.dtype), **dynamics), capacitance,
                         on_unconverged, max_sweeps)

"""Relaxation dynamics: gradient flow (the RC transient) and damped momentum (extended phase space).

Both are written once, over an abstract box-constrained energy (:class:`BoxEnergy`): a state made of
layers ``s_m`` (B, n_m), box bounds ``lo <= s <= hi``, the gradient ``dE/ds``, a Hessian-vector product,
a diagonal *metric* ``M`` (the capacitances of the physical dynamics) and the diagonal of the Hessian
(to scale the stopping residual). :class:`ResistiveEnergy` (below) and
:class:`cosim.analog.hopfield.HopfieldEnergy` implement it.

* **Gradient flow** ``M ds/dt = -dE/ds``, integrated by projected explicit Euler. For a resistive network
  with node capacitances ``C``, ``M = s_m C`` and this is Kirchhoff's law with capacitor currents,
  ``C dv/dt = I``: the physical settling, with its time in seconds.
* **Momentum** ``M s'' = -dE/ds - gamma M s'``, integrated by symplectic Euler
  ``p <- (1 - gamma dt) p - dt M^-1 dE/ds ; s <- s + dt p``. At a bound ``s`` is clipped and its ``p``
  zeroed (an inelastic wall). In the free phase an optional *bifurcation* schedule adds a confining
  term ``kappa(t)/2 sum M (s - centre)^2`` whose strength falls linearly to zero over the first steps;
  nudged phases start from the free state with ``p = 0``.

Time is normalised by the largest curvature ``lambda_max`` of ``M^-1 H`` (H: the Hessian of E), found by
power iteration on Hessian-vector products and recomputed whenever the energy's ``curvature_key``
changes (new conductances or weights). ``step`` is the time step as a fraction of the stability limit:
``dt lambda_max = 2 step`` for gradient flow; for momentum a fraction of the damped symplectic-Euler limit
(``dt sqrt(lambda_max) = 2`` without friction), so momentum moves ``1 / sqrt(lambda)`` rather than
``1 / lambda`` per unit time in the slow directions.
``damping`` is gamma in units of ``sqrt(lambda_max)``, or adapted per sample to the slowest curvature the
motion meets (:class:`SecantDamping`).

Both stop on the KKT residual ``||s - clip(s - D^-1 dE/ds)||_inf <= tol`` (D: the diagonal of the
Hessian, so the residual is the change one Jacobi update would make, relative to the energy's reference
scale) and, for momentum, ``||p dt||_inf <= tol`` as well -- never on a step count alone; ``max_steps``
is a cap that warns or raises. With noise of standard deviation ``sigma`` added to the state at every
step, the residual cannot fall below the noise: such a relaxation has also settled once its residual stops
falling while below ``NOISE_FLOOR * sigma`` (:class:`Plateau`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cosim.analog import kernels
from cosim.analog.network import ResistiveNetwork, ShockleyDiode
from cosim.analog.observables import energy as network_energy
from cosim.analog.solve import BCDSolver, ConvergenceWarning, Equilibrium, InputDrive, Nudge, SolveInfo
from cosim.errors import ConvergenceError, ParameterError

_TINY = 1e-300
#: a noisy relaxation may stop once its residual stops falling below this many noise standard deviations
NOISE_FLOOR = 10.0
#: the power-iteration estimate of the largest curvature is a lower bound; steps use it times this
CURVATURE_MARGIN = 1.05


class BoxEnergy(Protocol):
    """An energy over layered states ``s_m`` (B, n_m) with box bounds: what the dynamics need of it.

    ``lower``/``upper``: bounds per layer, (1, n) or (B, n), possibly infinite; ``metric``: the positive
    diagonal ``M`` of the dynamics ``M ds/dt = -dE/ds``, (1, n) per layer; ``hessian_diagonal``: positive,
    (1, n) or (B, n); ``centre``: where the bifurcation term confines each node, (1, n);
    ``curvature_key``: a tuple whose items are the same objects (or equal numbers) exactly as long as the
    Hessian and metric are unchanged.
    """

    lower: list[np.ndarray]
    upper: list[np.ndarray]
    metric: list[np.ndarray]
    hessian_diagonal: list[np.ndarray]
    centre: list[np.ndarray]
    curvature_key: tuple

    def gradient(self, state: list[np.ndarray], out: list[np.ndarray]) -> None:
        """Write dE/ds of every layer into ``out``."""

    def hessian_vector(self, vector: list[np.ndarray]) -> list[np.ndarray]:
        """H v for a batch of vectors (k, n_m) per layer (H does not depend on the state)."""

    def energy(self, state: list[np.ndarray]) -> np.ndarray:
        """E per sample, (B,) (nudged energy in a nudged phase)."""

    def reference(self, state: list[np.ndarray]) -> float:
        """The scale residuals are relative to (largest |state|, or 1 for a fixed box)."""


@dataclass(frozen=True)
class DynamicsInfo(SolveInfo):
    """How a dynamical relaxation ended. ``sweeps`` counts gradient evaluations (one sweep's cost each).

    velocity: final ``||p dt||_inf`` relative to the reference scale (0 for gradient flow);
    steps: time steps taken; time: elapsed time of the dynamics in the metric's unit (seconds for
    the RC transient of a resistive network), None for momentum, whose time is dimensionless;
    trace: per step, (potential energy, kinetic energy) per sample, when recording was asked for.
    """

    velocity: float = 0.0
    steps: int = 0
    time: float | None = None
    trace: tuple | None = None


def _same_key(a: tuple | None, b: tuple) -> bool:
    if a is None or len(a) != len(b):
        return False
    return all(x is y or (isinstance(x, float) and isinstance(y, float) and x == y) for x, y in zip(a, b))


class Curvature:
    """Largest eigenvalue of ``M^-1 H`` by power iteration, cached until the energy's curvature_key changes.

    Starts from a fixed pseudo-random block of ``probes`` vectors, then from the last eigenvector estimate
    (weights change little between optimiser steps, so a few iterations suffice). The Rayleigh quotient
    approaches lambda_max from below; steps use it times CURVATURE_MARGIN.
    """

    def __init__(self, tol: float = 1e-3, max_iter: int = 300, probes: int = 4):
        self.tol, self.max_iter, self.probes = tol, max_iter, probes
        self.key: tuple | None = None
        self.value = math.nan
        self.vectors: list[np.ndarray] | None = None
        self.products = 0

    def __call__(self, energy: BoxEnergy) -> float:
        if not _same_key(self.key, energy.curvature_key):
            self.value = self._estimate(energy) * CURVATURE_MARGIN
            self.key = energy.curvature_key
        return self.value

    def _estimate(self, energy: BoxEnergy) -> float:
        metric = energy.metric
        if self.vectors is None or [v.shape[1] for v in self.vectors] != [m.shape[1] for m in metric]:
            rng = np.random.default_rng(12345)
            self.vectors = [rng.standard_normal((self.probes, m.shape[1])) for m in metric]
        x = self._normalised(self.vectors, metric)
        value = 0.0
        for _ in range(self.max_iter):
            hx = energy.hessian_vector(x)
            self.products += 1
            quotient = sum(np.einsum("kn,kn->k", a, b) for a, b in zip(x, hx))  # x' H x with x' M x = 1
            previous, value = value, float(np.max(np.abs(quotient)))
            x = self._normalised([h / m for h, m in zip(hx, metric)], metric)
            if abs(value - previous) <= self.tol * value:
                break
        self.vectors = x
        if not (np.isfinite(value) and value > 0):
            raise ParameterError(f"the energy's Hessian has no positive curvature (power iteration gave {value})")
        return value

    @staticmethod
    def _normalised(x: list[np.ndarray], metric: list[np.ndarray]) -> list[np.ndarray]:
        norm = np.sqrt(sum(np.einsum("kn,kn->k", v * m, v) for v, m in zip(x, metric)))
        return [v / np.maximum(norm, _TINY)[:, None] for v in x]


class Plateau:
    """Has a noisy residual stopped falling at the noise floor? Checked after 16, 32, 64, ... evaluations.

    With state noise the residual fluctuates at a floor set by the noise and never reaches tol. At each
    check the mean residual over the last half of the run must be below ``floor`` and above ``ratio``
    times its mean over the quarter before: then the relaxation has settled as far as the noise lets it.
    """

    def __init__(self, floor: float, ratio: float = 0.9, first: int = 16):
        self.floor, self.ratio, self.first = floor, ratio, first
        self.history: list[float] = []

    def settled(self, residual: float) -> bool:
        history = self.history
        history.append(residual)
        k = len(history)
        if k < self.first or k & (k - 1):
            return False
        recent = float(np.mean(history[k // 2:]))
        return recent <= self.floor and recent > self.ratio * float(np.mean(history[k // 4:k // 2]))


class _Dynamics:
    """What gradient flow and momentum share: parameters, curvature, residual, noise, the stopping test."""

    def __init__(self, step: float, tol: float, max_steps: int, noise_sigma: float, rng, record: bool):
        if not 0 < step < 1:
            raise ParameterError(f"step is a fraction of the stability limit and must be in (0, 1), got {step!r}")
        if not tol > 0:
            raise ParameterError(f"tol must be positive, got {tol!r}")
        if max_steps < 1:
            raise ParameterError(f"max_steps must be >= 1, got {max_steps}")
        if not noise_sigma >= 0:
            raise ParameterError(f"noise_sigma must be >= 0, got {noise_sigma!r}")
        if noise_sigma > 0 and not isinstance(rng, np.random.Generator):
            raise ParameterError("noise_sigma > 0 needs rng=numpy.random.Generator (seeded from the config)")
        self.step, self.tol, self.max_steps = float(step), float(tol), int(max_steps)
        self.noise_sigma, self.rng, self.record = float(noise_sigma), rng, record
        self.curvature = Curvature()

    def stopping_rule(self, reference: float) -> Plateau | None:
        """A fresh plateau detector for a noisy run (residuals relative to ``reference``), None without noise."""
        return Plateau(NOISE_FLOOR * self.noise_sigma / max(reference, _TINY)) if self.noise_sigma > 0 else None

    def noise(self, shape: tuple, dtype) -> np.ndarray:
        """State noise for one layer's update (B, n), or a (1, 1) placeholder without noise."""
        if self.noise_sigma > 0:
            return (self.noise_sigma * self.rng.standard_normal(shape)).astype(dtype, copy=False)
        return np.zeros((1, 1), dtype=dtype)

    def update(self, state, momenta, grad, inverse_mass, friction, dt, energy, confine: float = 0.0) -> float:
        """One step of every layer (:func:`kernels.momentum_layer_step`); returns max |p dt| after it."""
        noisy = self.noise_sigma > 0
        return max(kernels.momentum_layer_step(s, p, g, w, friction, dt, confine, c, lo, hi,
                                               self.noise(s.shape, s.dtype), noisy)
                   for s, p, g, w, c, lo, hi in zip(state, momenta, grad, inverse_mass, energy.centre,
                                                    energy.lower, energy.upper))


def kkt_residual(energy: BoxEnergy, state: list[np.ndarray], grad: list[np.ndarray]) -> float:
    """max |s - clip(s - D^-1 dE/ds, lo, hi)| over every node (absolute, in state units)."""
    return max(kernels.kkt_residual_layer(s, g, d, lo, hi)
               for s, g, d, lo, hi in zip(state, grad, energy.hessian_diagonal, energy.lower, energy.upper))


def box_centre(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Middle of the box where both bounds are finite, else 0."""
    finite = np.isfinite(lo) & np.isfinite(hi)
    return np.where(finite, 0.5 * (np.where(finite, lo, 0.0) + np.where(finite, hi, 0.0)), 0.0).astype(lo.dtype)


class GradientFlow(_Dynamics):
    """Projected explicit Euler on ``M ds/dt = -dE/ds`` (see the module docstring).

    step: dt as a fraction of the stability limit 2 / lambda_max (0 < step < 1);
    tol: on the KKT residual relative to the energy's reference scale; max_steps: the cap;
    noise_sigma: standard deviation of Gaussian noise added to every node at every step (state units),
    drawn from ``rng``; record: keep (potential, kinetic=0) per step in the info's trace.
    """

    def __init__(self, step: float = 0.9, tol: float = 1e-10, max_steps: int = 20000, noise_sigma: float = 0.0,
                 rng: np.random.Generator | None = None, record: bool = False):
        super().__init__(step, tol, max_steps, noise_sigma, rng, record)

    def run(self, energy: BoxEnergy, state: list[np.ndarray], free: bool = True) -> DynamicsInfo:
        """Relax ``state`` (clipped into the box first) in place; ``free`` is unused (no schedule)."""
        lam = self.curvature(energy)
        dt = 2.0 * self.step / lam
        rate = [dt / m for m in energy.metric]
        grad = [np.empty_like(s) for s in state]
        scratch = [np.zeros_like(s) for s in state]  # momenta of a step of unit length: s <- clip(s - rate g)
        unit, still = np.ones(state[0].shape[0]), np.zeros(state[0].shape[0])
        for s, lo, hi in zip(state, energy.lower, energy.upper):
            np.clip(s, lo, hi, out=s)
        trace = [] if self.record else None
        plateau = self.stopping_rule(energy.reference(state))
        steps = 0
        while True:
            energy.gradient(state, grad)
            if trace is not None:
                trace.append((energy.energy(state), np.zeros(state[0].shape[0])))
            residual = kkt_residual(energy, state, grad) / max(energy.reference(state), _TINY)
            converged = residual <= self.tol or (plateau is not None and plateau.settled(residual))
            if converged or steps == self.max_steps:
                break
            self.update(state, scratch, grad, rate, still, unit, energy)
            steps += 1
        return DynamicsInfo(steps + 1, residual, converged, 0.0, steps, steps * dt,
                            tuple(trace) if trace is not None else None)


class SecantDamping:
    """Per-sample friction that tracks the slowest curvature the motion meets (``damping=None``).

    After every step the secant curvature along the step, ``q = (ds . dg) / (ds . M lambda_max ds)`` (the
    curvature in the direction the state moved, normalised by lambda_max; clipped nodes do not move, so
    it sees the free subspace), updates a per-sample estimate ``q <- min(GROWTH q, clip(q_secant))``: it
    follows the smallest curvature met at once and forgets it slowly. The friction is the heavy-ball
    optimum for curvatures in ``[q, 1]``, ``gamma = 2 r / (1 + r)`` with ``r = sqrt(q)``.
    """

    START, FLOOR, GROWTH = 0.25, 0.01, 1.05

    def __init__(self, batch: int):
        self.ratio = np.full(batch, self.START)
        self.previous: tuple[list[np.ndarray], list[np.ndarray]] | None = None

    def gamma(self) -> np.ndarray:
        root = np.sqrt(self.ratio)
        return 2.0 * root / (1.0 + root)

    def observe(self, state: list[np.ndarray], grad: list[np.ndarray], inverse_mass: list[np.ndarray]) -> None:
        """Update the estimate from the step that led to ``state`` (gradient ``grad``); keep copies."""
        if self.previous is None:
            self.previous = ([s.copy() for s in state], [g.copy() for g in grad])
            return
        along, norm = np.zeros_like(self.ratio), np.zeros_like(self.ratio)
        for s, s0, g, g0, w in zip(state, self.previous[0], grad, self.previous[1], inverse_mass):
            kernels.secant_sums(s, s0, g, g0, w, along, norm)
        moved = norm > 0
        secant = np.clip(along[moved] / norm[moved], self.FLOOR, 1.0)
        self.ratio[moved] = np.minimum(self.GROWTH * self.ratio[moved], secant)


class Momentum(_Dynamics):
    """Damped symplectic Euler in extended phase space with inelastic walls (see the module docstring).

    step: dt as a fraction of the stability limit of damped symplectic Euler,
    ``dt_max = (sqrt(gamma^2 + 4 lambda) - gamma) / lambda`` with lambda = 1 (+ the confining curvature)
    in normalised units -- 2 / sqrt(lambda_max) without damping; damping: friction gamma in units of
    sqrt(lambda_max), or None for a per-sample friction adapted along the way (:class:`SecantDamping`);
    restart: zero a sample's momentum whenever it points uphill (p . dE/ds > 0); bifurcation_steps:
    length of the free-phase schedule (0: none); bifurcation_strength: its initial confining curvature in
    units of lambda_max; the other arguments as for :class:`GradientFlow` (record: a trace of potential
    and kinetic energy per step).
    """

    def __init__(self, step: float = 0.9, damping: float | None = None, restart: bool = False, tol: float = 1e-10,
                 max_steps: int = 20000, bifurcation_steps: int = 0, bifurcation_strength: float = 1.0,
                 noise_sigma: float = 0.0, rng: np.random.Generator | None = None, record: bool = False):
        super().__init__(step, tol, max_steps, noise_sigma, rng, record)
        if damping is not None and not damping >= 0:
            raise ParameterError(f"damping must be >= 0 (or None: adaptive), got {damping!r}")
        if bifurcation_steps < 0 or not bifurcation_strength >= 0:
            raise ParameterError("bifurcation_steps and bifurcation_strength must be >= 0")
        self.damping, self.restart = (None if damping is None else float(damping)), bool(restart)
        self.bifurcation_steps, self.bifurcation_strength = int(bifurcation_steps), float(bifurcation_strength)

    def time_step(self, gamma, curvature: float = 1.0):
        """dt (normalised) for friction gamma (scalar or per sample) and largest normalised curvature."""
        return self.step * (np.sqrt(gamma * gamma + 4.0 * curvature) - gamma) / curvature

    def run(self, energy: BoxEnergy, state: list[np.ndarray], free: bool = True) -> DynamicsInfo:
        """Relax ``state`` (clipped into the box first) in place, from p = 0; the schedule runs if ``free``."""
        lam = self.curvature(energy)
        inverse_mass = [1.0 / (lam * m) for m in energy.metric]  # time normalised: lambda_max(M^-1 H) -> 1
        grad = [np.empty_like(s) for s in state]
        momenta = [np.zeros_like(s) for s in state]
        for s, lo, hi in zip(state, energy.lower, energy.upper):
            np.clip(s, lo, hi, out=s)
        batch = state[0].shape[0]
        adaptive = SecantDamping(batch) if self.damping is None else None
        schedule = self.bifurcation_steps if free else 0
        trace = [] if self.record else None
        plateau = self.stopping_rule(energy.reference(state))
        steps = 0
        velocity = 0.0  # max |p dt| after the last step, relative to the reference scale
        while True:
            energy.gradient(state, grad)
            if trace is not None:
                kinetic = sum(0.5 * np.einsum("bn,bn->b", p * p, 1.0 / w) for p, w in zip(momenta, inverse_mass))
                trace.append((energy.energy(state), kinetic))
            if adaptive is not None:
                adaptive.observe(state, grad, inverse_mass)
            gamma = np.full(batch, self.damping) if adaptive is None else adaptive.gamma()
            confinement = self.bifurcation_strength * (1.0 - steps / schedule) if steps < schedule else 0.0
            dt = self.time_step(gamma, 1.0 + confinement)
            if confinement == 0.0:
                reference = energy.reference(state)
                residual = kkt_residual(energy, state, grad) / max(reference, _TINY)
                converged = max(residual, velocity) <= self.tol or (
                    plateau is not None and plateau.settled(max(residual, velocity)))
                if converged or steps >= self.max_steps:
                    break
            if self.restart:
                uphill = sum(np.einsum("bn,bn->b", p, g) for p, g in zip(momenta, grad)) > 0
                for p in momenta:
                    p[uphill] = 0.0
            friction = np.maximum(1.0 - gamma * dt, 0.0)
            velocity = self.update(state, momenta, grad, inverse_mass, friction, dt, energy, confinement)
            velocity /= max(energy.reference(state), _TINY)
            steps += 1
        return DynamicsInfo(steps + 1, residual, converged, velocity, steps, None,
                            tuple(trace) if trace is not None else None)


# ------------------------------------------------------------------------------- resistive networks


class ResistiveEnergy:
    """The co-content of a :class:`ResistiveNetwork` for one batch and phase, as a :class:`BoxEnergy`.

    The state is the node voltages of layers 1 .. L; dE/dv_m = -s_m I_m, with I_m the net current into
    the nodes of layer m from crossbars, amplifiers, biases and the nudge (``observables.element_currents``).
    The metric is ``s_m C`` (C: node capacitances in farads), so gradient flow is ``C dv/dt = I``.
    """

    def __init__(self, network: ResistiveNetwork, drive: InputDrive, terms, capacitance: list[np.ndarray],
                 nudge: Nudge | None):
        self.network, self.drive, self.terms, self.nudge = network, drive, terms, nudge
        node = network.node_weights
        self.weights = node[1:]
        self.lower = [t.lo for t in terms]
        self.upper = [t.hi for t in terms]
        self.hessian_diagonal = [w * t.den for w, t in zip(self.weights, terms)]
        self.metric = [w * c for w, c in zip(self.weights, capacitance)]
        self.centre = [box_centre(lo, hi) for lo, hi in zip(self.lower, self.upper)]
        conductance = 0.0 if nudge is None else float(nudge.conductance)
        self.curvature_key = (network.conductances, capacitance, conductance)

    def _currents(self, state, first, sources) -> list[np.ndarray]:
        net = self.network
        n = net.n_layers
        out = []
        for m in range(1, n + 1):
            t = self.terms[m - 1]
            below = first if m == 1 else state[m - 2] @ net.conductances[m - 1]
            current = net.amplifiers[m - 1].forward_gain * below
            if m < n:
                current += net.amplifiers[m].backward_gain * (state[m] @ net.conductances[m].T)
            if sources:
                current += t.source
            current -= t.den * state[m - 1]
            out.append(current)
        return out

    def gradient(self, state, out) -> None:
        for o, current, w in zip(out, self._currents(state, self.drive.product, True), self.weights):
            np.multiply(current, -w, out=o)

    def hessian_vector(self, vector) -> list[np.ndarray]:
        zero = np.zeros((vector[0].shape[0], self.network.sizes[1]), dtype=vector[0].dtype)
        return [-w * c for c, w in zip(self._currents(vector, zero, False), self.weights)]

    def energy(self, state) -> np.ndarray:
        e = network_energy(self.network, [self.drive.input_voltages, *state])
        if self.nudge is not None:
            out = state[-1]
            e = e + 0.5 * self.nudge.conductance * np.einsum("bn,bn->b", out, out)
            e = e - np.einsum("bn,bn->b", self.nudge.current(out.dtype), out)
        return e

    def reference(self, state) -> float:
        return max(float(np.max(np.abs(s))) if s.size else 0.0 for s in state)


class _ResistiveDynamicsSolver(BCDSolver):
    """A BCDSolver whose ``relax`` runs a dynamical relaxation instead; ``drive`` and ``adjoint`` are BCD's.

    capacitance: node capacitance in farads, a scalar or one (n_m,) vector per layer 1 .. L.
    Ideal diodes only: a Shockley diode's exponential conductance makes explicit time steps stiff.
    """

    def __init__(self, network: ResistiveNetwork, dynamics: GradientFlow | Momentum, capacitance=1e-12,
                 on_unconverged: str = "warn", max_sweeps: int = 500):
        super().__init__(network, tol=dynamics.tol, max_sweeps=max_sweeps, on_unconverged=on_unconverged)
        if isinstance(network.diode, ShockleyDiode):
            raise ParameterError("the rc and momentum relaxations support ideal diodes only (a Shockley diode "
                                 "makes explicit time steps stiff); use the bcd relaxation")
        self.dynamics = dynamics
        self.capacitance = self._capacitance(capacitance)

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

    def relax(self, x_or_drive, nudge: Nudge | None = None, init: Equilibrium | None = None) -> Equilibrium:
        """Equilibrium reached by the dynamics; from zero (clipped to the rails) or from ``init`` with p = 0."""
        net = self.network
        drive = x_or_drive if isinstance(x_or_drive, InputDrive) else self.drive(x_or_drive)
        if drive.conductances is not net.conductances:
            drive = self.drive_from_voltages(drive.input_voltages)
        batch = drive.input_voltages.shape[0]
        terms = self._primal_terms(batch, nudge)
        state = self._initial_voltages(batch, terms, init)
        energy = ResistiveEnergy(net, drive, terms, self.capacitance, nudge)
        info = self.dynamics.run(energy, state, free=nudge is None)
        check_convergence(info, self.dynamics.tol, self.on_unconverged, "relaxation")
        return Equilibrium([drive.input_voltages, *state], info, nudge)


class GradientFlowSolver(_ResistiveDynamicsSolver):
    """RC transient ``C dv/dt = I`` of a resistive network; ``info.time`` is the settling time in seconds.

    Keywords are those of :class:`GradientFlow` (step, tol, max_steps, noise_sigma, rng, record) plus
    capacitance (F), on_unconverged and max_sweeps (the cap of BCD's adjoint solve).
    """

    def __init__(self, network: ResistiveNetwork, capacitance=1e-12, on_unconverged: str = "warn",
                 max_sweeps: int = 500, tol: float | None = None, **dynamics):
        tol = (1e-10 if network.dtype == np.float64 else 1e-5) if tol is None else tol
        super().__init__(network, GradientFlow(tol=tol, **dynamics), capacitance, on_unconverged, max_sweeps)


class MomentumSolver(_ResistiveDynamicsSolver):
    """Damped momentum relaxation of a resistive network, metric ``s_m C`` as for the RC transient.

    Keywords are those of :class:`Momentum` (step, damping, tol, max_steps, bifurcation_steps,
    bifurcation_strength, noise_sigma, rng, record) plus capacitance, on_unconverged and max_sweeps.
    """

    def __init__(self, network: ResistiveNetwork, capacitance=1e-12, on_unconverged: str = "warn",
                 max_sweeps: int = 500, tol: float | None = None, **dynamics):
        tol = (1e-10 if network.dtype == np.float64 else 1e-5) if tol is None else tol
        super().__init__(network, Momentum(tol=tol, **dynamics), capacitance, on_unconverged, max_sweeps)


def check_convergence(info: SolveInfo, tol: float, on_unconverged: str, what: str) -> None:
    """Warn (ConvergenceWarning) or raise (ConvergenceError) if a relaxation stopped at its cap."""
    if info.converged:
        return
    velocity = f", relative |p dt| = {info.velocity:.3g}" if getattr(info, "velocity", 0.0) else ""
    message = (f"{what} did not converge: KKT residual = {info.residual:.3g}{velocity} after {info.sweeps} "
               f"gradient evaluations (tol {tol:.3g}); raise max_steps, loosen tol or change step/damping")
    if on_unconverged == "raise":
        raise ConvergenceError(message)
    warnings.warn(message, ConvergenceWarning, stacklevel=3)

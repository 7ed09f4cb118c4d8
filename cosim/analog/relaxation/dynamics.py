"""Relaxation dynamics: gradient flow (the RC transient) and damped momentum (extended phase space).

Both are written once, over an abstract box-constrained energy
(:class:`~cosim.analog.relaxation.energy.BoxEnergy`): a state made of layers ``s_m`` (B, n_m), box bounds
``lo <= s <= hi``, the gradient ``dE/ds``, a Hessian-vector product, a diagonal *metric* ``M`` (the
capacitances of the physical dynamics) and the diagonal of the Hessian (to scale the stopping residual).
Every energy family implements it (:mod:`cosim.analog.resistive.energy`, :mod:`cosim.analog.hopfield.energy`).

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

from dataclasses import dataclass

import numpy as np

from cosim.analog.core import SolveInfo
from cosim.analog.relaxation import kernels
from cosim.analog.relaxation.base import Relaxation
from cosim.analog.relaxation.energy import BoxEnergy, kkt_residual
from cosim.analog.relaxation.monitors import Curvature, SecantDamping
from cosim.errors import ParameterError

_TINY = 1e-300
#: default time step, a fraction of the stability limit (the schema's ``relaxation.step``)
STEP = 0.9
#: default cap on time steps per relaxation (the schema's ``relaxation.max_steps``)
MAX_STEPS = 5000


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

    def summary(self) -> str:
        velocity = f", relative |p dt| = {self.velocity:.3g}" if self.velocity else ""
        return f"KKT residual = {self.residual:.3g}{velocity} after {self.sweeps} gradient evaluations"


class _Dynamics(Relaxation):
    """What gradient flow and momentum share: time step, curvature, noise, the update of every layer."""

    cap_name = "max_steps"
    remedy = "raise max_steps, loosen tol or change step/damping"

    def __init__(self, step: float, tol: float | None, max_steps: int, noise_sigma: float, rng, record: bool):
        if not 0 < step < 1:
            raise ParameterError(f"step is a fraction of the stability limit and must be in (0, 1), got {step!r}")
        super().__init__(tol, max_steps, noise_sigma, rng)
        self.step, self.record = float(step), record
        self.curvature = Curvature()

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


class GradientFlow(_Dynamics):
    """Projected explicit Euler on ``M ds/dt = -dE/ds`` (see the module docstring).

    step: dt as a fraction of the stability limit 2 / lambda_max (0 < step < 1);
    tol: on the KKT residual relative to the energy's reference scale; max_steps: the cap;
    noise_sigma: standard deviation of Gaussian noise added to every node at every step (state units),
    drawn from ``rng``; record: keep (potential, kinetic=0) per step in the info's trace.
    """

    kind = "rc"

    def __init__(self, step: float = STEP, tol: float | None = None, max_steps: int = MAX_STEPS,
                 noise_sigma: float = 0.0, rng: np.random.Generator | None = None, record: bool = False):
        super().__init__(step, tol, max_steps, noise_sigma, rng, record)

    def run(self, energy: BoxEnergy, state: list[np.ndarray], free: bool = True) -> DynamicsInfo:
        """Relax ``state`` (clipped into the box first) in place; ``free`` is unused (no schedule)."""
        tol = self.tolerance(energy.dtype)
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
            converged = residual <= tol or (plateau is not None and plateau.settled(residual))
            if converged or steps == self.cap:
                break
            self.update(state, scratch, grad, rate, still, unit, energy)
            steps += 1
        return DynamicsInfo(steps + 1, residual, converged, 0.0, steps, steps * dt,
                            tuple(trace) if trace is not None else None)


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

    kind = "momentum"

    def __init__(self, step: float = STEP, damping: float | None = None, restart: bool = False,
                 tol: float | None = None, max_steps: int = MAX_STEPS, bifurcation_steps: int = 0,
                 bifurcation_strength: float = 1.0, noise_sigma: float = 0.0,
                 rng: np.random.Generator | None = None, record: bool = False):
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
        tol = self.tolerance(energy.dtype)
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
                converged = max(residual, velocity) <= tol or (
                    plateau is not None and plateau.settled(max(residual, velocity)))
                if converged or steps >= self.cap:
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

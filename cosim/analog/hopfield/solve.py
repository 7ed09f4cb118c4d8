"""Relaxing a deep Hopfield network: a relaxation strategy composed with its energy, and the adjoint solve.

Relaxations (:mod:`cosim.analog.relaxation`, by name or as a strategy object):

* ``"bcd"`` -- the fixed point ``s_m <- clip(dPhi/ds_m, 0, 1)``, odd layers then even layers: since layers
  do not interact within themselves and the diagonal of the Hessian is 1, this is exact block coordinate
  descent (the energy never increases). ``synchronous=True`` updates every layer at once from the old
  state instead (the layer-synchronous fixed point, which may oscillate).
* ``"rc"`` -- gradient flow ``ds/dt = -dE/ds`` (leaky-integrator neurons, time in units of their time
  constant), and ``"momentum"`` -- damped extended phase-space dynamics.

Every relaxation may add Gaussian noise of standard deviation ``noise_sigma`` to every state at every
update, drawn from an explicit ``numpy.random.Generator``. The adjoint ``H lambda = dL/ds`` of implicit
differentiation is solved by conjugate gradients on the unclamped states.
"""

from __future__ import annotations

import numpy as np

from cosim.analog.core import (Equilibrium, Nudge, SolveInfo, check_convergence, check_on_unconverged, checked_tol,
                               initial_state)
from cosim.analog.hopfield.energy import HopfieldDrive, HopfieldEnergy
from cosim.analog.hopfield.network import HopfieldNetwork
from cosim.analog.relaxation import RELAXATIONS, Relaxation, make_relaxation
from cosim.errors import ParameterError

_TINY = 1e-300


class HopfieldSolver:
    """Relaxes a :class:`HopfieldNetwork`; the same interface as :class:`~cosim.analog.resistive.solve.ResistiveSolver`.

    relaxation: "bcd" (odd/even fixed point; ``synchronous=True``: all layers at once), "rc" (gradient
    flow), "momentum", or a strategy object; tol: on the largest state change of a sweep (bcd) or the
    KKT residual (rc, momentum), in state units; max_steps: the cap on sweeps or steps (None: the
    relaxation's default, that of the config schema: 100 sweeps, 5000 steps); on_unconverged: "warn" or
    "raise"; noise_sigma and rng: state noise at every update; the other keywords go to the strategy
    (:class:`~cosim.analog.relaxation.GradientFlow`, :class:`~cosim.analog.relaxation.Momentum`: step,
    damping, restart, bifurcation_steps, bifurcation_strength, record).
    """

    def __init__(self, network: HopfieldNetwork, relaxation: str | Relaxation = "bcd", tol: float | None = None,
                 max_steps: int | None = None, on_unconverged: str = "warn", synchronous: bool = False,
                 noise_sigma: float = 0.0, rng: np.random.Generator | None = None, **dynamics):
        self.network = network
        if isinstance(relaxation, Relaxation):
            self.dynamics = relaxation
        else:
            settings = dict(tol=checked_tol(tol, network.dtype), noise_sigma=noise_sigma, rng=rng, **dynamics)
            if synchronous:
                settings["synchronous"] = True
            if max_steps is not None and relaxation in RELAXATIONS:
                settings[RELAXATIONS[relaxation].cap_name] = max_steps
            self.dynamics = make_relaxation(relaxation, **settings)
        self.on_unconverged = check_on_unconverged(on_unconverged)
        self.tol = self.dynamics.tolerance(network.dtype)

    @property
    def relaxation(self) -> str:
        """The strategy's config name: "bcd", "rc" or "momentum"."""
        return self.dynamics.kind

    # ------------------------------------------------------------------ the solver interface
    def drive(self, x) -> HopfieldDrive:
        x = self.network.check_input(x)
        return HopfieldDrive(x, self.network.couple(0, x), self.network.weights)

    def relax(self, x_or_drive, nudge: Nudge | None = None, init: Equilibrium | None = None) -> Equilibrium:
        """Equilibrium for a block input (or a :class:`HopfieldDrive`); from zero, or from ``init``."""
        net = self.network
        drive = x_or_drive if isinstance(x_or_drive, HopfieldDrive) else self.drive(x_or_drive)
        if drive.weights is not net.weights:
            drive = self.drive(drive.inputs)
        energy = HopfieldEnergy(net, drive, nudge)
        state = initial_state(net.sizes, drive.inputs.shape[0], net.dtype, energy.lower, energy.upper, init)
        info = self.dynamics.run(energy, state, free=nudge is None)
        check_convergence(info, self.tol, self.on_unconverged, "Hopfield relaxation", self.dynamics.remedy)
        return Equilibrium([drive.inputs, *state], info, nudge)

    def adjoint(self, equilibrium: Equilibrium, output_error, tol: float | None = None,
                max_iter: int | None = None) -> list[np.ndarray]:
        """Solve ``H lambda = dL/ds`` on the unclamped states by conjugate gradients (clamped: lambda = 0).

        Returns lambda per layer, index 0 (the input) zero. H is the Hessian of the nudge-free energy; at a
        local minimum its restriction to the free states is positive semi-definite.
        """
        net = self.network
        error = np.asarray(output_error, dtype=np.float64)
        batch = equilibrium.layers[0].shape[0]
        if error.shape != (batch, net.output_width):
            raise ParameterError(f"output error must have shape {(batch, net.output_width)}, got {error.shape}")
        energy = HopfieldEnergy(net, self.drive(equilibrium.layers[0]), None)
        free = [((s > 0) & (s < 1)).astype(np.float64) for s in equilibrium.layers[1:]]
        rhs = [np.zeros((batch, n)) for n in net.sizes[1:-1]] + [error * free[-1]]
        tol = 1e-13 if tol is None else tol
        max_iter = max_iter or 10 * sum(net.sizes[1:])
        lam, residual = _masked_conjugate_gradients(energy, free, rhs, tol, max_iter)
        check_convergence(SolveInfo(max_iter, residual, residual <= tol), tol, self.on_unconverged, "adjoint solve",
                          "raise max_iter or loosen tol")
        return [np.zeros((batch, net.sizes[0]), dtype=net.dtype)] + [v.astype(net.dtype) for v in lam]


def _masked_conjugate_gradients(energy: HopfieldEnergy, mask, rhs, tol: float, max_iter: int):
    """Batched CG on (P H P) x = P b, P the free-state mask, one system per sample; returns (x, max |r|/|b|)."""
    def apply(v):
        hv = energy.hessian_vector([x.astype(energy.network.dtype) for x in v])
        return [h.astype(np.float64) * p for h, p in zip(hv, mask)]

    def dot(a, b):
        return sum(np.einsum("bn,bn->b", x, y) for x, y in zip(a, b))

    x = [np.zeros_like(b) for b in rhs]
    r = [b.copy() for b in rhs]
    d = [v.copy() for v in r]
    rr = dot(r, r)
    initial = np.maximum(rr, _TINY)
    stop = (tol ** 2) * initial
    for _ in range(max_iter):
        if (rr <= stop).all():
            break
        hd = apply(d)
        curvature = dot(d, hd)
        alpha = np.where(rr > stop, rr / np.where(curvature > 0, curvature, np.inf), 0.0)
        for xi, ri, di, hi in zip(x, r, d, hd):
            xi += alpha[:, None] * di
            ri -= alpha[:, None] * hi
        rr_new = dot(r, r)
        beta = np.where(rr > 0, rr_new / np.maximum(rr, _TINY), 0.0)
        for di, ri in zip(d, r):
            di *= beta[:, None]
            di += ri
        rr = rr_new
    return x, float(np.sqrt(np.max(rr / initial)))

"""Monitors of a relaxation: the largest curvature (for time steps), the noise plateau (for stopping) and the
secant estimate of the slowest curvature (for momentum's friction)."""

from __future__ import annotations

import math

import numpy as np

from cosim.analog.relaxation import kernels
from cosim.errors import ParameterError

_TINY = 1e-300
#: a noisy relaxation may stop once its residual stops falling below this many noise standard deviations
NOISE_FLOOR = 10.0
#: the power-iteration estimate of the largest curvature is a lower bound; steps use it times this
CURVATURE_MARGIN = 1.05


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

    def __call__(self, energy) -> float:
        if not _same_key(self.key, energy.curvature_key):
            self.value = self._estimate(energy) * CURVATURE_MARGIN
            self.key = energy.curvature_key
        return self.value

    def _estimate(self, energy) -> float:
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

"""What a relaxation needs of an energy: the :class:`BoxEnergy` protocol, and helpers over it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cosim.analog.relaxation import kernels


@dataclass
class LayerTerms:
    """Per-layer constants of one phase, each (1, n) or (B, n): the drive of the biases (and the nudge),
    the self-conductance (the diagonal of the Hessian of the layer's own term) and the box bounds."""

    source: np.ndarray
    den: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


class BoxEnergy(Protocol):
    """An energy over layered states ``s_m`` (B, n_m), m = 1 .. L, with box bounds: what relaxations need.

    Layers interact only with their neighbours, so with its neighbours held fixed one layer's energy is
    separable per node: ``minimise_layer`` minimises it exactly (exact block descent). The dynamics use
    the gradient, Hessian-vector products and ``metric``, the positive diagonal ``M`` of
    ``M ds/dt = -dE/ds``, (1, n) per layer.

    ``lower``/``upper``: bounds per layer, (1, n) or (B, n), possibly infinite; ``hessian_diagonal``:
    positive, (1, n) or (B, n); ``centre``: where the bifurcation term confines each node, (1, n);
    ``curvature_key``: a tuple whose items are the same objects (or equal numbers) exactly as long as the
    Hessian and metric are unchanged; ``dtype``: of the states.
    """

    dtype: np.dtype
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

    def reference(self, state: list[np.ndarray], largest: float | None = None) -> float:
        """The scale residuals are relative to: the largest |state| (``largest`` when the caller knows it),
        or 1 for a fixed box."""

    def layer_inputs(self, m: int, state: list[np.ndarray]):
        """What layers m - 1 and m + 1 drive into layer m (opaque to the caller; read before any update
        of a group of layers that do not touch each other)."""

    def minimise_layer(self, m: int, state: list[np.ndarray], inputs, noise_sigma: float = 0.0,
                       noise: np.ndarray | None = None) -> tuple[float, float]:
        """Set layer m (in place) to the exact minimiser given ``inputs``, shifted by ``noise_sigma`` times
        the unit normal draws ``noise``; returns (max |ds|, max |s|) over the layer."""


def kkt_residual(energy: BoxEnergy, state: list[np.ndarray], grad: list[np.ndarray]) -> float:
    """max |s - clip(s - D^-1 dE/ds, lo, hi)| over every node (absolute, in state units)."""
    return max(kernels.kkt_residual_layer(s, g, d, lo, hi)
               for s, g, d, lo, hi in zip(state, grad, energy.hessian_diagonal, energy.lower, energy.upper))


def box_centre(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Middle of the box where both bounds are finite, else 0."""
    finite = np.isfinite(lo) & np.isfinite(hi)
    return np.where(finite, 0.5 * (np.where(finite, lo, 0.0) + np.where(finite, hi, 0.0)), 0.0).astype(lo.dtype)

"""The Pareto front of a sweep: the grid points that no other point beats in every objective at once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def non_dominated(values: np.ndarray, maximise: Sequence[bool]) -> np.ndarray:
    """Mask of the rows of ``values`` (points x objectives) that no other row dominates, i.e. is at least as
    good in every objective and better in one; ``maximise[k]``: larger is better in objective k (else
    smaller). Rows with a NaN are never on the front and dominate nothing; equal rows are both on it."""
    values = np.asarray(values, dtype=float)
    better = np.where(np.asarray(maximise, dtype=bool), values, -values)  # larger is better in every column
    finite = np.isfinite(better).all(axis=1)
    candidates = better[finite]
    front = np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(finite):
        beaten = (candidates >= better[i]).all(axis=1) & (candidates > better[i]).any(axis=1)
        front[i] = not beaten.any()
    return front

"""EP estimators: which nudged phases each runs, and which two equilibria it compares.

Centred EP uses (+beta, -beta) and has O(beta^2) bias; positive (+beta, free) and negative (free, -beta)
have O(beta) bias.
"""

from __future__ import annotations

from cosim.errors import ParameterError

#: the nudged phases each EP estimator runs (the one table: blocks, chips and the learning code read it)
ESTIMATOR_PHASES = {"centred": ("plus", "minus"), "positive": ("plus",), "negative": ("minus",)}
ESTIMATORS = tuple(ESTIMATOR_PHASES)


def estimator_phases(estimator: str) -> tuple[str, ...]:
    if estimator not in ESTIMATOR_PHASES:
        raise ParameterError(f"unknown EP estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    return ESTIMATOR_PHASES[estimator]


def nudged_phases(nudged, beta: float, estimator: str, error=None, target=None):
    """(plus, minus): the nudged equilibria an EP estimator needs, each from ``nudged(beta, error,
    target)``; None for a phase the estimator does not use."""
    if not beta > 0:
        raise ParameterError(f"EP nudge strength beta must be positive, got {beta!r}")
    phases = estimator_phases(estimator)
    plus = nudged(beta, error, target) if "plus" in phases else None
    minus = nudged(-beta, error, target) if "minus" in phases else None
    return plus, minus


def ep_phase_pair(estimator: str, free, plus, minus):
    """The two phases an EP estimator compares: centred (+, -), positive (+, free), negative (free, -)."""
    phases = estimator_phases(estimator)
    return (plus if "plus" in phases else free), (minus if "minus" in phases else free)

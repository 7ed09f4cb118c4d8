"""Relaxation strategies, written once over the :class:`BoxEnergy` protocol that every energy family
implements: exact block descent (:class:`BlockDescent`), gradient flow (:class:`GradientFlow`, the RC
transient) and damped momentum (:class:`Momentum`). Imports only :mod:`cosim.analog.core`."""

from cosim.analog.relaxation.base import Relaxation
from cosim.analog.relaxation.block_descent import MAX_SWEEPS, BlockDescent
from cosim.analog.relaxation.dynamics import MAX_STEPS, STEP, DynamicsInfo, GradientFlow, Momentum
from cosim.analog.relaxation.energy import BoxEnergy, LayerTerms, box_centre, kkt_residual
from cosim.analog.relaxation.monitors import Curvature, Plateau, SecantDamping
from cosim.errors import ParameterError

#: the strategies by their config name (``relaxation.kind``)
RELAXATIONS = {cls.kind: cls for cls in (BlockDescent, GradientFlow, Momentum)}


def make_relaxation(kind: str, **settings) -> Relaxation:
    """The strategy named ``kind`` ("bcd", "rc" or "momentum") with its keyword settings."""
    if kind not in RELAXATIONS:
        raise ParameterError(f"unknown relaxation {kind!r}; choose one of {', '.join(RELAXATIONS)}")
    try:
        return RELAXATIONS[kind](**settings)
    except TypeError as error:  # a keyword this strategy does not take
        takes = ", ".join(f"{name}: {cls.__name__}" for name, cls in RELAXATIONS.items())
        message = f"the {kind} relaxation: {error} (each takes the keywords of its class; {takes})"
        raise ParameterError(message) from None


__all__ = [
    "BlockDescent", "BoxEnergy", "Curvature", "DynamicsInfo", "GradientFlow", "LayerTerms", "MAX_STEPS",
    "MAX_SWEEPS", "Momentum", "Plateau", "RELAXATIONS", "Relaxation", "STEP", "SecantDamping", "box_centre",
    "kkt_residual", "make_relaxation",
]

"""What every relaxation of every energy family produces: nudges, equilibria and how a solve ended."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cosim.errors import ParameterError


class ConvergenceWarning(RuntimeWarning):
    """A relaxation stopped at its sweep cap before reaching its tolerance."""


@dataclass(frozen=True)
class Nudge:
    """Currents injected at the output nodes during a nudged phase.

    Either towards a target through a conductance ``beta`` (siemens): ``I = beta (target - v)`` — the
    squared-error nudge — or from an arbitrary error signal ``delta = dL/dv_out`` (volts^-1 per sample):
    ``I = -beta delta`` (amperes, with ``beta`` in A per unit of loss gradient). ``beta`` may be negative
    (the -beta phase of centred EP). For a Hopfield block read state units for volts.
    """

    beta: float
    target: np.ndarray | None = None
    error: np.ndarray | None = None

    def __post_init__(self):
        if (self.target is None) == (self.error is None):
            raise ParameterError("a Nudge needs exactly one of target= or error=")
        if not np.isfinite(self.beta):
            raise ParameterError(f"nudge beta must be finite, got {self.beta!r}")

    @property
    def conductance(self) -> float:
        """Conductance added at every output node (S): beta towards a target, 0 for an error current."""
        return self.beta if self.target is not None else 0.0

    def current(self, dtype) -> np.ndarray:
        """Current source part injected at the output nodes, (B, n_out) amperes."""
        if self.target is not None:
            return np.asarray(self.beta * self.target, dtype=dtype)
        return np.asarray(-self.beta * self.error, dtype=dtype)

    def apply(self, source: np.ndarray, den: np.ndarray, batch: int, dtype) -> tuple[np.ndarray, np.ndarray]:
        """The output layer's (source current, self-conductance) with this nudge added, (B|1, n_out) each."""
        current = self.current(dtype)
        if current.shape != (batch, source.shape[1]):
            raise ParameterError(f"nudge target/error must have shape {(batch, source.shape[1])}, got {current.shape}")
        return source + current, (den + dtype.type(self.conductance) if self.conductance else den)


@dataclass(frozen=True)
class SolveInfo:
    """How a relaxation ended: sweeps taken, final relative max |dv| per sweep, and whether it met tol."""

    sweeps: int
    residual: float
    converged: bool

    def summary(self) -> str:
        """The residual and the work done, for a non-convergence message."""
        return f"relative max |dv| = {self.residual:.3g} after {self.sweeps} sweeps"


@dataclass
class Equilibrium:
    """States of a solved block: ``layers[0]`` the inputs, ``layers[m]`` layer m, (B, n_m) (volts for a
    resistive network)."""

    layers: list[np.ndarray]
    info: SolveInfo
    nudge: Nudge | None = None
    #: the crossbars the solve saw (device read noise may change them from one solve to the next)
    conductances: tuple | None = None
    #: V_0 W[0], the input drive the solve used (shared by the phases of a batch; not a copy)
    input_product: np.ndarray | None = None
    #: per crossbar l >= 1, a product of the final voltages the solve computed anyway: (0, V_l W[l]) or
    #: (1, V_{l+1} W[l]^T); None where it has none (keyword-only, so subclasses keep their positions)
    crossbar_products: list | None = field(default=None, kw_only=True)

    @property
    def output(self) -> np.ndarray:
        return self.layers[-1]

    @property
    def beta(self) -> float:
        return 0.0 if self.nudge is None else self.nudge.beta

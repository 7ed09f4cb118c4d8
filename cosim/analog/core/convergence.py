"""Tolerances, caps, block inputs, convergence reports and warm starts: the checks every solver of every
family shares."""

from __future__ import annotations

import warnings

import numpy as np

from cosim.analog.core.equilibrium import ConvergenceWarning, Equilibrium, SolveInfo
from cosim.errors import ConvergenceError, ParameterError

#: default relative tolerance of a relaxation per dtype (float32 equals the schema's ``solver.tol``)
DEFAULT_TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}
ON_UNCONVERGED = ("warn", "raise")


def default_tol(dtype) -> float:
    """The tolerance a relaxation uses when none is given: 1e-10 in float64, 1e-5 in float32."""
    return DEFAULT_TOL[np.dtype(dtype)]


def checked_tol(tol: float | None, dtype) -> float:
    """``tol`` as a positive float, or the dtype's default when None."""
    value = default_tol(dtype) if tol is None else float(tol)
    if not value > 0:
        raise ParameterError(f"tol must be positive, got {tol!r}")
    return value


def check_on_unconverged(on_unconverged: str) -> str:
    if on_unconverged not in ON_UNCONVERGED:
        raise ParameterError(f"on_unconverged must be 'warn' or 'raise', got {on_unconverged!r}")
    return on_unconverged


def check_cap(value: int, name: str) -> int:
    """A positive sweep / step / iteration cap."""
    if value < 1:
        raise ParameterError(f"{name} must be >= 1, got {value}")
    return int(value)


def check_block_input(x, width: int, dtype) -> np.ndarray:
    """A block input as a finite, C-contiguous (batch, width) array of ``dtype``."""
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 2 or x.shape[1] != width:
        raise ParameterError(f"block input must have shape (batch, {width}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ParameterError("block input contains NaN or infinity")
    return np.ascontiguousarray(x)


def check_convergence(info: SolveInfo, tol: float, on_unconverged: str, what: str, remedy: str) -> None:
    """Warn (ConvergenceWarning) or raise (ConvergenceError) if a relaxation stopped at its cap."""
    if info.converged:
        return
    message = f"{what} did not converge: {info.summary()} (tol {tol:.3g}); {remedy}"
    if on_unconverged == "raise":
        raise ConvergenceError(message)
    warnings.warn(message, ConvergenceWarning, stacklevel=3)


def initial_state(sizes, batch: int, dtype, lower, upper, init: Equilibrium | None) -> list[np.ndarray]:
    """Starting states of layers 1 .. L: zero clipped into the box, or a copy of a warm-start equilibrium
    (e.g. the free state for a nudged phase) after checking it is for the same network and batch."""
    if init is None:
        return [np.clip(np.zeros((batch, n), dtype=dtype), lo, hi).astype(dtype)
                for n, lo, hi in zip(sizes[1:], lower, upper)]
    if len(init.layers) != len(sizes) or init.layers[0].shape[0] != batch:
        raise ParameterError("warm start: the initial equilibrium is for another network or batch size")
    return [np.array(v, dtype=dtype, copy=True) for v in init.layers[1:]]

"""Exact block coordinate descent (BCD) for layered resistive networks.

Nodes within a layer do not touch each other, so with its two neighbouring layers held fixed a layer's
energy is separable per node and its exact minimiser is closed form (ideal diodes: a divide and a clip)
or a scalar monotone equation (Shockley diodes: safeguarded Newton). Updating all odd layers, then all
even layers, is exact block minimisation (red-black Gauss-Seidel) and converges to the unique
equilibrium of the strictly convex problem. Crossbar products go through BLAS (``numpy.matmul``);
node-local work through the Numba kernels of :mod:`cosim.analog.kernels`.

The same sweeps solve the *adjoint network* used by implicit differentiation: the network linearised
at an equilibrium (inputs grounded, clamped nodes grounded, Shockley diodes replaced by their
small-signal conductances) driven by the output error as a current.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from cosim.analog import kernels
from cosim.analog.network import ResistiveNetwork, ShockleyDiode
from cosim.errors import ConvergenceError, ParameterError

_TINY = 1e-300


class ConvergenceWarning(RuntimeWarning):
    """A relaxation stopped at its sweep cap before reaching its tolerance."""


@dataclass(frozen=True)
class Nudge:
    """Currents injected at the output nodes during a nudged phase.

    Either towards a target through a conductance ``beta`` (siemens): ``I = beta (target - v)`` — the
    squared-error nudge — or from an arbitrary error signal ``delta = dL/dv_out`` (volts^-1 per sample):
    ``I = -beta delta`` (amperes, with ``beta`` in A per unit of loss gradient). ``beta`` may be negative
    (the -beta phase of centred EP).
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


@dataclass(frozen=True)
class SolveInfo:
    """How a relaxation ended: sweeps taken, final relative max |dv| per sweep, and whether it met tol."""

    sweeps: int
    residual: float
    converged: bool


@dataclass
class Equilibrium:
    """Node voltages of a solved network: ``layers[0]`` the input sources, ``layers[m]`` layer m, (B, n_m) volts."""

    layers: list[np.ndarray]
    info: SolveInfo
    nudge: Nudge | None = None
    #: the crossbars the solve saw (device read noise may change them from one solve to the next)
    conductances: tuple | None = None
    #: V_0 W[0], the input drive the solve used (shared by the phases of a batch; not a copy)
    input_product: np.ndarray | None = None

    @property
    def output(self) -> np.ndarray:
        return self.layers[-1]

    @property
    def beta(self) -> float:
        return 0.0 if self.nudge is None else self.nudge.beta


@dataclass(frozen=True)
class InputDrive:
    """What the input sources drive into layer 1, computed once per batch: V_0 W[0] (amperes / A_0).

    It is constant across sweeps and across the free and nudged phases of one batch.
    """

    input_voltages: np.ndarray
    product: np.ndarray
    conductances: tuple  # the crossbars it was computed with, to detect a weight change


@dataclass
class _LayerTerms:
    """Per-layer constants of one solve, each (1, n) or (B, n): currents in, self-conductance, rails."""

    source: np.ndarray
    den: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


class BCDSolver:
    """Relaxes a :class:`ResistiveNetwork` to equilibrium by exact block coordinate descent.

    tol: stop when the largest voltage change of a sweep, relative to the largest voltage, is <= tol
        (default 1e-10 in float64, 1e-5 in float32);
    max_sweeps: the sweep cap;
    on_unconverged: "warn" (ConvergenceWarning) or "raise" (ConvergenceError) when the cap is hit.
    """

    def __init__(self, network: ResistiveNetwork, tol: float | None = None, max_sweeps: int = 500,
                 on_unconverged: str = "warn"):
        if on_unconverged not in ("warn", "raise"):
            raise ParameterError(f"on_unconverged must be 'warn' or 'raise', got {on_unconverged!r}")
        if max_sweeps < 1:
            raise ParameterError(f"max_sweeps must be >= 1, got {max_sweeps}")
        self.network = network
        self.tol = (1e-10 if network.dtype == np.float64 else 1e-5) if tol is None else float(tol)
        if not self.tol > 0:
            raise ParameterError(f"tol must be positive, got {tol!r}")
        self.max_sweeps = int(max_sweeps)
        self.on_unconverged = on_unconverged

    # ------------------------------------------------------------------ public API
    def drive(self, x) -> InputDrive:
        """Input source voltages for block input ``x`` (B, input_width) and their drive into layer 1."""
        net = self.network
        v0 = net.input_voltages(x)
        return InputDrive(v0, v0 @ net.conductances[0], net.conductances)

    def relax(self, x_or_drive, nudge: Nudge | None = None, init: Equilibrium | None = None) -> Equilibrium:
        """Equilibrium of the network for a block input (or a precomputed :class:`InputDrive`).

        nudge: output currents of a nudged phase (None: free phase);
        init: a previous equilibrium of the same batch to warm-start from (e.g. the free state).
        """
        net = self.network
        drive = x_or_drive if isinstance(x_or_drive, InputDrive) else self.drive(x_or_drive)
        if drive.conductances is not net.conductances:  # weights changed since the drive was computed
            drive = self.drive_from_voltages(drive.input_voltages)
        batch = drive.input_voltages.shape[0]
        terms = self._primal_terms(batch, nudge)
        layers = [drive.input_voltages] + self._initial_voltages(batch, terms, init)
        info = self._sweep(drive.product, terms, layers, self.tol, diode=net.diode)
        self._check(info, "relaxation", self.tol)
        return Equilibrium(layers, info, nudge, net.conductances, drive.product)

    def drive_from_voltages(self, input_voltages: np.ndarray) -> InputDrive:
        net = self.network
        return InputDrive(input_voltages, input_voltages @ net.conductances[0], net.conductances)

    def adjoint(self, equilibrium: Equilibrium, output_error, tol: float | None = None) -> list[np.ndarray]:
        """Solve H lambda = dL/dv at a free equilibrium (H: Hessian of the energy over free nodes).

        Returns lambda per layer (index 0, the inputs, is zero). Physically lambda is the voltage response
        of the network linearised at the equilibrium — inputs and clamped nodes grounded, Shockley diodes
        replaced by their small-signal conductances — to a current ``dL/dv_out`` injected at the outputs.
        """
        net = self.network
        error = np.asarray(output_error, dtype=net.dtype)
        batch = equilibrium.layers[0].shape[0]
        if error.shape != (batch, net.output_width):
            raise ParameterError(f"output error must have shape {(batch, net.output_width)}, got {error.shape}")
        terms = self._adjoint_terms(equilibrium, error)
        lam = [np.zeros((batch, n), dtype=net.dtype) for n in net.sizes]
        tol = min(self.tol, 1e-12) if tol is None else tol
        if net.dtype == np.float32:
            tol = max(tol, 1e-6)
        info = self._sweep(np.zeros_like(lam[1]), terms, lam, tol, diode=None)
        self._check(info, "adjoint solve", tol)
        return lam

    # ------------------------------------------------------------------ solve set-up
    def _primal_terms(self, batch: int, nudge: Nudge | None) -> list[_LayerTerms]:
        net = self.network
        terms = []
        for m in range(1, net.n_layers + 1):
            hidden = m < net.n_layers
            source = net.biases[m - 1][None, :]
            den = net.self_conductances[m - 1][None, :]
            if not hidden and nudge is not None:
                current = nudge.current(net.dtype)
                if current.shape != (batch, net.output_width):
                    raise ParameterError(
                        f"nudge target/error must have shape {(batch, net.output_width)}, got {current.shape}"
                    )
                source = source + current
                den = den + net.dtype.type(nudge.conductance)
                if not (den > 0).all():
                    raise ParameterError(
                        f"nudge beta={nudge.beta} exceeds the self-conductance of an output node "
                        f"(min {net.self_conductances[-1].min():.3g} S); use a smaller beta"
                    )
            lo, hi = self._rails(m)
            terms.append(_LayerTerms(source, den, lo, hi))
        return terms

    def _rails(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        net = self.network
        if m < net.n_layers:
            return net.lower_rails[m - 1][None, :], net.upper_rails[m - 1][None, :]
        return self._unbounded(m)

    def _unbounded(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        unbounded = np.full((1, self.network.sizes[m]), np.inf, dtype=self.network.dtype)
        return -unbounded, unbounded

    def _adjoint_terms(self, equilibrium: Equilibrium, error: np.ndarray) -> list[_LayerTerms]:
        net = self.network
        terms = []
        for m in range(1, net.n_layers + 1):
            v = equilibrium.layers[m]
            lo, hi = self._rails(m)
            den = net.self_conductances[m - 1][None, :]
            if isinstance(net.diode, ShockleyDiode):
                den = den + diode_small_signal_conductance(net.diode, v, lo, hi)
                free_lo, free_hi = self._unbounded(m)
            else:
                clamped = (v == lo) | (v == hi)
                free_lo = np.where(clamped, 0.0, -np.inf).astype(net.dtype)
                free_hi = np.where(clamped, 0.0, np.inf).astype(net.dtype)
            source = error if m == net.n_layers else np.zeros((1, net.sizes[m]), dtype=net.dtype)
            terms.append(_LayerTerms(source, np.ascontiguousarray(den), free_lo, free_hi))
        return terms

    def _initial_voltages(self, batch: int, terms: list[_LayerTerms], init: Equilibrium | None) -> list[np.ndarray]:
        net = self.network
        if init is None:
            return [np.clip(np.zeros((batch, n), dtype=net.dtype), t.lo, t.hi).astype(net.dtype)
                    for n, t in zip(net.sizes[1:], terms)]
        if len(init.layers) != len(net.sizes) or init.layers[0].shape[0] != batch:
            raise ParameterError("warm start: the initial equilibrium is for another network or batch size")
        return [np.array(v, dtype=net.dtype, copy=True) for v in init.layers[1:]]

    # ------------------------------------------------------------------ the sweeps
    def _sweep(self, product0: np.ndarray, terms: list[_LayerTerms], layers: list[np.ndarray], tol: float,
               diode) -> SolveInfo:
        """Odd layers, then even layers, until the relative max |dv| of a sweep is <= tol."""
        net = self.network
        n_layers = net.n_layers
        order = list(range(1, n_layers + 1, 2)) + list(range(2, n_layers + 1, 2))
        batch = layers[0].shape[0]
        below = {m: np.empty((batch, net.sizes[m]), dtype=net.dtype) for m in range(2, n_layers + 1)}
        above = {m: np.empty((batch, net.sizes[m]), dtype=net.dtype) for m in range(1, n_layers)}
        below[1] = product0
        shockley = isinstance(diode, ShockleyDiode)
        residual = np.inf
        for sweep in range(1, self.max_sweeps + 1):
            max_dv = max_v = 0.0
            for m in order:
                if m > 1:
                    np.matmul(layers[m - 1], net.conductances[m - 1], out=below[m])
                has_above = m < n_layers
                if has_above:
                    np.matmul(layers[m + 1], net.conductances[m].T, out=above[m])
                t = terms[m - 1]
                a = net.amplifiers[m - 1].forward_gain
                kappa = net.amplifiers[m].backward_gain if has_above else 0.0
                up = above[m] if has_above else below[m]
                i_s, nvt = (diode.saturation_current, diode.slope_voltage) if shockley and m < n_layers else (0.0, 1.0)
                dv, vmax = kernels.layer_update(below[m], a, up, kappa, has_above, t.source, t.den, t.lo, t.hi,
                                                i_s, nvt, layers[m])
                max_dv, max_v = max(max_dv, dv), max(max_v, vmax)
            residual = max_dv / max(max_v, _TINY)
            if residual <= tol:
                return SolveInfo(sweep, residual, True)
        return SolveInfo(self.max_sweeps, residual, False)

    def _check(self, info: SolveInfo, what: str, tol: float) -> None:
        if info.converged:
            return
        message = (f"{what} did not converge: relative max |dv| = {info.residual:.3g} after {info.sweeps} "
                   f"sweeps (tol {tol:.3g}); raise max_sweeps or loosen tol")
        if self.on_unconverged == "raise":
            raise ConvergenceError(message)
        warnings.warn(message, ConvergenceWarning, stacklevel=3)


def diode_small_signal_conductance(diode: ShockleyDiode, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """d i_diode / d v summed over a node's two Shockley diodes, (B, n) siemens."""
    nvt = diode.slope_voltage
    g = np.zeros_like(v)
    with np.errstate(over="ignore"):
        for rail, sign in ((lo, -1.0), (hi, 1.0)):
            finite = np.isfinite(rail)
            exponent = np.where(finite, sign * (v - np.where(finite, rail, 0.0)) / nvt, -np.inf)
            g += diode.saturation_current / nvt * np.exp(exponent)
    return g

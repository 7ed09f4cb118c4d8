"""Deep Hopfield networks (DHN): the energy blocks of the ff-EBM paper, as an alternative to resistive networks.

Layers ``0 .. L``: layer 0 is clamped to the block input ``x`` (any real values), layers ``1 .. L`` hold
states bounded in ``[0, 1]`` (a hard sigmoid). Consecutive layers are coupled symmetrically by dense
weights ``W[l]`` of shape ``(n_l, n_{l+1})`` (signed, unbounded); layers ``1 .. L`` have biases ``b``.
The energy (dimensionless) is::

    E(s) = 1/2 sum_{m>=1} |s_m|^2 - sum_{l>=0} s_l . W[l] s_{l+1} - sum_{m>=1} b_m . s_m,   0 <= s_m <= 1

so ``dE/ds_m = s_m - dPhi/ds_m`` with ``dPhi/ds_m = s_{m-1} W[m-1] + s_{m+1} W[m]^T + b_m`` (row vectors)
and the Hessian is ``I`` minus the block-tridiagonal couplings. With strong couplings E is not convex
and has several local minima in the box. The output layer ``L`` is nudged like a resistive network's
(:class:`~cosim.analog.solve.Nudge`): ``+ beta delta . s_L`` (error) or ``beta/2 |s_L - y|^2`` (target).

Relaxations (``HopfieldSolver(relaxation=...)``):

* ``"bcd"`` -- the fixed point ``s_m <- clip(dPhi/ds_m, 0, 1)``, odd layers then even layers: since layers
  do not interact within themselves and the diagonal of the Hessian is 1, this is exact block coordinate
  descent (the energy never increases). ``synchronous=True`` updates every layer at once from the old
  state instead (the layer-synchronous fixed point, which may oscillate).
* ``"rc"`` -- gradient flow ``ds/dt = -dE/ds`` (leaky-integrator neurons, time in units of their time
  constant), and ``"momentum"`` -- damped extended phase-space dynamics, both from
  :mod:`cosim.analog.dynamics`.

Every relaxation may add Gaussian noise of standard deviation ``noise_sigma`` to every state at every
update, drawn from an explicit ``numpy.random.Generator``.

Gradients: EP reads ``dE/dW[l] = -s_l^T s_{l+1}``, ``dE/db_m = -s_m``, ``dE/dx = -s_1 W[0]^T`` at two nudged
equilibria; implicit differentiation solves ``H lambda = dL/ds`` on the unclamped states (conjugate
gradients) and gives ``dL/dW[l] = lambda_l^T s_{l+1} + s_l^T lambda_{l+1}``, ``dL/db_m = sum lambda_m``,
``dL/dx = lambda_1 W[0]^T``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog import kernels
from cosim.analog.dynamics import GradientFlow, Momentum, check_convergence
from cosim.analog.gradients import ep_phase_pair, nudged_phases
from cosim.analog.solve import ConvergenceWarning, Equilibrium, Nudge, SolveInfo
from cosim.errors import ParameterError

RELAXATIONS = ("bcd", "rc", "momentum")
_TINY = 1e-300


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


class HopfieldNetwork:
    """A deep Hopfield network: weights ``W[l]`` (n_l, n_{l+1}) for l = 0..L-1, biases for layers 1..L.

    States of layers 1..L are bounded in [0, 1]; the input layer 0 is clamped to the block input.
    dtype: float64 (validation) or float32 (speed).
    """

    lower_bound = 0.0
    upper_bound = 1.0

    def __init__(self, weights, biases=None, dtype=np.float64):
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError(f"dtype must be float32 or float64, got {self.dtype}")
        if len(weights) < 1:
            raise ParameterError("a Hopfield network needs at least one weight matrix (input -> output)")
        sizes = [np.shape(weights[0])[0]] if np.ndim(weights[0]) == 2 else []
        for l, w in enumerate(weights):
            if np.ndim(w) != 2 or np.shape(w)[0] != sizes[-1]:
                raise ParameterError(f"weights[{l}] must be 2-D with {sizes[-1] if sizes else '?'} rows, "
                                     f"got shape {np.shape(w)}")
            sizes.append(np.shape(w)[1])
        if min(sizes) < 1:
            raise ParameterError(f"every layer needs at least one unit, got sizes {sizes}")
        self.sizes = tuple(int(n) for n in sizes)
        self.set_weights(weights)
        self.set_biases([np.zeros(n) for n in self.sizes[1:]] if biases is None else biases)

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def input_width(self) -> int:
        return self.sizes[0]

    @property
    def output_width(self) -> int:
        return self.sizes[-1]

    def set_weights(self, weights) -> None:
        """Replace every coupling matrix (a new tuple: cached curvature estimates notice the change)."""
        if len(weights) != self.n_layers:
            raise ParameterError(f"expected {self.n_layers} weight matrices, got {len(weights)}")
        checked = []
        for l, w in enumerate(weights):
            w = np.asarray(w)
            if w.shape != (self.sizes[l], self.sizes[l + 1]):
                raise ParameterError(f"weights[{l}] must have shape {(self.sizes[l], self.sizes[l + 1])}, "
                                     f"got {w.shape}")
            if not np.isfinite(w).all():
                raise ParameterError(f"weights[{l}] contains NaN or infinity")
            checked.append(_frozen(w.astype(self.dtype)))
        self.weights = tuple(checked)

    def set_biases(self, biases) -> None:
        if len(biases) != self.n_layers:
            raise ParameterError(f"expected {self.n_layers} bias vectors (layers 1..L), got {len(biases)}")
        checked = []
        for m, b in enumerate(biases, start=1):
            b = np.broadcast_to(np.asarray(b, dtype=np.float64), (self.sizes[m],))
            if not np.isfinite(b).all():
                raise ParameterError(f"biases[{m - 1}] (layer {m}) must be finite")
            checked.append(_frozen(b.astype(self.dtype)))
        self.biases = tuple(checked)

    def check_input(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.input_width:
            raise ParameterError(f"block input must have shape (batch, {self.input_width}), got {x.shape}")
        if not np.isfinite(x).all():
            raise ParameterError("block input contains NaN or infinity")
        return np.ascontiguousarray(x)


@dataclass(frozen=True)
class HopfieldDrive:
    """The clamped input ``x`` and its drive ``x W[0]`` into layer 1, shared by the phases of one batch."""

    inputs: np.ndarray
    product: np.ndarray
    weights: tuple  # the weights it was computed with, to detect a change


@dataclass
class _Layer:
    """Per-layer constants of one phase: bias (+ nudge) drive, diagonal of the Hessian, bounds, (1|B, n)."""

    source: np.ndarray
    den: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


class HopfieldEnergy:
    """The (nudged) energy of one batch and phase as a :class:`~cosim.analog.dynamics.BoxEnergy`.

    Metric 1 (unit time constants), box [0, 1], residuals absolute (reference scale 1).
    """

    def __init__(self, network: HopfieldNetwork, drive: HopfieldDrive, nudge: Nudge | None):
        self.network, self.drive, self.nudge = network, drive, nudge
        dtype, batch = network.dtype, drive.inputs.shape[0]
        self.layers = []
        for m in range(1, network.n_layers + 1):
            n = network.sizes[m]
            source = network.biases[m - 1][None, :]
            den = np.ones((1, n), dtype=dtype)
            if m == network.n_layers and nudge is not None:
                current = nudge.current(dtype)
                if current.shape != (batch, n):
                    raise ParameterError(f"nudge target/error must have shape {(batch, n)}, got {current.shape}")
                source = source + current
                den = den + dtype.type(nudge.conductance)
                if not (den > 0).all():
                    raise ParameterError(f"nudge beta={nudge.beta} makes the output curvature 1 + beta <= 0; "
                                         "use a smaller beta")
            self.layers.append(_Layer(source, den, np.zeros((1, n), dtype), np.ones((1, n), dtype)))
        self.lower = [t.lo for t in self.layers]
        self.upper = [t.hi for t in self.layers]
        self.hessian_diagonal = [t.den for t in self.layers]
        self.metric = [np.ones_like(t.den) for t in self.layers]
        self.centre = [np.full_like(t.den, 0.5) for t in self.layers]
        self.curvature_key = (network.weights, 0.0 if nudge is None else float(nudge.conductance))

    def below(self, state: list[np.ndarray], m: int) -> np.ndarray:
        """s_{m-1} W[m-1]: the drive of layer m from the layer below (the input for m = 1)."""
        return self.drive.product if m == 1 else state[m - 2] @ self.network.weights[m - 1]

    def above(self, state: list[np.ndarray], m: int) -> np.ndarray | None:
        """s_{m+1} W[m]^T, or None for the output layer."""
        return state[m] @ self.network.weights[m].T if m < self.network.n_layers else None

    def _gradient(self, state, first, sources) -> list[np.ndarray]:
        out = []
        for m, t in enumerate(self.layers, start=1):
            g = t.den * state[m - 1]
            g -= first if m == 1 else state[m - 2] @ self.network.weights[m - 1]
            if m < self.network.n_layers:
                g -= state[m] @ self.network.weights[m].T
            if sources:
                g -= t.source
            out.append(g)
        return out

    def gradient(self, state, out) -> None:
        for o, g in zip(out, self._gradient(state, self.drive.product, True)):
            o[...] = g

    def hessian_vector(self, vector) -> list[np.ndarray]:
        zero = np.zeros((vector[0].shape[0], self.network.sizes[1]), dtype=vector[0].dtype)
        return self._gradient(vector, zero, False)

    def energy(self, state) -> np.ndarray:
        """E per sample, (B,); nudged phases add beta delta.s_L or beta/2 |s_L|^2 - beta y.s_L."""
        e = np.zeros(state[0].shape[0])
        for m, (s, t) in enumerate(zip(state, self.layers), start=1):
            e += 0.5 * np.einsum("bn,bn->b", t.den * s, s)
            e -= np.einsum("bn,bn->b", self.below(state, m), s)
            e -= np.einsum("bn,bn->b", np.broadcast_to(t.source, s.shape), s)
        return e

    def reference(self, state) -> float:
        return 1.0


class HopfieldSolver:
    """Relaxes a :class:`HopfieldNetwork`; the same interface as :class:`~cosim.analog.solve.BCDSolver`.

    relaxation: "bcd" (odd/even fixed point; ``synchronous=True``: all layers at once), "rc" (gradient
    flow) or "momentum"; tol: on the largest state change of a sweep (bcd) or the KKT residual (rc,
    momentum), in state units; max_steps: the cap on sweeps or steps; on_unconverged: "warn" or "raise";
    noise_sigma and rng: state noise at every update; the other keywords go to
    :class:`~cosim.analog.dynamics.GradientFlow` / :class:`~cosim.analog.dynamics.Momentum`
    (step, damping, restart, bifurcation_steps, bifurcation_strength, record).
    """

    def __init__(self, network: HopfieldNetwork, relaxation: str = "bcd", tol: float | None = None,
                 max_steps: int = 5000, on_unconverged: str = "warn", synchronous: bool = False,
                 noise_sigma: float = 0.0, rng: np.random.Generator | None = None, **dynamics):
        if relaxation not in RELAXATIONS:
            raise ParameterError(f"unknown relaxation {relaxation!r}; choose one of {', '.join(RELAXATIONS)}")
        if on_unconverged not in ("warn", "raise"):
            raise ParameterError(f"on_unconverged must be 'warn' or 'raise', got {on_unconverged!r}")
        if synchronous and relaxation != "bcd":
            raise ParameterError("synchronous=True applies to the bcd (fixed-point) relaxation only")
        self.network = network
        self.relaxation, self.synchronous = relaxation, bool(synchronous)
        self.tol = (1e-10 if network.dtype == np.float64 else 1e-5) if tol is None else float(tol)
        self.max_steps, self.on_unconverged = int(max_steps), on_unconverged
        common = dict(tol=self.tol, max_steps=self.max_steps, noise_sigma=noise_sigma, rng=rng)
        if relaxation == "rc":
            self.dynamics = GradientFlow(**common, **dynamics)
        elif relaxation == "momentum":
            self.dynamics = Momentum(**common, **dynamics)
        else:
            if dynamics:
                raise ParameterError(f"the bcd relaxation takes no {', '.join(sorted(dynamics))}")
            self.dynamics = GradientFlow(**common)  # holds the checked tol, cap, noise and rng

    # ------------------------------------------------------------------ the solver interface
    def drive(self, x) -> HopfieldDrive:
        x = self.network.check_input(x)
        return HopfieldDrive(x, x @ self.network.weights[0], self.network.weights)

    def relax(self, x_or_drive, nudge: Nudge | None = None, init: Equilibrium | None = None) -> Equilibrium:
        """Equilibrium for a block input (or a :class:`HopfieldDrive`); from zero, or from ``init``."""
        net = self.network
        drive = x_or_drive if isinstance(x_or_drive, HopfieldDrive) else self.drive(x_or_drive)
        if drive.weights is not net.weights:
            drive = self.drive(drive.inputs)
        batch = drive.inputs.shape[0]
        energy = HopfieldEnergy(net, drive, nudge)
        if init is None:
            state = [np.zeros((batch, n), dtype=net.dtype) for n in net.sizes[1:]]
        else:
            if len(init.layers) != len(net.sizes) or init.layers[0].shape[0] != batch:
                raise ParameterError("warm start: the initial equilibrium is for another network or batch size")
            state = [np.array(s, dtype=net.dtype, copy=True) for s in init.layers[1:]]
        if self.relaxation == "bcd":
            info = self._fixed_point(energy, state)
        else:
            info = self.dynamics.run(energy, state, free=nudge is None)
        check_convergence(info, self.tol, self.on_unconverged, "Hopfield relaxation")
        return Equilibrium([drive.inputs, *state], info, nudge)

    def _fixed_point(self, energy: HopfieldEnergy, state: list[np.ndarray]) -> SolveInfo:
        """s_m <- clip(dPhi/ds_m / den_m) by layers: odd then even, or all at once; stops on max |ds|."""
        n_layers = self.network.n_layers
        groups = ([list(range(1, n_layers + 1))] if self.synchronous
                  else [list(range(1, n_layers + 1, 2)), list(range(2, n_layers + 1, 2))])
        dynamics = self.dynamics
        for s, t in zip(state, energy.layers):
            np.clip(s, t.lo, t.hi, out=s)
        residual = np.inf
        plateau = dynamics.stopping_rule(1.0)
        for sweep in range(1, self.max_steps + 1):
            max_ds = 0.0
            for group in groups:
                inputs = {m: (energy.below(state, m), energy.above(state, m)) for m in group}
                for m in group:
                    below, above = inputs[m]
                    t = energy.layers[m - 1]
                    source = t.source
                    if dynamics.noise_sigma > 0:  # clip(x / den + sigma xi) = clip((x + sigma den xi) / den)
                        noise = dynamics.rng.standard_normal(state[m - 1].shape).astype(self.network.dtype)
                        source = source + dynamics.noise_sigma * t.den * noise
                    has_above = above is not None
                    ds, _ = kernels.layer_update(below, 1.0, above if has_above else below, 1.0, has_above,
                                                 source, t.den, t.lo, t.hi, 0.0, 1.0, state[m - 1])
                    max_ds = max(max_ds, ds)
            residual = max_ds
            if residual <= self.tol or (plateau is not None and plateau.settled(residual)):
                return SolveInfo(sweep, residual, True)
        return SolveInfo(self.max_steps, residual, False)

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
        check_convergence(SolveInfo(max_iter, residual, residual <= tol), tol, self.on_unconverged, "adjoint solve")
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


# ------------------------------------------------------------------------------------------ gradients


@dataclass
class HopfieldGradients:
    """dL/dW[l], dL/db_m (of the batch-summed loss) and dL/dx per sample."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    inputs: np.ndarray

    def flat(self) -> np.ndarray:
        return np.concatenate([g.ravel() for g in (*self.weights, *self.biases)])


def hopfield_ep_gradients(network: HopfieldNetwork, state_a: Equilibrium, state_b: Equilibrium) -> HopfieldGradients:
    """EP estimate [dE/dtheta(a) - dE/dtheta(b)] / (beta_a - beta_b) from two nudged equilibria."""
    scale = state_a.beta - state_b.beta
    if scale == 0:
        raise ParameterError("EP needs two equilibria with different nudge strengths beta")
    a, b = state_a.layers, state_b.layers
    weights = [-(a[l].T @ a[l + 1] - b[l].T @ b[l + 1]) / scale for l in range(network.n_layers)]
    biases = [-(a[m] - b[m]).sum(axis=0) / scale for m in range(1, network.n_layers + 1)]
    inputs = -((a[1] - b[1]) @ network.weights[0].T) / scale
    return HopfieldGradients(weights, biases, inputs)


def hopfield_implicit_gradients(network: HopfieldNetwork, free: Equilibrium, adjoint) -> HopfieldGradients:
    """Exact gradients from the free equilibrium s and the adjoint lambda (see the module docstring)."""
    s, lam = free.layers, adjoint
    weights = [lam[l].T @ s[l + 1] + s[l].T @ lam[l + 1] for l in range(network.n_layers)]
    biases = [lam[m].sum(axis=0) for m in range(1, network.n_layers + 1)]
    inputs = lam[1] @ network.weights[0].T
    return HopfieldGradients(weights, biases, inputs)


class HopfieldBlock:
    """A :class:`HopfieldNetwork` with its solver and the state of the current batch (cf. ResistiveBlock)."""

    def __init__(self, network: HopfieldNetwork, solver: HopfieldSolver | None = None):
        self.network = network
        self.solver = solver or HopfieldSolver(network)
        self.drive: HopfieldDrive | None = None
        self.free: Equilibrium | None = None
        self.phases: dict[str, Equilibrium | None] = {}

    def forward(self, x) -> np.ndarray:
        """Free equilibrium for block input x (B, input_width); returns the output states (B, n_out)."""
        self.drive = self.solver.drive(x)
        self.free = self.solver.relax(self.drive)
        self.phases = {}
        return self.free.output

    def nudged(self, beta: float, error=None, target=None) -> Equilibrium:
        """Equilibrium with the output nudged by beta * error (or towards target), from the free state."""
        return self.solver.relax(self.drive, Nudge(beta, target=target, error=error), init=self._require_free())

    def ep_gradients(self, beta: float, error=None, target=None, estimator: str = "centred") -> HopfieldGradients:
        """EP gradients of the loss whose output gradient is ``error`` (or squared error to ``target``)."""
        free = self._require_free()
        plus, minus = nudged_phases(self.nudged, beta, estimator, error, target)
        self.phases = {"plus": plus, "minus": minus}
        return hopfield_ep_gradients(self.network, *ep_phase_pair(estimator, free, plus, minus))

    def implicit_gradients(self, error=None, target=None) -> HopfieldGradients:
        """Exact gradients by implicit differentiation at the free equilibrium."""
        free = self._require_free()
        if (error is None) == (target is None):
            raise ParameterError("implicit_gradients needs exactly one of error= or target=")
        output_error = error if target is None else free.output - np.asarray(target, dtype=self.network.dtype)
        return hopfield_implicit_gradients(self.network, free, self.solver.adjoint(free, output_error))

    def _require_free(self) -> Equilibrium:
        if self.free is None:
            raise RuntimeError("call forward(x) before asking for gradients")
        return self.free


__all__ = [
    "ConvergenceWarning", "HopfieldBlock", "HopfieldDrive", "HopfieldEnergy", "HopfieldGradients",
    "HopfieldNetwork", "HopfieldSolver", "RELAXATIONS", "hopfield_ep_gradients", "hopfield_implicit_gradients",
]

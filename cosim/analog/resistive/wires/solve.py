"""Exact equilibrium of a :class:`~cosim.analog.resistive.wires.layout.WiredNetwork`: block coordinate descent over chains.

The co-content of the wired network is the wire-free one with every crossbar replaced by its wire network
(devices, segments, driver and sense resistors), each weighted by its gap weight ``c_l``. It is still
strictly convex, so its minimiser is the unique operating point. The blocks are *chains*: a layer node with
the bit line it senses and the word line it drives (:mod:`cosim.analog.resistive.wires.kernels` minimises a whole layer
of them exactly). Chains of layer ``l`` touch only layers ``l +- 1``, so even layers then odd layers is
red-black block Gauss-Seidel, as in the wire-free :class:`~cosim.analog.resistive.solve.BCDSolver`; the input layer's
word lines are a block too. Segments, drivers and sense resistors live *inside* blocks, so however well the
wires conduct, they never slow the sweeps down; only the devices couple blocks.

A cold start first solves the wire-free network (cheap GEMM sweeps) and lifts its voltages onto the lines.
With no wire resistance at all the wire-free solver is used unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cosim.analog.core import Equilibrium, Nudge, SolveInfo, check_convergence
from cosim.analog.resistive.energy import InputDrive, diode_small_signal_conductance, layer_rails, unbounded_rails
from cosim.analog.resistive.network import ShockleyDiode
from cosim.analog.relaxation.block_descent import BlockDescent
from cosim.analog.resistive.solve import BCDSolver
from cosim.analog.resistive.wires import kernels
from cosim.analog.resistive.wires.layout import WiredNetwork
from cosim.errors import ParameterError

_TINY = 1e-300
#: the last sweeps are exact ones, from a change of _FINISH * tol on (see _Relaxation)
_FINISH = 100.0


@dataclass
class WiredEquilibrium(Equilibrium):
    """An :class:`Equilibrium` with the wire nodes: ``word_lines[l]``, ``bit_lines[l]`` (B, n_l, n_{l+1}) volts.

    ``word_lines[l][b, i, k]`` is the word-line node of row ``i`` at column ``k``, where device ``W[l][i, k]``
    connects; ``bit_lines[l][b, i, k]`` is the bit-line node at the same crossing.
    """

    word_lines: list = field(default_factory=list)
    bit_lines: list = field(default_factory=list)


@dataclass
class _NodeTerms:
    """Per-layer constants of one solve, each (1, n) or (B, n): current in, extra conductance, rails."""

    source: np.ndarray
    den: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


class WiredSolver:
    """Relaxes a :class:`WiredNetwork` to equilibrium; same tolerances, caps and reporting as BCDSolver.

    tol: the largest voltage change of a sweep (layer and wire nodes), relative to the largest voltage, must be
        <= tol (default 1e-12 in float64, 1e-5 in float32: the voltages are then within ~1e-12 V per volt of
        the exact ones, well inside the 1e-9 V cosim is checked to against ngspice and badcrossbar);
    kcl_tol: and, unless 0, a bound on every node's relative KCL residual (|sum of currents| over
        sum of g (|v_a| + |v_b|), as :func:`~cosim.analog.resistive.wires.observables.kirchhoff_residuals`)
        certified by an exact sweep must be <= kcl_tol (default 1e-9 in float64, 1e-5 in float32, when ``tol``
        is left at its default; 0, the voltage test alone, when ``tol`` is given, as on the chip);
    omega: over-relaxation factor of the sweeps (None: chosen from the measured contraction, see
        :class:`_Relaxation`; 1.0: plain block Gauss-Seidel);
    max_sweeps: the sweep cap; on_unconverged: "warn" (ConvergenceWarning) or "raise" (ConvergenceError).
    """

    def __init__(self, wired: WiredNetwork, tol: float | None = None, max_sweeps: int = 500,
                 on_unconverged: str = "warn", kcl_tol: float | None = None, omega: float | None = None):
        self.wired = wired
        # the wire-free solver: the whole solve when there are no wires, else the cold start; validates settings
        self.wire_free = BCDSolver(wired.network, tol, max_sweeps, on_unconverged)
        single = wired.network.dtype != np.float64
        self.tol = (1e-5 if single else 1e-12) if tol is None else self.wire_free.tol
        self.kcl_tol = float(kcl_tol) if kcl_tol is not None else 0.0 if tol is not None else 1e-5 if single else 1e-9
        if not (np.isfinite(self.kcl_tol) and self.kcl_tol >= 0):
            raise ParameterError(f"WiredSolver kcl_tol must be a finite number >= 0 (0: off), got {kcl_tol!r}")
        if omega is not None and not 0 < omega < 2:
            raise ParameterError(f"WiredSolver omega must lie in (0, 2) (None: chosen by the solver), got {omega!r}")
        self.omega = omega
        self._settled: float | None = None  # the omega of the last cold start, for the warm starts after it
        self.max_sweeps = self.wire_free.max_sweeps

    @property
    def network(self):
        return self.wired.network

    # ------------------------------------------------------------------ public API
    def drive(self, x) -> InputDrive:
        """The input sources for block input ``x`` (as :meth:`BCDSolver.drive`; the wire-free cold start uses it)."""
        return self.wire_free.drive(x)

    def relax(self, x, nudge: Nudge | None = None, init: Equilibrium | None = None) -> Equilibrium:
        """Equilibrium for block input ``x`` (B, input_width) volts, or its :class:`InputDrive`; ``nudge`` and
        ``init`` as in BCDSolver.

        Returns a :class:`WiredEquilibrium` (a plain :class:`Equilibrium` when the network has no wires).
        """
        if self.wired.ideal:
            return self.wire_free.relax(x, nudge, init)
        net = self.network
        v0 = x.input_voltages if isinstance(x, InputDrive) else net.input_voltages(x)
        batch = v0.shape[0]
        terms = self._primal_terms(batch, nudge)
        # a warm start (a nudged phase from the free state) keeps the omega its cold start settled on: the two
        # phases of an EP estimate then take the same path and their solver errors cancel in the difference
        warm = init is not None and self.omega is None and self._settled is not None
        if init is None:
            init = self._lift(self.wire_free.relax(x, nudge))
        elif not isinstance(init, WiredEquilibrium) or init.layers[0].shape[0] != batch:
            raise ParameterError("warm start: the initial equilibrium is not a wired one of this batch size")
        layers = [_inner(v, net.dtype) for v in [v0, *init.layers[1:]]]
        words = [_inner(u, net.dtype) for u in init.word_lines]
        bits = [_inner(y, net.dtype) for y in init.bit_lines]
        info, omega = self._sweep(terms, layers, words, bits, self.tol, self.kcl_tol, net.diode,
                                  self._settled if warm else self.omega)
        if not warm:
            self._settled = omega
        check_convergence(info, self.tol, self.wire_free.on_unconverged, "wired relaxation", BlockDescent.remedy)
        return WiredEquilibrium([np.ascontiguousarray(v.T) for v in layers], info, nudge, net.conductances, None,
                                [_outer(u) for u in words], [_outer(y) for y in bits])

    def adjoint(self, equilibrium: WiredEquilibrium, output_error, tol: float | None = None):
        """Solve H lambda = dL/dv_out at a free equilibrium: the linearised wired network (inputs grounded,
        clamped nodes grounded, Shockley diodes as small-signal conductances) driven by the error current.

        Returns ``(layers, word_lines, bit_lines)`` of lambda (layers[0], the inputs, is zero).
        """
        if self.wired.ideal:
            return self.wire_free.adjoint(equilibrium, output_error, tol), None, None
        net = self.network
        error = np.asarray(output_error, dtype=net.dtype)
        batch = equilibrium.layers[0].shape[0]
        if error.shape != (batch, net.output_width):
            raise ParameterError(f"output error must have shape {(batch, net.output_width)}, got {error.shape}")
        tol = min(self.tol, 1e-12) if tol is None else tol
        if net.dtype == np.float32:
            tol = max(tol, 1e-6)
        layers = [np.zeros((n, batch), dtype=net.dtype) for n in net.sizes]
        words = [np.zeros((*s, batch), dtype=net.dtype) for s in self.wired.shapes()]
        bits = [np.zeros_like(u) for u in words]
        info, _ = self._sweep(self._adjoint_terms(equilibrium, error), layers, words, bits, tol, 0.0, None,
                              self.omega)
        check_convergence(info, tol, self.wire_free.on_unconverged, "wired adjoint solve", BlockDescent.remedy)
        return [np.ascontiguousarray(v.T) for v in layers], [_outer(u) for u in words], [_outer(y) for y in bits]

    # ------------------------------------------------------------------ set-up
    def _primal_terms(self, batch: int, nudge: Nudge | None) -> list[_NodeTerms]:
        net = self.network
        terms = []
        for m in range(1, net.n_layers + 1):
            source, den = net.biases[m - 1][None, :], np.zeros((1, net.sizes[m]), dtype=net.dtype)
            lo, hi = layer_rails(self.network, m)
            if m == net.n_layers and nudge is not None:
                current = nudge.current(net.dtype)
                if current.shape != (batch, net.output_width):
                    raise ParameterError(f"nudge target/error must have shape {(batch, net.output_width)}, "
                                         f"got {current.shape}")
                source, den = source + current, den + net.dtype.type(nudge.conductance)
            terms.append(_NodeTerms(np.ascontiguousarray(source), den, lo, hi))
        return terms

    def _adjoint_terms(self, equilibrium: WiredEquilibrium, error: np.ndarray) -> list[_NodeTerms]:
        net = self.network
        terms = []
        for m in range(1, net.n_layers + 1):
            v = equilibrium.layers[m]
            lo, hi = layer_rails(self.network, m)
            den = np.zeros((1, net.sizes[m]), dtype=net.dtype)
            if isinstance(net.diode, ShockleyDiode):
                den = diode_small_signal_conductance(net.diode, v, lo, hi).astype(net.dtype)
                free_lo, free_hi = unbounded_rails(self.network, m)
            else:
                clamped = (v == lo) | (v == hi)
                free_lo = np.where(clamped, 0.0, -np.inf).astype(net.dtype)
                free_hi = np.where(clamped, 0.0, np.inf).astype(net.dtype)
            source = error if m == net.n_layers else np.zeros((1, net.sizes[m]), dtype=net.dtype)
            terms.append(_NodeTerms(np.ascontiguousarray(source), np.ascontiguousarray(den), free_lo, free_hi))
        return terms

    def _lift(self, free: Equilibrium) -> WiredEquilibrium:
        """Wire voltages from a wire-free equilibrium: word lines at their driver's A v, bit lines at their node."""
        net = self.network
        words, bits = [], []
        for l, (n, m) in enumerate(self.wired.shapes()):
            drive = net.amplifiers[l].forward_gain * free.layers[l]
            words.append(np.broadcast_to(drive[:, :, None], (drive.shape[0], n, m)))
            bits.append(np.broadcast_to(free.layers[l + 1][:, None, :], (drive.shape[0], n, m)))
        return WiredEquilibrium(free.layers, free.info, free.nudge, free.conductances, None, words, bits)

    # ------------------------------------------------------------------ the sweeps
    def _sweep(self, terms, layers, words, bits, tol: float, kcl_tol: float, diode,
               omega: float | None) -> tuple[SolveInfo, float]:
        """Even layers' chains, then odd layers' chains, until the relative max |dv| of a sweep is <= tol and
        (unless kcl_tol is 0) an exact (omega = 1) sweep bounds every node's relative KCL residual by kcl_tol.

        After an exact sweep every node the sweep visited last (odd layers and their lines) balances exactly,
        and so do the even layers' nodes, except the wire nodes at the other end of a device whose odd-side
        node moved: their residual is that device's W |dv|, which the kernel bounds.

        Over-relaxation (block SOR) as in :class:`_Relaxation` (``omega`` None: adaptive); sweeps near the end
        are exact ones. Returns the solve's info and the largest omega it used."""
        n_layers = self.network.n_layers
        order = list(range(0, n_layers + 1, 2)) + list(range(1, n_layers + 1, 2))
        arms = self._arms()
        columns = [_Columns(t) for t in terms]
        relaxation = _Relaxation(omega, _FINISH * tol)
        largest = 1.0
        residual = np.inf
        for sweep in range(1, self.max_sweeps + 1):
            omega = relaxation.omega
            largest = max(largest, omega)
            certify = omega == 1.0 and kcl_tol > 0
            max_dv = max_v = worst = 0.0
            for m in order:
                dv, vmax, bound = self._layer(m, arms, columns, layers, words, bits, diode, omega, certify)
                max_dv, max_v = max(max_dv, dv), max(max_v, vmax)
                if m % 2:  # only the odd layers' updates disturb nodes the sweep does not visit again
                    worst = max(worst, bound)
            residual = max_dv / max(max_v, _TINY)
            if omega == 1.0 and residual <= tol and (kcl_tol == 0 or worst <= kcl_tol):
                return SolveInfo(sweep, residual, True), largest
            relaxation.update(residual)
        return SolveInfo(self.max_sweeps, residual, False), largest

    def _arms(self) -> list[tuple]:
        """Per crossbar, the elimination factors of its bit lines (transposed devices, q, G) and of its word
        lines (devices, q, G): they depend on devices and wires only, so once per solve."""
        arms = []
        for w, layout in zip(self.network.conductances, self.wired.layouts):
            rows, columns = layout.pieces(*w.shape)
            sides = []
            for devices, ohm, end, last, piece in ((w.T, layout.bit_segment_ohm, layout.sense_ohm, layout.bit_end_last,
                                                   rows),
                                                  (w, layout.word_segment_ohm, layout.driver_ohm,
                                                   layout.word_end_last, columns)):
                devices = np.ascontiguousarray(devices, dtype=np.float64)
                q, g = np.empty_like(devices), np.empty(devices.shape[0])
                kernels.arm_factors(devices, ohm, end, last, piece, q, g)
                sides.append((devices, q, g))
            arms.append(tuple(sides))
        return arms

    def _layer(self, m: int, arms, columns, layers, words, bits, diode, omega: float, certify: bool):
        net, layouts = self.network, self.wired.layouts
        has_below, has_above = m > 0, m < net.n_layers
        below = layouts[m - 1] if has_below else layouts[0]
        above = layouts[m] if has_above else layouts[0]
        (w_b, q_b, g_b), _ = arms[m - 1] if has_below else _NO_ARMS
        _, (w_a, q_a, g_a) = arms[m] if has_above else _NO_ARMS
        dummy = _NO_LINES.astype(layers[m].dtype)
        amp = net.amplifiers[m] if has_above else net.amplifiers[0]
        t = columns[m - 1] if m > 0 else _NO_TERMS
        shockley = isinstance(diode, ShockleyDiode) and 0 < m < net.n_layers
        i_s, nvt = (diode.saturation_current, diode.slope_voltage) if shockley else (0.0, 1.0)
        rows_below, columns_below = below.pieces(*net.conductances[m - 1].shape) if has_below else (1, 1)
        rows_above, columns_above = above.pieces(*net.conductances[m].shape) if has_above else (1, 1)
        return kernels.wired_layer_update(
            has_below, w_b, q_b, g_b, words[m - 1] if has_below else dummy, bits[m - 1] if has_below else dummy,
            below.bit_segment_ohm, below.sense_ohm, below.bit_end_last, rows_below, below.word_segment_ohm,
            columns_below,
            has_above, w_a, q_a, g_a, bits[m] if has_above else dummy, words[m] if has_above else dummy,
            above.word_segment_ohm, above.driver_ohm, above.word_end_last, columns_above, above.bit_segment_ohm,
            rows_above, amp.forward_gain, amp.backward_gain,
            m > 0, t.source, t.den, t.lo, t.hi, i_s, nvt, layers[m], omega, certify)


class _Relaxation:
    """The over-relaxation factor of the sweeps (block SOR), chosen from the measured contraction.

    Red-black block Gauss-Seidel on this block-tridiagonal (layer by layer) system contracts the error by
    rho = rho_J^2 per sweep (rho_J: block Jacobi's); SOR with omega = 2 / (1 + sqrt(1 - rho)) contracts it by
    omega - 1 (Young's theorem for consistently ordered matrices). Exact sweeps (omega = 1) first, until two
    successive ratios of the sweep's max |dv| agree to 10 %; that ratio is rho. Back to exact sweeps for good
    when the change grows three sweeps in a row (a safeguard: diodes switching make the problem only piecewise
    linear) and once the change is below ``finish`` (100 tol): the last sweeps are exact ones, which damp what
    over-relaxation leaves behind, certify KCL, and alone may end a solve.
    ``omega`` given fixes it instead (1.0: plain block Gauss-Seidel), up to the same switch to exact sweeps.
    """

    def __init__(self, omega: float | None, finish: float):
        self.adaptive = omega is None
        self.omega = 1.0 if omega is None else float(omega)
        self.finish = finish
        self.history: list[float] = []
        self.growing = 0

    def update(self, residual: float) -> None:
        history = self.history
        history.append(residual)
        if self.omega != 1.0:
            self.growing = self.growing + 1 if len(history) > 1 and history[-1] > history[-2] else 0
            if self.growing >= 3 or residual <= self.finish:
                self.omega, self.adaptive = 1.0, False
            return
        if not self.adaptive or len(history) < 3 or residual <= self.finish:
            return
        rho, previous = history[-1] / history[-2], history[-2] / history[-3]
        if 0.0 < rho < 1.0 and abs(rho - previous) <= 0.1 * rho:
            self.omega = min(2.0 / (1.0 + np.sqrt(1.0 - rho)), 1.95)


class _Columns:
    """A layer's :class:`_NodeTerms` as the kernel reads them: (n, 1) or (n, B) float64."""

    def __init__(self, terms: _NodeTerms):
        for name in ("source", "den", "lo", "hi"):
            setattr(self, name, np.ascontiguousarray(np.asarray(getattr(terms, name), dtype=np.float64).T))


def _inner(a, dtype) -> np.ndarray:
    """A fresh batch-innermost copy of a (B, ...) array: the kernels' layout."""
    return np.array(np.moveaxis(np.asarray(a), 0, -1), dtype=dtype, order="C")


def _outer(a: np.ndarray) -> np.ndarray:
    """The (B, ...) view of a batch-innermost array."""
    return np.moveaxis(a, -1, 0)


_NO_ARMS = ((np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1)),) * 2
_NO_LINES = np.zeros((1, 1, 1))
_NO_TERMS = _Columns(_NodeTerms(*([np.zeros((1, 1))] * 4)))

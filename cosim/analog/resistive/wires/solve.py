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
_NONE = np.zeros((1, 1))


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

    tol: stop when the largest voltage change of a sweep (layer and wire nodes), relative to the largest
        voltage, is <= tol (default 1e-14 in float64, 1e-5 in float32: a wire node's KCL residual is relative
        to its segment currents, whose voltage drops are ~1e-4 of the node voltages, so the voltages must be
        ~1e4 times tighter than 1e-9 for KCL <= 1e-9);
    max_sweeps: the sweep cap; on_unconverged: "warn" (ConvergenceWarning) or "raise" (ConvergenceError).
    """

    def __init__(self, wired: WiredNetwork, tol: float | None = None, max_sweeps: int = 500,
                 on_unconverged: str = "warn"):
        self.wired = wired
        # the wire-free solver: the whole solve when there are no wires, else the cold start; validates settings
        self.wire_free = BCDSolver(wired.network, tol, max_sweeps, on_unconverged)
        self.tol = (1e-14 if wired.network.dtype == np.float64 else 1e-5) if tol is None else self.wire_free.tol
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
        if init is None:
            init = self._lift(self.wire_free.relax(x, nudge))
        elif not isinstance(init, WiredEquilibrium) or init.layers[0].shape[0] != batch:
            raise ParameterError("warm start: the initial equilibrium is not a wired one of this batch size")
        layers = [v0] + [np.array(v, dtype=net.dtype) for v in init.layers[1:]]
        words = [np.array(u, dtype=net.dtype) for u in init.word_lines]
        bits = [np.array(y, dtype=net.dtype) for y in init.bit_lines]
        info = self._sweep(terms, layers, words, bits, self.tol, net.diode)
        check_convergence(info, self.tol, self.wire_free.on_unconverged, "wired relaxation", BlockDescent.remedy)
        return WiredEquilibrium(layers, info, nudge, net.conductances, None, words, bits)

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
        layers = [np.zeros((batch, n), dtype=net.dtype) for n in net.sizes]
        words = [np.zeros((batch, *s), dtype=net.dtype) for s in self.wired.shapes()]
        bits = [np.zeros_like(u) for u in words]
        info = self._sweep(self._adjoint_terms(equilibrium, error), layers, words, bits, tol, None)
        check_convergence(info, tol, self.wire_free.on_unconverged, "wired adjoint solve", BlockDescent.remedy)
        return layers, words, bits

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
            words.append(np.repeat(drive[:, :, None], m, axis=2))
            bits.append(np.repeat(free.layers[l + 1][:, None, :], n, axis=1))
        return WiredEquilibrium(free.layers, free.info, free.nudge, free.conductances, None, words, bits)

    # ------------------------------------------------------------------ the sweeps
    def _sweep(self, terms, layers, words, bits, tol: float, diode) -> SolveInfo:
        """Even layers' chains, then odd layers' chains, until the relative max |dv| of a sweep is <= tol."""
        n_layers = self.network.n_layers
        order = list(range(0, n_layers + 1, 2)) + list(range(1, n_layers + 1, 2))
        residual = np.inf
        for sweep in range(1, self.max_sweeps + 1):
            max_dv = max_v = 0.0
            for m in order:
                dv, vmax = self._layer(m, terms, layers, words, bits, diode)
                max_dv, max_v = max(max_dv, dv), max(max_v, vmax)
            residual = max_dv / max(max_v, _TINY)
            if residual <= tol:
                return SolveInfo(sweep, residual, True)
        return SolveInfo(self.max_sweeps, residual, False)

    def _layer(self, m: int, terms, layers, words, bits, diode):
        net, layouts = self.network, self.wired.layouts
        has_below, has_above = m > 0, m < net.n_layers
        below = layouts[m - 1] if has_below else layouts[0]
        above = layouts[m] if has_above else layouts[0]
        w_below = net.conductances[m - 1] if has_below else _NONE
        w_above = net.conductances[m] if has_above else _NONE
        dummy = _NONE[None]
        amp = net.amplifiers[m] if has_above else net.amplifiers[0]
        t = terms[m - 1] if m > 0 else _NodeTerms(_NONE, _NONE, _NONE, _NONE)
        shockley = isinstance(diode, ShockleyDiode) and 0 < m < net.n_layers
        i_s, nvt = (diode.saturation_current, diode.slope_voltage) if shockley else (0.0, 1.0)
        rows_below = below.pieces(*w_below.shape)[0]
        columns_above = above.pieces(*w_above.shape)[1]
        return kernels.wired_layer_update(
            has_below, w_below, words[m - 1] if has_below else dummy, bits[m - 1] if has_below else dummy,
            below.bit_segment_ohm, below.sense_ohm, below.bit_end_last, rows_below,
            has_above, w_above, bits[m] if has_above else dummy, words[m] if has_above else dummy,
            above.word_segment_ohm, above.driver_ohm, above.word_end_last, columns_above, amp.forward_gain,
            amp.backward_gain,
            m > 0, t.source, t.den, t.lo, t.hi, i_s, nvt, layers[m])

"""The co-content of a :class:`ResistiveNetwork` for one batch and phase, as a relaxation's energy.

The state is the node voltages of layers 1 .. L; dE/dv_m = -s_m I_m, with I_m the net current into the
nodes of layer m from crossbars, amplifiers, biases and the nudge (``observables.element_currents``), and
s_m the node weights of :mod:`cosim.analog.resistive.network`. A layer's exact minimiser, its neighbours
held, is Kirchhoff's law at each node: ``clip(I / d, rails)`` with ideal diodes, a scalar monotone
equation with Shockley diodes. The metric of the dynamics is ``s_m C`` (C: node capacitances in
farads), so gradient flow is ``C dv/dt = I``: the RC transient.

The same energy, linearised at an equilibrium (inputs grounded, clamped nodes grounded, Shockley diodes
replaced by their small-signal conductances) and driven by the output error as a current, is the
*adjoint network* of implicit differentiation (:meth:`ResistiveEnergy.adjoint`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from cosim.analog.core import Equilibrium, Nudge
from cosim.analog.relaxation import LayerTerms, box_centre, kernels
from cosim.analog.resistive.network import ResistiveNetwork, ShockleyDiode
from cosim.analog.resistive.observables import energy as network_energy
from cosim.errors import ParameterError
from cosim.threads import matmul


@dataclass(frozen=True)
class InputDrive:
    """What the input sources drive into layer 1, computed once per batch: V_0 W[0] (amperes / A_0).

    It is constant across sweeps and across the free and nudged phases of one batch.
    """

    input_voltages: np.ndarray
    product: np.ndarray
    conductances: tuple  # the crossbars it was computed with, to detect a weight change


def layer_rails(network: ResistiveNetwork, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The diode rails of layer m, (1, n_m) volts; the output layer (m = L) is unbounded."""
    if m < network.n_layers:
        return network.lower_rails[m - 1][None, :], network.upper_rails[m - 1][None, :]
    return unbounded_rails(network, m)


def unbounded_rails(network: ResistiveNetwork, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(-inf, +inf) bounds for the nodes of layer m (read-only, shared by every solve)."""
    return _unbounded(network.sizes[m], network.dtype.str)


@lru_cache(maxsize=64)
def _unbounded(size: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    bounds = np.full((2, size), np.inf, dtype=dtype)
    bounds[0] = -np.inf
    bounds.flags.writeable = False
    return bounds[:1], bounds[1:]


def phase_terms(network: ResistiveNetwork, batch: int, nudge: Nudge | None) -> list[LayerTerms]:
    """Bias currents, self-conductances and rails of layers 1 .. L, with the nudge at the outputs."""
    terms = []
    for m in range(1, network.n_layers + 1):
        source = network.biases[m - 1][None, :]
        den = network.self_conductances[m - 1][None, :]
        if m == network.n_layers and nudge is not None:
            source, den = nudge.apply(source, den, batch, network.dtype)
            if nudge.conductance < 0 and not (den > 0).all():  # only a negative conductance can empty a node
                raise ParameterError(
                    f"nudge beta={nudge.beta} exceeds the self-conductance of an output node "
                    f"(min {network.self_conductances[-1].min():.3g} S); use a smaller beta"
                )
        terms.append(LayerTerms(source, den, *layer_rails(network, m)))
    return terms


def adjoint_terms(network: ResistiveNetwork, equilibrium: Equilibrium, error: np.ndarray) -> list[LayerTerms]:
    """The linearised network at ``equilibrium``: clamped nodes grounded (ideal diodes) or Shockley diodes
    as small-signal conductances; the output error is the only source."""
    terms = []
    for m in range(1, network.n_layers + 1):
        v = equilibrium.layers[m]
        lo, hi = layer_rails(network, m)
        den = network.self_conductances[m - 1][None, :]
        if isinstance(network.diode, ShockleyDiode):
            den = den + diode_small_signal_conductance(network.diode, v, lo, hi)
            free_lo, free_hi = unbounded_rails(network, m)
        else:
            clamped = (v == lo) | (v == hi)
            free_lo = np.where(clamped, 0.0, -np.inf).astype(network.dtype)
            free_hi = np.where(clamped, 0.0, np.inf).astype(network.dtype)
        source = error if m == network.n_layers else np.zeros((1, network.sizes[m]), dtype=network.dtype)
        terms.append(LayerTerms(source, np.ascontiguousarray(den), free_lo, free_hi))
    return terms


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


class ResistiveEnergy:
    """The (nudged) co-content of one batch and phase, a :class:`~cosim.analog.relaxation.BoxEnergy`.

    terms: per layer 1 .. L (see :func:`phase_terms`); diode: the network's diode, or None for the
    linear adjoint network; capacitance: node capacitances (F) per layer, (1, n_m), for the dynamics.
    """

    def __init__(self, network: ResistiveNetwork, drive: InputDrive, terms: list[LayerTerms], diode=None,
                 nudge: Nudge | None = None, capacitance: list[np.ndarray] | None = None):
        self.network, self.drive, self.terms, self.nudge = network, drive, terms, nudge
        self.dtype = network.dtype
        self.lower = [t.lo for t in terms]
        self.upper = [t.hi for t in terms]
        self.capacitance = capacitance
        self.curvature_key = (network.conductances, capacitance, 0.0 if nudge is None else float(nudge.conductance))
        n, amps, batch = network.n_layers, network.amplifiers, drive.input_voltages.shape[0]
        shockley = isinstance(diode, ShockleyDiode)
        #: per layer: what the layer kernel takes besides the neighbours' drive and the state
        self._layer = [(amps[m - 1].forward_gain, amps[m].backward_gain if m < n else 0.0, t.source, t.den, t.lo, t.hi,
                        *((diode.saturation_current, diode.slope_voltage) if shockley and m < n else (0.0, 1.0)))
                       for m, t in enumerate(terms, start=1)]
        self._below = {m: np.empty((batch, network.sizes[m]), network.dtype) for m in range(2, n + 1)}
        self._above = {m: np.empty((batch, network.sizes[m]), network.dtype) for m in range(1, n)}
        self._final: dict[int, tuple[int, np.ndarray]] = {}  # see final_products
        self._zero: set[int] = set()  # see note_zero_layers

    @classmethod
    def phase(cls, network: ResistiveNetwork, drive: InputDrive, nudge: Nudge | None = None,
              capacitance: list[np.ndarray] | None = None) -> "ResistiveEnergy":
        """The energy of a free (``nudge=None``) or nudged phase of the batch ``drive`` belongs to."""
        terms = phase_terms(network, drive.input_voltages.shape[0], nudge)
        return cls(network, drive, terms, network.diode, nudge, capacitance)

    @classmethod
    def adjoint(cls, network: ResistiveNetwork, equilibrium: Equilibrium, error: np.ndarray) -> "ResistiveEnergy":
        """The energy of the adjoint network at a free equilibrium, driven by ``error`` (B, n_out)."""
        batch = equilibrium.layers[0].shape[0]
        drive = InputDrive(equilibrium.layers[0], np.zeros((batch, network.sizes[1]), dtype=network.dtype),
                           network.conductances)
        return cls(network, drive, adjoint_terms(network, equilibrium, error))

    # ------------------------------------------------------------------ exact block descent
    def note_zero_layers(self, state) -> None:
        """Remember the layers of a starting state whose voltages are all zero (a cold start): until block
        descent updates them, their products are zeros, written without a GEMM (the same values)."""
        self._zero = {m for m, s in enumerate(state, start=1) if not s.any()}

    def _product(self, layer: int, v: np.ndarray, w: np.ndarray, out: np.ndarray) -> np.ndarray:
        """v w into ``out``, where v holds the voltages of ``layer``."""
        if layer in self._zero:
            out.fill(0)
            return out
        return matmul(v, w, out=out)

    def layer_inputs(self, m: int, state) -> tuple[np.ndarray, np.ndarray | None]:
        """(V_{m-1} W[m-1], V_{m+1} W[m]^T): BLAS products (:func:`cosim.threads.matmul`) into buffers kept
        for the whole relaxation."""
        net = self.network
        below = (self.drive.product if m == 1
                 else self._product(m - 1, state[m - 2], net.conductances[m - 1], self._below[m]))
        above = self._product(m + 1, state[m], net.transposed(m), self._above[m]) if m < net.n_layers else None
        if m >= 2:
            self._final[m - 1] = (0, below)
        if above is not None:
            self._final[m] = (1, above)
        return below, above

    def final_products(self) -> list | None:
        """Per crossbar l (index 0 unused), the last product of block descent still equal to its voltages
        now: (0, V_l W[l]) or (1, V_{l+1} W[l]^T), None where the layer it was computed from moved since.
        Red-black sweeps end on the even layers, whose inputs are products of the final odd layers: every
        crossbar has one. The arrays are this solve's buffers (a new energy per solve)."""
        return [None] + [self._final.get(l) for l in range(1, self.network.n_layers)]

    def minimise_layer(self, m: int, state, inputs, noise_sigma: float = 0.0, noise=None) -> tuple[float, float]:
        """Kirchhoff's law at every node of layer m (:func:`kernels.layer_update`); returns (max |dv|, max |v|)."""
        below, above = inputs
        a, kappa, source, den, lo, hi, i_s, nvt = self._layer[m - 1]
        self._zero.discard(m)
        for gap, side in ((m, 0), (m - 1, 1)):  # the products of layer m's present voltages go stale
            if self._final.get(gap, (None,))[0] == side:
                del self._final[gap]
        if noise is not None:
            source = source + noise_sigma * den * noise
        if above is None:
            return kernels.layer_update(below, a, below, kappa, False, source, den, lo, hi, i_s, nvt, state[m - 1])
        return kernels.layer_update(below, a, above, kappa, True, source, den, lo, hi, i_s, nvt, state[m - 1])

    # ------------------------------------------------------------------ dynamics
    @cached_property
    def weights(self) -> tuple[float, ...]:
        """s_m of layers 1 .. L: the node weights of the co-content."""
        return self.network.node_weights[1:]

    @cached_property
    def hessian_diagonal(self) -> list[np.ndarray]:
        return [w * t.den for w, t in zip(self.weights, self.terms)]

    @cached_property
    def metric(self) -> list[np.ndarray]:
        if self.capacitance is None:
            raise ParameterError("the dynamics of a resistive network need its node capacitances")
        return [w * c for w, c in zip(self.weights, self.capacitance)]

    @cached_property
    def centre(self) -> list[np.ndarray]:
        return [box_centre(lo, hi) for lo, hi in zip(self.lower, self.upper)]

    def _currents(self, state, first, sources) -> list[np.ndarray]:
        net = self.network
        n = net.n_layers
        out = []
        for m in range(1, n + 1):
            t = self.terms[m - 1]
            below = first if m == 1 else state[m - 2] @ net.conductances[m - 1]
            current = net.amplifiers[m - 1].forward_gain * below
            if m < n:
                current += net.amplifiers[m].backward_gain * (state[m] @ net.conductances[m].T)
            if sources:
                current += t.source
            current -= t.den * state[m - 1]
            out.append(current)
        return out

    def gradient(self, state, out) -> None:
        for o, current, w in zip(out, self._currents(state, self.drive.product, True), self.weights):
            np.multiply(current, -w, out=o)

    def hessian_vector(self, vector) -> list[np.ndarray]:
        zero = np.zeros((vector[0].shape[0], self.network.sizes[1]), dtype=vector[0].dtype)
        return [-w * c for c, w in zip(self._currents(vector, zero, False), self.weights)]

    def energy(self, state) -> np.ndarray:
        e = network_energy(self.network, [self.drive.input_voltages, *state])
        if self.nudge is not None:
            out = state[-1]
            e = e + 0.5 * self.nudge.conductance * np.einsum("bn,bn->b", out, out)
            e = e - np.einsum("bn,bn->b", self.nudge.current(out.dtype), out)
        return e

    def reference(self, state, largest: float | None = None) -> float:
        """The largest |v| (V): residuals are relative to it."""
        if largest is not None:
            return largest
        return max(float(np.max(np.abs(s))) if s.size else 0.0 for s in state)

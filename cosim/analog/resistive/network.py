"""Layered nonlinear resistive networks: the circuit of one analog block.

Nodes are arranged in layers ``0 .. L``. Layer 0 holds the input nodes, each driven by an ideal voltage
source; layers ``1 .. L-1`` are hidden; layer ``L`` is the linear output layer. Between consecutive
layers ``l`` and ``l+1`` a dense crossbar of conductances ``W[l]`` (siemens, shape ``(n_l, n_{l+1})``)
connects every node of one layer to every node of the next. Optionally a bidirectional amplifier sits in
the gap: the crossbar is driven by a voltage-controlled voltage source of gain ``A`` (the crossbar sees
``A * v_l``), and a current-controlled current source of gain ``kappa`` returns ``kappa`` times the crossbar
current to layer ``l``. Without an amplifier ``A = kappa = 1``.

Each node of layers ``1 .. L`` may have a bias current source ``b`` (amperes, positive into the node).
Each hidden node may have diodes to two bias rails: one that keeps ``v >= lower_rail`` and one that keeps
``v <= upper_rail`` (volts; ``-inf`` / ``+inf`` means no diode). Diodes are ideal (a box constraint) or
Shockley (``i = I_s (exp(v_d / (n V_T)) - 1)``).

Kirchhoff's current law at a node of layer ``m`` reads::

    A_{m-1} v_{m-1} W[m-1] - d_m v_m + kappa_m v_{m+1} W[m]^T + b_m + i_diode = 0

with the *self-conductance* ``d_m = colsum(W[m-1]) + kappa_m A_m rowsum(W[m])``. These equations are the
stationarity conditions of the co-content (energy, in watts)::

    E(v) = sum_l c_l / 2 * sum_ij W[l]_ij (A_l v_{l,i} - v_{l+1,j})^2 - sum_m s_m b_m . v_m + diode terms

with gap weights ``c_{L-1} = 1``, ``c_{l-1} = c_l A_l / kappa_l`` and node weights ``s_m = c_{m-1}``.
Without amplifiers every weight is 1 and ``E`` is the familiar ``1/2 sum g (dv)^2 - I.v``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog.core import check_block_input
from cosim.analog.resistive.crossbar_update import scaled_copy_with_sums
from cosim.errors import ParameterError

BOLTZMANN = 1.380649e-23  # J/K
ELEMENTARY_CHARGE = 1.602176634e-19  # C
ROOM_TEMPERATURE = 300.15  # K (27 degC, SPICE's default TNOM)


@dataclass(frozen=True)
class IdealDiode:
    """A perfect diode: the node voltage is boxed between its rails, with zero forward drop."""

    def validate(self) -> None:
        """Nothing to check: an ideal diode has no parameters."""


@dataclass(frozen=True)
class ShockleyDiode:
    """Shockley diode ``i = I_s (exp(v_d / (n V_T)) - 1)``.

    saturation_current: I_s in amperes; emission_coefficient: n (dimensionless);
    temperature: junction temperature in kelvin (V_T = k T / q).
    """

    saturation_current: float = 1e-14
    emission_coefficient: float = 1.0
    temperature: float = ROOM_TEMPERATURE

    @property
    def thermal_voltage(self) -> float:
        """k T / q in volts (0.025865 V at 300.15 K)."""
        return BOLTZMANN * self.temperature / ELEMENTARY_CHARGE

    @property
    def slope_voltage(self) -> float:
        """n V_T in volts: the voltage over which the diode current grows by a factor e."""
        return self.emission_coefficient * self.thermal_voltage

    def validate(self) -> None:
        """Raise ParameterError unless every parameter is positive and finite."""
        for name in ("saturation_current", "emission_coefficient", "temperature"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ParameterError(f"ShockleyDiode.{name} must be a positive finite number, got {value!r}")


@dataclass(frozen=True)
class Amplifier:
    """Bidirectional amplifier in a gap between two layers.

    forward_gain: voltage gain A of the VCVS that drives the crossbar (V/V);
    backward_gain: current gain kappa of the CCCS that feeds the crossbar current back (A/A).
    """

    forward_gain: float = 1.0
    backward_gain: float = 1.0

    def validate(self, gap: int) -> None:
        for name in ("forward_gain", "backward_gain"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ParameterError(f"amplifier {gap}: {name} must be positive and finite, got {value!r}")


def _as_layer_vector(value, size: int, name: str, dtype) -> np.ndarray:
    """Broadcast a scalar or a length-``size`` sequence to a read-only vector."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(size, float(array))
    if array.shape != (size,):
        raise ParameterError(f"{name} must be a scalar or have shape ({size},), got shape {array.shape}")
    if np.isnan(array).any():
        raise ParameterError(f"{name} contains NaN")
    return _frozen(array.astype(dtype))


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


class ResistiveNetwork:
    """A layered nonlinear resistive network (see the module docstring for the physics).

    Parameters
    ----------
    conductances: list of ``L`` arrays, ``W[l]`` of shape ``(n_l, n_{l+1})`` in siemens (>= 0).
    biases: list of ``L`` vectors for layers ``1 .. L`` in amperes (default zeros).
    lower_rails, upper_rails: list of ``L - 1`` scalars or vectors for the hidden layers, in volts
        (``-inf`` / ``+inf``: no diode on that side; default: no diodes).
    diode: :class:`IdealDiode` or :class:`ShockleyDiode`, shared by every diode of the network.
    amplifiers: list of ``L`` :class:`Amplifier` (or None for a plain gap); default none.
    duplicate_inputs: if True the block input ``x`` (width ``n_0 / 2``) drives the input nodes as
        ``[+x, -x]``, so that positive conductances can realise signed weights.
    dtype: float64 (validation) or float32 (speed); every array of the network has this dtype.
    """

    def __init__(
        self,
        conductances,
        biases=None,
        lower_rails=None,
        upper_rails=None,
        diode=IdealDiode(),
        amplifiers=None,
        duplicate_inputs: bool = False,
        dtype=np.float64,
    ):
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError(f"dtype must be float32 or float64, got {self.dtype}")
        if len(conductances) < 1:
            raise ParameterError("a resistive network needs at least one crossbar (input -> output)")
        self.sizes = self._layer_sizes(conductances)
        self.duplicate_inputs = bool(duplicate_inputs)
        if self.duplicate_inputs and self.sizes[0] % 2:
            raise ParameterError(f"duplicate_inputs needs an even number of input nodes, got {self.sizes[0]}")
        if not isinstance(diode, (IdealDiode, ShockleyDiode)):
            raise ParameterError(f"diode must be IdealDiode or ShockleyDiode, got {type(diode).__name__}")
        diode.validate()
        self.diode = diode
        self.amplifiers = self._amplifiers(amplifiers)
        n_hidden = self.n_layers - 1
        self.lower_rails = self._rails(lower_rails, -np.inf, "lower_rails", n_hidden)
        self.upper_rails = self._rails(upper_rails, np.inf, "upper_rails", n_hidden)
        for m, (lo, hi) in enumerate(zip(self.lower_rails, self.upper_rails), start=1):
            bad = np.flatnonzero(lo > hi)
            if bad.size:
                raise ParameterError(
                    f"layer {m}: lower rail above upper rail at node {bad[0]} "
                    f"({lo[bad[0]]} V > {hi[bad[0]]} V)"
                )
        self.biases = self._biases(biases)
        self.set_conductances(conductances)

    # ---------------------------------------------------------------- construction helpers
    @staticmethod
    def _layer_sizes(conductances) -> tuple[int, ...]:
        sizes = []
        for l, w in enumerate(conductances):
            shape = np.shape(w)
            if len(shape) != 2:
                raise ParameterError(f"conductances[{l}] must be a 2-D array, got shape {shape}")
            if sizes and shape[0] != sizes[-1]:
                raise ParameterError(
                    f"conductances[{l}] has {shape[0]} rows but layer {l} has {sizes[-1]} nodes "
                    f"(conductances[{l - 1}] has {sizes[-1]} columns)"
                )
            if not sizes:
                sizes.append(shape[0])
            sizes.append(shape[1])
        if min(sizes) < 1:
            raise ParameterError(f"every layer needs at least one node, got sizes {sizes}")
        return tuple(sizes)

    def _amplifiers(self, amplifiers) -> tuple[Amplifier, ...]:
        if amplifiers is None:
            amplifiers = [None] * self.n_layers
        if len(amplifiers) != self.n_layers:
            raise ParameterError(f"amplifiers needs one entry per crossbar ({self.n_layers}), got {len(amplifiers)}")
        result = tuple(a if a is not None else Amplifier() for a in amplifiers)
        for gap, amp in enumerate(result):
            amp.validate(gap)
        return result

    def _rails(self, rails, absent: float, name: str, n_hidden: int) -> tuple[np.ndarray, ...]:
        if rails is None:
            rails = [absent] * n_hidden
        if len(rails) != n_hidden:
            raise ParameterError(f"{name} needs one entry per hidden layer ({n_hidden}), got {len(rails)}")
        return tuple(
            _as_layer_vector(r, self.sizes[m], f"{name}[{m - 1}] (layer {m})", self.dtype)
            for m, r in enumerate(rails, start=1)
        )

    def _biases(self, biases) -> tuple[np.ndarray, ...]:
        if biases is None:
            biases = [0.0] * self.n_layers
        if len(biases) != self.n_layers:
            raise ParameterError(f"biases needs one vector per non-input layer ({self.n_layers}), got {len(biases)}")
        result = tuple(
            _as_layer_vector(b, self.sizes[m], f"biases[{m - 1}] (layer {m})", self.dtype)
            for m, b in enumerate(biases, start=1)
        )
        for m, b in enumerate(result, start=1):
            if not np.isfinite(b).all():
                raise ParameterError(f"biases[{m - 1}] (layer {m}) must be finite")
        return result

    # ---------------------------------------------------------------- parameters
    def set_conductances(self, conductances, scale: float = 1.0, reuse: bool = False) -> None:
        """Replace every crossbar by ``scale * conductances`` (siemens) and refresh the self-conductances.

        One pass per crossbar copies, checks and sums. ``reuse=True`` writes into the present arrays
        instead of new ones — for weight updates, after which no earlier equilibrium is read again (an
        equilibrium remembers the arrays its solve saw).
        """
        if len(conductances) != self.n_layers:
            raise ParameterError(f"expected {self.n_layers} conductance matrices, got {len(conductances)}")
        installed, row_sums, column_sums = [], [], []
        for l, w in enumerate(conductances):
            w = np.asarray(w)
            shape = (self.sizes[l], self.sizes[l + 1])
            if w.shape != shape:
                raise ParameterError(f"conductances[{l}] must have shape {shape}, got {w.shape}")
            if w.dtype.kind not in "fiu":
                raise ParameterError(f"conductances[{l}] must hold numbers, got dtype {w.dtype}")
            present = getattr(self, "conductances", None)
            out = present[l] if reuse and present is not None and present[l] is not w else np.empty(shape, self.dtype)
            out.flags.writeable = True
            rows, columns = np.zeros(shape[0]), np.zeros(shape[1])
            negative = scaled_copy_with_sums(np.ascontiguousarray(w), float(scale), out, rows, columns)
            if negative or not (np.isfinite(rows).all() and np.isfinite(columns).all()):
                self._reject(l, np.asarray(w) * scale)
            out.flags.writeable = False
            installed.append(out)
            row_sums.append(rows)
            column_sums.append(columns)
        self.conductances = tuple(installed)
        self._transposed: dict[int, np.ndarray] = {}  # see transposed()
        self.row_sums, self.column_sums = tuple(row_sums), tuple(column_sums)  # of each crossbar, S (float64)
        self.self_conductances = self._self_conductances(row_sums, column_sums)
        for m, d in enumerate(self.self_conductances, start=1):
            if not (d > 0).all():
                node = int(np.flatnonzero(d <= 0)[0])
                raise ParameterError(
                    f"node {node} of layer {m} is connected to nothing (all its conductances are zero); "
                    "its voltage is undefined"
                )

    def transposed(self, l: int) -> np.ndarray:
        """W[l]^T as a C-contiguous read-only copy (siemens), made on first use after each install: BLAS
        multiplies by it about 1.5x faster than by the transposed view (32x256x256, float32; same result)."""
        copy = self._transposed.get(l)
        if copy is None:
            copy = self._transposed[l] = _frozen(self.conductances[l].T)
        return copy

    @staticmethod
    def _reject(l: int, w: np.ndarray):
        """Raise the ParameterError that names the first invalid conductance of crossbar ``l``."""
        if not np.isfinite(w).all():
            raise ParameterError(f"conductances[{l}] contains NaN or infinity")
        i, j = np.argwhere(w < 0)[0]
        raise ParameterError(f"conductances[{l}][{i}, {j}] = {w[i, j]:.3g} S is negative; conductances must be >= 0")

    def set_biases(self, biases) -> None:
        """Replace the bias current sources (amperes), one vector per layer ``1 .. L``."""
        self.biases = self._biases(biases)

    def _self_conductances(self, row_sums, column_sums) -> tuple[np.ndarray, ...]:
        """d_m = colsum(W[m-1]) + kappa_m A_m rowsum(W[m]): total conductance seen by each node (S)."""
        result = []
        for m in range(1, self.n_layers + 1):
            d = column_sums[m - 1]
            if m < self.n_layers:
                amp = self.amplifiers[m]
                d = d + amp.backward_gain * amp.forward_gain * row_sums[m]
            result.append(_frozen(d.astype(self.dtype)))
        return tuple(result)

    # ---------------------------------------------------------------- structure
    @property
    def n_layers(self) -> int:
        """Number of crossbars L (= index of the output layer)."""
        return len(self.sizes) - 1

    @property
    def input_width(self) -> int:
        """Width of the block input x (half the input nodes when inputs are duplicated)."""
        return self.sizes[0] // 2 if self.duplicate_inputs else self.sizes[0]

    @property
    def output_width(self) -> int:
        return self.sizes[-1]

    @property
    def gap_weights(self) -> tuple[float, ...]:
        """c_l: energy weight of crossbar l (1 without amplifiers; c_{L-1} = 1)."""
        c = [1.0] * self.n_layers
        for l in range(self.n_layers - 1, 0, -1):
            amp = self.amplifiers[l]
            c[l - 1] = c[l] * amp.forward_gain / amp.backward_gain
        return tuple(c)

    @property
    def node_weights(self) -> tuple[float, ...]:
        """s_m = c_{m-1} for layers 0 .. L (s_0 = c_0 A_0 / kappa_0 for the input sources)."""
        c = self.gap_weights
        amp0 = self.amplifiers[0]
        return (c[0] * amp0.forward_gain / amp0.backward_gain, *c)

    def has_diodes(self, layer: int) -> bool:
        """True if any node of ``layer`` has a diode to a finite rail."""
        if not 1 <= layer < self.n_layers:
            return False
        return bool(np.isfinite(self.lower_rails[layer - 1]).any() or np.isfinite(self.upper_rails[layer - 1]).any())

    def input_voltages(self, x) -> np.ndarray:
        """Voltages of the input sources (B, n_0) for a block input x (B, input_width), in volts."""
        x = check_block_input(x, self.input_width, self.dtype)
        return np.concatenate([x, -x], axis=1) if self.duplicate_inputs else x

    def fold_input_gradient(self, grad_nodes: np.ndarray) -> np.ndarray:
        """Map a gradient on the input nodes (B, n_0) to the block input x (chain rule of [+x, -x])."""
        if self.duplicate_inputs:
            half = self.input_width
            return grad_nodes[:, :half] - grad_nodes[:, half:]
        return grad_nodes

    def astype(self, dtype) -> "ResistiveNetwork":
        """A copy of the network with every array in ``dtype``."""
        return ResistiveNetwork(
            self.conductances,
            self.biases,
            self.lower_rails,
            self.upper_rails,
            self.diode,
            self.amplifiers,
            self.duplicate_inputs,
            dtype,
        )

"""Deep Hopfield networks (DHN): the energy blocks of the ff-EBM paper, as an alternative to resistive networks.

Layers ``0 .. L``: layer 0 is clamped to the block input ``x`` (any real values), layers ``1 .. L`` hold
states bounded in ``[0, 1]`` (a hard sigmoid). Consecutive layers are coupled symmetrically by dense
weights ``W[l]`` of shape ``(n_l, n_{l+1})`` (signed, unbounded); layers ``1 .. L`` have biases ``b``.
The energy (dimensionless) is::

    E(s) = 1/2 sum_{m>=1} |s_m|^2 - sum_{l>=0} s_l . W[l] s_{l+1} - sum_{m>=1} b_m . s_m,   0 <= s_m <= 1

so ``dE/ds_m = s_m - dPhi/ds_m`` with ``dPhi/ds_m = s_{m-1} W[m-1] + s_{m+1} W[m]^T + b_m`` (row vectors)
and the Hessian is ``I`` minus the block-tridiagonal couplings. With strong couplings E is not convex
and has several local minima in the box. The output layer ``L`` is nudged like a resistive network's
(:class:`~cosim.analog.core.Nudge`): ``+ beta delta . s_L`` (error) or ``beta/2 |s_L - y|^2`` (target).
"""

from __future__ import annotations

import numpy as np

from cosim.analog.core import check_block_input
from cosim.errors import ParameterError


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def checked_weights(weights, shapes: list[tuple], dtype) -> tuple[np.ndarray, ...]:
    """The coupling arrays as read-only arrays of ``dtype``, after checking their count, shapes and values."""
    if len(weights) != len(shapes):
        raise ParameterError(f"expected {len(shapes)} weight arrays, got {len(weights)}")
    checked = []
    for l, (w, shape) in enumerate(zip(weights, shapes)):
        w = np.asarray(w)
        if w.shape != tuple(shape):
            raise ParameterError(f"weights[{l}] must have shape {tuple(shape)}, got {w.shape}")
        if not np.isfinite(w).all():
            raise ParameterError(f"weights[{l}] contains NaN or infinity")
        checked.append(_frozen(w.astype(dtype)))
    return tuple(checked)


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
        self.weights = checked_weights(weights, list(zip(self.sizes[:-1], self.sizes[1:])), self.dtype)

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

    # ------------------------------------------------------------------ the couplings as linear operators
    # (the energy, solver and gradients use only these, so other coupling shapes -- convolutions -- reuse them)
    def couple(self, l: int, s: np.ndarray) -> np.ndarray:
        """The drive of layer l + 1 from layer l: s_l W[l]."""
        return s @ self.weights[l]

    def couple_transpose(self, l: int, s: np.ndarray) -> np.ndarray:
        """The drive of layer l from layer l + 1: s_{l+1} W[l]^T."""
        return s @ self.weights[l].T

    def coupling_gradient(self, l: int, below: np.ndarray, above: np.ndarray) -> np.ndarray:
        """d/dW[l] of sum_batch above . couple(l, below): below^T above."""
        return below.T @ above

    def bias_field(self, m: int) -> np.ndarray:
        """The bias of every unit of layer m (1..L), (n_m,)."""
        return self.biases[m - 1]

    def bias_gradient(self, m: int, s: np.ndarray) -> np.ndarray:
        """d/db of sum_batch bias_field(m) . s, shaped like biases[m - 1]."""
        return s.sum(axis=0)

    def check_input(self, x) -> np.ndarray:
        """A block input x as a finite, C-contiguous (B, input_width) array of the network's dtype."""
        return check_block_input(x, self.input_width, self.dtype)

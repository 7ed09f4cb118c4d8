"""The common interface of digital ops: :class:`Op` and its cost record :class:`OpCost`.

Shapes: an op maps a batch ``x`` of shape ``(B, *input_shape)`` to ``y`` of shape ``(B, *output_shape)``.
Gradients are those of the SUM of whatever loss produced ``grad_y`` (no division by the batch size).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from math import prod

import numpy as np

from cosim.errors import CosimError, ParameterError


@dataclass(frozen=True)
class OpCost:
    """Work of one op on one batch: multiply-accumulates and bytes moved between the op and memory.

    ``macs_*``: multiply(-accumulate)s; GEMM-like ops count one per product term, elementwise ops one per
    multiply per element; comparisons, selections and transcendental functions are not MACs.
    ``macs_backward`` includes the weight-gradient MACs.
    ``bytes_read_forward``: input + weights. ``bytes_written_forward``: output.
    ``bytes_read_backward``: grad_y + what the forward cached (input, output or indices) + weights.
    ``bytes_written_backward``: grad_x + parameter gradients.
    Scratch buffers (im2col columns) and per-channel running statistics are not counted.
    """

    macs_forward: int = 0
    macs_backward: int = 0
    bytes_read_forward: int = 0
    bytes_written_forward: int = 0
    bytes_read_backward: int = 0
    bytes_written_backward: int = 0

    def __add__(self, other: OpCost) -> OpCost:
        return OpCost(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def positive_int(value, name: str) -> int:
    """``value`` as an int, or :class:`ParameterError` if it is not a positive integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def channel_axes(ndim: int) -> tuple[int, ...]:
    """Axes of a ``(B, C, ...)`` array to reduce over for per-channel statistics: all but axis 1."""
    return (0, *range(2, ndim))


def per_channel(values: np.ndarray, ndim: int) -> np.ndarray:
    """View of a length-C vector broadcastable against a ``(B, C, ...)`` array with ``ndim`` axes."""
    return values.reshape((1, -1) + (1,) * (ndim - 2))


def uniform_init(rng: np.random.Generator, shape: tuple, fan_in: int, dtype) -> np.ndarray:
    """Kaiming-uniform-like init (PyTorch's default): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) in ``dtype``."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class Op(ABC):
    """A feedforward op with forward, backward, shape inference and a cost model.

    Subclasses implement ``_forward(x, training)`` and ``_backward(grad_y)``; the public methods check
    shapes and dtypes once. Ops holding arrays set ``self.dtype``; parameter-free ops keep ``None`` and
    follow their input's floating dtype.
    """

    #: MACs per input element (forward, backward) for ops whose cost is elementwise.
    MACS_PER_ELEMENT = (0, 0)

    def __init__(self, dtype=None):
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        #: non-learned state that a checkpoint must keep (e.g. batch-norm running statistics), updated in place
        self.buffers: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._y_shape: tuple | None = None

    @property
    def name(self) -> str:
        return type(self).__name__

    def output_shape(self, input_shape: tuple) -> tuple:
        """Per-sample output shape for a per-sample input shape; identity unless overridden."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """``y`` of shape ``(B, *output_shape)`` for ``x`` of shape ``(B, *input_shape)``; caches for backward."""
        if x.ndim < 1:
            raise ParameterError(f"{self.name}: input needs a batch axis, got a scalar")
        self._check_dtype(x, "input")
        self.output_shape(x.shape[1:])
        y = self._forward(x, bool(training))
        self._y_shape = y.shape
        return y

    def backward(self, grad_y: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """``grad_x`` for ``grad_y`` (shape of the last forward's output); fills ``self.grads``. Without
        ``input_gradient`` an op with parameters may skip ``grad_x`` (and return None)."""
        if self._y_shape is None:
            raise CosimError(f"{self.name}: backward called before forward")
        if grad_y.shape != self._y_shape:
            raise ParameterError(
                f"{self.name}: grad_y has shape {grad_y.shape}, the last forward output had {self._y_shape}"
            )
        self._check_dtype(grad_y, "grad_y")
        return self._backward(grad_y) if input_gradient else self._parameter_gradients(grad_y)

    def cost(self, input_shape: tuple, batch: int, itemsize: int = 4) -> OpCost:
        """Work for one batch of ``batch`` samples of per-sample shape ``input_shape`` (see :class:`OpCost`).

        ``itemsize``: bytes per element (4 for float32).
        """
        n_in = batch * prod(input_shape)
        n_out = batch * prod(self.output_shape(input_shape))
        n_params = sum(p.size for p in self.params.values())
        n_weights = self._weight_elements()
        macs_forward, macs_backward = self._macs(input_shape, batch)
        return OpCost(
            macs_forward=macs_forward,
            macs_backward=macs_backward,
            bytes_read_forward=itemsize * (n_in + n_weights),
            bytes_written_forward=itemsize * n_out,
            bytes_read_backward=itemsize * (n_out + self._cached_elements(n_in, n_out) + n_weights),
            bytes_written_backward=itemsize * (n_in + n_params),
        )

    def _macs(self, input_shape: tuple, batch: int) -> tuple[int, int]:
        """(forward, backward) MACs; elementwise by default."""
        n_in = batch * prod(input_shape)
        return self.MACS_PER_ELEMENT[0] * n_in, self.MACS_PER_ELEMENT[1] * n_in

    def _weight_elements(self) -> int:
        """Elements of the arrays the op reads besides its input (its parameters by default)."""
        return sum(p.size for p in self.params.values())

    def _cached_elements(self, n_in: int, n_out: int) -> int:
        """Elements the backward reads back from the forward's cache (the input by default)."""
        return n_in

    def _check_dtype(self, array: np.ndarray, what: str) -> None:
        if self.dtype is not None and array.dtype != self.dtype:
            raise ParameterError(
                f"{self.name}: {what} dtype {array.dtype} differs from the op's dtype {self.dtype}; "
                f"build the op with dtype=np.{array.dtype} or cast the {what}"
            )

    @abstractmethod
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """``y`` for a checked ``x``; caches what ``_backward`` needs."""

    @abstractmethod
    def _backward(self, grad_y: np.ndarray) -> np.ndarray:
        """``grad_x`` for a checked ``grad_y``; fills ``self.grads``."""

    def _parameter_gradients(self, grad_y: np.ndarray) -> np.ndarray | None:
        """Fill ``self.grads`` when no ``grad_x`` is needed; ops whose ``grad_x`` costs a product override it."""
        return self._backward(grad_y)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={v.shape}" for k, v in self.params.items())
        return f"{self.name}({shapes})"

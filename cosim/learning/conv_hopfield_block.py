"""A convolutional Hopfield energy block in the ff-EBM chain, and its chip accounting.

The chain speaks NCHW images (as :mod:`cosim.digital.conv` does); the network's states are flat rows in
height-width-channel order, so the adapter transposes at both boundaries (inputs, outputs and their
gradients) and is otherwise the dense adapter, :class:`~cosim.learning.hopfield_block.HopfieldChainBlock`.

Hardware model (:class:`HopfieldTileCost`): a Hopfield tile stands for an analog in-memory-compute array
that holds the kernels as conductances (or capacitors) and evaluates each layer update ``K s`` and ``K^T s``
as charge-domain multiply-accumulates, neurons settling in place. Each relaxation sweep (or gradient
evaluation of rc/momentum) costs ``2 x MACs(K)`` per sample at ``mac_energy_J`` each and takes
``sweep_time_s`` for the whole batch (copies of the array work in parallel); the energy goes to the
ledger's ``crossbar`` component in the phase of the relaxation (free, plus, minus). Converters at the
block's edges are not modelled (the block is ideal at its boundary, as a dense Hopfield block).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog import HopfieldBlock
from cosim.analog.core import Equilibrium
from cosim.errors import ParameterError
from cosim.learning.blocks import NudgeSettings
from cosim.learning.hopfield_block import HopfieldChainBlock


@dataclass(frozen=True)
class HopfieldTileCost:
    """Energy per analog MAC (J) and time per relaxation sweep (s) of the tile that holds the block."""

    mac_energy_J: float = 1e-14
    sweep_time_s: float = 1e-8

    def book(self, ledger, macs_per_sweep: int, state: Equilibrium, phase: str) -> None:
        sweeps, batch = state.info.sweeps, state.layers[0].shape[0]
        ledger.add("crossbar", phase, 2 * macs_per_sweep * batch * sweeps * self.mac_energy_J,
                   sweeps * self.sweep_time_s)


def _to_rows(x: np.ndarray) -> np.ndarray:
    """(B, C, H, W) -> flat height-width-channel rows (B, H * W * C); vectors pass through."""
    return x.transpose(0, 2, 3, 1).reshape(x.shape[0], -1) if x.ndim == 4 else x.reshape(x.shape[0], -1)


def _to_images(rows: np.ndarray, shape: tuple) -> np.ndarray:
    """Flat rows back to (B, *shape), shape (C, H, W) or (n,)."""
    if len(shape) != 3:
        return rows.reshape(rows.shape[0], *shape)
    c, h, w = shape
    return np.ascontiguousarray(rows.reshape(rows.shape[0], h, w, c).transpose(0, 3, 1, 2))


class ConvHopfieldChainBlock(HopfieldChainBlock):
    """A :class:`~cosim.analog.hopfield.conv_network.ConvHopfieldNetwork` in a :class:`HopfieldBlock`,
    trained by EP (or implicit differentiation); ``ledger`` and ``cost``: where relaxations are booked."""

    def __init__(self, block: HopfieldBlock, nudge: NudgeSettings, learn_biases: bool = True, ledger=None,
                 cost: HopfieldTileCost | None = None):
        super().__init__(block, nudge, learn_biases)
        self.ledger, self.cost = ledger, cost or HopfieldTileCost()

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self._check_shape(x.shape[1:])
        self._input_shape = (self.network.input_width,)
        self.block.forward(_to_rows(x))
        self._count_free(self.block.free)
        self._book(self.block.free, "free")
        return _to_images(self.block.free.output, self.network.shapes[-1])

    def backward(self, grad: np.ndarray, input_gradient: bool = True) -> np.ndarray:
        rows = super().backward(_to_rows(np.asarray(grad)), input_gradient)
        for phase, state in self.block.phases.items():
            self._book(state, phase)
        return _to_images(rows.reshape(rows.shape[0], -1), self.network.input_shape)

    def output_shape(self, input_shape: tuple) -> tuple:
        self._check_shape(tuple(input_shape))
        return self.network.shapes[-1]

    def _check_shape(self, shape: tuple) -> None:
        if tuple(shape) != self.network.input_shape:
            raise ParameterError(f"convolutional Hopfield block expects inputs of shape {self.network.input_shape} "
                                 f"(channels, height, width) but the block before gives {tuple(shape)}")

    def _book(self, state: Equilibrium | None, phase: str) -> None:
        if self.ledger is not None and state is not None:
            self.cost.book(self.ledger, self.network.macs_per_sweep(), state, phase)

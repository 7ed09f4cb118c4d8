"""The feedforward-tied energy-based model: a chain of digital and analog blocks (BP–EP chaining).

Forward: each block in order; analog blocks relax to their free equilibrium. Backward: the loss
gradient at the readout, then each block from last to first — digital blocks by backprop, analog blocks
by their ±beta nudged phases (EP) or by implicit differentiation (ID) — each returning the error on its
input for the block before it.
"""

from __future__ import annotations

import numpy as np

from cosim.learning.blocks import AnalogBlock, DigitalBlock
from cosim.errors import ParameterError
from cosim.learning.losses import get_loss


class Chain:
    """An ff-EBM: ``blocks`` applied in order, trained on ``loss`` ("cross_entropy" or "squared_error")."""

    def __init__(self, blocks: list[AnalogBlock | DigitalBlock], loss: str):
        self.blocks = list(blocks)
        self.loss_name = loss
        self.loss = get_loss(loss)
        self.last_output: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for block in self.blocks:
            x = block.forward(x, training)
        self.last_output = x
        return x

    def backward(self, outputs: np.ndarray, labels: np.ndarray,
                 input_gradient: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Fill every block's gradients (of the batch-summed loss); returns (per-sample loss, dL/dinput).
        Training needs no dL/dinput: with ``input_gradient=False`` the first block may skip it (None)."""
        per_sample, grad = self.loss(outputs, labels)
        for position in range(len(self.blocks) - 1, -1, -1):
            grad = self.blocks[position].backward(grad, input_gradient or position > 0)
        return per_sample, grad

    def parameter_groups(self, resistive_lr_scale: float = 1.0) -> list[dict]:
        """One optimiser group per parameter array, with physical bounds for conductances."""
        groups = []
        for block in self.blocks:
            scale = resistive_lr_scale if block.kind == "analog" else 1.0
            bounds = block.bounds or [None] * len(block.parameters)
            groups += [{"params": [p], "lr_scale": scale, "bounds": b} for p, b in zip(block.parameters, bounds)]
        return groups

    def gradients(self) -> list[list[np.ndarray]]:
        """Gradients in the nesting of :meth:`parameter_groups`."""
        return [[g] for block in self.blocks for g in block.gradients]

    def parameter_names(self) -> list[str]:
        return [f"block{i}.{block.kind}.{name}" for i, block in enumerate(self.blocks)
                for name in block.parameter_names]

    def state(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer by a stable name (views, not copies)."""
        state = dict(zip(self.parameter_names(), (p for b in self.blocks for p in b.parameters)))
        for i, block in enumerate(self.blocks):
            state.update({f"block{i}.{block.kind}.{name}": b for name, b in block.buffers.items()})
        return state

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Copy a :meth:`state` (e.g. from a checkpoint) into the chain, in place."""
        own = self.state()
        if set(own) != set(state):
            raise ParameterError("checkpoint does not match the model: parameters "
                                 f"{sorted(set(own) ^ set(state))[:5]} differ")
        for name, array in own.items():
            array[...] = state[name]
        for block in self.blocks:
            block.install()

    def after_update(self) -> None:
        for block in self.blocks:
            block.after_update()

    @property
    def analog_blocks(self) -> list[AnalogBlock]:
        """The resistive-network blocks (the ones that sit on chip tiles)."""
        return [b for b in self.blocks if b.kind == "analog"]

    @property
    def energy_blocks(self) -> list:
        """Every block trained by EP (or implicit differentiation): resistive and Hopfield blocks."""
        return [b for b in self.blocks if b.kind != "digital"]

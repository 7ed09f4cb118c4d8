"""A deep-Hopfield energy block in the ff-EBM chain: the adapter :class:`~cosim.learning.chain.Chain` talks to.

An :class:`~cosim.learning.blocks.EnergyBlock`, like :class:`~cosim.learning.blocks.AnalogBlock`
(``forward(x, training)``, ``backward(grad) -> grad_in``, ``parameters``/``gradients``/``bounds``,
``after_update``, ``output_shape``, ``buffers``, solve counters), with the block's weights and biases as its parameters (unbounded). Its
``kind`` is ``"hopfield"``: it is an energy-based block without a resistive tile behind it, so the chip
books no converters or crossbars for it.
"""

from __future__ import annotations

import numpy as np

from cosim.analog import HopfieldBlock
from cosim.learning.blocks import EnergyBlock, NudgeSettings


class HopfieldChainBlock(EnergyBlock):
    """A :class:`HopfieldBlock` trained by EP (or by implicit differentiation, the reference)."""

    kind = "hopfield"
    title = "Hopfield"
    coupling_name = "weights"

    def __init__(self, block: HopfieldBlock, nudge: NudgeSettings, learn_biases: bool = True):
        self.weights = [np.array(w) for w in block.network.weights]
        self.biases = [np.array(b) for b in block.network.biases] if learn_biases else []
        super().__init__(block, nudge, learn_biases)

    # ------------------------------------------------------------------ parameters
    def parameter_groups(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return self.weights, self.biases

    @property
    def bounds(self) -> list[None]:
        """Couplings and biases are unbounded."""
        return [None] * len(self.parameters)

    def hidden_rails(self) -> list[tuple[float, float]]:
        """The state bounds [0, 1] of every hidden layer (all but the output)."""
        net = self.network
        return [(net.lower_bound, net.upper_bound)] * (len(net.sizes) - 2)

    def after_update(self) -> None:
        """Load the updated parameters into the network (new arrays: the solver re-measures its curvature)."""
        self.network.set_weights([w.copy() for w in self.weights])
        if self.learn_biases:
            self.network.set_biases([b.copy() for b in self.biases])

    install = after_update  # no devices: restoring a checkpoint loads the parameters the same way

    # ------------------------------------------------------------------ forward and backward
    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self._input_shape = x.shape[1:]
        output = self.block.forward(x.reshape(x.shape[0], -1))
        self._count_free(self.block.free)
        return output

    def backward(self, grad: np.ndarray, input_gradient: bool = True) -> np.ndarray:
        """Parameter gradients from the nudged phases (or ID); returns dL/dx for the block before."""
        grad = np.asarray(grad, dtype=self.network.dtype)
        if self.nudge.algorithm == "id":
            grads = self.block.implicit_gradients(error=grad)
        else:
            grads = self.block.ep_gradients(self.nudge_strength(grad), error=grad, estimator=self.nudge.estimator)
            self._count(*self.block.phases.values())
        self._grads = [*grads.weights, *(grads.biases if self.learn_biases else [])]
        return grads.inputs.reshape((grad.shape[0], *self._input_shape))

    def nudge_strength(self, error: np.ndarray) -> float:
        """EP's beta per unit of error: moves the outputs by ~beta_rel x their RMS free state (curvature 1)."""
        free = self.block.free.output
        level = float(np.sqrt(np.mean(free * free))) or 1.0
        error_rms = float(np.sqrt(np.mean(error * error))) or 1.0
        return self.nudge.beta * level / error_rms

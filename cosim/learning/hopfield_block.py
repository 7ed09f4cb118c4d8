"""A deep-Hopfield energy block in the ff-EBM chain: the adapter :class:`~cosim.learning.chain.Chain` talks to.

Same interface as :class:`~cosim.learning.blocks.AnalogBlock` (``forward(x, training)``,
``backward(grad) -> grad_in``, ``parameters``/``gradients``/``bounds``, ``after_update``, ``output_shape``,
``buffers``, solve counters), with the block's weights and biases as its parameters (unbounded). Its
``kind`` is ``"hopfield"``: it is an energy-based block without a resistive tile behind it, so the chip
books no converters or crossbars for it.
"""

from __future__ import annotations

import numpy as np

from cosim.analog import HopfieldBlock
from cosim.errors import ParameterError
from cosim.learning.blocks import NudgeSettings, SolveStatistics


class HopfieldChainBlock(SolveStatistics):
    """A :class:`HopfieldBlock` trained by EP (or by implicit differentiation, the reference)."""

    kind = "hopfield"

    def __init__(self, block: HopfieldBlock, nudge: NudgeSettings, learn_biases: bool = True):
        self.block = block
        self.network = block.network
        self.nudge = nudge
        self.learn_biases = learn_biases
        self.weights = [np.array(w) for w in self.network.weights]
        self.biases = [np.array(b) for b in self.network.biases] if learn_biases else []
        self._grads: list[np.ndarray] = [np.zeros_like(p) for p in self.parameters]
        self._input_shape: tuple | None = None
        self.reset_counters()

    # ------------------------------------------------------------------ parameters
    @property
    def parameter_names(self) -> list[str]:
        return [f"weights.{l}" for l in range(len(self.weights))] + [f"biases.{m}" for m in range(len(self.biases))]

    @property
    def parameters(self) -> list[np.ndarray]:
        return [*self.weights, *self.biases]

    @property
    def gradients(self) -> list[np.ndarray]:
        return self._grads

    buffers: dict[str, np.ndarray] = {}

    @property
    def bounds(self) -> list[None]:
        """Couplings and biases are unbounded."""
        return [None] * len(self.parameters)

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

    def backward(self, grad: np.ndarray) -> np.ndarray:
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

    def output_shape(self, input_shape: tuple) -> tuple:
        width = int(np.prod(input_shape))
        if width != self.network.input_width:
            raise ParameterError(f"Hopfield block expects {self.network.input_width} inputs but the block before "
                                 f"gives {width} (shape {input_shape})")
        return (self.network.output_width,)

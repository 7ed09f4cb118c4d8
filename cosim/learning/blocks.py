"""The two kinds of block an ff-EBM chains: digital (backprop) and analog (EP, or ID as reference).

Both expose the same small interface to :class:`cosim.learning.chain.Chain`
(:class:`~cosim.learning.protocols.ChainBlock`):
``forward(x, training)``, ``backward(grad_out) -> grad_in``, ``parameters`` (lists of arrays the
optimiser updates in place), ``gradients`` (parallel lists), ``bounds`` and ``after_update()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog import ESTIMATOR_PHASES, ResistiveBlock
from cosim.digital.base import Op, OpCost
from cosim.errors import ParameterError
from cosim.learning.protocols import TileHardware


class DigitalBlock:
    """A sequence of digital ops, trained by backpropagation."""

    kind = "digital"

    def __init__(self, ops: list[Op]):
        self.ops = list(ops)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for op in self.ops:
            x = op.forward(x, training)
        return x

    def backward(self, grad: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        for position in range(len(self.ops) - 1, -1, -1):
            grad = self.ops[position].backward(grad, input_gradient or position > 0)
        return grad

    @property
    def parameter_names(self) -> list[str]:
        return [f"{i}.{type(op).__name__}.{name}" for i, op in enumerate(self.ops) for name in op.params]

    @property
    def parameters(self) -> list[np.ndarray]:
        return [p for op in self.ops for p in op.params.values()]

    @property
    def gradients(self) -> list[np.ndarray]:
        return [op.grads[name] for op in self.ops for name in op.params]

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """Non-learned state kept by checkpoints (batch-norm running statistics), by name."""
        return {f"{i}.{type(op).__name__}.{name}": b for i, op in enumerate(self.ops) for name, b in op.buffers.items()}

    @property
    def bounds(self):
        return None

    def after_update(self) -> None:
        """Digital parameters are used as they are; nothing to push anywhere."""

    def install(self) -> None:
        """Nothing to install: digital parameters are used as they are."""

    def output_shape(self, input_shape: tuple) -> tuple:
        for op in self.ops:
            input_shape = op.output_shape(input_shape)
        return input_shape

    def cost(self, input_shape: tuple, batch: int, itemsize: int) -> OpCost:
        total = OpCost()
        for op in self.ops:
            total = total + op.cost(input_shape, batch, itemsize)
            input_shape = op.output_shape(input_shape)
        return total


@dataclass(frozen=True)
class NudgeSettings:
    """How an analog block is nudged: algorithm ("ep" or "id"), EP estimator, and relative strength beta.

    beta is dimensionless: the nudge current is scaled so that, through the output nodes' own
    conductance, it would move them by beta times the RMS free-phase output voltage.
    """

    algorithm: str = "ep"
    estimator: str = "centred"
    beta: float = 0.1


class IdealHardware:
    """What an analog block talks to when no chip is modelled: exact converters and exact writes.

    The chip's :class:`~cosim.chip.tile.Tile` offers the same methods with converters, devices and an
    energy ledger behind them; both follow :class:`~cosim.learning.protocols.TileHardware`.
    """

    reads_before_solve = False

    def __init__(self, g_min: float, g_max: float):
        self.g_min, self.g_max = g_min, g_max

    def drive_inputs(self, volts: np.ndarray) -> np.ndarray:
        return volts

    def read_outputs(self, volts: np.ndarray) -> np.ndarray:
        return volts

    def drive_nudge(self, error: np.ndarray, phases: tuple[str, ...]) -> np.ndarray:
        return error

    def program(self, theta: list[np.ndarray], g_max: float) -> None:
        """Ideal devices hold exactly the targets theta * g_max (None: nothing to read back)."""
        return None

    def book_gradient_arithmetic(self, macs: int) -> None:
        """Nothing is accounted without a chip."""


class SolveStatistics:
    """Counters of an energy block's relaxations, reported per epoch by the trainer: samples solved and
    samples in unconverged solves (a batched solve that misses its tolerance counts all its samples), and
    hidden-node values of free equilibria held at a rail."""

    def reset_counters(self) -> None:
        """Zero the solve statistics (free relaxations, their sweeps or steps, unconverged samples, rails)."""
        self.free_solves = self.free_sweeps = self.solved_samples = self.unconverged = 0
        self.hidden_values = self.clamped_values = 0

    @property
    def mean_free_sweeps(self) -> float:
        """Mean sweeps (or gradient evaluations) per free relaxation."""
        return self.free_sweeps / max(self.free_solves, 1)

    def hidden_rails(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(lower, upper) rails of each hidden layer (volts); none for a block without rails."""
        return []

    def _count_free(self, state) -> None:
        self.free_solves += 1
        self.free_sweeps += state.info.sweeps
        self._count(state)
        for v, (lo, hi) in zip(state.layers[1:-1], self.hidden_rails()):
            tol = 1e-3 * np.where(np.isfinite(hi - lo), hi - lo, 0.0)  # within 0.1 % of the rail span
            self.hidden_values += v.size
            self.clamped_values += int(np.count_nonzero((v <= lo + tol) | (v >= hi - tol)))

    def _count(self, *states) -> None:
        for state in states:
            if state is not None:
                samples = state.layers[0].shape[0]
                self.solved_samples += samples
                self.unconverged += 0 if state.info.converged else samples


class EnergyBlock(SolveStatistics):
    """What the chain's energy blocks share: their parameters are the coupling matrices, named
    ``<coupling_name>.<l>``, then the trained bias vectors, named ``biases.<m>``; their gradients are the
    parallel list the last backward left; they hold no buffers. A subclass names its couplings and its kind
    (``title``, for messages) and gives its two lists of parameters by :meth:`parameter_groups`.
    """

    title = ""
    coupling_name = ""
    buffers: dict[str, np.ndarray] = {}

    def __init__(self, block, nudge: NudgeSettings, learn_biases: bool):
        """Called once the subclass has made its parameters: the gradients start as zeros of their shapes."""
        self.block = block
        self.network = block.network
        self.nudge = nudge
        self.learn_biases = learn_biases
        self._grads: list[np.ndarray] = [np.zeros_like(p) for p in self.parameters]
        self._input_shape: tuple | None = None
        self.reset_counters()

    def parameter_groups(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The coupling matrices and the trained bias vectors (empty when biases are not learnt)."""
        raise NotImplementedError

    @property
    def parameter_names(self) -> list[str]:
        couplings, biases = self.parameter_groups()
        names = [f"{self.coupling_name}.{l}" for l in range(len(couplings))]
        return names + [f"biases.{m}" for m in range(len(biases))]

    @property
    def parameters(self) -> list[np.ndarray]:
        couplings, biases = self.parameter_groups()
        return [*couplings, *biases]

    @property
    def gradients(self) -> list[np.ndarray]:
        return self._grads

    def output_shape(self, input_shape: tuple) -> tuple:
        width = int(np.prod(input_shape))
        if width != self.network.input_width:
            raise ParameterError(
                f"{self.title} block expects {self.network.input_width} inputs but the block before gives {width} "
                f"(shape {input_shape})")
        return (self.network.output_width,)


class AnalogBlock(EnergyBlock):
    """A resistive network trained by EP: parameters are conductances normalised by ``g_max``.

    The optimiser sees ``theta = g / g_max`` (kept in ``[g_min / g_max, 1]``) and ``bias / g_max``
    (volts); after every step the hardware writes the targets into its devices and ``theta`` takes the
    values the devices hold. The block input x drives the input sources at ``input_scale * x`` volts
    through the input DACs; its output is the output node voltages read by the output ADCs (volts).
    Converters are transparent to gradients (straight-through).
    """

    kind = title = "analog"
    coupling_name = "conductances"

    def __init__(self, block: ResistiveBlock, g_min: float, g_max: float, input_scale: float,
                 nudge: NudgeSettings, learn_biases: bool = True, hardware: TileHardware | None = None):
        if not 0 <= g_min < g_max:
            raise ParameterError(f"need 0 <= g_min < g_max, got g_min={g_min}, g_max={g_max}")
        self.hardware = hardware or IdealHardware(g_min, g_max)
        self.g_min, self.g_max = g_min, g_max
        self.input_scale = input_scale
        network = block.network
        self.theta = [np.array(g / g_max, dtype=network.dtype) for g in network.conductances]
        self.theta_bias = [np.array(b / g_max, dtype=network.dtype) for b in network.biases] if learn_biases else []
        super().__init__(block, nudge, learn_biases)

    def parameter_groups(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return self.theta, self.theta_bias

    @property
    def bounds(self) -> list[tuple[float, float] | None]:
        """Conductances stay in their physical range; bias currents are unbounded."""
        return [(self.g_min / self.g_max, 1.0)] * len(self.theta) + [None] * len(self.theta_bias)

    def after_update(self) -> None:
        """Write the updated parameters into the devices; theta takes the values they hold. The network gets
        them too unless the hardware installs a fresh read before every free solve (the next solve would
        never see them; results, report and export read what the devices hold from the tile)."""
        held = self.hardware.program(self.theta, self.g_max)
        if held is None:  # the devices hold exactly theta * g_max
            self.network.set_conductances(self.theta, scale=self.g_max, reuse=True)
        else:
            for theta, g in zip(self.theta, held):
                np.multiply(g, 1.0 / self.g_max, out=theta, casting="unsafe")
            if not self.hardware.reads_before_solve:
                self.network.set_conductances(held, reuse=True)
        if self.learn_biases:
            self.network.set_biases([t * self.g_max for t in self.theta_bias])

    def install(self) -> None:
        """Put theta * g_max into the network as it is, without writing devices (restoring a checkpoint,
        whose device states the chip restores itself)."""
        self.network.set_conductances(self.theta, scale=self.g_max)
        if self.learn_biases:
            self.network.set_biases([t * self.g_max for t in self.theta_bias])

    def hidden_rails(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(zip(self.network.lower_rails, self.network.upper_rails))

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self._input_shape = x.shape[1:]
        flat = x.reshape(x.shape[0], -1)
        output = self.block.forward(self.hardware.drive_inputs(self.input_scale * flat))
        self._count_free(self.block.free)
        return self.hardware.read_outputs(output)

    def backward(self, grad: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """Parameter gradients from the nudged phases (or ID); returns dL/dx for the block before (EP without
        ``input_gradient``: None, and the input-source currents are not read)."""
        grad = np.asarray(grad, dtype=self.network.dtype)
        if self.nudge.algorithm == "id":
            grads = self.block.implicit_gradients(error=grad, conductance_unit=self.g_max)
        else:
            error = self.hardware.drive_nudge(grad, ESTIMATOR_PHASES.get(self.nudge.estimator, ()))
            grads = self.block.ep_gradients(self.nudge_strength(error), error=error, estimator=self.nudge.estimator,
                                            conductance_unit=self.g_max, out=self._grads[:len(self.theta)],
                                            input_gradient=input_gradient)
            self._count(*self.block.phases.values())
            sizes = self.network.sizes
            self.hardware.book_gradient_arithmetic(2 * grad.shape[0] * sum(a * b for a, b in zip(sizes, sizes[1:])))
        self._grads = list(grads.conductances)  # per unit of theta = g / g_max
        if self.learn_biases:  # per unit of theta_bias = b / g_max
            self._grads += [g * self.g_max for g in grads.biases]
        if grads.inputs is None:
            return None
        return (self.input_scale * grads.inputs).reshape((grad.shape[0], *self._input_shape))

    def nudge_strength(self, error: np.ndarray) -> float:
        """EP's beta in amperes per unit of error: moves the outputs by ~beta_rel x their RMS voltage."""
        free = self.block.free.output
        volts = float(np.sqrt(np.mean(free * free))) or 1.0
        error_rms = float(np.sqrt(np.mean(error * error))) or 1.0
        conductance = float(np.mean(self.network.self_conductances[-1]))
        strength = self.nudge.beta * volts * conductance / error_rms
        if not 0 < strength < np.inf:
            raise ParameterError(f"the EP nudge current is {strength:g} A per unit of error: the error reaching the "
                                 f"analog block (rms {error_rms:g}) or its output (rms {volts:g} V) is out of range; "
                                 "check the gains of the blocks after it and training.beta")
        return strength

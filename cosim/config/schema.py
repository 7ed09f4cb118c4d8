"""The configuration schema: nested dataclasses, one source of truth for every key, default, unit and bound.

Plain data: nothing here imports the simulator (only :mod:`cosim.errors`). Each field is declared with
:func:`setting`, whose metadata the loader (validation) and the reference generator (docs) read:

- ``doc``: one sentence on what the key means physically; ``unit``: SI unit, ``""`` if dimensionless;
- ``min`` / ``max`` / ``exclusive_min`` / ``exclusive_max``: bounds on a number, or on each number of a list;
- ``tag`` / ``variants``: a *tagged union* -- a list whose items are mappings of different types, selected
  by the value of the key ``tag`` (``kind:`` for model blocks, ``op:`` for digital ops). Declare it with
  :func:`tagged_list`; each variant is a dataclass whose tag field is a one-value ``Literal``.

A field declared without a default is required. Cross-field checks live in ``validate(path)`` methods,
which raise :class:`ConfigError` naming the key path (``path`` is the key path of the dataclass itself).

To add a section (``chip:``, ``sweep:``), write its dataclass and add a field to :class:`Config`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from dataclasses import MISSING, dataclass
from typing import Any, Literal, Optional, Union, get_args

from cosim.errors import ConfigError

SCHEMA_VERSION = 2  # 2: 'analog' blocks and keys renamed 'resistive' (see migrate.py)

BOUNDS = ("min", "exclusive_min", "max", "exclusive_max")

# Limits shared by several keys. Every number has bounds that reflect physics (or, for counts, what a
# simulation can hold in memory), so an absurd but finite value fails here, naming its key, instead of
# overflowing inside the simulator; the reference lists each key's bounds in its type column.
MAX_SAMPLES = 1_000_000  # samples of a split or a batch: 16x the largest dataset read (60 000)
MAX_WIDTH = 65_536  # nodes of a layer, features, channels, crossbar rows and columns, tile ids, converters
MAX_PIXELS = 1024  # kernel, stride and padding of image ops
MAX_STEPS = 10_000_000  # iterations of one relaxation, batches between calibrations
MAX_SEED = 2**63 - 1  # seeds are written as int64 into results files
MAX_SIGNAL = 1e6  # digital signal values (clip limits, gains, offsets)
MAX_RAIL_V = 100.0  # on-chip voltages, V: rails, input scale, state noise
MAX_CONDUCTANCE_S = 1.0  # a 1-ohm device; resistive memories hold 1e-9 to 1e-3 S
MIN_FULL_SCALE, MAX_FULL_SCALE = 1e-12, 1e3  # converter ranges: pV / pA to kV / kA
MAX_LSB = float(2**24)  # converter noise and offset: the full range of the finest (24-bit) converter
MAX_ENERGY_J = 1e-6  # energy of one elementary action (a write, a MAC, a conversion step, a byte moved)


def setting(default: Any = MISSING, *, doc: str, unit: str = "", **bounds: Any) -> Any:
    """A documented dataclass field; mutable defaults (lists, dataclasses) are copied for each instance."""
    unknown = set(bounds) - set(BOUNDS) - {"tag", "variants"}
    if unknown:
        raise TypeError(f"setting(): unknown metadata {sorted(unknown)}")
    metadata = {"doc": doc, "unit": unit, **bounds}
    if default is MISSING or isinstance(default, (int, float, str, bool, type(None))):
        return dataclasses.field(default=default, metadata=metadata)
    return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)


def _energy(default: float, *, doc: str, unit: str = "J") -> Any:
    """The energy of one elementary action (J) or per byte moved (J/B), from 0 to MAX_ENERGY_J."""
    return setting(default, doc=doc, unit=unit, min=0, max=MAX_ENERGY_J)


def section(cls: type, *, doc: str) -> Any:
    """A nested dataclass field whose default is the dataclass with its own defaults."""
    return dataclasses.field(default_factory=cls, metadata={"doc": doc, "unit": ""})


def tagged_list(tag: str, variants: tuple[type, ...], default: Any = MISSING, *, doc: str) -> Any:
    """A list of mappings, each built as the variant named by its ``tag`` key (the variant's tag default)."""
    registry = {_tag_value(cls, tag): cls for cls in variants}
    return setting(default, doc=doc, tag=tag, variants=registry)


def _tag_value(cls: type, tag: str) -> str:
    return next(f.default for f in dataclasses.fields(cls) if f.name == tag)


def key_path(path: str, key: str | int) -> str:
    """``model.blocks`` + 1 -> ``model.blocks[1]``; ``model`` + ``dtype`` -> ``model.dtype``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _require(condition: bool, path: str, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key_path(path, key)}: {message}")


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """The dataset, its subset sizes, normalisation and batching."""

    dataset: Literal["mnist", "fashion-mnist", "kmnist", "cifar10", "imagenet32", "synthetic"] = setting(
        "fashion-mnist", doc="Dataset name; 'synthetic' draws Gaussian clusters from the seed and needs no files."
    )
    path: Optional[str] = setting(
        None,
        doc="Directory holding the dataset's files; when set, only it is searched. "
        "null: look in $COSIM_DATA/<name>/, then /usr/share/datasets/<name>/.",
    )
    n_train: Optional[int] = setting(
        None, doc="Number of training samples, drawn at random from the seed; null: all of them.",
        min=1, max=MAX_SAMPLES
    )
    n_test: Optional[int] = setting(
        None, doc="Number of test samples, drawn at random from the seed; null: all of them.", min=1, max=MAX_SAMPLES
    )
    normalize: Literal["standard", "unit", "none"] = setting(
        "standard",
        doc="Input scaling, from training-set statistics: 'standard' zero mean and unit variance, "
        "'unit' onto [0, 1], 'none' raw values.",
    )
    batch_size: int = setting(32, doc="Training mini-batch size.", min=1, max=MAX_SAMPLES)
    test_batch_size: int = setting(256, doc="Batch size for evaluation (affects speed only).", min=1, max=MAX_SAMPLES)


# -------------------------------------------------------------------------------------- digital ops


@dataclass(frozen=True, kw_only=True)
class LinearOpConfig:
    """Fully connected layer ``y = W x + b`` on flat inputs."""

    op: Literal["linear"] = setting("linear", doc="Selects this op.")
    out_features: int = setting(doc="Number of outputs.", min=1, max=MAX_WIDTH)
    bias: bool = setting(True, doc="Learn an additive bias (leave it out before a batch-norm, which removes it).")


@dataclass(frozen=True, kw_only=True)
class Conv2dOpConfig:
    """2-D convolution on (channels, height, width) inputs, square kernels."""

    op: Literal["conv2d"] = setting("conv2d", doc="Selects this op.")
    out_channels: int = setting(doc="Number of output channels.", min=1, max=MAX_WIDTH)
    kernel_size: int = setting(3, doc="Side of the square kernel.", unit="px", min=1, max=MAX_PIXELS)
    stride: int = setting(1, doc="Step between kernel positions.", unit="px", min=1, max=MAX_PIXELS)
    padding: int = setting(0, doc="Zero padding added on each side.", unit="px", min=0, max=MAX_PIXELS)
    bias: bool = setting(True, doc="Learn an additive bias per output channel.")


@dataclass(frozen=True, kw_only=True)
class _PoolOpConfig:
    """Pooling over square windows."""

    op: str = setting("", doc="Selects this op.")
    kernel_size: int = setting(2, doc="Side of the square pooling window.", unit="px", min=1, max=MAX_PIXELS)
    stride: Optional[int] = setting(None, doc="Step between windows; null: kernel_size.", unit="px",
        min=1, max=MAX_PIXELS)


@dataclass(frozen=True, kw_only=True)
class MaxPool2dOpConfig(_PoolOpConfig):
    """Max pooling over square windows."""

    op: Literal["maxpool2d"] = setting("maxpool2d", doc="Selects this op.")


@dataclass(frozen=True, kw_only=True)
class AvgPool2dOpConfig(_PoolOpConfig):
    """Average pooling over square windows."""

    op: Literal["avgpool2d"] = setting("avgpool2d", doc="Selects this op.")


@dataclass(frozen=True, kw_only=True)
class BatchNormOpConfig:
    """Batch normalisation per feature (per channel on images) with learnable scale and shift."""

    op: Literal["batchnorm"] = setting("batchnorm", doc="Selects this op.")
    momentum: float = setting(0.1, doc="Weight of the newest batch in the running mean and variance.", min=0, max=1)
    eps: float = setting(1e-5, doc="Added to the variance before the square root.", exclusive_min=0, max=1)


@dataclass(frozen=True, kw_only=True)
class HardtanhOpConfig:
    """Clips to ``[lo, hi]``."""

    op: Literal["hardtanh"] = setting("hardtanh", doc="Selects this op.")
    lo: float = setting(-1.0, doc="Lower clip value.", min=-MAX_SIGNAL, max=MAX_SIGNAL)
    hi: float = setting(1.0, doc="Upper clip value (greater than lo).", min=-MAX_SIGNAL, max=MAX_SIGNAL)

    def validate(self, path: str) -> None:
        _require(self.lo < self.hi, path, "hi", f"must be greater than lo ({self.lo}), got {self.hi}")


def _op_without_parameters(name: str, op: str, doc: str) -> type:
    """The config dataclass of an op that has no parameters: only its ``op:`` tag."""
    field = setting(op, doc="Selects this op.")
    namespace = {"__doc__": doc, "__module__": __name__}
    fields = [("op", Literal[op], field)]
    return dataclasses.make_dataclass(name, fields, namespace=namespace, frozen=True, kw_only=True)


FlattenOpConfig = _op_without_parameters("FlattenOpConfig", "flatten", "Flattens each sample to a vector.")
ReluOpConfig = _op_without_parameters("ReluOpConfig", "relu", "Rectified linear unit ``max(x, 0)``.")
SigmoidOpConfig = _op_without_parameters("SigmoidOpConfig", "sigmoid", "Logistic sigmoid ``1 / (1 + exp(-x))``.")
TanhOpConfig = _op_without_parameters("TanhOpConfig", "tanh", "Hyperbolic tangent.")


@dataclass(frozen=True, kw_only=True)
class GainOffsetOpConfig:
    """Element-wise ``gain * x + offset``, e.g. to scale digital outputs to an energy block's input range."""

    op: Literal["gain_offset"] = setting("gain_offset", doc="Selects this op.")
    gain: float = setting(1.0, doc="Multiplier.", min=-MAX_SIGNAL, max=MAX_SIGNAL)
    offset: float = setting(0.0, doc="Added after the multiplication.", min=-MAX_SIGNAL, max=MAX_SIGNAL)
    learnable: bool = setting(False, doc="Train gain and offset by backpropagation.")


OpConfig = Union[
    LinearOpConfig,
    Conv2dOpConfig,
    MaxPool2dOpConfig,
    AvgPool2dOpConfig,
    BatchNormOpConfig,
    FlattenOpConfig,
    ReluOpConfig,
    HardtanhOpConfig,
    SigmoidOpConfig,
    TanhOpConfig,
    GainOffsetOpConfig,
]

# ------------------------------------------------------------------------------------------- blocks


@dataclass(frozen=True, kw_only=True)
class DigitalBlockConfig:
    """A digital block: feedforward ops run in sequence, trained by backpropagation."""

    kind: Literal["digital"] = setting("digital", doc="Selects this block type.")
    ops: list[OpConfig] = tagged_list("op", get_args(OpConfig), doc="The ops, applied in order (at least one).")

    def validate(self, path: str) -> None:
        _require(len(self.ops) > 0, path, "ops", "a digital block needs at least one op")


@dataclass(frozen=True, kw_only=True)
class DiodeConfig:
    """The diodes that clamp the hidden nodes of a resistive block to its rails."""

    model: Literal["ideal", "shockley"] = setting(
        "ideal", doc="'ideal': hard clipping at the rails; 'shockley': exponential I-V, solved by Newton's method."
    )
    saturation_current_A: float = setting(
        1e-14, doc="Shockley reverse saturation current I_s. Silicon junctions: 1e-15 to 1e-9 A.", unit="A",
        min=1e-30, max=1e-3
    )
    emission_coefficient: float = setting(1.0, doc="Shockley ideality factor n. Real junctions: 1 to 2.",
        min=0.5, max=10)
    temperature_K: float = setting(
        300.15, doc="Junction temperature (sets the thermal voltage kT/q).", unit="K", min=1, max=1000
    )


@dataclass(frozen=True, kw_only=True)
class WiresConfig:
    """The metal lines of a tile's crossbars (IR drop; docs/ir_drop.md). All zero: ideal wires, today's solver."""

    word_segment_ohm: float = setting(0.0, doc="Word-line resistance per cell pitch.", unit="ohm", min=0, max=1e6)
    bit_segment_ohm: float = setting(0.0, doc="Bit-line resistance per cell pitch.", unit="ohm", min=0, max=1e6)
    driver_ohm: float = setting(0.0, doc="From a layer node (or its amplifier) to its word line's driven end.",
                                unit="ohm", min=0, max=1e9)
    sense_ohm: float = setting(0.0, doc="From a bit line's sensed end to its layer node.", unit="ohm", min=0,
                               max=1e9)
    word_driven_at: Literal["first", "last"] = setting(
        "first", doc="Column at which the word lines are driven ('first': column 0).")
    bit_sensed_at: Literal["first", "last"] = setting(
        "last", doc="Row at which the bit lines are sensed ('last': the last row).")


@dataclass(frozen=True, kw_only=True)
class RelaxationConfig:
    """How an energy-based block relaxes to equilibrium (cosim.analog.relaxation; docs/relaxation.md).

    Every relaxation stops on ``solver.tol`` (the KKT residual: the state change one Jacobi update would
    make, relative to the largest voltage for resistive blocks, absolute for Hopfield states), never on a
    step count alone; the caps (``solver.max_sweeps`` for bcd, ``max_steps`` otherwise) warn or raise.
    """

    kind: Literal["bcd", "rc", "momentum"] = setting(
        "bcd",
        doc="'bcd': exact block coordinate descent (for a Hopfield block, the odd/even fixed point "
        "s <- clip(dPhi/ds)); 'rc': gradient flow C dv/dt = -dE/dv, the physical RC settling with the tile's "
        "node_capacitance_F (Hopfield: unit time constants); 'momentum': damped extended phase-space "
        "dynamics with inelastic walls at the bounds.",
    )
    synchronous: bool = setting(
        False, doc="Hopfield blocks with kind bcd only: update every layer at once from the previous state."
    )
    step: float = setting(
        0.9, doc="Time step of rc and momentum, as a fraction of its stability limit (from the largest "
        "curvature, re-measured whenever the weights change).", exclusive_min=0, exclusive_max=1,
    )
    damping: Optional[float] = setting(
        None, doc="Momentum friction gamma, in units of sqrt(largest curvature); null: adapted per sample to the "
        "slowest curvature the motion meets (heavy-ball optimum).", min=0, max=1e3,
    )
    restart: bool = setting(False, doc="Momentum: zero a sample's momentum whenever it points uphill.")
    bifurcation_steps: int = setting(
        0, doc="Momentum, free phase: steps over which an extra confining term is annealed to zero; 0: off.",
        min=0, max=MAX_STEPS
    )
    bifurcation_strength: float = setting(
        1.0, doc="Initial curvature of the confining term, in units of the largest curvature.", min=0, max=1e3
    )
    noise_sigma: float = setting(
        0.0, doc="Std of Gaussian noise added to every state at every update (V for resistive blocks, "
        "state units for Hopfield blocks); a noisy relaxation has settled once its residual stops falling.",
        min=0, max=MAX_RAIL_V,
    )
    max_steps: int = setting(5000, doc="Cap on time steps of rc and momentum per relaxation.", min=1, max=MAX_STEPS)


@dataclass(frozen=True, kw_only=True)
class ResistiveBlockConfig:
    """A resistive block: a layered nonlinear resistive network (crossbars, diodes, amplifiers) on one tile, trained
    by EP."""

    kind: Literal["resistive"] = setting("resistive", doc="Selects this block type.")
    hidden: list[int] = setting([256], doc="Widths of the hidden layers, input side first.", min=1, max=MAX_WIDTH)
    outputs: int = setting(10, doc="Number of output nodes.", min=1, max=MAX_WIDTH)
    duplicate_inputs: bool = setting(
        True, doc="Feed each input as a pair (+x, -x) so crossbars with positive conductances reach negative weights."
    )
    lower_rail_V: float = setting(0.0, doc="Lower diode rail of the hidden nodes.", unit="V",
        min=-MAX_RAIL_V, max=MAX_RAIL_V)
    upper_rail_V: float = setting(1.0, doc="Upper diode rail of the hidden nodes (greater than the lower).", unit="V",
        min=-MAX_RAIL_V, max=MAX_RAIL_V)
    bias_currents: bool = setting(True, doc="Add a trainable current source at every hidden and output node.")
    amplifier_gains: Optional[list[float]] = setting(
        None,
        doc="Forward voltage gain A of the amplifier at each crossbar, input side first "
        "(len(hidden) + 1 values); the backward current gain is 1/A. null: no amplifiers.", min=1e-6, max=1e6,
    )
    input_scale: float = setting(
        1.0, doc="Input voltage per unit of block input (at most the largest on-chip voltage).", unit="V",
        min=1e-6, max=MAX_RAIL_V)
    relaxation: RelaxationConfig = section(RelaxationConfig, doc="How the network settles to equilibrium.")

    def validate(self, path: str) -> None:
        relaxation = key_path(path, "relaxation")
        _require(not self.relaxation.synchronous, relaxation, "synchronous", "applies to Hopfield blocks only")
        _require(self.relaxation.kind != "bcd" or self.relaxation.noise_sigma == 0, relaxation, "noise_sigma",
                 "state noise needs the rc or momentum relaxation in a resistive block")
        _require(
            self.lower_rail_V < self.upper_rail_V,
            path,
            "upper_rail_V",
            f"must be greater than lower_rail_V ({self.lower_rail_V} V), got {self.upper_rail_V} V",
        )
        if self.amplifier_gains is not None:
            n = len(self.hidden) + 1
            _require(
                len(self.amplifier_gains) == n,
                path,
                "amplifier_gains",
                f"needs one gain per crossbar, len(hidden) + 1 = {n} values; got {len(self.amplifier_gains)}",
            )


@dataclass(frozen=True, kw_only=True)
class HopfieldBlockConfig:
    """An energy block as a deep Hopfield network: states in [0, 1], symmetric couplings, trained by EP."""

    kind: Literal["hopfield"] = setting("hopfield", doc="Selects this block type.")
    hidden: list[int] = setting([256], doc="Widths of the hidden layers, input side first.", min=1, max=MAX_WIDTH)
    outputs: int = setting(10, doc="Number of output units.", min=1, max=MAX_WIDTH)
    weight_scale: float = setting(
        1.0, doc="Initial couplings are uniform in +-weight_scale / sqrt(fan-in).", exclusive_min=0, max=1e3
    )
    biases: bool = setting(True, doc="Learn a bias for every hidden and output unit.")
    relaxation: RelaxationConfig = section(RelaxationConfig, doc="How the network settles to equilibrium.")


@dataclass(frozen=True, kw_only=True)
class ConvHopfieldLayerConfig:
    """One feature-map layer of a convolutional Hopfield block, reached from the layer below by a convolution
    then average pooling inside the energy (docs/conv.md)."""

    channels: int = setting(doc="Feature maps (channels) of the layer.", min=1, max=MAX_WIDTH)
    kernel_size: int = setting(3, doc="Side of the square kernel.", unit="px", min=1, max=MAX_PIXELS)
    stride: int = setting(1, doc="Step between kernel positions.", unit="px", min=1, max=MAX_PIXELS)
    padding: int = setting(1, doc="Zero padding added on each side.", unit="px", min=0, max=MAX_PIXELS)
    pool: int = setting(1, doc="Side of the average-pooling window inside the energy (1: none).", unit="px",
        min=1, max=MAX_PIXELS)


@dataclass(frozen=True, kw_only=True)
class ConvHopfieldBlockConfig:
    """An energy block as a convolutional deep Hopfield network (the seed papers' conv DHNs): feature maps in
    [0, 1] coupled by convolutions, trained by EP; its inputs are images (channels, height, width)."""

    kind: Literal["conv_hopfield"] = setting("conv_hopfield", doc="Selects this block type.")
    layers: list[ConvHopfieldLayerConfig] = setting(
        [ConvHopfieldLayerConfig(channels=32)], doc="The feature-map layers, input side first (at least one).")
    outputs: Optional[int] = setting(
        None, doc="Units of a dense output layer after the feature maps; null: the last feature map is the output.",
        min=1, max=MAX_WIDTH)
    weight_scale: float = setting(
        1.0, doc="Initial couplings are uniform in +-weight_scale / sqrt(fan-in).", exclusive_min=0, max=1e3
    )
    biases: bool = setting(True, doc="Learn a bias per channel (per unit of the dense output).")
    mac_energy_J: float = setting(
        1e-14, doc="Energy of one analog multiply-accumulate of the tile that holds the block.", unit="J",
        min=0, max=1e-6)
    sweep_time_s: float = setting(
        1e-8, doc="Time of one relaxation sweep (or gradient evaluation) of the tile, for a whole batch.",
        unit="s", exclusive_min=0, max=1)
    relaxation: RelaxationConfig = section(RelaxationConfig, doc="How the network settles to equilibrium.")

    def validate(self, path: str) -> None:
        _require(len(self.layers) > 0, path, "layers", "a convolutional Hopfield block needs at least one layer")


BlockConfig = Union[DigitalBlockConfig, ResistiveBlockConfig, HopfieldBlockConfig, ConvHopfieldBlockConfig]


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """The model: a chain of blocks (digital, resistive or Hopfield), applied in order."""

    dtype: Literal["float32", "float64"] = setting(
        "float32", doc="Floating-point type of the simulation; float64 for validation against references."
    )
    blocks: list[BlockConfig] = tagged_list(
        "kind", get_args(BlockConfig), [ResistiveBlockConfig()], doc="The blocks, input side first (at least one)."
    )

    def validate(self, path: str) -> None:
        _require(len(self.blocks) > 0, path, "blocks", "the model needs at least one block")


# ------------------------------------------------------------------------------------------ training


@dataclass(frozen=True, kw_only=True)
class OptimizerConfig:
    """The parameter update rule, shared by all blocks."""

    kind: Literal["sgd", "adam"] = setting("adam", doc="Update rule.")
    lr: float = setting(1e-3, doc="Learning rate (peak value under a schedule).", exclusive_min=0, max=10)
    momentum: float = setting(0.9, doc="SGD momentum (sgd only).", min=0, exclusive_max=1)
    weight_decay: float = setting(0.0, doc="L2 penalty coefficient added to the gradients.", min=0, max=1)
    betas: list[float] = setting(
        [0.9, 0.999],
        doc="Adam decay rates of the first and second moment estimates (adam only).",
        min=0,
        exclusive_max=1,
    )
    resistive_lr_scale: float = setting(
        1.0, doc="Multiplies lr for the parameters of resistive blocks (conductances in S, bias currents in A), "
        "whose natural scale differs from digital and Hopfield weights.", min=0, max=1e6)

    def validate(self, path: str) -> None:
        _require(len(self.betas) == 2, path, "betas", f"needs exactly 2 values, got {len(self.betas)}")


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """The learning rule (equilibrium propagation or its implicit-differentiation reference) and its loop."""

    algorithm: Literal["ep", "id"] = setting(
        "ep", doc="'ep': equilibrium propagation; 'id': exact gradients by implicit differentiation (reference)."
    )
    estimator: Literal["centred", "positive", "negative"] = setting(
        "centred", doc="EP gradient estimate: 'centred' uses the +beta and -beta phases, the others one of them."
    )
    beta: float = setting(
        0.1, doc="EP nudge strength, in units of the block's output signal. EP's gradient estimate needs a small "
        "nudge (its error is O(beta^2)); beyond 10 the nudged phase is no perturbation of the free one.",
        exclusive_min=0, max=10)
    loss: Literal["cross_entropy", "squared_error"] = setting("cross_entropy", doc="Loss on the model's outputs.")
    epochs: int = setting(1, doc="Passes over the training set.", min=1, max=100_000)
    optimizer: OptimizerConfig = section(OptimizerConfig, doc="Update rule.")
    schedule: Literal["constant", "cosine"] = setting(
        "cosine", doc="Learning-rate schedule over all steps: 'cosine' decays from lr to 0."
    )
    eval_every_epoch: bool = setting(True, doc="Evaluate on the test set after each epoch (else only at the end).")



# ---------------------------------------------------------------------------------------------- chip


@dataclass(frozen=True, kw_only=True)
class DeviceConfig:
    """The programmable conductance devices of a tile's crossbars, with their non-idealities."""

    g_min_S: float = setting(1e-8, doc="Smallest programmable conductance.", unit="S", min=0, max=MAX_CONDUCTANCE_S)
    g_max_S: float = setting(
        1e-5, doc="Largest programmable conductance (greater than g_min_S); resistive memories hold 1e-9 to "
        "1e-3 S.", unit="S", min=1e-12, max=MAX_CONDUCTANCE_S)
    levels: Optional[int] = setting(None, doc="Programmable levels between g_min_S and g_max_S; null: continuous.",
        min=2, max=65536)
    programming_noise: float = setting(
        0.0, doc="Std of the error of every write, as a fraction of g_max_S - g_min_S.", min=0, max=1)
    read_noise: float = setting(
        0.0, doc="Std of the multiplicative conductance fluctuation seen by a solve (fraction of g).", min=0, max=1)
    read_noise_redraw: Literal["solve", "step"] = setting(
        "step", doc="When read noise is redrawn. 'step' (default): once per training step, the free and nudged "
        "phases share it — slow (1/f) fluctuations, which dominate resistive-memory read noise and are constant "
        "over the microseconds of one step; EP's phase difference then cancels them. 'solve': at every solve — "
        "fast (thermal) noise, independent in each phase; it adds about read_noise x the node voltages to EP's "
        "phase difference whatever beta is, and already read_noise = beta / 100 leaves EP's gradient mostly noise "
        "(cosim warns from beta / 1000).")
    variability: float = setting(
        0.0, doc="Device-to-device spread: std of a static per-device gain on the conductance it holds.", min=0, max=1)
    stuck_at_min: float = setting(0.0, doc="Fraction of devices stuck at g_min_S.", min=0, max=1)
    stuck_at_max: float = setting(0.0, doc="Fraction of devices stuck at g_max_S.", min=0, max=1)
    update: Literal["exact", "pulsed"] = setting(
        "exact", doc="Weight updates: 'exact' rewrites each device to its target; 'pulsed' applies whole pulses.")
    pulse_step: float = setting(
        0.001, doc="Nominal conductance change of one pulse, as a fraction of g_max_S - g_min_S.",
        exclusive_min=0, max=1)
    pulse_step_spread: float = setting(0.0, doc="Device-to-device std of the pulse step (fraction of it).",
        min=0, max=1)
    asymmetry: float = setting(
        0.0, doc="Up steps are (1 + asymmetry/2), down steps (1 - asymmetry/2) times the nominal step.",
        exclusive_min=-2, exclusive_max=2)
    write_energy_J: float = _energy(1e-12, doc="Energy of one device write (one pulse when pulsed).")
    preset: Optional[str] = setting(
        None, doc="Device preset with published parameters (pcm, reram_hfox, ecram; see docs/devices.md): fills "
        "every device key this mapping does not set; keys set here win. The resolved config shows the values.")
    soft_bounds: bool = setting(
        False, doc="Pulsed updates saturate: a pulse moves g by its step times the remaining distance to the bound "
        "it moves towards, as a fraction of the range.")
    read_noise_1f: float = setting(
        0.0, doc="1/f read noise amplitude Q_s at g_max_S: a read t seconds after programming sees a std of "
        "g Q_s sqrt(ln((t + t_read)/(2 t_read))) (fraction of g), in quadrature with read_noise.", min=0, max=1)
    read_noise_1f_exponent: float = setting(
        0.0, doc="State dependence of Q_s: Q_s(g) = min(read_noise_1f (g/g_max_S)^-exponent, 0.2).", min=0, max=4)
    read_noise_t_read_s: float = setting(250e-9, doc="Duration of one read (upper end of the 1/f bandwidth).",
        unit="s", exclusive_min=0, max=1)
    retention: Literal["none", "power_law", "log_relaxation", "exponential"] = setting(
        "none", doc="How the programmed state changes with time since programming: power_law (PCM drift, "
        "G (t/t0)^-nu), log_relaxation (filamentary ReRAM, G + span (mean + spread xi) log10(1 + t/t0)), "
        "exponential (ECRAM self-discharge towards an equilibrium).")
    retention_t0_s: float = setting(
        1.0, doc="First read after programming: reference time of power_law and log_relaxation, and the earliest "
        "time the 1/f law is evaluated at (reads during training see this age).", unit="s", exclusive_min=0,
        max=1e9)
    drift_nu: float = setting(0.0, doc="power_law: mean drift exponent nu.", min=0, max=1)
    drift_nu_spread: float = setting(0.0, doc="power_law: device-to-device std of nu.", min=0, max=1)
    drift_nu_state_dependent: bool = setting(
        False, doc="power_law: draw nu from the state-dependent fits of Joshi et al. 2020 (mean 0.049-0.1, std "
        "0.008-0.045, larger for low conductance) instead of drift_nu and drift_nu_spread.")
    relaxation_mean: float = setting(
        0.0, doc="log_relaxation: mean change per decade of time, fraction of g_max_S - g_min_S.", min=-1, max=1)
    relaxation_spread: float = setting(
        0.0, doc="log_relaxation: device-to-device std of the change per decade, fraction of the range.",
        min=0, max=1)
    retention_tau_s: float = setting(1e4, doc="exponential: time constant of the self-discharge.", unit="s",
        exclusive_min=0, max=1e12)
    retention_equilibrium: float = setting(
        0.5, doc="exponential: the state it discharges to, as a fraction of the range above g_min_S.", min=0, max=1)
    cell_area_F2: float = setting(
        53.0, doc="Area of one device cell in units of the squared feature size F^2 (default: a 1T1R cell, "
        "NVMExplorer's RRAM cell file); the chip's area report scales it by chip.technology.node_nm.",
        unit="F^2", min=1, max=1e4)
    drift_compensation: bool = setting(
        False, doc="Global drift compensation per tile: at each evaluation time a reference read (all-ones "
        "input) measures the tile's conductance decay and the tile's bias currents are scaled by it (booked in "
        "the ledger's calibration phase).")

    def validate(self, path: str) -> None:
        _require(self.g_min_S < self.g_max_S, path, "g_max_S",
                 f"must be greater than g_min_S ({self.g_min_S} S), got {self.g_max_S} S")
        _require(self.stuck_at_min + self.stuck_at_max <= 1, path, "stuck_at_max",
                 "stuck_at_min + stuck_at_max must be at most 1")


@dataclass(frozen=True, kw_only=True)
class ConverterConfig:
    """A bank of ADCs or DACs: uniform, sign-symmetric quantisation of 2**bits - 1 levels over +-full_scale."""

    ideal: bool = setting(True, doc="Pass values through unchanged (conversions are still counted for energy).")
    bits: int = setting(8, doc="Resolution.", unit="bit", min=2, max=24)
    range: Literal["fixed", "calibrated"] = setting(
        "calibrated", doc="'fixed': +-full_scale; 'calibrated': [min, max] of a calibration batch, widened by margin.")
    full_scale: float = setting(
        1.0, doc="Fixed range: V for voltage converters, A for current converters (from pV / pA to kV / kA).",
        min=MIN_FULL_SCALE, max=MAX_FULL_SCALE)
    margin: float = setting(1.0, doc="Calibrated range / the range of values in the calibration batch.",
        min=0.01, max=100)
    recalibrate_every: int = setting(
        10, doc="Calibrated range: batches between calibrations (0: calibrate on the first batch only).",
        min=0, max=MAX_STEPS)
    noise_lsb: float = setting(0.0, doc="Input-referred Gaussian noise (std).", unit="LSB", min=0, max=MAX_LSB)
    offset_lsb: float = setting(0.0, doc="Input-referred offset.", unit="LSB", min=-MAX_LSB, max=MAX_LSB)
    energy_per_step_J: float = _energy(
        5e-14, doc="Energy per conversion step (Walden figure of merit): a conversion costs this x 2**bits.")
    conversion_time_s: float = setting(1e-8, doc="Time of one conversion.", unit="s", min=0, max=1)
    parallel: int = setting(64, doc="Converters of this kind in the tile, working in parallel.", min=1, max=MAX_WIDTH)


def _converter(**changes: Any) -> ConverterConfig:
    return dataclasses.replace(ConverterConfig(), **changes)


@dataclass(frozen=True, kw_only=True)
class BufferConfig:
    """An SRAM buffer: capacity and energy per byte moved."""

    capacity_bytes: int = setting(262144, doc="Capacity.", unit="B", min=1, max=2**40)
    read_energy_J_per_byte: float = _energy(1.25e-12, doc="Energy to read one byte.", unit="J/B")
    write_energy_J_per_byte: float = _energy(1.25e-12, doc="Energy to write one byte.", unit="J/B")


@dataclass(frozen=True, kw_only=True)
class DigitalProcessorConfig:
    """A tile's digital processor: runs the digital blocks and the gradient arithmetic of EP."""

    mac_energy_J: float = _energy(4.6e-12, doc="Energy of one multiply-accumulate (float32, 45 nm).")
    macs_per_second: float = setting(1e11, doc="Sustained throughput.", unit="MAC/s", min=1, max=1e18)


@dataclass(frozen=True, kw_only=True)
class TileConfig:
    """One tile: an analog processor (crossbars, diodes, converters), a digital processor and a buffer."""

    rows: int = setting(1024, doc="Word lines of one array (input side: input nodes, duplicates included); a "
        "larger crossbar is partitioned over several arrays joined at the layer nodes.", min=1, max=MAX_WIDTH)
    columns: int = setting(1024, doc="Bit lines of one array (output side: nodes of one layer); a larger crossbar "
        "is partitioned over several arrays.", min=1, max=MAX_WIDTH)
    device: DeviceConfig = section(DeviceConfig, doc="Conductance devices.")
    diode: DiodeConfig = section(DiodeConfig, doc="Hidden-node diodes.")
    input_dac: ConverterConfig = setting(
        _converter(range="fixed"), doc="DACs driving the input voltage sources (V).")
    nudge_dac: ConverterConfig = setting(
        _converter(), doc="DACs driving the nudge currents at the output nodes (A).")
    output_adc: ConverterConfig = setting(
        _converter(), doc="ADCs reading the block's output voltages for the next block (V).")
    node_adc: ConverterConfig = setting(
        _converter(), doc="ADCs reading the node voltages of EP's phases behind the weight gradients (V); one "
        "calibrated range per layer (and per difference / sum in differential readout).")
    current_adc: ConverterConfig = setting(
        _converter(), doc="Current-sense ADCs reading the input sources behind the error signal (A).")
    ep_readout: Literal["differential", "absolute"] = setting(
        "differential", doc="How EP's two phases are read: 'differential' converts their difference (node "
        "voltages and source currents, sampled and held) and, for the weight rule, their sum; 'absolute' "
        "converts each phase's values and subtracts digitally.")
    node_capacitance_F: float = setting(1e-13, doc="Capacitance of every circuit node (sets the settling time).",
                                        unit="F", min=1e-18, max=1e-6)
    settling_time_constants: float = setting(
        7.0, doc="A phase settles in this many of the slowest node's RC time constants.", exclusive_min=0, max=100)
    wires: WiresConfig = section(WiresConfig, doc="Word- and bit-line resistances of the crossbars (IR drop).")
    buffer: BufferConfig = section(BufferConfig, doc="The tile's local buffer.")
    digital: DigitalProcessorConfig = section(DigitalProcessorConfig, doc="The tile's digital processor.")


@dataclass(frozen=True, kw_only=True)
class TileOverrideConfig:
    """Changes to the tile defaults for one tile."""

    tile: int = setting(doc="Tile id.", min=0, max=MAX_WIDTH)
    set: dict[str, Any] = setting(doc="Tile keys (dotted paths under chip.tile) and their values for this tile.")


@dataclass(frozen=True, kw_only=True)
class IOConfig:
    """Off-chip I/O (DRAM): samples and labels come in, nothing else leaves during training."""

    energy_J_per_byte: float = _energy(2e-10, doc="Energy per byte moved off chip.", unit="J/B")
    bytes_per_second: float = setting(1e10, doc="Bandwidth.", unit="B/s", min=1, max=1e15)


@dataclass(frozen=True, kw_only=True)
class TechnologyConfig:
    """The process technology the chip's area is reported at (cosim/chip/costs.py scales cited areas to it)."""

    node_nm: float = setting(32.0, doc="Feature size F: device cells take cell_area_F2 x F^2; converters, "
        "buffers and digital logic are scaled from their sources' nodes by (node/source node)^2.", unit="nm",
        min=3, max=1000)


@dataclass(frozen=True, kw_only=True)
class ChipConfig:
    """The chip: tiles (each resistive block maps onto one), a global buffer and I/O, with per-action energies."""

    tile: TileConfig = section(TileConfig, doc="Defaults that every tile inherits.")
    tiles: list[TileOverrideConfig] = setting([], doc="Per-tile overrides of the defaults.")
    mapping: Optional[list[int]] = setting(
        None, doc="Tile id of each resistive block, in model order (one per block, distinct); null: resistive "
        "block k on tile k.", min=0, max=MAX_WIDTH)
    global_buffer: BufferConfig = setting(
        BufferConfig(capacity_bytes=8388608, read_energy_J_per_byte=1.25e-11, write_energy_J_per_byte=1.25e-11),
        doc="The global buffer between I/O and the tiles.")
    io: IOConfig = section(IOConfig, doc="Off-chip I/O.")
    technology: TechnologyConfig = section(TechnologyConfig, doc="Process technology of the area report.")

    def validate(self, path: str) -> None:
        seen = set()
        for index, override in enumerate(self.tiles):
            where = key_path(key_path(path, "tiles"), index)
            _require(override.tile not in seen, where, "tile", f"tile {override.tile} is overridden twice")
            seen.add(override.tile)
        for index, tile in enumerate(self.mapping or []):
            _require(tile not in self.mapping[:index], key_path(path, "mapping"), index,
                     f"tile {tile} is given twice; two resistive blocks cannot share a tile")

    def check_blocks(self, n_resistive: int, path: str) -> None:
        """The mapping places exactly the model's ``n_resistive`` resistive blocks; overrides name used tiles."""
        if self.mapping is not None:
            _require(len(self.mapping) == n_resistive, path, "mapping",
                     f"gives {len(self.mapping)} tile id(s) but the model has {n_resistive} resistive block(s); "
                     "list one tile id per resistive block, in model order")
        used = self.mapping if self.mapping is not None else list(range(max(n_resistive, 1)))
        for index, override in enumerate(self.tiles):
            _require(override.tile in used, key_path(key_path(path, "tiles"), index), "tile",
                     f"tile {override.tile} does not exist; the model's blocks run on tile(s) "
                     f"{', '.join(map(str, used))}")

# -------------------------------------------------------------------------------------------- solver


@dataclass(frozen=True, kw_only=True)
class SolverConfig:
    """The equilibrium solver of the energy blocks (resistive and Hopfield)."""

    tol: float = setting(
        1e-5,
        doc="Convergence tolerance: largest node-voltage change of a sweep, relative to the largest voltage.",
        exclusive_min=0, max=1,
    )
    max_sweeps: int = setting(100, doc="Cap on block-coordinate-descent sweeps per relaxation.", min=1, max=MAX_STEPS)
    on_unconverged: Literal["warn", "raise"] = setting(
        "warn", doc="What to do when max_sweeps is reached before tol: warn and go on, or stop with an error."
    )
    threads: int = setting(
        1, doc="Most threads for the run's large matrix products (split into slabs, one single-threaded BLAS call "
        "each) and, on crossbars of 1M+ devices, its element-wise "
        "Numba kernels (optimiser, conductance install, layer updates): capped at the cores the process may use "
        "(its CPU affinity) and at the cores other processes leave idle (load average), re-checked every 30 s of "
        "training. 1 suits small crossbars; more helps wide crossbars on idle cores (docs/benchmarks.md, "
        "'Run throughput').",
        min=1, max=1024)


# --------------------------------------------------------------------------------------------- sweep

_SWEEP_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.(?:[A-Za-z_][A-Za-z0-9_-]*|[0-9]+))*")
_NOT_SWEPT = {
    "seed": "list the seeds in sweep.seeds instead",
    "schema_version": "the schema version is not a parameter",
    "sweep": "a sweep cannot sweep its own definition",
}


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    return True


@dataclass(frozen=True, kw_only=True)
class SweepAxisConfig:
    """One axis of a sweep grid: a config key, or several keys that move together, through a list of values."""

    name: Optional[str] = setting(None, doc="Label of the axis in tables, files and plots; null: its first key.")
    values: dict[str, Any] = setting(
        {}, doc="Dotted config key (as for --set, e.g. chip.tile.node_adc.bits) -> its list of values along the "
        "axis. Several keys move together (zipped): the i-th point of the axis sets every key to its i-th value, "
        "so their lists have equal lengths.")

    @property
    def label(self) -> str:
        return self.name if self.name is not None else next(iter(self.values))

    def __len__(self) -> int:
        return len(next(iter(self.values.values())))

    def validate(self, path: str) -> None:
        _require(len(self.values) > 0, path, "values", "an axis needs at least one key with its list of values")
        _require(self.name is None or (self.name.strip() != "" and "/" not in self.name), path, "name",
                 "must be a non-empty label without '/' (it names a column of sweep.h5)")
        where = key_path(path, "values")
        first = next(iter(self.values))
        for key, values in self.values.items():
            _require(_SWEEP_KEY.fullmatch(key) is not None, where, key,
                     "not a dotted config key (e.g. chip.tile.node_adc.bits or model.blocks.1.hidden)")
            root = key.split(".")[0]
            _require(root not in _NOT_SWEPT, where, key, f"cannot be swept: {_NOT_SWEPT.get(root)}")
            _require(isinstance(values, list) and len(values) > 0, where, key, "expected a non-empty list of values")
            _require(_finite(values), where, key, "values must be finite numbers")
            _require(len(values) == len(self.values[first]), where, key,
                     f"has {len(values)} values but {first} has {len(self.values[first])}: the keys of one axis "
                     "move together, so their lists need equal lengths")


@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """A grid of runs for `cosim sweep`: the product of the axes, times the seeds (docs/sweeps.md)."""

    axes: list[SweepAxisConfig] = setting(
        [], doc="The axes; the grid is their product, the first axis varying slowest. `cosim run` ignores them.")
    seeds: Optional[list[int]] = setting(
        None, doc="Seeds each grid point is trained with (each sets the top-level seed); null: the config's seed.",
        min=0, max=MAX_SEED)

    def validate(self, path: str) -> None:
        labels = [axis.label for axis in self.axes]
        for index, label in enumerate(labels):
            _require(label not in labels[:index], key_path(key_path(path, "axes"), index), "name",
                     f"two axes are labelled {label!r}; give them distinct names")
        keys = [(index, key) for index, axis in enumerate(self.axes) for key in axis.values]
        for a, (index, key) in enumerate(keys):
            for other_index, other in keys[:a]:
                _require(not (key + ".").startswith(other + ".") and not (other + ".").startswith(key + "."),
                         key_path(key_path(path, "axes"), index), "values",
                         f"{key} overlaps {other} of axis {other_index}: each config key may be swept by one axis")
        if self.seeds is not None:
            _require(len(self.seeds) > 0 and len(set(self.seeds)) == len(self.seeds), path, "seeds",
                     "expected a non-empty list of distinct seeds, or null")


# ---------------------------------------------------------------------------------------------- root


@dataclass(frozen=True, kw_only=True)
class Config:
    """The whole run: data, model, training, solver and chip."""

    schema_version: int = setting(SCHEMA_VERSION, doc="Version of this schema; written into every resolved config.")
    seed: int = setting(0, doc="Seed of every random generator (data subsets, initial weights, noise).",
        min=0, max=MAX_SEED)
    data: DataConfig = section(DataConfig, doc="Dataset and batching.")
    model: ModelConfig = section(ModelConfig, doc="Blocks of the model.")
    training: TrainingConfig = section(TrainingConfig, doc="Learning rule and loop.")
    solver: SolverConfig = section(SolverConfig, doc="Equilibrium solver of the energy blocks.")
    chip: ChipConfig = section(ChipConfig, doc="The chip: tiles, converters, devices, buffers, energy.")
    sweep: SweepConfig = section(SweepConfig, doc="A grid of runs over config keys and seeds (`cosim sweep`).")

    def validate(self, path: str) -> None:
        _require(
            self.schema_version == SCHEMA_VERSION,
            path,
            "schema_version",
            f"this cosim reads schema version {SCHEMA_VERSION}, got {self.schema_version}",
        )
        n_resistive = sum(isinstance(block, ResistiveBlockConfig) for block in self.model.blocks)
        self.chip.check_blocks(n_resistive, key_path(path, "chip"))

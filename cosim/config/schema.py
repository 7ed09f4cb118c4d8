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
from dataclasses import MISSING, dataclass
from typing import Any, Literal, Optional, Union, get_args

from cosim.errors import ConfigError

SCHEMA_VERSION = 1

BOUNDS = ("min", "max", "exclusive_min", "exclusive_max")


def setting(default: Any = MISSING, *, doc: str, unit: str = "", **bounds: Any) -> Any:
    """A documented dataclass field; mutable defaults (lists, dataclasses) are copied for each instance."""
    unknown = set(bounds) - set(BOUNDS) - {"tag", "variants"}
    if unknown:
        raise TypeError(f"setting(): unknown metadata {sorted(unknown)}")
    metadata = {"doc": doc, "unit": unit, **bounds}
    if default is MISSING or isinstance(default, (int, float, str, bool, type(None))):
        return dataclasses.field(default=default, metadata=metadata)
    return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)


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

    dataset: Literal["mnist", "fashion-mnist", "kmnist", "cifar10", "synthetic"] = setting(
        "fashion-mnist", doc="Dataset name; 'synthetic' draws Gaussian clusters from the seed and needs no files."
    )
    path: Optional[str] = setting(
        None,
        doc="Directory holding the dataset's files; when set, only it is searched. "
        "null: look in $COSIM_DATA/<name>/, then /usr/share/datasets/<name>/.",
    )
    n_train: Optional[int] = setting(
        None, doc="Number of training samples, drawn at random from the seed; null: all of them.", min=1
    )
    n_test: Optional[int] = setting(
        None, doc="Number of test samples, drawn at random from the seed; null: all of them.", min=1
    )
    normalize: Literal["standard", "unit", "none"] = setting(
        "standard",
        doc="Input scaling, from training-set statistics: 'standard' zero mean and unit variance, "
        "'unit' onto [0, 1], 'none' raw values.",
    )
    batch_size: int = setting(32, doc="Training mini-batch size.", min=1)
    test_batch_size: int = setting(256, doc="Batch size for evaluation (affects speed only).", min=1)


# -------------------------------------------------------------------------------------- digital ops


@dataclass(frozen=True, kw_only=True)
class LinearOpConfig:
    """Fully connected layer ``y = W x + b`` on flat inputs."""

    op: Literal["linear"] = setting("linear", doc="Selects this op.")
    out_features: int = setting(doc="Number of outputs.", min=1)


@dataclass(frozen=True, kw_only=True)
class Conv2dOpConfig:
    """2-D convolution on (channels, height, width) inputs, square kernels."""

    op: Literal["conv2d"] = setting("conv2d", doc="Selects this op.")
    out_channels: int = setting(doc="Number of output channels.", min=1)
    kernel_size: int = setting(3, doc="Side of the square kernel.", unit="px", min=1)
    stride: int = setting(1, doc="Step between kernel positions.", unit="px", min=1)
    padding: int = setting(0, doc="Zero padding added on each side.", unit="px", min=0)


@dataclass(frozen=True, kw_only=True)
class _PoolOpConfig:
    """Pooling over square windows."""

    op: str = setting("", doc="Selects this op.")
    kernel_size: int = setting(2, doc="Side of the square pooling window.", unit="px", min=1)
    stride: Optional[int] = setting(None, doc="Step between windows; null: kernel_size.", unit="px", min=1)


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
    eps: float = setting(1e-5, doc="Added to the variance before the square root.", exclusive_min=0)


@dataclass(frozen=True, kw_only=True)
class FlattenOpConfig:
    """Flattens each sample to a vector."""

    op: Literal["flatten"] = setting("flatten", doc="Selects this op.")


@dataclass(frozen=True, kw_only=True)
class ReluOpConfig:
    """Rectified linear unit ``max(x, 0)``."""

    op: Literal["relu"] = setting("relu", doc="Selects this op.")


@dataclass(frozen=True, kw_only=True)
class HardtanhOpConfig:
    """Clips to ``[lo, hi]``."""

    op: Literal["hardtanh"] = setting("hardtanh", doc="Selects this op.")
    lo: float = setting(-1.0, doc="Lower clip value.")
    hi: float = setting(1.0, doc="Upper clip value (greater than lo).")

    def validate(self, path: str) -> None:
        _require(self.lo < self.hi, path, "hi", f"must be greater than lo ({self.lo}), got {self.hi}")


@dataclass(frozen=True, kw_only=True)
class SigmoidOpConfig:
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""

    op: Literal["sigmoid"] = setting("sigmoid", doc="Selects this op.")


@dataclass(frozen=True, kw_only=True)
class TanhOpConfig:
    """Hyperbolic tangent."""

    op: Literal["tanh"] = setting("tanh", doc="Selects this op.")


@dataclass(frozen=True, kw_only=True)
class GainOffsetOpConfig:
    """Element-wise ``gain * x + offset``, e.g. to scale digital outputs to an analog block's input range."""

    op: Literal["gain_offset"] = setting("gain_offset", doc="Selects this op.")
    gain: float = setting(1.0, doc="Multiplier.")
    offset: float = setting(0.0, doc="Added after the multiplication.")
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
    """The diodes that clamp the hidden nodes of an analog block to its rails."""

    model: Literal["ideal", "shockley"] = setting(
        "ideal", doc="'ideal': hard clipping at the rails; 'shockley': exponential I-V, solved by Newton's method."
    )
    saturation_current_A: float = setting(
        1e-14, doc="Shockley reverse saturation current I_s.", unit="A", exclusive_min=0
    )
    emission_coefficient: float = setting(1.0, doc="Shockley ideality factor n.", exclusive_min=0)
    temperature_K: float = setting(
        300.15, doc="Junction temperature (sets the thermal voltage kT/q).", unit="K", exclusive_min=0
    )


@dataclass(frozen=True, kw_only=True)
class AnalogBlockConfig:
    """An analog block: a layered nonlinear resistive network (crossbars, diodes, amplifiers) trained by EP."""

    kind: Literal["analog"] = setting("analog", doc="Selects this block type.")
    hidden: list[int] = setting([256], doc="Widths of the hidden layers, input side first.", min=1)
    outputs: int = setting(10, doc="Number of output nodes.", min=1)
    duplicate_inputs: bool = setting(
        True, doc="Feed each input as a pair (+x, -x) so crossbars with positive conductances reach negative weights."
    )
    diode: DiodeConfig = section(DiodeConfig, doc="Hidden-node diodes.")
    lower_rail_V: float = setting(0.0, doc="Lower diode rail of the hidden nodes.", unit="V")
    upper_rail_V: float = setting(1.0, doc="Upper diode rail of the hidden nodes (greater than the lower).", unit="V")
    bias_currents: bool = setting(True, doc="Add a trainable current source at every hidden and output node.")
    amplifier_gains: Optional[list[float]] = setting(
        None,
        doc="Forward voltage gain A of the amplifier at each crossbar, input side first "
        "(len(hidden) + 1 values); the backward current gain is 1/A. null: no amplifiers.",
        exclusive_min=0,
    )
    g_min_S: float = setting(1e-7, doc="Smallest programmable conductance.", unit="S", min=0)
    g_max_S: float = setting(
        1e-4, doc="Largest programmable conductance (greater than g_min_S).", unit="S", exclusive_min=0
    )
    input_scale: float = setting(1.0, doc="Input voltage per unit of block input.", unit="V", exclusive_min=0)

    def validate(self, path: str) -> None:
        _require(
            self.lower_rail_V < self.upper_rail_V,
            path,
            "upper_rail_V",
            f"must be greater than lower_rail_V ({self.lower_rail_V} V), got {self.upper_rail_V} V",
        )
        _require(
            self.g_min_S < self.g_max_S,
            path,
            "g_max_S",
            f"must be greater than g_min_S ({self.g_min_S} S), got {self.g_max_S} S",
        )
        if self.amplifier_gains is not None:
            n = len(self.hidden) + 1
            _require(
                len(self.amplifier_gains) == n,
                path,
                "amplifier_gains",
                f"needs one gain per crossbar, len(hidden) + 1 = {n} values; got {len(self.amplifier_gains)}",
            )


BlockConfig = Union[DigitalBlockConfig, AnalogBlockConfig]


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """The model: a chain of blocks, each digital or analog, applied in order."""

    dtype: Literal["float32", "float64"] = setting(
        "float32", doc="Floating-point type of the simulation; float64 for validation against references."
    )
    blocks: list[BlockConfig] = tagged_list(
        "kind", get_args(BlockConfig), [AnalogBlockConfig()], doc="The blocks, input side first (at least one)."
    )

    def validate(self, path: str) -> None:
        _require(len(self.blocks) > 0, path, "blocks", "the model needs at least one block")


# ------------------------------------------------------------------------------------------ training


@dataclass(frozen=True, kw_only=True)
class OptimizerConfig:
    """The parameter update rule, shared by digital and analog blocks."""

    kind: Literal["sgd", "adam"] = setting("adam", doc="Update rule.")
    lr: float = setting(1e-3, doc="Learning rate (peak value under a schedule).", exclusive_min=0)
    momentum: float = setting(0.9, doc="SGD momentum (sgd only).", min=0, exclusive_max=1)
    weight_decay: float = setting(0.0, doc="L2 penalty coefficient added to the gradients.", min=0)
    betas: list[float] = setting(
        [0.9, 0.999],
        doc="Adam decay rates of the first and second moment estimates (adam only).",
        min=0,
        exclusive_max=1,
    )
    analog_lr_scale: float = setting(1.0, doc="Multiplies lr for the parameters of analog blocks.", min=0)

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
    beta: float = setting(0.1, doc="EP nudge strength, in units of the block's output signal.", exclusive_min=0)
    loss: Literal["cross_entropy", "squared_error"] = setting("cross_entropy", doc="Loss on the model's outputs.")
    epochs: int = setting(1, doc="Passes over the training set.", min=1)
    optimizer: OptimizerConfig = section(OptimizerConfig, doc="Update rule.")
    schedule: Literal["constant", "cosine"] = setting(
        "cosine", doc="Learning-rate schedule over all steps: 'cosine' decays from lr to 0."
    )
    eval_every_epoch: bool = setting(True, doc="Evaluate on the test set after each epoch (else only at the end).")


# -------------------------------------------------------------------------------------------- solver


@dataclass(frozen=True, kw_only=True)
class SolverConfig:
    """The equilibrium solver of the analog blocks."""

    tol: float = setting(
        1e-5,
        doc="Convergence tolerance: largest node-voltage change of a sweep, relative to the largest voltage.",
        exclusive_min=0,
    )
    max_sweeps: int = setting(100, doc="Cap on block-coordinate-descent sweeps per relaxation.", min=1)
    on_unconverged: Literal["warn", "raise"] = setting(
        "warn", doc="What to do when max_sweeps is reached before tol: warn and go on, or stop with an error."
    )
    threads: int = setting(1, doc="BLAS threads.", min=1)


# ---------------------------------------------------------------------------------------------- root


@dataclass(frozen=True, kw_only=True)
class Config:
    """The whole run: data, model, training and solver."""

    schema_version: int = setting(SCHEMA_VERSION, doc="Version of this schema; written into every resolved config.")
    seed: int = setting(0, doc="Seed of every random generator (data subsets, initial weights, noise).", min=0)
    data: DataConfig = section(DataConfig, doc="Dataset and batching.")
    model: ModelConfig = section(ModelConfig, doc="Blocks of the model.")
    training: TrainingConfig = section(TrainingConfig, doc="Learning rule and loop.")
    solver: SolverConfig = section(SolverConfig, doc="Analog equilibrium solver.")

    def validate(self, path: str) -> None:
        _require(
            self.schema_version == SCHEMA_VERSION,
            path,
            "schema_version",
            f"this cosim reads schema version {SCHEMA_VERSION}, got {self.schema_version}",
        )

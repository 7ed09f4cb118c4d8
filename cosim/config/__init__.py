"""Typed configuration: the schema (dataclasses), YAML loading with validation and overrides, dumping.

    from cosim.config import load_config, dump_config, config_hash
    config = load_config("chip_configs/default.yaml", overrides=["training.beta=0.2"])
    config.model.blocks[1].hidden   # [256] (block 0 of the default chip is digital)

See ``docs/config-reference.md`` (generated from the schema) for every key, default and unit.
"""

from .loader import (
    apply_overrides,
    config_from_dict,
    config_hash,
    dump_config,
    load_config,
    to_dict,
    validate_config,
)
from .schema import (
    SCHEMA_VERSION,
    AnalogBlockConfig,
    AvgPool2dOpConfig,
    BatchNormOpConfig,
    BlockConfig,
    Config,
    Conv2dOpConfig,
    DataConfig,
    DigitalBlockConfig,
    DiodeConfig,
    FlattenOpConfig,
    GainOffsetOpConfig,
    HardtanhOpConfig,
    LinearOpConfig,
    MaxPool2dOpConfig,
    ModelConfig,
    OpConfig,
    OptimizerConfig,
    ReluOpConfig,
    SigmoidOpConfig,
    SolverConfig,
    TanhOpConfig,
    TrainingConfig,
)

__all__ = [
    "SCHEMA_VERSION",
    "AnalogBlockConfig",
    "AvgPool2dOpConfig",
    "BatchNormOpConfig",
    "BlockConfig",
    "Config",
    "Conv2dOpConfig",
    "DataConfig",
    "DigitalBlockConfig",
    "DiodeConfig",
    "FlattenOpConfig",
    "GainOffsetOpConfig",
    "HardtanhOpConfig",
    "LinearOpConfig",
    "MaxPool2dOpConfig",
    "ModelConfig",
    "OpConfig",
    "OptimizerConfig",
    "ReluOpConfig",
    "SigmoidOpConfig",
    "SolverConfig",
    "TanhOpConfig",
    "TrainingConfig",
    "apply_overrides",
    "config_from_dict",
    "config_hash",
    "dump_config",
    "load_config",
    "to_dict",
    "validate_config",
]

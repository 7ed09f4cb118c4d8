"""Typed configuration: the schema (dataclasses), YAML loading with validation and overrides, dumping.

    from cosim.config import load_config, dump_config, config_hash
    config = load_config("chip_configs/default.yaml", overrides=["training.beta=0.2"])
    config.model.blocks[1].hidden   # [256] (block 0 of the default chip is digital)

See ``docs/config-reference.md`` (generated from the schema) for every key, default and unit.
"""

from .convert import describe_type, resolve_tile, schema_fields, to_dict, unwrap_optional
from .dialect import yaml_flow
from .loader import config_from_dict, config_hash, dump_config, load_config, validate_config
from .overrides import apply_overrides
from .schema import (
    SCHEMA_VERSION,
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
    HopfieldBlockConfig,
    LinearOpConfig,
    MaxPool2dOpConfig,
    ModelConfig,
    OpConfig,
    OptimizerConfig,
    ReluOpConfig,
    ResistiveBlockConfig,
    SigmoidOpConfig,
    SolverConfig,
    TanhOpConfig,
    TrainingConfig,
)

__all__ = [
    "SCHEMA_VERSION",
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
    "HopfieldBlockConfig",
    "LinearOpConfig",
    "MaxPool2dOpConfig",
    "ModelConfig",
    "OpConfig",
    "OptimizerConfig",
    "ReluOpConfig",
    "ResistiveBlockConfig",
    "SigmoidOpConfig",
    "SolverConfig",
    "TanhOpConfig",
    "TrainingConfig",
    "apply_overrides",
    "config_from_dict",
    "config_hash",
    "describe_type",
    "dump_config",
    "load_config",
    "resolve_tile",
    "schema_fields",
    "to_dict",
    "unwrap_optional",
    "validate_config",
    "yaml_flow",
]

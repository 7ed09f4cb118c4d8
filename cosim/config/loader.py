"""YAML file or text -> validated :class:`Config`, and the resolved config back to YAML and its hash.

Everything a user can get wrong (a missing file, YAML syntax, an old schema's names, unknown keys, wrong
types, values out of range, impossible combinations, a malformed override) raises :class:`ConfigError`
with one line that names the full key path, e.g. ``model.blocks[1].diode.model``. The steps, one module
each: :mod:`.dialect` reads the text, :mod:`.migrate` renames an older schema's keys, :mod:`.overrides`
applies ``--set``, :mod:`.convert` checks and builds the dataclasses; the checks that need more than one
built dataclass (tile overrides, sweep points) run here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cosim.errors import ConfigError

from .convert import describe_value, from_plain, resolve_tile, to_dict
from .dialect import dump_yaml, parse_yaml, yaml_flow
from .migrate import check_current, migrate
from .overrides import apply_overrides
from .presets import apply_presets, with_preset_overrides
from .schema import Config, key_path

__all__ = ["config_from_dict", "config_hash", "dump_config", "load_config", "validate_config"]

_CONFIG_SUFFIXES = (".yaml", ".yml")
_HASH_CHARS = 16


def config_from_dict(data: Any, overrides: Iterable[str] = ()) -> Config:
    """Validate plain data (as parsed from YAML; ``None`` means all defaults) and build a :class:`Config`.

    Data of an older schema version (or without one) is migrated first; device presets (named in the data
    or by a ``chip.tile.device.preset`` override) fill the device keys the data leaves unset; the other
    overrides apply after, and a preset they name in a tile override is resolved last.
    """
    data, overrides = with_preset_overrides(migrate(data), overrides)
    config = from_plain(Config, check_current(apply_presets(apply_overrides(apply_presets(data), overrides))))
    for index, override in enumerate(config.chip.tiles):
        resolve_tile(config.chip.tile, [(f"chip.tiles[{index}].set", override.set)])
    _check_sweep_points(config)
    return config


def _check_sweep_points(config: Config) -> None:
    """Every value of every sweep axis, applied alone to ``config``, gives a valid config."""
    base = to_dict(config)
    base.pop("sweep")
    for index, axis in enumerate(config.sweep.axes):
        for point in range(len(axis)):
            overrides = [f"{key}={yaml_flow(values[point])}" for key, values in axis.values.items()]
            try:
                config_from_dict(base, overrides)
            except ConfigError as err:
                raise ConfigError(f"{key_path('sweep.axes', index)} ({axis.label}): {err}") from None


def _read_source(source: Any) -> tuple[str, str]:
    """(text, origin for messages) of a path or of YAML text."""
    if isinstance(source, str) and ("\n" in source or not _looks_like_path(source)):
        return source, "config"
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(f"expected a config file path or YAML text, got {describe_value(source)}")
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None


def _looks_like_path(text: str) -> bool:
    return text.endswith(_CONFIG_SUFFIXES) or os.path.exists(text)


def load_config(source: str | os.PathLike, overrides: Iterable[str] = ()) -> Config:
    """Load a config from a file path or from YAML text, apply ``dotted.key=value`` overrides, validate.

    ``source`` is a path if it is a :class:`os.PathLike`, or a one-line string that ends in ``.yaml`` /
    ``.yml`` or names an existing file; any other string is YAML text (empty text: all defaults).
    """
    text, origin = _read_source(source)
    data = parse_yaml(text, origin)
    if isinstance(data, str) and origin == "config" and ":" not in text:
        raise ConfigError(f"config: no such file {text.strip()!r} (and as YAML text it is not a mapping)")
    try:
        return config_from_dict(data, overrides)
    except ConfigError as exc:
        if origin == "config":
            raise
        raise ConfigError(f"{origin}: {exc}") from None


def dump_config(config: Config) -> str:
    """The fully resolved config as YAML (every default, ``schema_version`` included); loads back equal."""
    return dump_yaml(to_dict(config))


def config_hash(config: Config) -> str:
    """A short content hash of the resolved config (sha256 of :func:`dump_config`), stable across runs."""
    return hashlib.sha256(dump_config(config).encode("utf-8")).hexdigest()[:_HASH_CHARS]


def validate_config(config: Config) -> Config:
    """Check a config built in Python as if it had been loaded; returns the normalised copy (ints -> floats)."""
    return config_from_dict(to_dict(config))

"""The points of a sweep: the product of the config's ``sweep.axes`` times its seeds, each a resolved config.

A point's config is the base config with its ``sweep:`` section reset to the defaults, every swept key set
to the point's value, and ``seed`` set to the point's seed; its identity is :func:`config_hash` of that
resolved config, so a point is the same point whatever sweep it belongs to, and whatever the order of
the axes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import yaml

from cosim.config import config_from_dict, config_hash, dump_config, load_config, to_dict
from cosim.config import yaml_flow
from cosim.config.schema import Config, SweepAxisConfig
from cosim.errors import ConfigError

AXIS_FORM = "KEY=V1,V2,... (KEY1+KEY2=V1,V2,... moves several keys together), e.g. chip.tile.node_adc.bits=2,4,8"


@dataclass(frozen=True)
class Point:
    """One run of a sweep: its position on every axis, its seed and its resolved config."""

    index: tuple[int, ...]
    seed: int
    settings: dict[str, Any]
    config_yaml: str
    hash: str

    def describe(self) -> str:
        swept = ", ".join(f"{key}={yaml_flow(value)}" for key, value in self.settings.items())
        return f"{swept + ', ' if swept else ''}seed={self.seed}"


def seeds(config: Config) -> list[int]:
    """The seeds every grid point runs with: ``sweep.seeds``, or the config's own seed."""
    return list(config.sweep.seeds) if config.sweep.seeds is not None else [config.seed]


def axis_value(axis: SweepAxisConfig, position: int) -> Any:
    """The value that labels ``position`` on ``axis``: its first key's value there."""
    return next(iter(axis.values.values()))[position]


def expand(config: Config) -> list[Point]:
    """Every point of the sweep, the first axis varying slowest and the seed fastest.

    Raises ConfigError when a combination of values is invalid (naming the point), or when two points
    resolve to the same config (e.g. values 0 and 0.0 of one key)."""
    axes = config.sweep.axes
    base = to_dict(config)
    base.pop("sweep")
    points: list[Point] = []
    seen: dict[str, Point] = {}
    for index in itertools.product(*(range(len(axis)) for axis in axes)):
        settings = {key: values[i] for axis, i in zip(axes, index) for key, values in axis.values.items()}
        for seed in seeds(config):
            overrides = [f"{key}={yaml_flow(value)}" for key, value in settings.items()] + [f"seed={seed}"]
            point = Point(index, seed, settings, "", "")
            try:
                resolved = config_from_dict(base, overrides)
            except ConfigError as err:
                raise ConfigError(f"sweep point {point.describe()}: {err}") from None
            text = dump_config(resolved)
            point = Point(index, seed, settings, text, config_hash(resolved))
            if point.hash in seen:
                raise ConfigError(f"sweep points {seen[point.hash].describe()} and {point.describe()} resolve to "
                                  "the same config; remove the duplicate value")
            seen[point.hash] = point
            points.append(point)
    return points


def inert_keys(config: Config, points: list[Point]) -> list[str]:
    """Swept keys of a section whose ``ideal`` flag is true in every point (e.g. the bits of an ideal ADC):
    sweeping them changes nothing, which is worth a warning."""
    if not points:
        return []
    resolved = [yaml.safe_load(point.config_yaml) for point in points]
    notes = []
    for axis in config.sweep.axes:
        for key in axis.values:
            section, _, leaf = key.rpartition(".")
            if leaf != "ideal" and all(_lookup(tree, f"{section}.ideal") is True for tree in resolved):
                notes.append(f"{key} is swept but {section}.ideal is true in every point, so it changes nothing")
    return notes


def _lookup(tree: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(tree, dict) and part in tree:
            tree = tree[part]
        elif isinstance(tree, list) and part.isdigit() and int(part) < len(tree):
            tree = tree[int(part)]
        else:
            return None
    return tree


def parse_axis(spec: str) -> tuple[list[str], str]:
    """``"a.b+c.d=1,2"`` -> (["a.b", "c.d"], "1,2"): the keys of one --sweep axis and its values' text."""
    keys_text, equals, values = spec.partition("=")
    keys = [key.strip() for key in keys_text.split("+")]
    if not equals or not values.strip() or not all(keys):
        raise ConfigError(f"--sweep {spec!r}: expected {AXIS_FORM}")
    return keys, values


def load_sweep(path: Any, overrides: list[str] = (), axes: list[str] = (), seed_list: str | None = None) -> Config:
    """The config at ``path`` with ``--set`` overrides, plus one axis per ``--sweep`` spec (appended after the
    config's own axes) and ``--seeds`` (a comma-separated list that replaces ``sweep.seeds``)."""
    overrides = list(overrides)
    config = load_config(path, overrides)
    extra = []
    for offset, spec in enumerate(axes):
        keys, values = parse_axis(spec)
        mapping = ", ".join(f"{key}: [{values}]" for key in keys)
        extra.append(f"sweep.axes.{len(config.sweep.axes) + offset}={{values: {{{mapping}}}}}")
    if seed_list is not None:
        extra.append(f"sweep.seeds=[{seed_list}]")
    return load_config(path, overrides + extra) if extra else config

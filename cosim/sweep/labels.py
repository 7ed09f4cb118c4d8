"""How a sweep's axes are named and placed in its report: the config keys an axis moves, their unit (from
the schema's ``unit`` metadata), and where its values sit on a plot's x axis (numbers: linear or log
positions; anything else, or uneven numbers: evenly spaced and labelled with the values)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.config import yaml_flow
from cosim.config.schema import Config
from cosim.sweep.grid import axis_value

LOG_RATIO = 10.0  # positive numbers spanning this factor or more go on a log axis
EVEN = 0.3  # numbers whose smallest gap is under this fraction of the mean gap are spaced evenly instead


@dataclass(frozen=True)
class Axis:
    """One sweep axis as the report shows it: ``name`` (the label of sweep.h5 and the table), ``keys``
    (condensed, e.g. ``chip.tile.{output_adc,node_adc}.bits``), ``unit`` (of its first key, whose values
    label it) and its ``values``."""

    name: str
    keys: str
    unit: str
    values: list[Any]

    @property
    def title(self) -> str:
        """``name (unit)``, and the keys when the name is not the key: one line of a plot's axis label."""
        unit = f" ({self.unit})" if self.unit else " (dimensionless)"
        return f"{self.name}{unit}" + ("" if self.keys == self.name else f" = {self.keys}")

    def text(self, value: Any) -> str:
        return f"{self.name} = {value_text(value)}"

    def positions(self) -> tuple[np.ndarray, list[str], str]:
        """(x positions, tick labels, scale "linear" or "log") of the values on a plot."""
        labels = [value_text(v) for v in self.values]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)
        if not numeric or len(self.values) < 2:
            return np.arange(len(self.values), dtype=float), labels, "linear"
        x = np.asarray(self.values, dtype=float)
        if x.min() > 0 and x.max() >= LOG_RATIO * x.min():
            return x, labels, "log"
        gaps = np.diff(np.sort(x))
        if gaps.min() < EVEN * gaps.mean():
            return np.arange(len(x), dtype=float), labels, "linear"
        return x, labels, "linear"


def axes_of(config: Config) -> list[Axis]:
    """The sweep's axes, each with its keys, unit and values."""
    return [Axis(axis.label, condensed(list(axis.values)), key_unit(config, next(iter(axis.values))),
                 [axis_value(axis, i) for i in range(len(axis))]) for axis in config.sweep.axes]


def key_unit(config: Config, key: str) -> str:
    """The schema's unit of the dotted config ``key`` ("" when dimensionless or not found)."""
    node, unit = config, ""
    for part in key.split("."):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        fields = {f.name: f for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else {}
        if part not in fields:
            return ""
        unit, node = fields[part].metadata.get("unit", ""), getattr(node, part)
    return unit


def condensed(keys: list[str]) -> str:
    """Keys that move together in one line: their common start and end around the parts that differ,
    ``chip.tile.{output_adc,node_adc,current_adc}.bits``."""
    if len(keys) == 1:
        return keys[0]
    parts = [key.split(".") for key in keys]
    start = 0
    while all(len(p) > start + 1 and p[start] == parts[0][start] for p in parts):
        start += 1
    end = 0
    while all(len(p) > start + end + 1 and p[-1 - end] == parts[0][-1 - end] for p in parts):
        end += 1
    middle = ",".join(".".join(p[start:len(p) - end]) for p in parts)
    return ".".join([*parts[0][:start], f"{{{middle}}}", *parts[0][len(parts[0]) - end:]])


def value_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else yaml_flow(value)

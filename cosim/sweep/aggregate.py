"""The table of a (possibly partial) sweep: one row per point and seed, from the points' done.json and
error.txt; written as DIR/sweep.h5 and DIR/sweep.csv, summarised over seeds for printing and plots.

sweep.h5 (written atomically; ``config`` attribute: the sweep's resolved YAML), netCDF-style so that
``xarray.open_dataset(path, engine="h5netcdf")`` reads the grid with named dimensions:
  <axis label>, seed: one dimension (and coordinate) per sweep axis, its values the axis's first key's
         values (integers stay integers), and one for the seeds
  <metric> (axes..., seed): each metric of :data:`METRICS` (NaN where a point has no value), with units
  status, hash, error (axes..., seed): text; status "done", "failed" or "pending"
  <dotted key> (axis): every other key an axis moves (numbers, or YAML text)
  points/...: the same as one row per point and seed (grid order, seeds fastest): seed, hash, status,
         error, the metrics; axes/<axis label> and keys/<dotted key>: each row's axis and key values
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cosim.config import dump_config
from cosim.config import yaml_flow
from cosim.config.schema import Config
from cosim.report.units import AREAS, si, si_pm
from cosim.results import add_dataset, atomic_write, write_results
from cosim.sweep.grid import Point, axis_value, expand, seeds
from cosim.sweep.run import DONE, ERROR, is_done, point_dir

METRICS = {  # column -> (heading in the tables, unit as the column's name spells it, digits: significant
    # digits of a value with an SI prefix, decimals of a percentage or a dimensionless number)
    "final_test_accuracy": ("test accuracy", "%", 2),
    "ep_id_cosine": ("EP-ID cosine", "1", 3),
    "energy_per_training_sample_J": ("energy / training sample", "J", 4),
    "chip_area_mm2": ("chip area", "mm2", 3),
    "training_seconds": ("training time", "s", 3),
    "wall_seconds": ("wall time", "s", 3),
}


@dataclass
class Row:
    point: Point
    status: str = "pending"
    error: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


def collect(config: Config, out: Path, points: list[Point] | None = None) -> list[Row]:
    """The rows of the sweep ``config`` as they stand in ``out`` (unstarted and unfinished points: pending)."""
    rows = []
    for point in expand(config) if points is None else points:
        directory = point_dir(out, point)
        row = Row(point, metrics={name: math.nan for name in METRICS})
        if is_done(directory):
            try:
                record = json.loads((directory / DONE).read_text())
            except (OSError, ValueError) as err:
                row.error = f"unreadable {DONE}: {err}"
            else:
                row.status = "done"
                for name in METRICS:
                    value = record.get("summary", {}).get(name, record.get(name))
                    row.metrics[name] = float(value) if isinstance(value, (int, float)) else math.nan
        elif (directory / ERROR).is_file():
            row.status = "failed"
            lines = [line for line in (directory / ERROR).read_text().splitlines() if line.strip()]
            row.error = lines[-1].strip() if lines else "failed"
        rows.append(row)
    return rows


def _column(values: list[Any]) -> np.ndarray:
    """Integers as an integer array, other numbers as floats, anything else as YAML text."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float)
    return np.asarray([yaml_flow(v) for v in values], dtype=object)


def _write_grid(config: Config, rows: list[Row]):
    """A writer of the grid variables of sweep.h5 (see the module docstring) into an open file."""
    axes, seed_list = config.sweep.axes, seeds(config)
    dims = (*(axis.label for axis in axes), "seed")
    shape = (*(len(axis) for axis in axes), len(seed_list))
    cells = {name: np.full(shape, np.nan) for name in METRICS}
    text = {name: np.full(shape, "", dtype=object) for name in ("status", "hash", "error")}
    for row in rows:
        at = (*row.point.index, seed_list.index(row.point.seed))
        for name in METRICS:
            cells[name][at] = row.metrics[name]
        text["status"][at], text["hash"][at], text["error"][at] = row.status, row.point.hash, row.error

    def write_more(f) -> None:
        for axis in axes:
            add_dataset(f, axis.label, _column([axis_value(axis, i) for i in range(len(axis))]), (axis.label,),
                        description=f"sweep axis: values of {', '.join(axis.values)}")
        add_dataset(f, "seed", np.asarray(seed_list, dtype=np.int64), ("seed",))
        for name, array in {**cells, **text}.items():
            add_dataset(f, name, array, dims)
        for axis in axes:
            for key, values in axis.values.items():
                if key != axis.label:
                    add_dataset(f, key, _column(values), (axis.label,), description=f"{key} along {axis.label}")
    return write_more


def write(config: Config, rows: list[Row], out: Path) -> None:
    """DIR/sweep.h5 and DIR/sweep.csv."""
    out = Path(out)
    axes = config.sweep.axes
    labels = {axis.label: [axis_value(axis, row.point.index[a]) for row in rows] for a, axis in enumerate(axes)}
    keys = {key: [row.point.settings[key] for row in rows] for axis in axes for key in axis.values}
    points = {
        "seed": np.asarray([row.point.seed for row in rows], dtype=np.int64),
        "hash": np.asarray([row.point.hash for row in rows], dtype=object),
        "status": np.asarray([row.status for row in rows], dtype=object),
        "error": np.asarray([row.error for row in rows], dtype=object),
        **{name: np.asarray([row.metrics[name] for row in rows], dtype=float) for name in METRICS},
    }
    groups = {"points": points, "axes": {k: _column(v) for k, v in labels.items()},
              "keys": {k: _column(v) for k, v in keys.items()}}
    if rows:
        write_results(out / "sweep.h5", dump_config(config), groups, _write_grid(config, rows),
                      allow_nan=None)  # NaN: a point with no value

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow([*labels, "seed", "status", *METRICS, "hash", "error"])
            for i, row in enumerate(rows):
                writer.writerow([*(yaml_flow(labels[label][i]) for label in labels), row.point.seed, row.status,
                                 *(repr(row.metrics[name]) for name in METRICS), row.point.hash, row.error])

    atomic_write(out / "sweep.csv", write_csv)


def grid_stats(config: Config, rows: list[Row], metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, std (ddof 0) and count over seeds of ``metric`` at every grid point, shaped like the axes;
    finished points only (NaN where none)."""
    shape = tuple(len(axis) for axis in config.sweep.axes)
    values: dict[tuple, list[float]] = {}
    for row in rows:
        if row.status == "done" and math.isfinite(row.metrics[metric]):
            values.setdefault(row.point.index, []).append(row.metrics[metric])
    mean, std, count = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, dtype=int)
    for index, found in values.items():
        mean[index], std[index], count[index] = np.mean(found), np.std(found), len(found)
    return mean, std, count


def table_cells(config: Config, rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    """Headings and one line of cells per grid point: the axis values, seeds done / failed, and mean ± std
    over seeds of every metric with its unit (:func:`format_metric`)."""
    axes = config.sweep.axes
    headings = [axis.label for axis in axes] + ["seeds"] + [METRICS[m][0] for m in METRICS]
    groups: dict[tuple, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.point.index, []).append(row)
    lines = []
    for index, group in groups.items():
        done = [r for r in group if r.status == "done"]
        failed = sum(r.status == "failed" for r in group)
        cells = [yaml_flow(axis_value(axis, i)) for axis, i in zip(axes, index)]
        cells.append(f"{len(done)}/{len(group)}" + (f" ({failed} failed)" if failed else ""))
        for name in METRICS:
            cells.append(format_metric(name, [r.metrics[name] for r in done]))
        lines.append(cells)
    return headings, lines


def format_metric(name: str, values: list[float]) -> str:
    """Mean ± std (over seeds) of the :data:`METRICS` column ``name`` with its unit and SI prefix
    ("6.744 ± 0.002 µJ", "81.7 ± 0.6 %", "1.20 mm²"); "-" when no value is finite."""
    _, unit, digits = METRICS[name]
    found = [v for v in values if math.isfinite(v)]
    if not found:
        return "-"
    mean, std = float(np.mean(found)), float(np.std(found))
    if unit == "%":
        return f"{100 * mean:.{digits}f}" + (f" ± {100 * std:.{digits}f}" if len(found) > 1 else "") + " %"
    if unit == "1":
        return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if len(found) > 1 else "")
    scale, unit, power = (AREAS[unit], "m", 2) if unit in AREAS else (1.0, unit, 1)
    if len(found) == 1:
        return si(mean * scale, unit, digits, power)
    return si_pm(mean * scale, std * scale, unit, digits, power)


def format_table(config: Config, rows: list[Row]) -> str:
    """:func:`table_cells` as aligned text."""
    headings, lines = table_cells(config, rows)
    widths = [max(len(str(c)) for c in column) for column in zip(headings, *lines)]
    render = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([render(headings), render(["-" * w for w in widths]), *map(render, lines)])

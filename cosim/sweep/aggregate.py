"""The table of a (possibly partial) sweep: one row per point and seed, from the points' done.json and
error.txt; written as DIR/sweep.h5 and DIR/sweep.csv, summarised over seeds for printing and plots.

sweep.h5 (written atomically; ``config`` attribute: the sweep's resolved YAML):
  points/seed, hash, status ("done", "failed", "pending"), error, and the metrics of :data:`METRICS`
         (NaN where a point has no value); one entry per row, rows in grid order, seeds fastest
  axes/<axis label>: the value labelling each row's position on that axis (its first key's value)
  keys/<dotted key>: each swept key's value per row (numbers, or YAML text for other values)
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
from cosim.results import atomic_write, write_results
from cosim.sweep.grid import Point, axis_value, expand
from cosim.sweep.run import DONE, ERROR, is_done, point_dir

METRICS = {  # column -> (heading in the printed table, scale, format)
    "final_test_accuracy": ("test accuracy (%)", 100.0, "{:.2f}"),
    "ep_id_cosine": ("EP-ID cosine", 1.0, "{:.3f}"),
    "energy_per_training_sample_J": ("energy/sample (J)", 1.0, "{:.3g}"),
    "training_seconds": ("train time (s)", 1.0, "{:.1f}"),
    "wall_seconds": ("wall (s)", 1.0, "{:.1f}"),
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
    """Numbers as a float array, anything else as YAML text (bytes, for HDF5)."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float)
    return np.asarray([yaml_flow(v).encode() for v in values])


def write(config: Config, rows: list[Row], out: Path) -> None:
    """DIR/sweep.h5 and DIR/sweep.csv."""
    out = Path(out)
    axes = config.sweep.axes
    labels = {axis.label: [axis_value(axis, row.point.index[a]) for row in rows] for a, axis in enumerate(axes)}
    keys = {key: [row.point.settings[key] for row in rows] for axis in axes for key in axis.values}
    points = {
        "seed": np.asarray([row.point.seed for row in rows], dtype=int),
        "hash": np.asarray([row.point.hash.encode() for row in rows]),
        "status": np.asarray([row.status.encode() for row in rows]),
        "error": np.asarray([row.error.encode() for row in rows]),
        **{name: np.asarray([row.metrics[name] for row in rows], dtype=float) for name in METRICS},
    }
    groups = {"points": points, "axes": {k: _column(v) for k, v in labels.items()},
              "keys": {k: _column(v) for k, v in keys.items()}}
    if rows:
        write_results(out / "sweep.h5", dump_config(config), groups, allow_nan=None)  # NaN: a point with no value

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


def format_table(config: Config, rows: list[Row]) -> str:
    """One line per grid point: the axis values, seeds done / failed, and mean ± std over seeds."""
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
        for name, (_, scale, form) in METRICS.items():
            found = [scale * r.metrics[name] for r in done if math.isfinite(r.metrics[name])]
            if not found:
                cells.append("-")
            elif len(found) == 1:
                cells.append(form.format(found[0]))
            else:
                cells.append(f"{form.format(np.mean(found))} ± {form.format(np.std(found))}")
        lines.append(cells)
    widths = [max(len(str(c)) for c in column) for column in zip(headings, *lines)]
    render = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([render(headings), render(["-" * w for w in widths]), *map(render, lines)])

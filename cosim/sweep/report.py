"""DIR/report.html of a sweep (beside sweep.h5): accuracy, EP-vs-ID cosine per analog tensor and energy
per component against every axis (mean ± std over seeds, a chance line for accuracy), the
accuracy-energy Pareto front, and the table of every grid point.

Every axis label names the config key, its unit and the number of seeds; titles name the values of a
point, never its hash. Per-tensor cosines and per-component energies come from the points' results.h5.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml

from cosim.config import yaml_flow
from cosim.report.figures import grid, png, si, si_axis
from cosim.report.html import Page
from cosim.report.run import REPORT
from cosim.results import RESULTS, units_of
from cosim.sweep.aggregate import Row, grid_stats, table_cells
from cosim.sweep.grid import axis_value, seeds
from cosim.sweep.run import point_dir

MAX_LINES = 6  # lines per panel before the other axes are averaged instead


def write_sweep_report(config, rows: list[Row], out: Path) -> Path | None:
    """DIR/report.html of the sweep ``config`` from its ``rows``; None when nothing is swept or done."""
    out = Path(out)
    done = [row for row in rows if row.status == "done"]
    if not config.sweep.axes or not done:
        return None
    rows = [_with_details(row, out) for row in rows]
    n_seeds = len(seeds(config))
    axes = [(_label(axis), [axis_value(axis, i) for i in range(len(axis))]) for axis in config.sweep.axes]
    page = Page(f"cosim sweep {out.name}", f"{out.resolve()}: {len(done)} of {len(rows)} runs finished; "
                                          f"every point with {n_seeds} seed(s), mean ± std over seeds")
    page.table(["axis", "keys", "values"],
               [[label, ", ".join(axis.values), yaml_flow(values)] for axis, (label, values)
                in zip(config.sweep.axes, axes)], css="text")
    page.section("Accuracy")
    page.figure(_against(config, rows, axes, ["final_test_accuracy"], "test accuracy (%)", 100.0,
                         chance=100.0 / _classes(yaml.safe_load(done[0].point.config_yaml))),
                f"test accuracy against each axis, mean ± std over {n_seeds} seed(s); dashed: chance")
    cosines = sorted({k for row in rows for k in row.metrics if k.startswith("cosine:")})
    if cosines:
        page.section("EP against implicit differentiation")
        page.figure(_against(config, rows, axes, cosines, "cosine(EP, ID)", 1.0),
                    f"cosine of the EP and ID gradients per analog tensor against each axis (other axes "
                    f"averaged), mean ± std over {n_seeds} seed(s)")
    components = sorted({k for row in rows for k in row.metrics if k.startswith("energy:")})
    if components:
        page.section("Energy")
        page.figure(_against(config, rows, axes, components, "energy per training sample", 1.0, unit="J"),
                    "energy per training sample of each component against each axis (log scale, other axes "
                    "averaged)")
    page.figure(_pareto(config, rows, axes), "accuracy against energy per training sample for every grid point "
                                             f"(mean over {n_seeds} seed(s)); line: the Pareto front")
    page.section("Every point")
    headings, lines = table_cells(config, rows)
    page.table(headings, lines)
    return page.write(out / REPORT)


def _label(axis) -> str:
    unit = units_of(next(iter(axis.values)).split(".")[-1])[0]
    return axis.label + (f" ({unit})" if unit not in ("", "1") else "")


def _classes(config: dict) -> int:
    """Number of classes: the width of the model's last output layer (10 when it cannot be told)."""
    for block in reversed(config["model"]["blocks"]):
        if "outputs" in block:
            return int(block["outputs"])
        for op in reversed(block.get("ops", [])):
            if op.get("op") == "linear":
                return int(op["out_features"])
    return 10


def _with_details(row: Row, out: Path) -> Row:
    """The row with ``energy:<component>`` (J per training sample) and ``cosine:<tensor>`` metrics from its
    point's results.h5."""
    if row.status != "done":
        return row
    extra = {}
    try:
        with h5py.File(point_dir(out, row.point) / RESULTS, "r") as f:
            if "energy/per_component_J" in f:
                extra.update({f"energy:{k}": float(v) for k, v in f["energy/per_component_J"].attrs.items()})
            if "gradcheck/names" in f:
                names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["gradcheck/names"][()]]
                extra.update({f"cosine:{n}": float(c) for n, c in zip(names, f["gradcheck/cosine"][()])})
    except OSError:
        return row
    return Row(row.point, row.status, row.error, {**row.metrics, **extra})


def _against(config, rows: list[Row], axes: list[tuple[str, list[Any]]], metrics: list[str], ylabel: str,
             scale: float, chance: float | None = None, unit: str = "") -> str:
    """One panel per axis: each metric (or, for one metric, each value of the next axis) against it."""
    fig, panels = grid(len(axes), columns=2, height=3.0)
    for a, (ax, (label, values)) in enumerate(zip(panels, axes)):
        x, ticks = _positions(values)
        for metric in metrics:
            mean, std, _ = grid_stats(config, rows, metric)
            for line, (m, s) in _lines(mean * scale, std * scale, a, axes, metric, len(metrics) > 1):
                ax.errorbar(x, m, yerr=s, marker="o", capsize=3, label=line)
        if chance is not None:
            ax.axhline(chance, color="gray", linestyle="--", linewidth=1)
        if unit:
            ax.set_yscale("log")
            si_axis(ax.yaxis, unit)
        if ticks is not None:
            ax.set_xticks(x, ticks)
        ax.set(xlabel=label, ylabel=ylabel)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)


def _lines(mean: np.ndarray, std: np.ndarray, a: int, axes, metric: str, several: bool):
    """(label, (mean, std) along axis ``a``) of the lines of one panel: per value of the next axis when
    there are few, else the other axes averaged."""
    mean, std = np.moveaxis(mean, a, 0), np.moveaxis(std, a, 0)
    name = metric.split(":", 1)[1] if ":" in metric else None
    others = [axes[i] for i in range(len(axes)) if i != a]
    if not several and others and len(others[0][1]) <= MAX_LINES:
        flat_m, flat_s = mean.reshape(*mean.shape[:2], -1), std.reshape(*std.shape[:2], -1)
        label = others[0][0]
        return [(f"{label} = {v}", (_nanmean(flat_m[:, j]), _nanmean(flat_s[:, j])))
                for j, v in enumerate(others[0][1])]
    flat_m, flat_s = mean.reshape(mean.shape[0], -1), std.reshape(std.shape[0], -1)
    return [(name, (_nanmean(flat_m), _nanmean(flat_s)))]


def _nanmean(array: np.ndarray) -> np.ndarray:
    """Mean over every axis but the first, ignoring NaN (an all-NaN slice stays NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(array.reshape(array.shape[0], -1), axis=1)


def _positions(values: list[Any]) -> tuple[np.ndarray, list[str] | None]:
    """Numeric values are their own x positions; anything else is placed at 0, 1, 2, ... with labels."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float), None
    return np.arange(len(values), dtype=float), [yaml_flow(v) for v in values]


def _pareto(config, rows: list[Row], axes) -> str:
    energy, _, _ = grid_stats(config, rows, "energy_per_training_sample_J")
    accuracy, _, _ = grid_stats(config, rows, "final_test_accuracy")
    fig, (ax,) = grid(1, columns=1, height=3.6)
    found = np.isfinite(energy) & np.isfinite(accuracy)
    points = [(energy[i], 100 * accuracy[i], i) for i in zip(*np.nonzero(found))]
    for e, acc, index in points:
        ax.scatter(e, acc, color="tab:blue", s=20)
        ax.annotate(", ".join(f"{yaml_flow(values[j])}" for (_, values), j in zip(axes, index)), (e, acc),
                    fontsize=6.5, xytext=(3, 3), textcoords="offset points")
    front, best = [], -math.inf
    for e, acc, _ in sorted(points, key=lambda p: (p[0], -p[1])):
        if acc > best:
            front.append((e, acc))
            best = acc
    if front:
        ax.step(*zip(*front), where="post", color="tab:orange", label="Pareto front")
        ax.legend(fontsize=7)
    energies = [e for e, _, _ in points]
    if energies and max(energies) > 10 * min(energies):
        ax.set_xscale("log")
    si_axis(ax.xaxis, "J")
    ax.set(xlabel="energy per training sample", ylabel="test accuracy (%)",
           title="points labelled " + ", ".join(label for label, _ in axes))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return png(fig)

"""DIR/report.html of a sweep (beside sweep.h5): accuracy, EP-vs-ID cosine per analog tensor and energy
per component against every axis (mean ± std over seeds, a chance line for accuracy), the Pareto front in
accuracy, energy and chip area, and the table of every grid point.

Every axis label names the config key, its unit and the number of seeds; titles and legends name the
values of a point, never its hash. Per-tensor cosines and per-component energies come from the points'
results.h5. Integer, float and text axes, and any number of them, render on the same fixed-size figures
(:mod:`cosim.sweep.labels`); with more than one axis, each panel draws one line per value of the next axis
(up to MAX_LINES) and averages the others.
"""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import h5py
import numpy as np
import yaml
from matplotlib.colors import LogNorm, Normalize
from matplotlib.ticker import MaxNLocator

from cosim.report.figures import grid, png, si_axis
from cosim.report.html import Page
from cosim.report.run import REPORT
from cosim.results import RESULTS
from cosim.sweep.aggregate import Row, grid_stats, table_cells
from cosim.sweep.grid import seeds
from cosim.sweep.labels import Axis, axes_of, value_text
from cosim.sweep.pareto import non_dominated
from cosim.sweep.run import point_dir

MAX_LINES = 6  # lines per panel before the other axes are averaged instead
OBJECTIVES = (("final_test_accuracy", True), ("energy_per_training_sample_J", False), ("chip_area_mm2", False))


def write_sweep_report(config, rows: list[Row], out: Path) -> Path | None:
    """DIR/report.html of the sweep ``config`` from its ``rows``; None when nothing is swept or done."""
    out = Path(out)
    done = [row for row in rows if row.status == "done"]
    if not config.sweep.axes or not done:
        return None
    rows = [_with_details(row, out) for row in rows]
    n_seeds = len(seeds(config))
    axes = axes_of(config)
    page = Page(f"cosim sweep {out.name}", f"{out.resolve()}: {len(done)} of {len(rows)} runs finished; "
                                          f"every point with {n_seeds} seed(s), mean ± std over seeds")
    page.table(["axis", "config keys", "unit", "values"],
               [[a.name, a.keys, a.unit or "dimensionless", ", ".join(value_text(v) for v in a.values)]
                for a in axes], css="text")
    page.section("Accuracy")
    page.figure(_against(config, rows, axes, ["final_test_accuracy"], "test accuracy (%)", 100.0, n_seeds,
                         chance=100.0 / _classes(yaml.safe_load(done[0].point.config_yaml))),
                f"test accuracy against each axis, mean ± std over {n_seeds} seed(s); dashed: chance")
    cosines = sorted({k for row in rows for k in row.metrics if k.startswith("cosine:")})
    if cosines:
        page.section("EP against implicit differentiation")
        page.figure(_against(config, rows, axes, cosines, "cosine(EP, ID)", 1.0, n_seeds),
                    f"cosine of the EP and ID gradients per analog tensor against each axis (other axes "
                    f"averaged), mean ± std over {n_seeds} seed(s)")
    components = sorted({k for row in rows for k in row.metrics if k.startswith("energy:")})
    if components:
        page.section("Energy")
        page.figure(_against(config, rows, axes, components, "energy per training sample", 1.0, n_seeds, unit="J"),
                    "energy per training sample of each component against each axis (log scale, other axes "
                    "averaged)")
    _pareto_section(page, config, rows, axes, n_seeds)
    page.section("Every point")
    headings, lines = table_cells(config, rows)
    page.table(headings, lines)
    return page.write(out / REPORT)


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




def _against(config, rows: list[Row], axes: list[Axis], metrics: list[str], ylabel: str, scale: float,
             n_seeds: int, chance: float | None = None, unit: str = "") -> str:
    """One panel per axis: each metric (or, for one metric, each value of the next axis) against it."""
    fig, panels = grid(len(axes), columns=2, height=3.2, layout="constrained")
    for a, (ax, axis) in enumerate(zip(panels, axes)):
        x, ticks, xscale = axis.positions()
        notes = set()
        for metric in metrics:
            mean, std, _ = grid_stats(config, rows, metric)
            lines, note = _lines(mean * scale, std * scale, a, axes, metric, len(metrics) > 1)
            notes.add(note)
            for label, (m, s) in lines:
                ax.errorbar(x, m, yerr=s, marker="o", markersize=4, capsize=3, label=label)
        if chance is not None:
            ax.axhline(chance, color="gray", linestyle="--", linewidth=1)
        if unit:
            ax.set_yscale("log")
            si_axis(ax.yaxis, unit)
        ax.set_xscale(xscale)
        ax.set_xticks(x, ticks, minor=False)
        ax.set_xticks([], minor=True)
        ax.set_xlabel(textwrap.fill(axis.title, 60), fontsize=8)
        ax.set_ylabel(f"{ylabel}\nmean ± std, {n_seeds} seed(s)", fontsize=8)
        ax.set_title(textwrap.fill(" ".join(sorted(n for n in notes if n)), 70), fontsize=8)
        ax.grid(alpha=0.3)
        if len(metrics) == 1 and ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=6.5)
    if len(metrics) > 1:  # the same lines in every panel: one legend beside them
        fig.legend(*panels[0].get_legend_handles_labels(), loc="outside right upper", fontsize=7)
    return png(fig)


def _lines(mean: np.ndarray, std: np.ndarray, a: int, axes: list[Axis], metric: str, several: bool):
    """([(label, (mean, std) along axis ``a``)], what the panel averages over): one line per value of the
    next axis when there are few and one metric, else the other axes averaged."""
    mean, std = np.moveaxis(mean, a, 0), np.moveaxis(std, a, 0)
    name = metric.split(":", 1)[1] if ":" in metric else None
    others = [axes[i] for i in range(len(axes)) if i != a]
    if not several and others and len(others[0].values) <= MAX_LINES:
        flat_m, flat_s = mean.reshape(*mean.shape[:2], -1), std.reshape(*std.shape[:2], -1)
        rest = ", ".join(o.name for o in others[1:])
        return ([(others[0].text(v), (_nanmean(flat_m[:, j]), _nanmean(flat_s[:, j])))
                 for j, v in enumerate(others[0].values)], f"averaged over {rest}" if rest else "")
    flat_m, flat_s = mean.reshape(mean.shape[0], -1), std.reshape(std.shape[0], -1)
    rest = ", ".join(o.name for o in others)
    return [(name, (_nanmean(flat_m), _nanmean(flat_s)))], f"averaged over {rest}" if rest else ""


def _nanmean(array: np.ndarray) -> np.ndarray:
    """Mean over every axis but the first, ignoring NaN (an all-NaN slice stays NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(array.reshape(array.shape[0], -1), axis=1)


def _pareto_section(page: Page, config, rows: list[Row], axes: list[Axis], n_seeds: int) -> None:
    """Accuracy against energy and against chip area for every grid point (mean over seeds), the points
    on the Pareto front of all three ringed and numbered, and their table."""
    means = {name: grid_stats(config, rows, name)[0] for name, _ in OBJECTIVES}
    indices = list(np.ndindex(means["final_test_accuracy"].shape))
    values = np.column_stack([means[name].ravel() for name, _ in OBJECTIVES])
    values[:, 2] *= 1e-6  # mm^2 -> m^2
    used = [k for k in range(len(OBJECTIVES)) if np.isfinite(values[:, k]).any()]
    if not {0, 1} <= set(used):
        return
    front = non_dominated(values[:, used], [OBJECTIVES[k][1] for k in used])
    order = sorted(np.flatnonzero(front), key=lambda i: values[i, 1])
    page.section("Pareto front: accuracy, energy" + (" and area" if 2 in used else ""))
    page.figure(_pareto(values, order, 2 in used, n_seeds),
                f"test accuracy against energy per training sample{' and against chip area' if 2 in used else ''} "
                f"for every grid point (mean over {n_seeds} seed(s)); colour: the other cost; ringed and "
                f"numbered: the Pareto front in accuracy, energy{' and area' if 2 in used else ''} together (no "
                "other point is at least as good in each and better in one); line: the front of the panel's "
                "two quantities alone")
    headings, lines = table_cells(config, rows)
    by_index = dict(zip(dict.fromkeys(row.point.index for row in rows), lines))
    page.table(["#", *headings], [[k + 1, *by_index[indices[i]]] for k, i in enumerate(order)])


def _pareto(values: np.ndarray, order: list[int], has_area: bool, n_seeds: int) -> str:
    """The Pareto panels: accuracy against energy (coloured by area) and against area (coloured by energy)."""
    accuracy = 100 * values[:, 0]
    shown = np.isfinite(values).all(axis=1) if has_area else np.isfinite(values[:, :2]).all(axis=1)
    panels = [(1, 2, "energy per training sample", "J")] + ([(2, 1, "chip area", "m")] if has_area else [])
    fig, axes = grid(len(panels), columns=2, height=3.6, layout="constrained")
    for ax, (x, colour, xlabel, unit) in zip(axes, panels):
        power, colour_unit, colour_power = (2, "J", 1) if unit == "m" else (1, "m", 2)
        points = ax.scatter(values[shown, x], accuracy[shown], s=22, zorder=2,
                            **({"c": values[shown, colour], "cmap": "viridis",
                                "norm": _norm(values[shown, colour])} if has_area else {}))
        if has_area:
            bar = fig.colorbar(points, ax=ax, label="chip area" if colour == 2 else "energy per training sample")
            si_axis(bar.ax.yaxis, colour_unit, colour_power)
        ax.scatter(values[order, x], accuracy[order], s=90, facecolors="none", edgecolors="black", zorder=3)
        for k, i in enumerate(order):
            ax.annotate(str(k + 1), (values[i, x], accuracy[i]), xytext=(4, 4), textcoords="offset points",
                        fontsize=7)
        flat = np.flatnonzero(shown & non_dominated(values[:, [0, x]], [True, False]))
        flat = flat[np.argsort(values[flat, x])]
        ax.step(values[flat, x], accuracy[flat], where="post", color="tab:orange", linewidth=1, zorder=1)
        if values[shown, x].max() > 10 * values[shown, x].min() > 0:
            ax.set_xscale("log")
        else:
            ax.xaxis.set_major_locator(MaxNLocator(3))
        ax.tick_params(labelsize=8)
        si_axis(ax.xaxis, unit, power)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(f"test accuracy (%), mean over {n_seeds} seed(s)", fontsize=8)
        ax.grid(alpha=0.3)
    return png(fig)


def _norm(values: np.ndarray):
    """A log colour scale for values spanning more than a decade, else a linear one."""
    low, high = float(np.min(values)), float(np.max(values))
    return LogNorm(low, high) if low > 0 and high > 10 * low else Normalize(low, high if high > low else low + 1e-30)

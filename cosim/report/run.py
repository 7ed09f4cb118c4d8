"""DIR/report.html of a run: the resolved config in short, the run's health, training curves, EP-vs-ID
cosine over training, energy, latency and area per location x component x phase (cosim.report.budget),
and per-tile pictures.

The page reads results.h5 generically: every attribute and dataset of the ``summary``, ``health`` and
``area`` groups is listed with its units (the ``units`` attribute, else :func:`cosim.results.units_of`), so
groups that later versions add show up without changes here. Per-tile pictures need the live chip
(:func:`cosim.report.tiles.snapshot`); without one the page leaves them out.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import yaml
from cosim.config import yaml_flow
from cosim.report import tiles as tile_figures
from cosim.report.budget import read_budget, section as budget_section
from cosim.report.html import Page
from cosim.report.svg import CYCLE, COLOURS, Panel
from cosim.report.units import quantity
from cosim.results import RESULTS, units_of

REPORT = "report.html"
#: names of health figures (in ``health`` or ``summary``) that get the highlighted section
HEALTH = re.compile(r"unconverged|cosine|clamp|clip|saturat|stuck")
CONVERTERS = ("input_dac", "nudge_dac", "output_adc", "node_adc", "current_adc")


def write_run_report(out: Path, tiles: list | None = None) -> Path:
    """Build DIR/report.html from DIR/results.h5 (and ``tiles``, snapshots of the chip's tiles)."""
    out = Path(out)
    with h5py.File(out / RESULTS, "r") as f:
        config = yaml.safe_load(f.attrs["config"])
        groups = {name: _items(f[name]) for name in ("summary", "health", "area") if name in f}
        metrics = {k: np.asarray(v) for k, v in f["metrics"].items()} if "metrics" in f else {}
        steps = {k: np.asarray(v) for k, v in f["steps"].items()} if "steps" in f else {}
        budget = read_budget(f)
        names = [n.decode() for n in f["gradcheck/names"][()]] if "gradcheck/names" in f else []
    page = Page(f"cosim run {out.name}", f"{out.resolve()}")
    _config(page, config)
    _health(page, groups)
    _training(page, metrics, steps, names)
    if budget is not None:
        budget_section(page, budget)
    if "area" in groups:
        page.section("Area")
        page.table(["quantity", "value", "description"], _rows(groups["area"]), css="text")
    for tile in tiles or []:
        page.section(f"Tile {tile.id} (model.blocks[{tile.block_index}])")
        for caption, panels in tile_figures.figures(tile):
            page.panels(panels, caption, columns=4)
    return page.write(out / REPORT)


def _items(group: h5py.Group, prefix: str = "", unit: str = "") -> list[tuple[str, object, str, str]]:
    """(name, value, units, description) of every attribute and dataset under ``group``, nested names
    joined by '/'; a number without units of its own takes its group's ``unit`` attribute (or its parent's)."""
    items, unit = [], _text(group.attrs.get("unit", unit))
    for key, value in group.attrs.items():
        units, description = units_of(key)
        items.append((prefix + key, value, units or (unit if key != "unit" else ""), description))
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            items += _items(item, f"{prefix}{key}/", unit)
        else:
            default = units_of(key)
            units = item.attrs.get("units", default[0])
            description = item.attrs.get("description", default[1])
            items.append((prefix + key, item[()], _text(units), _text(description)))
    return items


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _rows(items) -> list[list[str]]:
    rows = []
    for name, value, units, description in items:
        value = np.asarray(value)
        if value.dtype.kind in "SO":
            shown = ", ".join(_text(v) for v in value.ravel()[:8])
        elif value.size == 1:
            scalar = value.item()
            if isinstance(scalar, float) and "fraction" in name and units in ("", "1"):
                # clip, clamped and stuck fractions read as percentages; NaN: nothing to count (no hidden nodes)
                shown = "n/a" if np.isnan(scalar) else f"{100 * scalar:.3g} %"
            elif isinstance(scalar, float):
                shown = quantity(scalar, units)
            else:
                shown = f"{scalar}{'' if units in ('', '1') else ' ' + units}"
        else:
            shown = ", ".join(quantity(float(v), units) for v in value.ravel()[:8]) + (" …" if value.size > 8 else "")
        rows.append([name, shown, description])
    return rows


def _config(page: Page, config: dict) -> None:
    page.section("Configuration (resolved, in short)")
    data, train, tile = config.get("data", {}), config.get("training", {}), config.get("chip", {}).get("tile", {})
    shown = ("dataset", "n_train", "n_test", "batch_size")
    rows = [["data", yaml_flow({k: data[k] for k in shown if data.get(k) is not None})],
            ["seed", config.get("seed")]]
    for i, block in enumerate(config.get("model", {}).get("blocks", [])):
        rows.append([f"model.blocks[{i}]", yaml_flow(block)])
    rows.append(["training", yaml_flow({k: train[k] for k in ("algorithm", "estimator", "beta", "loss", "epochs",
                                                              "optimizer", "schedule") if k in train})])
    rows.append(["chip.tile", f"{tile.get('rows')} × {tile.get('columns')} devices"])
    rows.append(["device", yaml_flow({k: v for k, v in tile.get("device", {}).items() if v not in (0, 0.0, None)})])
    for name in CONVERTERS:
        conv = tile.get(name, {})
        rows.append([name, "ideal" if conv.get("ideal", True) else
                     yaml_flow({k: conv[k] for k in ("bits", "range", "noise_lsb", "offset_lsb") if k in conv})])
    if config.get("chip", {}).get("tiles"):
        rows.append(["per-tile overrides", yaml_flow(config["chip"]["tiles"])])
    page.table(["", "value"], [[k, str(v)] for k, v in rows], css="text")


def _health(page: Page, groups: dict) -> None:
    health = groups.get("health", []) + [item for item in groups.get("summary", []) if HEALTH.search(item[0])]
    if health:
        page.section("Health")
        page.open_box("health")
        page.table(["quantity", "value", "description"], _rows(health), css="text")
        page.close_box()
    if "summary" in groups:
        page.section("Summary")
        page.table(["quantity", "value", "description"], _rows(groups["summary"]), css="text")


def _training(page: Page, metrics: dict, steps: dict, names: list[str]) -> None:
    if not metrics:
        return
    page.section("Training")
    epochs = len(metrics["train_loss"])
    per_epoch = steps["step"][-1] / epochs if len(steps.get("step", [])) else 1.0
    x_epochs = per_epoch * np.arange(1, epochs + 1)
    loss = Panel("", "training step (batch)", "loss per sample", width=440, height=270)
    acc = Panel("", "training step (batch)", "accuracy (%)", width=440, height=270)
    if len(steps.get("step", [])):
        loss.line(steps["step"], steps["loss"], label="train (window mean)")
        acc.line(steps["step"], 100 * steps["accuracy"], label="train (window mean)")
    loss.line(x_epochs, metrics["test_loss"], COLOURS["orange"], "test, per epoch", markers=True)
    acc.line(x_epochs, 100 * metrics["test_accuracy"], COLOURS["orange"], "test, per epoch", markers=True)
    page.panels([loss.svg(), acc.svg()], f"loss and accuracy against training steps ({epochs} epoch(s), "
                                         f"{int(per_epoch)} steps each); test figures after every evaluated epoch")
    page.table(["epoch", "train loss", "train accuracy (%)", "test loss", "test accuracy (%)", "time (s)"],
               [[e + 1, f"{metrics['train_loss'][e]:.4f}", f"{100 * metrics['train_accuracy'][e]:.2f}",
                 f"{metrics['test_loss'][e]:.4f}", f"{100 * metrics['test_accuracy'][e]:.2f}",
                 f"{metrics['epoch_seconds'][e]:.1f}"] for e in range(epochs)])
    cosines = np.atleast_2d(metrics.get("ep_id_cosine_per_tensor", np.empty((0, 0))))
    if cosines.size and names:
        low = min(0.0, float(np.nanmin(cosines)))
        if len(cosines) == 1:  # one epoch: a bar per tensor, not a column of dots
            panel = Panel("", "cosine(EP, ID) after epoch 1", "", width=880, height=40 + 24 * len(names),
                          left=int(12 + 5.2 * max(map(len, names))))
            panel.hbars(cosines[0], names)
            panel.x_range += [low, 1.1]
        else:
            panel = Panel("", "epoch", "cosine(EP, ID)", width=880, height=270)
            panel.x_integer = True
            for column, name in enumerate(names):
                epochs_axis = np.arange(1, len(cosines) + 1)
                colour = CYCLE[column % len(CYCLE)]
                panel.line(epochs_axis, cosines[:, column], colour, name)
                panel.line(epochs_axis, cosines[:, column], colour, markers=True)
            panel.y_range += [low, 1.02]
        page.panels([panel.svg()], "EP against implicit differentiation per analog tensor, after every epoch "
                                   "(as configured: converters and noise included)", columns=1)

"""DIR/report.html of a run: the resolved config in short, the run's health, training curves, EP-vs-ID
cosine over training, energy / latency (/ area) per component and phase, and per-tile pictures.

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

from cosim.chip.ledger import INFERENCE_PHASES
from cosim.config import yaml_flow
from cosim.report import tiles as tile_figures
from cosim.report.figures import grid, log_floor, png, si, si_axis
from cosim.report.html import Page
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
        energy = {k: v[()] for k, v in f["energy"].items() if isinstance(v, h5py.Dataset)} if "energy" in f else {}
        energy.update(f["energy"].attrs if "energy" in f else {})
        names = [n.decode() for n in f["gradcheck/names"][()]] if "gradcheck/names" in f else []
    page = Page(f"cosim run {out.name}", f"{out.resolve()}")
    _config(page, config)
    _health(page, groups)
    _training(page, metrics, steps, names)
    if energy:
        _energy(page, energy)
    if "area" in groups:
        page.section("Area")
        page.table(["quantity", "value", "description"], _rows(groups["area"]), css="text")
    for tile in tiles or []:
        page.section(f"Tile {tile.id} (model.blocks[{tile.block_index}])")
        for caption, image in tile_figures.figures(tile):
            page.figure(image, caption)
    return page.write(out / REPORT)


def _items(group: h5py.Group, prefix: str = "") -> list[tuple[str, object, str, str]]:
    """(name, value, units, description) of every attribute and dataset under ``group``, nested names
    joined by '/'."""
    items = []
    for key, value in group.attrs.items():
        items.append((prefix + key, value, *units_of(key)))
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            items += _items(item, f"{prefix}{key}/")
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
            shown = si(scalar, units) if isinstance(scalar, float) else f"{scalar}{'' if units in ('', '1') else ' ' + units}"
        else:
            shown = ", ".join(si(float(v), units) for v in value.ravel()[:8]) + (" …" if value.size > 8 else "")
        rows.append([name, shown, description])
    return rows


def _config(page: Page, config: dict) -> None:
    page.section("Configuration (resolved, in short)")
    data, train, tile = config.get("data", {}), config.get("training", {}), config.get("chip", {}).get("tile", {})
    rows = [["data", yaml_flow({k: data[k] for k in ("dataset", "batch_size") if k in data})],
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
    fig, (loss, acc) = grid(2, columns=2, height=3.0)
    if len(steps.get("step", [])):
        loss.plot(steps["step"], steps["loss"], label="train (window mean)")
        acc.plot(steps["step"], 100 * steps["accuracy"], label="train (window mean)")
    loss.plot(x_epochs, metrics["test_loss"], "o", label="test, per epoch")
    acc.plot(x_epochs, 100 * metrics["test_accuracy"], "o", label="test, per epoch")
    loss.set(xlabel="training step (batch)", ylabel="loss per sample")
    acc.set(xlabel="training step (batch)", ylabel="accuracy (%)")
    for ax in (loss, acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    page.figure(png(fig), f"loss and accuracy against training steps ({epochs} epoch(s), "
                          f"{int(per_epoch)} steps each); test figures after every evaluated epoch")
    page.table(["epoch", "train loss", "train accuracy (%)", "test loss", "test accuracy (%)", "time (s)"],
               [[e + 1, f"{metrics['train_loss'][e]:.4f}", f"{100 * metrics['train_accuracy'][e]:.2f}",
                 f"{metrics['test_loss'][e]:.4f}", f"{100 * metrics['test_accuracy'][e]:.2f}",
                 f"{metrics['epoch_seconds'][e]:.1f}"] for e in range(epochs)])
    cosines = np.atleast_2d(metrics.get("ep_id_cosine_per_tensor", np.empty((0, 0))))
    if cosines.size and names:
        fig, (ax,) = grid(1, columns=1, height=3.0)
        for column, name in enumerate(names):
            ax.plot(np.arange(1, len(cosines) + 1), cosines[:, column], "o-", label=name)
        ax.set(xlabel="epoch", ylabel="cosine(EP, ID)", ylim=(min(0.0, np.nanmin(cosines)), 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        page.figure(png(fig), "EP against implicit differentiation per analog tensor, after every epoch "
                              "(as configured: converters and noise included)")


def _energy(page: Page, energy: dict) -> None:
    page.section("Energy and latency")
    components = [c.decode() for c in energy["components"]]
    phases = [p.decode() for p in energy["phases"]]
    table = np.asarray(energy["per_phase_J"])
    inference = table[:, [phases.index(p) for p in INFERENCE_PHASES if p in phases]].sum(axis=1)
    page.text(f"per training sample {si(float(table.sum()), 'J')}, per inference {si(float(inference.sum()), 'J')};"
              f" latency per training sample {si(float(np.sum(energy['latency_per_phase_s'])), 's')} "
              f"(averaged over {int(energy.get('samples', 0))} training samples)")
    page.table(["energy per training sample", *phases, "total", "per inference"],
               [[c, *(si(float(v), "J") for v in row), si(float(row.sum()), "J"), si(float(inf), "J")]
                for c, row, inf in zip(components, table, inference)]
               + [["latency", *(si(float(v), "s") for v in energy["latency_per_phase_s"]),
                   si(float(np.sum(energy["latency_per_phase_s"])), "s"), ""]])
    used = table.sum(axis=1) > 0
    fig, (heat, bars) = grid(2, columns=2, height=3.4)
    shown = np.where(table[used] > 0, table[used], np.nan)
    image = heat.imshow(np.log10(shown), aspect="auto", cmap="magma_r")
    for (i, j), value in np.ndenumerate(table[used]):
        if value > 0:
            heat.text(j, i, si(float(value), "J", 2), ha="center", va="center", fontsize=6.5,
                      color="white" if image.norm(np.log10(value)) > 0.6 else "black")
    heat.set_xticks(range(len(phases)), phases, rotation=30, ha="right", fontsize=8)
    heat.set_yticks(range(int(used.sum())), [c for c, u in zip(components, used) if u], fontsize=8)
    heat.set_title("per training sample (log colour)", fontsize=9)
    y = np.arange(int(used.sum()))
    bars.barh(y - 0.2, table[used].sum(axis=1), height=0.4, label="per training sample")
    bars.barh(y + 0.2, inference[used], height=0.4, label="per inference")
    bars.set_yticks(y, [c for c, u in zip(components, used) if u], fontsize=8)
    bars.invert_yaxis()
    bars.set_xscale("log")
    bars.set_xlim(left=log_floor(np.r_[table[used].sum(axis=1), inference[used]]))
    si_axis(bars.xaxis, "J")
    bars.legend(fontsize=7)
    bars.set_title("per component (log scale)", fontsize=9)
    fig.tight_layout()
    page.figure(png(fig), "energy per component and phase; log scales keep the small analog parts visible")

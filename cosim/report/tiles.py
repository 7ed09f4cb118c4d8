"""Per-tile pictures of a finished run: conductance heat maps and histograms (µS, stuck devices marked),
converter code histograms (with clip fractions and code utilisation) and node-voltage histograms against
the diode rails (mV), each tile in figures of fixed width whose panels wrap.

:func:`snapshot` takes what the figures need from the live chip (the runner calls it once, after
training); :func:`figures` turns it into PNGs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cosim.report.figures import grid, histogram, log_counts, png

BINS = 60
MAP_PIXELS = 128  # conductance maps: at most this many cells a side (block means)


@dataclass
class TileSnapshot:
    """One tile after training: conductances before/after (S) and stuck masks (-1 at g_min, +1 at g_max,
    None when no device is stuck) per crossbar; per converter bank its code counts and clipped conversions;
    per node layer the last training batch's free-phase voltages (V) and its rails (V, +-inf: none)."""

    id: int
    block_index: int
    before: list[np.ndarray]
    after: list[np.ndarray]
    stuck: list[np.ndarray | None]
    converters: dict[str, tuple[np.ndarray, int, int]]  # bank -> (code counts, clipped, conversions)
    voltages: list[np.ndarray]
    rails: list[tuple[float, float]]


def snapshot(chip, chain, before: list[np.ndarray]) -> list[TileSnapshot]:
    """What the report shows of every tile of ``chip`` (holding ``chain``'s analog blocks); ``before``: every
    crossbar's conductances at the start, in tile order (as :func:`cosim.runner.analog_conductances` lists
    them)."""
    before, tiles = iter(before), []
    for tile in chip.tiles:
        network = tile.network
        banks: dict[str, tuple[np.ndarray, int, int]] = {}
        for name, conv in tile.converters().items():
            bank = name.split(".")[0].replace("_", " ") + (f" ({name.split('.')[1]})" if "." in name else "")
            if conv.spec.ideal or not conv.conversions:
                continue
            counts, clipped, total = banks.get(bank, (0, 0, 0))
            banks[bank] = (counts + conv.code_counts, clipped + conv.saturated, total + conv.conversions)
        free = getattr(getattr(chain.blocks[tile.block_index], "block", None), "free", None)
        layers = free.layers[1:] if free is not None else []
        n_hidden = len(network.sizes) - 2
        rails = [(float(np.min(lo)), float(np.max(hi))) for lo, hi in zip(network.lower_rails, network.upper_rails)]
        rails += [(-np.inf, np.inf)] * (len(network.sizes) - 1 - n_hidden)
        tiles.append(TileSnapshot(
            tile.id, tile.block_index, [next(before) for _ in network.conductances],
            [np.array(g) for g in network.conductances],
            [None if d.stuck is None else d.stuck.copy() for d in tile.devices], banks,
            [np.array(v) for v in layers], rails))
    return tiles


def figures(tile: TileSnapshot) -> list[tuple[str, str]]:
    """(caption, base64 PNG) of a tile's figures: conductances, converters, node voltages."""
    out = [(f"tile {tile.id}: conductances per crossbar after training (µS; stuck devices marked) and their "
            "distribution before and after training", _conductances(tile))]
    if tile.converters:
        out.append((f"tile {tile.id}: codes of each converter bank over the run (log counts); clip: conversions "
                    "beyond the range; used: fraction of the codes ever produced", _converters(tile)))
    if tile.voltages:
        out.append((f"tile {tile.id}: node voltages of the last training batch (free phase) against the diode "
                    "rails", _voltages(tile)))
    return out


def block_means(values: np.ndarray, pixels: int) -> np.ndarray:
    """``values`` averaged over blocks so that neither side exceeds ``pixels`` (a map drawn ~150 px wide
    shows no more; drawing every device of a 512x256 crossbar took most of the report's time)."""
    rows, columns = (max(1, math.ceil(size / pixels)) for size in values.shape)
    n, m = values.shape[0] // rows * rows, values.shape[1] // columns * columns
    return values[:n, :m].reshape(n // rows, rows, m // columns, columns).mean(axis=(1, 3))


def _conductances(tile: TileSnapshot) -> str:
    fig, axes = grid(2 * len(tile.after), columns=4, height=2.6)
    for l, (g0, g1, stuck) in enumerate(zip(tile.before, tile.after, tile.stuck)):
        heat, hist = axes[2 * l], axes[2 * l + 1]
        n, m = g1.shape
        image = heat.imshow(1e6 * block_means(g1, MAP_PIXELS), aspect="auto", interpolation="nearest",
                            cmap="viridis", extent=(-0.5, m - 0.5, n - 0.5, -0.5))
        fig.colorbar(image, ax=heat, fraction=0.08)
        heat.set(title=f"crossbar {l} ({g1.shape[0]}×{g1.shape[1]}), µS", xlabel="column", ylabel="row")
        edges = 1e6 * np.linspace(min(g0.min(), g1.min()), max(g0.max(), g1.max()) * (1 + 1e-9), BINS + 1)
        histogram(hist, np.histogram(1e6 * g0, edges)[0], edges, label="before", color="tab:gray")
        histogram(hist, np.histogram(1e6 * g1, edges)[0], edges, label="after", color="tab:blue")
        if stuck is not None and stuck.any():
            rows, columns = np.nonzero(stuck)
            heat.scatter(columns, rows, s=1, c=np.where(stuck[rows, columns] > 0, "white", "red"), marker="s",
                         linewidths=0)
            histogram(hist, np.histogram(1e6 * g1[stuck != 0], edges)[0], edges, color="tab:red", fill=True,
                      alpha=0.6, label=f"stuck ({np.count_nonzero(stuck)})")
        log_counts(hist)
        hist.set(xlabel="conductance (µS)", ylabel="devices", title=f"crossbar {l}")
        hist.legend(fontsize=7)
    return png(fig)


def _converters(tile: TileSnapshot) -> str:
    fig, axes = grid(len(tile.converters), columns=4, height=2.2)
    for ax, (bank, (counts, clipped, total)) in zip(axes, tile.converters.items()):
        counts = np.asarray(counts)
        histogram(ax, counts, np.arange(len(counts) + 1) - 0.5, fill=True, color="tab:blue")
        log_counts(ax)
        ax.set_ylim(bottom=0.5)
        used = np.count_nonzero(counts) / len(counts)
        ax.set_title(f"{bank}\nclip {100 * clipped / total:.2g} %, used {100 * used:.0f} %", fontsize=9,
                     color="tab:red" if clipped / total > 0.01 else "black")
        ax.set(xlabel="code", ylabel="conversions")
    return png(fig)


def _voltages(tile: TileSnapshot) -> str:
    fig, axes = grid(len(tile.voltages), columns=4, height=2.2)
    for m, (ax, volts, (lo, hi)) in enumerate(zip(axes, tile.voltages, tile.rails), start=1):
        mv = 1e3 * volts.ravel()
        span = [x for x in (1e3 * lo, 1e3 * hi, mv.min(), mv.max()) if np.isfinite(x)]
        edges = np.linspace(min(span), max(span) + 1e-9, BINS + 1)
        histogram(ax, np.histogram(mv, edges)[0], edges, fill=True, color="tab:green")
        at_rails = np.mean((volts <= lo + 1e-6 * abs(lo)) | (volts >= hi - 1e-6 * abs(hi))) if np.isfinite(lo) else 0.0
        for rail in (lo, hi):
            if np.isfinite(rail):
                ax.axvline(1e3 * rail, color="tab:red", linestyle="--", linewidth=1)
        kind = "output" if m == len(tile.voltages) else "hidden"
        ax.set_title(f"layer {m} ({kind}): {100 * at_rails:.1f} % at rails", fontsize=9)
        ax.set(xlabel="node voltage (mV)", ylabel="nodes × samples")
    return png(fig)

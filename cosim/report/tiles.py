"""Per-tile pictures of a finished run: conductance heat maps and histograms (µS, stuck devices marked),
converter code histograms (with clip fractions and code utilisation) and node-voltage histograms against
the diode rails (mV), each tile in figures of fixed width whose panels wrap.

:func:`snapshot` takes what the figures need from the live chip (the runner calls it once, after
training); :func:`figures` turns it into SVG panels (:mod:`cosim.report.svg`; no matplotlib).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cosim.report import colours
from cosim.report.svg import COLOURS, Panel

BINS = 60
MAP_PIXELS = 128  # conductance maps: at most this many cells a side (block means)


@dataclass
class TileSnapshot:
    """One tile after training: conductances before/after (S) and stuck masks (-1 at g_min, +1 at g_max,
    None when no device is stuck) per crossbar; per converter bank its code counts and clipped conversions;
    per node layer the free-phase voltages (V) of the last batch solved and its rails (V, +-inf: none)."""

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


def figures(tile: TileSnapshot) -> list[tuple[str, list[str]]]:
    """(caption, SVG panels) of a tile's figures: conductances, converters, node voltages."""
    out = [(f"tile {tile.id}: conductances per crossbar after training (µS; blocks holding stuck devices marked: "
            "red at g_min, white at g_max) and their distribution before and after training", _conductances(tile))]
    if tile.converters:
        out.append((f"tile {tile.id}: codes of each converter bank over the run (log counts); clip: conversions "
                    "beyond the range; used: fraction of the codes ever produced", _converters(tile)))
    if tile.voltages:
        out.append((f"tile {tile.id}: node voltages of the last batch the run solved (free phase; after training: "
                    "the gradient check's) against the diode rails", _voltages(tile)))
    return out


def _blocks(values: np.ndarray, pixels: int) -> tuple[np.ndarray, tuple[int, int]]:
    """``values`` cut to whole blocks and reshaped (n, rows, m, columns) so that neither n nor m exceeds
    ``pixels``; the block size."""
    rows, columns = (max(1, math.ceil(size / pixels)) for size in values.shape)
    n, m = values.shape[0] // rows * rows, values.shape[1] // columns * columns
    return values[:n, :m].reshape(n // rows, rows, m // columns, columns), (rows, columns)


def block_means(values: np.ndarray, pixels: int) -> np.ndarray:
    """``values`` averaged over blocks so that neither side exceeds ``pixels`` (a map drawn ~150 px wide
    shows no more; drawing every device of a 512x256 crossbar took most of the report's time)."""
    return _blocks(values, pixels)[0].mean(axis=(1, 3))


def conductance_map(g: np.ndarray, stuck: np.ndarray | None) -> tuple[np.ndarray, tuple[float, float]]:
    """The picture of a crossbar's conductances (S): block means in µS on viridis, blocks holding a device
    stuck at g_min red and at g_max white; and its colour range (µS)."""
    shown = 1e6 * block_means(g, MAP_PIXELS)
    low, high = float(shown.min()), float(shown.max())
    pixels = colours.rgb((shown - low) / ((high - low) or 1.0))
    if stuck is not None and stuck.any():
        blocks = _blocks(stuck, MAP_PIXELS)[0]
        pixels[(blocks > 0).any(axis=(1, 3))] = 255
        pixels[(blocks < 0).any(axis=(1, 3))] = (214, 39, 40)
    return pixels, (low, high)


def _conductances(tile: TileSnapshot) -> list[str]:
    panels = []
    for l, (g0, g1, stuck) in enumerate(zip(tile.before, tile.after, tile.stuck)):
        n, m = g1.shape
        heat = Panel(f"crossbar {l} ({n}×{m}), µS", "column", "row")
        pixels, scale = conductance_map(g1, stuck)
        heat.image(pixels, n, m, scale, "µS")
        hist = Panel(f"crossbar {l}", "conductance (µS)", "devices", ylog=True)
        edges = 1e6 * np.linspace(min(g0.min(), g1.min()), max(g0.max(), g1.max()) * (1 + 1e-9), BINS + 1)
        hist.stairs(np.histogram(1e6 * g0, edges)[0], edges, COLOURS["grey"], label="before")
        hist.stairs(np.histogram(1e6 * g1, edges)[0], edges, COLOURS["blue"], label="after")
        if stuck is not None and stuck.any():
            hist.stairs(np.histogram(1e6 * g1[stuck != 0], edges)[0], edges, COLOURS["red"], fill=True, opacity=0.6,
                        label=f"stuck ({np.count_nonzero(stuck)})")
        panels += [heat.svg(), hist.svg()]
    return panels


def _converters(tile: TileSnapshot) -> list[str]:
    panels = []
    for bank, (counts, clipped, total) in tile.converters.items():
        counts = np.asarray(counts)
        used = np.count_nonzero(counts) / len(counts)
        panel = Panel(f"{bank}\nclip {100 * clipped / total:.2g} %, used {100 * used:.0f} %", "code", "conversions",
                      ylog=True, title_colour=COLOURS["red"] if clipped / total > 0.01 else "black")
        panel.y_floor = 0.5
        panel.stairs(counts, np.arange(len(counts) + 1) - 0.5, fill=True)
        panels.append(panel.svg())
    return panels


def _voltages(tile: TileSnapshot) -> list[str]:
    panels = []
    for m, (volts, (lo, hi)) in enumerate(zip(tile.voltages, tile.rails), start=1):
        mv = 1e3 * volts.ravel()
        span = [x for x in (1e3 * lo, 1e3 * hi, mv.min(), mv.max()) if np.isfinite(x)]
        edges = np.linspace(min(span), max(span) + 1e-9, BINS + 1)
        at_rails = np.mean((volts <= lo + 1e-6 * abs(lo)) | (volts >= hi - 1e-6 * abs(hi))) if np.isfinite(lo) else 0.0
        kind = "output" if m == len(tile.voltages) else "hidden"
        panel = Panel(f"layer {m} ({kind}): {100 * at_rails:.1f} % at rails", "node voltage (mV)", "nodes × samples")
        panel.stairs(np.histogram(mv, edges)[0], edges, COLOURS["green"], fill=True)
        for rail in (lo, hi):
            if np.isfinite(rail):
                panel.vline(1e3 * rail)
        panels.append(panel.svg())
    return panels

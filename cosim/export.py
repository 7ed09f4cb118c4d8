"""Export a trained chip for programming a real one — what `cosim export` calls — and load it back.

Per analog tile (named by its tile id, as everywhere: ``chip.placements``) ``DIR/tile<t>.npz`` and one CSV
per array in ``DIR/tile<t>/`` (first row: column labels with units); the blocks that are not on analog tiles
(digital and Hopfield blocks) in ``DIR/blocks.npz``; ``DIR/README.md`` (generated) explains units, shapes
and layout. The chip is taken in the state the run's last test evaluation saw (:mod:`cosim.evaluate`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cosim.chip.tile import array_grid
from cosim.results import SavedRun, atomic_write
from cosim.runner import Session

#: per-crossbar arrays of a tile: name pattern (l: crossbar), unit, meaning
CROSSBAR_ARRAYS = {
    "target_conductances_S.{}": ("S", "the optimiser's targets of the last programming (what was written)"),
    "held_conductances_S.{}": ("S", "what the devices hold (programming noise, levels, variability, stuck)"),
    "stuck.{}": ("1", "-1: stuck at g_min_S, +1: stuck at g_max_S, 0: programmable"),
    "variability_gain.{}": ("1", "static device-to-device gain on what a device holds (1: none)"),
}
#: per-layer arrays of a tile: name pattern (m: layer m + 1), unit, meaning
LAYER_ARRAYS = {
    "bias_currents_A.{}": ("A", "bias current source at every node of layer m + 1 (the last: output layer)"),
    "lower_rail_V.{}": ("V", "lower diode rail of every node of hidden layer m + 1"),
    "upper_rail_V.{}": ("V", "upper diode rail of every node of hidden layer m + 1"),
}
CONVERTER_COLUMNS = ("converter", "kind", "unit", "ideal", "bits", "range", "lo", "hi", "levels")


def tile_arrays(session: Session, tile) -> dict[str, np.ndarray]:
    """The arrays of one tile by their export names (see :data:`CROSSBAR_ARRAYS`, :data:`LAYER_ARRAYS`)."""
    net = tile.network
    arrays = {}
    for l, (devices, held) in enumerate(zip(tile.devices, tile.held_conductances())):
        target = tile.targets[l] if tile.targets[l] is not None else held
        arrays[f"target_conductances_S.{l}"] = np.asarray(target)
        arrays[f"held_conductances_S.{l}"] = np.asarray(held)
        arrays[f"stuck.{l}"] = np.zeros(devices.shape, np.int8) if devices.stuck is None else devices.stuck
        arrays[f"variability_gain.{l}"] = np.ones(devices.shape) if devices.gain is None else devices.gain
    for m, bias in enumerate(net.biases):
        arrays[f"bias_currents_A.{m}"] = np.asarray(bias)
    for m, (lo, hi) in enumerate(zip(net.lower_rails, net.upper_rails)):
        width = net.sizes[m + 1]
        arrays[f"lower_rail_V.{m}"] = np.broadcast_to(lo, (width,)).astype(float)
        arrays[f"upper_rail_V.{m}"] = np.broadcast_to(hi, (width,)).astype(float)
    return arrays


def converter_rows(tile) -> list[tuple]:
    """One row per converter of the tile (see :data:`CONVERTER_COLUMNS`); lo/hi NaN when never calibrated."""
    rows = []
    for name, converter in tile.converters().items():
        kind = "dac" if name.endswith("dac") else "adc"
        unit = {"current_adc": "A", "nudge_dac": "1"}.get(name, "V")
        spec, nan = converter.spec, float("nan")
        rows.append((name, kind, unit, spec.ideal, spec.bits, spec.range,
                     nan if converter.lo is None else converter.lo, nan if converter.hi is None else converter.hi,
                     converter.levels))
    return rows


def export_chip(session: Session, run: SavedRun, out: Path) -> list[Path]:
    """Write the export of ``session`` (restored from ``run``) into ``out``; returns the files written."""
    out = Path(out)
    written = []
    for tile in session.chip.tiles:
        block = session.chain.blocks[tile.block_index]
        arrays = tile_arrays(session, tile)
        rows = converter_rows(tile)
        settings = {"block_index": tile.block_index, "input_scale": block.input_scale,
                    "duplicate_inputs": tile.network.duplicate_inputs, "g_min_S": block.g_min, "g_max_S": block.g_max,
                    "array_rows": tile.config.rows, "array_columns": tile.config.columns}
        npz = out / f"tile{tile.id}.npz"
        table = {f"converters.{c}": np.array([row[i] for row in rows]) for i, c in enumerate(CONVERTER_COLUMNS)}
        atomic_write(npz, lambda tmp: _save_npz(tmp, {**arrays, **table, **settings}))
        written.append(npz)
        folder = out / f"tile{tile.id}"
        for name, array in arrays.items():
            written.append(_write_csv(folder / f"{name}.csv", array, _unit(name)))
        written.append(_write_rows(folder / "converters.csv", CONVERTER_COLUMNS, rows))
        written.append(_write_rows(folder / "settings.csv", ("key", "value", "unit"),
                                   [(k, v, SETTING_UNITS[k]) for k, v in settings.items()]))
    blocks = {k: np.asarray(v) for k, v in session.chain.state().items() if ".analog." not in k}
    atomic_write(out / "blocks.npz", lambda tmp: _save_npz(tmp, blocks))
    written.append(out / "blocks.npz")
    atomic_write(out / "README.md", lambda tmp: tmp.write_text(readme(session, run)))
    written.append(out / "README.md")
    return written


SETTING_UNITS = {"block_index": "", "input_scale": "V per unit of block input", "duplicate_inputs": "",
                 "g_min_S": "S", "g_max_S": "S", "array_rows": "word lines per array",
                 "array_columns": "bit lines per array"}


def _unit(name: str) -> str:
    return {**CROSSBAR_ARRAYS, **LAYER_ARRAYS}[name.rsplit(".", 1)[0] + ".{}"][0]


def _save_npz(tmp: Path, arrays: dict) -> None:
    with open(tmp, "wb") as f:  # a file object: numpy would append .npz to a bare temporary name
        np.savez(f, **arrays)


def _write_csv(path: Path, array: np.ndarray, unit: str) -> Path:
    """A 1-D array as one column, a 2-D array as its rows; the first row labels the columns with the unit."""
    table = np.atleast_2d(array).T if array.ndim == 1 else array
    header = [f"value [{unit}]"] if array.ndim == 1 else [f"column {j} [{unit}]" for j in range(table.shape[1])]
    lines = [",".join(header)] + [",".join(repr(v.item()) for v in row) for row in table]
    atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))
    return path


def _write_rows(path: Path, columns: tuple, rows: list[tuple]) -> Path:
    lines = [",".join(columns)] + [",".join(str(v) for v in row) for row in rows]
    atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))
    return path


def load_export(session: Session, folder: Path) -> None:
    """Put an export into a freshly built ``session`` of the same config: the model's digital and Hopfield
    state, every tile's devices (held values, targets, stuck masks, gains), biases and converter ranges."""
    folder = Path(folder)
    with np.load(folder / "blocks.npz") as blocks:
        state = {k: np.array(v) for k, v in session.chain.state().items()}
        state.update({k: blocks[k] for k in blocks.files})
    tiles = {}
    for tile in session.chip.tiles:
        with np.load(folder / f"tile{tile.id}.npz") as data:
            tiles[tile.id] = {k: data[k] for k in data.files}
        block = session.chain.blocks[tile.block_index]
        for name in block.parameter_names:
            kind, index = name.split(".")
            source = "held_conductances_S" if kind == "conductances" else "bias_currents_A"
            state[f"block{tile.block_index}.analog.{name}"] = tiles[tile.id][f"{source}.{index}"] / block.g_max
    session.chain.load_state(state)
    for tile in session.chip.tiles:
        data, net = tiles[tile.id], tile.network
        held = [data[f"held_conductances_S.{l}"] for l in range(len(tile.devices))]
        for l, devices in enumerate(tile.devices):
            stuck, gain = data[f"stuck.{l}"], data[f"variability_gain.{l}"]
            devices.stuck = stuck if stuck.any() else None
            devices.gain = gain if devices.model.variability else None
            devices.restore(None if devices.model.is_ideal else np.array(held[l]))
            tile.targets[l] = data[f"target_conductances_S.{l}"]
        net.set_conductances(held)
        net.set_biases([data[f"bias_currents_A.{m}"] for m in range(len(net.biases))])
        for name, lo, hi in zip(data["converters.converter"], data["converters.lo"], data["converters.hi"]):
            converter = tile.converters()[str(name)]
            converter.lo, converter.hi = (None, None) if np.isnan(lo) else (float(lo), float(hi))


def readme(session: Session, run: SavedRun) -> str:
    """The generated README.md of an export: units, shapes and layout, with this chip's shapes."""
    lines = [f"# Chip export of run `{run.path.name}`", "",
             "Written by `cosim export` from the run's config.yaml and checkpoint.h5, in the state its last test",
             "evaluation saw. One tile per analog block, named by its tile id (`chip.mapping`).", "",
             "## Files", "",
             "* `tile<t>.npz`: every array below by name, plus `converters.<column>` (the converter table) and the",
             "  settings (`block_index`, `input_scale`, `duplicate_inputs`, `g_min_S`, `g_max_S`, `array_rows`,",
             "  `array_columns`);",
             "* `tile<t>/<array>.csv`: one CSV per array; its first row labels the columns with the unit;",
             "* `tile<t>/converters.csv`, `tile<t>/settings.csv`: converters and scalar settings as tables;",
             "* `blocks.npz`: parameters and batch-norm statistics of the blocks not on analog tiles (digital and",
             "  Hopfield blocks), by chain name `block<i>.<kind>.<name>` as in checkpoint.h5.", "",
             "## Layout", "",
             "Crossbar `l` of a tile connects node layer `l` (rows) to node layer `l + 1` (columns): entry `[i, j]`",
             "is the device between input-side node `i` and output-side node `j`. Layer 0 holds the input nodes;",
             "with `duplicate_inputs` it has 2 x (block inputs) nodes, rows `0..n-1` driven by `+input_scale * x`",
             "and rows `n..2n-1` by `-input_scale * x` (V). Layers `1..L-1` are hidden (diodes to the rails),",
             "layer `L` the outputs. Per-layer arrays with index `m` belong to layer `m + 1`.", "",
             "A crossbar larger than one physical array (`array_rows` x `array_columns` devices) is partitioned",
             "over several, filled in order: array `(p, q)` holds rows `p*array_rows ...` and columns",
             "`q*array_columns ...` of the crossbar (the last ones may be partly used). Each array has its own",
             "word-line drivers and bit-line sense ends; every array's row `i` is driven by the same node `i`, and",
             "every array's column `j` is sensed by the same node `j` (one converter per node, not per array).", "",
             "| array | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{name.format('l')}` | {unit} | {meaning} |" for name, (unit, meaning) in CROSSBAR_ARRAYS.items()]
    lines += [f"| `{name.format('m')}` | {unit} | {meaning} |" for name, (unit, meaning) in LAYER_ARRAYS.items()]
    lines += ["", "Converters (`converters.csv`): `kind` adc or dac, `unit` of the converted quantity (V, A, or 1 for",
              "the nudge DACs, which convert the loss gradient before it is scaled into the nudge current),",
              "`ideal` (pass-through), `bits`, `range` (fixed or calibrated), `lo`/`hi` the range in that unit (NaN:",
              "never calibrated), `levels` (fixed: 2^bits - 1 symmetric levels; calibrated: 2^bits levels). `node_adc.<r>.<m>`",
              "reads layer `m + 1` (`r`: a/b phase, difference or sum of the two phases).", "",
              "## This chip", "", "| tile | model block | node layers | crossbars | arrays (rows x columns of arrays) |",
              "|---|---|---|---|---|"]
    for tile in session.chip.tiles:
        sizes = tile.network_sizes
        shapes = ", ".join(f"{a} x {b}" for a, b in zip(sizes[:-1], sizes[1:]))
        grid = array_grid(sizes, tile.config.rows, tile.config.columns)
        arrays = f"{sum(p * q for p, q in grid)} of {tile.config.rows} x {tile.config.columns}: " + \
            ", ".join(f"{p} x {q}" for p, q in grid)
        lines.append(f"| {tile.id} | {tile.block_index} | {' -> '.join(map(str, sizes))} | {shapes} | {arrays} |")
    return "\n".join(lines) + "\n"

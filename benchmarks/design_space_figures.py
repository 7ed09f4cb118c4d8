"""Table and Pareto figure of docs/design_space.md, read from a finished `cosim sweep` of
chip_configs/sweep_design_space.yaml (array size x ADC bits x wire resistance).

    cosim sweep chip_configs/sweep_design_space.yaml --out runs/design_space --workers 1     # the study
    python benchmarks/design_space_figures.py --sweep runs/design_space    # table; docs/design_space_pareto.png
    python benchmarks/design_space_figures.py --quick --sweep /tmp/ds --figure /tmp/ds.png  # tiny synthetic sweep

Per grid point, the mean over its seeds (± half their range for accuracy) of: test accuracy; energy per training
sample and per inference (chip total, and the analog tile's share: DACs, ADCs, devices, wires, programming);
latency per training sample and per inference; the area of the tile's arrays, of the tile and of the chip. All from each run's results.h5.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cosim.chip.tile import array_grid  # noqa: E402
from cosim.config import load_config  # noqa: E402
from cosim.results import read_results  # noqa: E402
from cosim.sweep import run_sweep  # noqa: E402
from cosim.sweep.aggregate import collect  # noqa: E402
from cosim.sweep.run import point_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ANALOG = ("dac", "adc", "crossbar", "wires", "programming")  # the analog tile's components in the ledger
INFERENCE = ("free", "digital_forward")  # cosim.chip.ledger.INFERENCE_PHASES
KEYS = {"rows": "chip.tile.rows", "columns": "chip.tile.columns", "bits": "chip.tile.node_adc.bits",
        "ohm": "chip.tile.wires.word_segment_ohm"}
QUICK = ["data.dataset=synthetic", "data.n_train=96", "data.n_test=48", "model.blocks.0.ops.0.out_features=8",
         "model.blocks.1.hidden=[8]", "sweep.seeds=[0]",
         "sweep.axes=[{name: array, values: {chip.tile.rows: [8], chip.tile.columns: [4]}}, "
         "{name: adc_bits, values: {chip.tile.output_adc.bits: [8, 4], chip.tile.node_adc.bits: [8, 4], "
         "chip.tile.current_adc.bits: [8, 4]}}, "
         "{name: ohm, values: {chip.tile.wires.word_segment_ohm: [0.0, 30.0], "
         "chip.tile.wires.bit_segment_ohm: [0.0, 30.0]}}]"]


def measure(run: Path) -> dict[str, float]:
    """The figures of one finished run (SI units)."""
    r = read_results(run / "results.h5")
    energy, area = r["energy"], r["area"]
    components = [c.decode() for c in energy["components"]]
    phases = [p.decode() for p in energy["phases"]]
    table = np.asarray(energy["per_phase_J"])
    analog = [components.index(c) for c in ANALOG]
    inference = [phases.index(p) for p in INFERENCE]
    block = r["parameters"]["block1"]  # the resistive block: conductances_S.0, .1, ... (layer l to l + 1)
    shapes = [block[f"conductances_S.{l}"].shape for l in range(len(block)) if f"conductances_S.{l}" in block]
    return {
        "accuracy": float(r["summary"]["final_test_accuracy"]),
        "train_J": float(energy["total_per_training_sample_J"]),
        "train_analog_J": float(table[analog].sum()),
        "infer_J": float(energy["total_per_inference_J"]),
        "infer_analog_J": float(table[np.ix_(analog, inference)].sum()),
        "train_s": float(energy["latency_per_training_sample_s"]),
        "infer_s": float(energy["latency_per_inference_s"]),
        "tile_m2": float(area["tile0"]["total"]),
        "arrays_m2": float(area["tile0"]["crossbar"]),
        "chip_m2": float(area["total_m2"]),
        "sizes": [shapes[0][0], *(s[1] for s in shapes)],
    }


def points(config, out: Path) -> list[dict]:
    """One entry per grid point: its axis values and the seeds' figures (mean; accuracy also min and max)."""
    grid: dict[tuple, list[dict]] = {}
    for row in collect(config, out):
        if row.status != "done":
            continue
        settings = row.point.settings
        grid.setdefault(row.point.index, []).append(
            {**{name: settings[key] for name, key in KEYS.items()}, **measure(point_dir(out, row.point))})
    entries = []
    for runs in grid.values():
        entry = {key: value for key, value in runs[0].items() if key in KEYS or key == "sizes"}
        for key in runs[0]:
            if key not in entry:
                entry[key] = float(np.mean([run[key] for run in runs]))
        accuracies = [run["accuracy"] for run in runs]
        entry.update(seeds=len(runs), spread=(max(accuracies) - min(accuracies)) / 2)
        entry["arrays"] = sum(a * d for a, d in array_grid(entry["sizes"], entry["rows"], entry["columns"]))
        entries.append(entry)
    return entries


def si(value: float, unit: str) -> str:
    """``value`` with an SI prefix, three significant digits (2.48 µJ)."""
    if value == 0:
        return f"0 {unit}"
    exponent = int(np.clip(np.floor(np.log10(abs(value)) / 3), -5, 2))
    return f"{value / 10.0 ** (3 * exponent):.3g} {'fpnµm kM'[exponent + 5].strip()}{unit}"


def table(entries: list[dict]) -> str:
    """The Markdown table of docs/design_space.md."""
    lines = ["| array | arrays | ADC bits | wire Ω/cell | test accuracy | energy/training sample (analog tile) "
             "| energy/inference (analog tile) | latency training / inference | arrays area | tile area | chip area |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        lines.append(
            f"| {e['rows']}×{e['columns']} | {e['arrays']} | {e['bits']} | {e['ohm']:g} "
            f"| {100 * e['accuracy']:.1f} ± {100 * e['spread']:.1f} % "
            f"| {si(e['train_J'], 'J')} ({si(e['train_analog_J'], 'J')}) "
            f"| {si(e['infer_J'], 'J')} ({si(e['infer_analog_J'], 'J')}) "
            f"| {si(e['train_s'], 's')} / {si(e['infer_s'], 's')} "
            f"| {e['arrays_m2'] * 1e12:.0f} µm² | {e['tile_m2'] * 1e6:.3f} mm² | {e['chip_m2'] * 1e6:.2f} mm² |")
    return "\n".join(lines)


def pareto(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats (lower x and higher y), by increasing x."""
    order = np.lexsort((-y, x))
    front, best = [], -np.inf
    for i in order:
        if y[i] > best:
            front.append(i)
            best = y[i]
    return np.asarray(front)


def figure(entries: list[dict], path: Path) -> None:
    """Accuracy against the analog tile's energy per training sample, per inference and the tile area; marker:
    array size, colour: ADC bits, filled: wire-free, open: with wires; line: the Pareto front."""
    panels = [("train_analog_J", 1e9, "analog-tile energy per training sample (nJ)"),
              ("infer_analog_J", 1e9, "analog-tile energy per inference (nJ)"),
              ("tile_m2", 1e6, "tile area (mm²)")]
    arrays = sorted({(e["rows"], e["columns"]) for e in entries}, reverse=True)
    bits = sorted({e["bits"] for e in entries})
    colours = dict(zip(bits, plt.cm.viridis(np.linspace(0.1, 0.85, len(bits)))))
    markers = dict(zip(arrays, "osD^v"))
    y = np.array([100 * e["accuracy"] for e in entries])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 1.5, 4.2), sharey=True)
    for ax, (key, scale, label) in zip(axes, panels):
        x = np.array([scale * e[key] for e in entries])
        for e, xi, yi in zip(entries, x, y):
            colour = colours[e["bits"]]
            ax.errorbar(xi, yi, yerr=100 * e["spread"], fmt=markers[e["rows"], e["columns"]], ms=7, capsize=2,
                        color=colour, mfc=colour if e["ohm"] == 0 else "white", mew=1.5)
        front = pareto(x, y)
        ax.step(x[front], y[front], where="post", color="tab:red", lw=1, label="Pareto front")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    handles = [plt.Line2D([], [], ls="", marker=markers[a], color="grey", label=f"array {a[0]}×{a[1]}")
               for a in arrays]
    handles += [plt.Line2D([], [], ls="", marker="s", color=colours[b], label=f"ADC {b} bit") for b in bits]
    handles += [plt.Line2D([], [], ls="", marker="o", color="k", label="0 Ω (filled)"),
                plt.Line2D([], [], ls="", marker="o", color="k", mfc="white", label="with wires (open)"),
                plt.Line2D([], [], color="tab:red", label="Pareto front")]
    fig.legend(handles=handles, fontsize=8, loc="center right")
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "chip_configs" / "sweep_design_space.yaml")
    parser.add_argument("--sweep", type=Path, default=ROOT / "runs" / "design_space", help="the sweep's --out")
    parser.add_argument("--figure", type=Path, default=ROOT / "docs" / "design_space_pareto.png")
    parser.add_argument("--quick", action="store_true", help="run a tiny synthetic sweep first (smoke run)")
    args = parser.parse_args(argv)
    config = load_config(args.config, QUICK if args.quick else [])
    if args.quick:
        run_sweep(config, args.sweep, workers=0, resume=args.sweep.exists(), progress=False)
    entries = points(config, args.sweep)
    if not entries:
        parser.error(f"no finished point in {args.sweep}: run `cosim sweep {args.config} --out {args.sweep}` first")
    print(table(entries))
    figure(entries, args.figure)
    print(f"figure: {args.figure}")
    return entries


if __name__ == "__main__":
    main()

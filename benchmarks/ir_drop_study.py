"""The IR-drop study of docs/ir_drop.md: array size x wire resistance, in situ and ex situ, from one config.

    python benchmarks/ir_drop_study.py --out runs/ir_drop_study [--config chip_configs/sweep_ir_drop.yaml]
    python benchmarks/ir_drop_study.py --out /tmp/study --quick     # a tiny synthetic smoke run

1. In situ: `cosim sweep` of the config (every grid point trained with EP through its wires), serially.
2. Ex situ: every 0-ohm run (trained with ideal wires) re-read through each nonzero wire resistance on its own
   array size (`cosim eval RUN --set chip.tile.wires.word_segment_ohm=R --set ...bit_segment_ohm=R`, the same
   programmed devices).
3. Prints one Markdown table: per array size and resistance, in-situ test accuracy, EP-vs-ID cosine (mean over
   the analog tensors, the run's end-of-training gradcheck), energy per training sample (total, devices,
   wires) and training time, and the ex-situ test accuracy. Resumes a half-finished sweep.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import h5py
import numpy as np

from cosim.chip.tile import array_grid
from cosim.config import load_config
from cosim.evaluate import evaluate_run
from cosim.results import read_run
from cosim.sweep import run_sweep
from cosim.sweep.run import point_dir

ROOT = Path(__file__).resolve().parents[1]
WIRES = ("chip.tile.wires.word_segment_ohm", "chip.tile.wires.bit_segment_ohm")
QUICK = ["data.dataset=synthetic", "data.n_train=120", "data.n_test=60", "model.blocks.0.ops.0.out_features=8",
         "model.blocks.1.hidden=[8]",
         "sweep.axes=[{name: array, values: {chip.tile.rows: [16, 4], chip.tile.columns: [8, 4]}}, "
         "{name: ohm, values: {chip.tile.wires.word_segment_ohm: [0.0, 30.0], "
         "chip.tile.wires.bit_segment_ohm: [0.0, 30.0]}}]"]


def _energy(run: Path) -> dict[str, float]:
    """Energy per training sample (J: total, devices, wires) and the first crossbar's shape."""
    with h5py.File(run / "results.h5") as f:
        parts = dict(f["energy/per_component_J"].attrs)
        return {"total": float(f["energy"].attrs["total_per_training_sample_J"]),
                "crossbar": float(parts["crossbar"]), "wires": float(parts["wires"]),
                "shape": f["parameters/block1/conductances_S.0"].shape}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "chip_configs" / "sweep_ir_drop.yaml")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="a tiny synthetic grid, for a smoke run")
    args = parser.parse_args(argv)
    config = load_config(args.config, QUICK if args.quick else [])
    rows = run_sweep(config, args.out, workers=0, resume=args.out.exists(), progress=False)
    trained_ideal = {}  # (array, seed) -> the run trained with ideal wires
    for row in rows:
        s = row.point.settings
        if s[WIRES[0]] == 0:
            trained_ideal[(s["chip.tile.rows"], s["chip.tile.columns"]), row.point.seed] = \
                read_run(point_dir(args.out, row.point))
    runs = []
    for row in rows:
        s = row.point.settings
        array, ohm = (s["chip.tile.rows"], s["chip.tile.columns"]), s[WIRES[0]]
        m = row.metrics
        ex_situ = float("nan")
        if ohm and (array, row.point.seed) in trained_ideal:
            ideal = trained_ideal[array, row.point.seed]
            ex_situ = float(evaluate_run(ideal, [f"{key}={ohm}" for key in WIRES]).accuracy[0])
        record = {"array": array, "ohm": ohm, "in_situ": m["final_test_accuracy"], "ex_situ": ex_situ,
                  "cosine": m["ep_id_cosine"], "seconds": m["training_seconds"], "status": row.status}
        if row.status == "done":
            record.update(_energy(point_dir(args.out, row.point)))
        runs.append(record)
    table = _over_seeds(runs)
    n_seeds = len({row.point.seed for row in rows})
    print(f"mean over {n_seeds} seed(s), accuracy ± half the seeds' range")
    print("| array (rows x columns) | arrays for the first crossbar | r (ohm/cell) | in-situ test acc. | "
          "ex-situ test acc. | EP-ID cosine (min) | energy/sample | devices | wires | training s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        count = "-" if "shape" not in r else np.prod(array_grid(r["shape"] + (1,), *r["array"])[0])
        energy = " | ".join(f"{r[k] / scale:.1f} {unit}" if k in r else "-"
                            for k, scale, unit in (("total", 1e-9, "nJ"), ("crossbar", 1e-12, "pJ"),
                                                   ("wires", 1e-12, "pJ")))
        print(f"| {r['array'][0]} x {r['array'][1]} | {count} | {r['ohm']:g} | {_percent(r['in_situ'])} | "
              f"{_percent(r['ex_situ'])} | {r['cosine']:.6f} | {energy} | {r['seconds']:.1f} |")
    return table


def _over_seeds(runs: list[dict]) -> list[dict]:
    """One record per (array, ohm): accuracies as (mean, half range) over seeds, the lowest cosine, other
    numbers averaged."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        groups.setdefault((run["array"], run["ohm"]), []).append(run)
    table = []
    for (array, ohm), group in groups.items():
        record = {"array": array, "ohm": ohm, "cosine": min(r["cosine"] for r in group)}
        for key in ("in_situ", "ex_situ"):
            values = np.array([r[key] for r in group], dtype=float)
            record[key] = (values.mean(), (values.max() - values.min()) / 2)
        for key in ("seconds", "total", "crossbar", "wires"):
            if all(key in r for r in group):
                record[key] = float(np.mean([r[key] for r in group]))
        if "shape" in group[0]:
            record["shape"] = group[0]["shape"]
        table.append(record)
    return table


def _percent(value: tuple[float, float]) -> str:
    mean, half_range = value
    return "-" if mean != mean else f"{100 * mean:.1f} ± {100 * half_range:.1f} %"


if __name__ == "__main__":
    main()

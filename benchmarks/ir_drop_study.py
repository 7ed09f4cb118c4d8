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
    trained_ideal = {}
    for row in rows:
        s = row.point.settings
        if s[WIRES[0]] == 0:
            trained_ideal[s["chip.tile.rows"], s["chip.tile.columns"]] = read_run(point_dir(args.out, row.point))
    table = []
    for row in rows:
        s = row.point.settings
        array, ohm = (s["chip.tile.rows"], s["chip.tile.columns"]), s[WIRES[0]]
        m = row.metrics
        ex_situ = float("nan")
        if ohm and array in trained_ideal:
            ex_situ = float(evaluate_run(trained_ideal[array], [f"{key}={ohm}" for key in WIRES]).accuracy[0])
        record = {"array": array, "ohm": ohm, "in_situ": m["final_test_accuracy"], "ex_situ": ex_situ,
                  "cosine": m["ep_id_cosine"], "seconds": m["training_seconds"], "status": row.status}
        if row.status == "done":
            record.update(_energy(point_dir(args.out, row.point)))
        table.append(record)
    print("| array (rows x columns) | arrays for the first crossbar | r (ohm/cell) | in-situ test acc. | "
          "ex-situ test acc. | EP-ID cosine | energy/sample | devices | wires | training s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        count = "-" if "shape" not in r else np.prod(array_grid(r["shape"] + (1,), *r["array"])[0])
        energy = " | ".join(f"{r[k] / scale:.1f} {unit}" if k in r else "-"
                            for k, scale, unit in (("total", 1e-9, "nJ"), ("crossbar", 1e-12, "pJ"),
                                                   ("wires", 1e-12, "pJ")))
        ex = "-" if r["ex_situ"] != r["ex_situ"] else f"{100 * r['ex_situ']:.1f} %"
        print(f"| {r['array'][0]} x {r['array'][1]} | {count} | {r['ohm']:g} | {100 * r['in_situ']:.1f} % | {ex} | "
              f"{r['cosine']:.6f} | {energy} | {r['seconds']:.1f} |")
    return table


if __name__ == "__main__":
    main()

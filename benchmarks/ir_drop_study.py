"""The IR-drop study of docs/ir_drop.md: array size x wire resistance, in situ and ex situ, from one config.

    python benchmarks/ir_drop_study.py --out runs/ir_drop_study [--config chip_configs/sweep_ir_drop.yaml]

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

from cosim.config import load_config
from cosim.evaluate import evaluate_run
from cosim.results import read_run
from cosim.sweep import run_sweep
from cosim.sweep.run import point_dir

ROOT = Path(__file__).resolve().parents[1]
WIRES = ("chip.tile.wires.word_segment_ohm", "chip.tile.wires.bit_segment_ohm")


def _energy(run: Path) -> dict[str, float]:
    with h5py.File(run / "results.h5") as f:
        parts = dict(f["energy/per_component_J"].attrs)
        return {"total": float(f["energy"].attrs["total_per_training_sample_J"]),
                "crossbar": float(parts["crossbar"]), "wires": float(parts["wires"])}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "chip_configs" / "sweep_ir_drop.yaml")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    config = load_config(args.config)
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
    print("| array (rows x columns) | arrays per 256x128 crossbar | r (ohm/cell) | in-situ test acc. | "
          "ex-situ test acc. | EP-ID cosine | energy/sample | devices | wires | training s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        count = (256 // r["array"][0]) * (128 // r["array"][1])
        energy = " | ".join(f"{r[k] * 1e12:.1f} pJ" if k in r else "-" for k in ("total", "crossbar", "wires"))
        ex = "-" if r["ex_situ"] != r["ex_situ"] else f"{100 * r['ex_situ']:.1f} %"
        print(f"| {r['array'][0]} x {r['array'][1]} | {count} | {r['ohm']:g} | {100 * r['in_situ']:.1f} % | {ex} | "
              f"{r['cosine']:.6f} | {energy} | {r['seconds']:.1f} |")
    return table


if __name__ == "__main__":
    main()

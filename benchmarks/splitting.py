"""Benchmark: split one deep analog network into analog blocks of uniform size (Nest & Ernoult's splitting
experiment, at small scale).

The base config (``chip_configs/splitting_base.yaml``) holds a *monolithic* model: a digital front end, ONE
analog block with L hidden layers, and a digital readout. This script derives from it, for every block size
k that divides L, a chain of L/k analog blocks with the same L hidden-node layers in the same order, and a
digital level-restoration block (batch-norm + hard-tanh: the ADC -> normalise -> DAC of the chip) between
consecutive analog blocks:

    k = L (monolithic):  front end | 2W -> W ... W (L diode layers) -> 10        | readout
    k < L:               front end | 2W -> W..W (k-1 diode layers) -> W (linear) | BN + hardtanh | ...
                                   | 2W -> W..W (k diode layers) -> 10           | readout

Layer l of the monolithic network stays layer l of the split one: in a block that is not the last, the block's
k-th layer is its (linear) output layer, read by the ADCs and clipped by the digital hard-tanh that follows
instead of by diodes; the last block also holds the 10 output nodes. Every split has the same L x W hidden
nodes, the same 10 output nodes and the same parameters everywhere else; what changes is that each analog block
boundary replaces one positive-only hidden-to-hidden crossbar by a signed one (block inputs are duplicated as
[+x, -x]) fed by restored (batch-normalised, clipped) signals.

Amplifier gains: the base lists one gain per crossbar of the monolithic block (len(hidden) + 1). Crossbar j
(layer j -> j+1) keeps its gain in whichever block it lands; a block's input crossbar, which is driven by the
restored DAC-level signal, takes the gain of the monolithic input crossbar (index 0).

Each split is trained with ``cosim.runner.run`` (same seed, data, optimiser and solver settings), and a table
is printed: test accuracy (mean +- std over seeds), wall-clock training time (cosim's per-epoch time, which
includes the test evaluation after every epoch), mean free-phase BCD sweeps per analog block and summed over
the blocks of one forward pass, unconverged solves (any phase), and the speed ratio to the monolithic block.

    .venv/bin/python benchmarks/splitting.py                       # default: 3 epochs, 20000 samples, seed 0
    .venv/bin/python benchmarks/splitting.py --seeds 0 1 2 --epochs 3 --n-train 20000
    .venv/bin/python benchmarks/splitting.py --quick               # smoke run (~15 s: 1 epoch, 2000 samples)
    .venv/bin/python benchmarks/splitting.py --set model.dtype=float64 --set solver.tol=1e-7 --block-sizes 1 4

Results: docs/splitting.md. Per-run directories (config.yaml, results.h5, curves) go under --out.
"""

from __future__ import annotations

import os

# Deliberate threading before numpy loads BLAS (as the cosim CLI does): one thread unless asked otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from cosim.config import config_from_dict, load_config, to_dict  # noqa: E402
from cosim.results import RESULTS, read_results  # noqa: E402
from cosim.runner import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "chip_configs" / "splitting_base.yaml"

#: the digital block between two analog blocks: ADC -> normalise -> DAC level (and sign) restoration
RESTORE_OPS = [{"op": "batchnorm"}, {"op": "hardtanh"}]


# ----------------------------------------------------------------------------------------- the splits
def monolithic_block(model: dict) -> int:
    """Index of the one analog block of the base model."""
    analog = [i for i, block in enumerate(model["blocks"]) if block["kind"] == "resistive"]
    if len(analog) != 1:
        raise SystemExit(f"the base config must have exactly one analog block (the monolithic network); "
                         f"it has {len(analog)}")
    return analog[0]


def block_sizes(n_layers: int) -> list[int]:
    """Every uniform block size: the divisors of L, L itself (the monolithic block) included."""
    return [k for k in range(1, n_layers + 1) if n_layers % k == 0]


def split_blocks(analog: dict, k: int) -> list[dict]:
    """The monolithic analog block (plain config data) as L/k analog blocks of k hidden-node layers each,
    with a restoration block between consecutive ones."""
    hidden = list(analog["hidden"])
    n_layers = len(hidden)
    if k < 1 or n_layers % k:
        raise SystemExit(f"block size {k} does not divide the {n_layers} hidden layers of the base block")
    gains = analog.get("amplifier_gains")
    n_blocks = n_layers // k
    blocks: list[dict] = []
    for b in range(n_blocks):
        first, last = b * k, b == n_blocks - 1  # this block holds hidden layers first+1 .. first+k (1-based)
        block = copy.deepcopy(analog)
        if last:
            block["hidden"] = hidden[first:first + k]
            block["outputs"] = analog["outputs"]
        else:
            block["hidden"] = hidden[first:first + k - 1]
            block["outputs"] = hidden[first + k - 1]
        if gains is not None:
            # crossbar j of the monolithic block joins layers j and j+1; the input crossbar takes gains[0]
            n_crossbars = len(block["hidden"]) + 1
            block["amplifier_gains"] = [gains[0]] + [gains[first + 1 + j] for j in range(n_crossbars - 1)]
        blocks.append(block)
        if not last:
            blocks.append({"kind": "digital", "ops": copy.deepcopy(RESTORE_OPS)})
    return blocks


def split_config(base: dict, k: int, seed: int, epochs: int | None, n_train: int | None, n_test: int | None):
    """The validated config of the split with block size k (plain data in, :class:`Config` out)."""
    data = copy.deepcopy(base)
    model = data["model"]
    index = monolithic_block(model)
    model["blocks"] = model["blocks"][:index] + split_blocks(model["blocks"][index], k) + model["blocks"][index + 1:]
    data["seed"] = seed
    if epochs is not None:
        data["training"]["epochs"] = epochs
    if n_train is not None:
        data["data"]["n_train"] = n_train
    if n_test is not None:
        data["data"]["n_test"] = n_test
    return config_from_dict(data)


def describe(base: dict, k: int) -> str:
    model = base["model"]
    hidden = model["blocks"][monolithic_block(model)]["hidden"]
    n_blocks = len(hidden) // k
    return "monolithic 1 x %d" % k if n_blocks == 1 else f"{n_blocks} x {k}"


# ----------------------------------------------------------------------------------------- running
def run_one(config, out: Path) -> dict:
    """Train one config with the runner; its summary plus the per-epoch metrics of results.h5."""
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(config, out, resume=False, progress=False)
    summary = result[0] if isinstance(result, tuple) else result
    metrics = read_results(out / RESULTS)["metrics"]
    n_analog = sum(block.kind == "resistive" for block in config.model.blocks)
    free_sweeps = float(np.mean(metrics["free_sweeps"]))
    return {
        "test_accuracy": float(summary["final_test_accuracy"]),
        "train_accuracy": float(summary["final_train_accuracy"]),
        "training_seconds": float(summary["training_seconds"]),
        "free_sweeps_per_block": free_sweeps,  # mean over epochs of the mean over blocks
        "free_sweeps_per_forward": free_sweeps * n_analog,  # every block relaxes once per forward pass
        "unconverged_solves": int(np.sum(metrics["unconverged_samples"])),
        "warnings": len(caught),
        "analog_blocks": n_analog,
    }


def mean_std(values: list[float]) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def format_table(rows: list[dict], n_seeds: int) -> str:
    reference = next((r for r in rows if r["analog_blocks"] == 1), None)
    spread = " mean ± std" if n_seeds > 1 else ""
    header = (f"| split (blocks x layers) | test accuracy (%){spread} | training time (s){spread} | "
              "free sweeps / block | free sweeps / forward | unconverged solves | speed vs monolithic |")
    lines = [header, "|" + "---|" * 7]
    for r in rows:
        acc = f"{100 * r['acc_mean']:.2f} ± {100 * r['acc_std']:.2f}" if n_seeds > 1 else f"{100 * r['acc_mean']:.2f}"
        speed = f"{reference['time_mean'] / r['time_mean']:.2f}x" if reference else "n/a"
        seconds = [run["training_seconds"] for run in r["runs"]]
        time_text = f"{r['time_mean']:.1f} ± {mean_std(seconds)[1]:.1f}" if n_seeds > 1 else f"{r['time_mean']:.1f}"
        lines.append(f"| {r['split']} | {acc} | {time_text} | {r['sweeps_block']:.1f} | "
                     f"{r['sweeps_forward']:.1f} | {r['unconverged']} | {speed} |")
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, default=BASE, help="monolithic base config (default: %(default)s)")
    parser.add_argument("--epochs", type=int, help="training epochs per run (default: the base's, 3)")
    parser.add_argument("--n-train", type=int, default=20000,
                        help="training samples drawn from the seed (default 20000; 0: all 60000)")
    parser.add_argument("--n-test", type=int, default=0, help="test samples (default 0: all 10000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (default: 0)")
    parser.add_argument("--block-sizes", type=int, nargs="+",
                        help="block sizes k (default: every divisor of L, L itself included: the monolithic reference)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the base config before splitting (repeatable), "
                             "e.g. model.dtype=float64 or solver.tol=1e-7")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "splitting", help="run directories")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 epoch on 2000 samples, 1000 test")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.n_train, args.n_test = 1, 2000, 1000
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    base = to_dict(load_config(args.base, args.overrides))
    model = base["model"]
    analog = model["blocks"][monolithic_block(model)]
    n_layers = len(analog["hidden"])
    sizes = sorted(set(args.block_sizes or block_sizes(n_layers)), reverse=True)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"base {args.base}: analog block hidden={analog['hidden']} outputs={analog['outputs']} "
          f"rails [{analog['lower_rail_V']}, {analog['upper_rail_V']}] V, gains {analog.get('amplifier_gains')}; "
          f"dtype {model['dtype']}, solver tol {base['solver']['tol']} max_sweeps {base['solver']['max_sweeps']}")
    print(f"epochs {args.epochs or base['training']['epochs']}, n_train {args.n_train or 'all'}, "
          f"n_test {args.n_test or 'all'}, "
          f"seeds {args.seeds}, block sizes {sizes}\n", flush=True)
    rows, started = [], time.perf_counter()
    for k in sizes:
        runs = []
        for seed in args.seeds:
            config = split_config(base, k, seed, args.epochs, args.n_train or None, args.n_test or None)
            result = run_one(config, args.out / f"k{k}-seed{seed}")
            runs.append(result)
            print(f"  {describe(base, k):<16} seed {seed}: test {100 * result['test_accuracy']:6.2f} %  "
                  f"train {100 * result['train_accuracy']:6.2f} %  {result['training_seconds']:7.1f} s  "
                  f"free sweeps/block {result['free_sweeps_per_block']:6.1f}  "
                  f"unconverged {result['unconverged_solves']}", flush=True)
        acc_mean, acc_std = mean_std([r["test_accuracy"] for r in runs])
        rows.append({
            "split": describe(base, k), "k": k, "analog_blocks": runs[0]["analog_blocks"],
            "acc_mean": acc_mean, "acc_std": acc_std,
            "time_mean": float(np.mean([r["training_seconds"] for r in runs])),
            "sweeps_block": float(np.mean([r["free_sweeps_per_block"] for r in runs])),
            "sweeps_forward": float(np.mean([r["free_sweeps_per_forward"] for r in runs])),
            "unconverged": int(sum(r["unconverged_solves"] for r in runs)),
            "runs": runs,
        })
    print()
    print(format_table(rows, len(args.seeds)))
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "splitting.json").write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)

"""Lifetime study: test accuracy against time since programming, for every device preset, with and without
global drift compensation (docs/devices.md, section "Lifetime").

For each preset a small version of the default chip (chip_configs/default.yaml with ``device: {preset: NAME}``
and the default's programming-noise override) is trained in situ with EP for one epoch on a subset of
Fashion-MNIST, then evaluated at each time since programming (``chip.age``) without and with compensation,
``--repeats`` times (fresh read noise each time; the drift draws of one programming are shared).

    python benchmarks/lifetime.py             # 6000 training samples, 2000 test samples, 5 repeats (~10 min)
    python benchmarks/lifetime.py --quick     # smoke run
"""

import argparse
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from cosim.config import load_config
from cosim.config.presets import PRESETS
from cosim.learning.train import evaluate
from cosim.runner import prepare

ROOT = Path(__file__).resolve().parent.parent
TIMES = {"1 s": 1.0, "1 h": 3600.0, "1 d": 86400.0, "1 y": 3.156e7, "10 y": 3.156e8}


def study(name: str, n_train: int, n_test: int, times: dict, repeats: int, extra: list[str]) -> dict:
    """{(time label, compensated): (mean, std) test accuracy} and the accuracy right after training."""
    overrides = [f"chip.tile.device.preset={name}", f"data.n_train={n_train}", f"data.n_test={n_test}", *extra]
    config = load_config(ROOT / "chip_configs" / "default.yaml", overrides)
    # the default's per-key overrides are kept (programming_noise: 0.01); the rest of the device is the preset's
    session = prepare(config)
    session.trainer.fit(1)
    data, chip = session.dataset, session.chip
    row = {"trained": session.trainer.history.metrics["test_accuracy"][-1]}
    for label, seconds in times.items():
        for compensate in (False, True):
            chip.age(seconds, compensate)
            accuracies = [evaluate(session.chain, data.test_x, data.test_y, config.data.test_batch_size)[1]
                          for _ in range(repeats)]
            row[label, compensate] = (float(np.mean(accuracies)), float(np.std(accuracies)))
    row["calibration_J"] = chip.ledger.report()["calibration_J"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny data, two times, two repeats")
    parser.add_argument("--n-train", type=int, default=6000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--set", action="append", default=[], help="extra config override (repeatable)")
    args = parser.parse_args()
    times = {k: TIMES[k] for k in ("1 s", "10 y")} if args.quick else TIMES
    n_train, n_test, repeats = (256, 100, 2) if args.quick else (args.n_train, args.n_test, args.repeats)
    print(f"| preset | after training | compensation | {' | '.join(times)} |")
    print("|---|---|---|" + "---|" * len(times))
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        for name in args.presets:
            row = study(name, n_train, n_test, times, repeats, args.set)
            for compensate in (False, True):
                cells = " | ".join(f"{100 * row[t, compensate][0]:.1f} ± {100 * row[t, compensate][1]:.1f}"
                                   for t in times)
                print(f"| {name} | {100 * row['trained']:.1f} | {'yes' if compensate else 'no'} | {cells} |",
                      flush=True)
    print(f"\n{n_train} training samples (one epoch), {n_test} test samples, {repeats} read-noise repeats; "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

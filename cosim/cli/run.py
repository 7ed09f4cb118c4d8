"""Train the config's ff-EBM (EP in energy blocks, backprop in digital ones), evaluate it after every epoch,
and write DIR/results.h5 (metrics, summary, final parameters), the resolved DIR/config.yaml,
DIR/training.png and a checkpoint for --resume."""

from __future__ import annotations

import sys
from pathlib import Path

from cosim.cli.common import add_config_arguments, load, show_first_convergence_warning_only

NAME = "run"
HELP = "train and evaluate a model, write results.h5, config.yaml and plots"


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--out", type=Path, help="results directory (default: runs/<config name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from DIR/checkpoint.h5 after the last finished epoch (same config only)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args) -> int:
    from cosim.runner import run

    config = load(args)
    out = args.out or Path("runs") / args.config.stem
    if config.sweep.axes or config.sweep.seeds is not None:
        print(f"note: {args.config} has a sweep: section; `cosim run` trains its base config only (see `cosim sweep`)",
              file=sys.stderr)
    show_first_convergence_warning_only()
    summary, chip = run(config, out, resume=args.resume, progress=not args.no_progress)
    print(f"\n{chip.describe()}\n\n{chip.ledger.format()}")
    print(f"\n{args.config} -> {out}/")
    print(f"  test accuracy  {100 * summary['final_test_accuracy']:.2f} %   (train {100 * summary['final_train_accuracy']:.2f} %)")
    print(f"  epochs {summary['epochs']}, training time {summary['training_seconds']:.1f} s, "
          f"{summary['samples_per_second']:.0f} samples/s")
    return 0

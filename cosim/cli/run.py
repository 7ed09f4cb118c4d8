"""Train the config's ff-EBM (EP in energy blocks, backprop in digital ones), evaluate it after every epoch,
and write DIR/results.h5 (metrics, summary, final parameters), the resolved DIR/config.yaml,
DIR/training.png and a checkpoint for --resume. The end-of-run summary states what can break a run
(unconverged solves, EP-vs-ID gradient cosine, nodes held at a rail, converter clipping), with a
WARNING line and the knob to look at for each sign of trouble."""

from __future__ import annotations

import math
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
    parser.add_argument("--force", action="store_true", help="overwrite another run's files in DIR")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def main(args) -> int:
    from cosim.results import CHECKPOINT, prepare_out_dir

    config = load(args)
    out = args.out or Path("runs") / args.config.stem
    prepare_out_dir(out, resume=args.resume, force=args.force)
    from cosim.runner import health_warnings, run

    if config.sweep.axes or config.sweep.seeds is not None:
        print(f"note: {args.config} has a sweep: section; `cosim run` trains its base config only (see `cosim sweep`)",
              file=sys.stderr)
    if args.resume and not (out / CHECKPOINT).exists():
        print(f"note: --resume: {out} holds no {CHECKPOINT}; starting afresh", file=sys.stderr)
    show_first_convergence_warning_only()
    summary, chip = run(config, out, resume=args.resume, progress=not args.no_progress, warn=warn)
    print(f"\n{chip.describe()}\n\n{chip.ledger.format()}")
    print(f"\n{args.config} -> {out}/")
    print(f"  test accuracy  {100 * summary['final_test_accuracy']:.2f} %   (train {100 * summary['final_train_accuracy']:.2f} %)")
    print(f"  epochs {summary['epochs']}, training time {summary['training_seconds']:.1f} s, "
          f"{summary['samples_per_second']:.0f} samples/s")
    rails = summary["clamped_fraction"]
    rails = "n/a (no hidden nodes)" if math.isnan(rails) else f"{100 * rails:.1f} %"
    print(f"  unconverged    {summary['unconverged_samples']} samples ({100 * summary['unconverged_fraction']:.2f} %)"
          f"; hidden nodes at a rail {rails}")
    cosines = {k.split(".", 1)[1]: v for k, v in summary.items() if k.startswith("ep_id_cosine.")}
    if cosines:
        print("  EP-vs-ID cosine " + ", ".join(f"{block} {value:.3f}" for block, value in cosines.items()))
    clipping = {k.split(".", 1)[1]: v for k, v in summary.items() if k.startswith("clip_fraction.")}
    if clipping:
        print("  clipped        " + ", ".join(f"{bank} {100 * value:.1f} %" for bank, value in clipping.items()))
    for message in health_warnings(summary):
        warn(message)
    return 0

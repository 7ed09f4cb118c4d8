"""Evaluate a trained chip again from its run directory: reload it exactly (parameters, batch-norm
statistics, programmed devices, converter calibration, random streams) and score the test split. With no
--set the run's recorded test accuracy and loss come out exactly; --set may change only non-idealities
(converter bits, ranges, noise and offsets; device read noise and its redraw) to ask how the *same
programmed devices* do when read differently. Writes RUN_DIR/eval-<name>.h5 and .csv; the run's own files
are never touched."""

from __future__ import annotations

from pathlib import Path

NAME = "eval"
HELP = "re-evaluate a trained run's chip, optionally with other non-idealities (eval-*.h5, eval-*.csv)"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the --out directory of a `cosim run`")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="change one non-ideality, e.g. chip.tile.output_adc.bits=6 or "
                             "chip.tiles.0.set.device.read_noise=0.02; repeatable")
    parser.add_argument("--repeats", type=int, default=1, metavar="K",
                        help="read-noise realisations: repeat 0 is the run's own, repeat k draws from the "
                             "streams eval/repeat<k>/...; reports mean ± std (default 1)")
    parser.add_argument("--name", help="name of the output files eval-<name>.h5/.csv (default: from --set)")


def main(args) -> int:
    from cosim.evaluate import check_name, default_name, evaluate_run, format_evaluation, write_evaluation
    from cosim.results import read_run

    name = check_name(args.name) if args.name else default_name(args.overrides, args.repeats)
    run = read_run(args.run_dir)
    evaluation = evaluate_run(run, args.overrides, args.repeats)
    h5, csv = write_evaluation(evaluation, args.run_dir, name)
    print(f"cosim eval {args.run_dir}\n{format_evaluation(evaluation)}\n-> {h5}, {csv.name}")
    return 0

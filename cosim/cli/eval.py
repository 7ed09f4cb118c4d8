"""Evaluate a trained chip again from its run directory: reload it exactly (parameters, batch-norm
statistics, programmed devices, converter calibration, random streams) and score the test split. With no
--set the run's recorded test accuracy and loss come out exactly; --set may change only non-idealities
(converter bits, ranges, noise and offsets; device read noise and its redraw) to ask how the *same
programmed devices* do when read differently. --time evaluates the programmed chip at times since
programming (drift, retention, 1/f read noise), without and with global drift compensation. Writes RUN_DIR/eval-<name>.h5 and .csv; the run's own files
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
    parser.add_argument("--time", metavar="T1,T2,...",
                        help="times since programming, e.g. 1s,1h,1d,1y,10y: each is evaluated without and with "
                             "global drift compensation (files eval-<name>-t<T>-<plain|compensated>.*, and a "
                             "summary eval-<name>-lifetime.csv)")
    parser.add_argument("--name", help="name of the output files eval-<name>.h5/.csv (default: from --set)")


def main(args) -> int:
    from cosim.evaluate import check_name, default_name, evaluate_run, format_evaluation, parse_times, write_evaluation
    from cosim.results import read_run

    name = check_name(args.name) if args.name else default_name(args.overrides, args.repeats)
    times = parse_times(args.time) if args.time is not None else None
    run = read_run(args.run_dir)
    if times is None:
        evaluation = evaluate_run(run, args.overrides, args.repeats)
        h5, csv = write_evaluation(evaluation, args.run_dir, name)
        print(f"cosim eval {args.run_dir}\n{format_evaluation(evaluation)}\n-> {h5}, {csv.name}")
        return 0
    return _lifetime(run, args, name, times)


def _lifetime(run, args, name: str, times: list[tuple[str, float]]) -> int:
    """Evaluate at every time since programming, without and with drift compensation; one summary table."""
    from cosim.evaluate import evaluate_run, write_evaluation
    from cosim.results import atomic_write

    rows = ["time,seconds,compensation,repeats,test_accuracy_mean,test_accuracy_std,test_loss_mean,test_loss_std"]
    print(f"cosim eval {args.run_dir}: test accuracy at times since programming ({args.repeats} repeat(s))")
    print(f"  {'time':>8}  {'no compensation':>18}  {'drift compensation':>18}")
    for label, seconds in times:
        cells = []
        for compensate in (False, True):
            evaluation = evaluate_run(run, args.overrides, args.repeats, age_s=seconds, compensate=compensate)
            kind = "compensated" if compensate else "plain"
            write_evaluation(evaluation, args.run_dir, f"{name}-t{label}-{kind}")
            s = evaluation.summary
            rows.append(f"{label},{seconds!r},{kind},{args.repeats},{s['test_accuracy_mean']!r},"
                        f"{s['test_accuracy_std']!r},{s['test_loss_mean']!r},{s['test_loss_std']!r}")
            cells.append(f"{100 * s['test_accuracy_mean']:.2f} ± {100 * s['test_accuracy_std']:.2f} %")
        print(f"  {label:>8}  {cells[0]:>18}  {cells[1]:>18}")
    summary = args.run_dir / f"eval-{name}-lifetime.csv"
    atomic_write(summary, lambda tmp: tmp.write_text("\n".join(rows) + "\n"))
    print(f"-> {summary} (and one eval-{name}-t<T>-<plain|compensated>.h5/.csv per point)")
    return 0

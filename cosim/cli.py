"""The `cosim` command line.

Every user error (a bad config, a missing dataset, ...) is one readable line on stderr and a non-zero
exit code — 2 for input errors, 1 for failures such as an unconverged solver — never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

# Deliberate threading before numpy loads BLAS: one thread unless the user chose (config: solver.threads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

from cosim import __version__  # noqa: E402
from cosim.errors import CosimError  # noqa: E402

DESCRIPTION = """\
cosim: a mixed-signal co-simulator for chips that train feedforward-tied energy-based models.
Analog tiles are nonlinear resistive networks trained by equilibrium propagation; digital blocks are
trained by backpropagation; the error is chained through both. Every run is described by one YAML file
(see docs/config-reference.md for every key, its unit and default)."""

EPILOG = """\
examples:
  cosim run chip_configs/default.yaml
  cosim run chip_configs/default.yaml --out runs/beta02 --set training.beta=0.2 --set training.epochs=3
  cosim gradcheck chip_configs/default.yaml --beta 0.01 --samples 64
  cosim sweep chip_configs/sweep_adc_noise.yaml --workers 2
  cosim sweep chip_configs/default.yaml --sweep chip.tile.device.read_noise=0,0.01 --seeds 0,1 --out runs/noise
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path, help="the run's YAML config (e.g. chip_configs/default.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key by its dotted path, e.g. training.beta=0.05 or "
                             "model.blocks.1.hidden=[128]; repeatable")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosim", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cosim {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run", help="train and evaluate a model, write results.h5, config.yaml and plots",
        description="Train the config's ff-EBM (EP in analog blocks, backprop in digital ones), evaluate it "
                    "after every epoch, and write DIR/results.h5 (metrics, summary, final parameters), the "
                    "resolved DIR/config.yaml, DIR/training.png and a checkpoint for --resume.")
    _common(run)
    run.add_argument("--out", type=Path, help="results directory (default: runs/<config name>)")
    run.add_argument("--resume", action="store_true",
                     help="continue from DIR/checkpoint.h5 after the last finished epoch (same config only)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    grad = commands.add_parser(
        "gradcheck", help="compare EP gradients with implicit differentiation, per parameter tensor",
        description="The static gradient analysis of Nest & Ernoult: on one batch, the chained gradients "
                    "with EP in every analog block against the exact ones (implicit differentiation), for "
                    "every parameter tensor, analog and digital: cosine similarity and relative error. "
                    "Prints a table and writes DIR/gradcheck.h5 and DIR/gradcheck.png.")
    _common(grad)
    grad.add_argument("--beta", type=float, help="EP nudge strength (default: the config's training.beta)")
    grad.add_argument("--samples", type=int, default=32, help="batch size of the comparison (default 32)")
    grad.add_argument("--out", type=Path, help="output directory (default: runs/<config name>-gradcheck)")
    grad.add_argument("--as-configured", action="store_true",
                      help="use the config's dtype and solver tolerance; by default the check runs in float64 "
                           "with a tight tolerance (solver.tol=1e-12), so that it measures EP's estimator "
                           "rather than float32 rounding")
    _spice_parsers(commands)
    _sweep_parser(commands)
    return parser


def _spice_common(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--tile", type=int, action="append", metavar="ID",
                        help="tile number (0, 1, ...: the analog blocks in model order); repeatable; default all")
    parser.add_argument("--samples", type=int, default=2, help="test samples, from the first (default 2)")
    parser.add_argument("--phase", choices=("free", "plus", "minus", "all"), default="free",
                        help="free equilibrium, or the block's own EP nudge of the +beta / -beta phase (default free)")
    parser.add_argument("--from", dest="from_results", type=Path, metavar="RESULTS.h5",
                        help="use the trained parameters of a run (its results.h5) instead of the initial ones")
    parser.add_argument("--ideal-n", type=float, default=0.001, metavar="N",
                        help="emission coefficient of the SPICE diode that stands in for an ideal diode "
                             "(default 0.001; see docs/spice.md)")


def _spice_parsers(commands) -> None:
    export = commands.add_parser(
        "export-spice", help="write ngspice netlists of the analog tiles for test samples",
        description="Write one ngspice netlist per tile, test sample and phase (DIR/tile{T}_sample{S}_{phase}.cir): "
                    "every conductance, source, diode, amplifier and nudge of the tile, driven by the inputs its "
                    "analog block receives when the model runs forward on that sample, with a control block that "
                    "writes every node voltage. Run one with `ngspice -b FILE.cir` (see netlists/README.md).")
    _spice_common(export)
    export.add_argument("--out", type=Path, required=True, help="directory for the netlists")
    check = commands.add_parser(
        "spice-check", help="solve the tiles with ngspice and with cosim and compare node voltages",
        description="Export the tiles' netlists, solve them with ngspice and with cosim's solver (float64, "
                    "tight tolerance), and print per tile the largest and RMS node-voltage difference, the nodes "
                    "compared and both tools' times. Exit status 1 when a tile differs by more than its "
                    "tolerance (default: 1e-6 V with Shockley diodes; 1e-6 V plus the stand-in SPICE diode's "
                    "forward drop with ideal diodes, see docs/spice.md).")
    _spice_common(check)
    check.add_argument("--tol", type=float, metavar="VOLTS", help="tolerance on max |dv| for every tile")
    check.add_argument("--backend", choices=("batch", "shared"), default="batch",
                       help="ngspice as a subprocess (`ngspice -b`, default) or libngspice through PySpice")


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CosimError as err:
        print(f"cosim {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"cosim {args.command}: interrupted; finished epochs are saved — rerun with --resume to continue",
              file=sys.stderr)
        return 130


def _load(args):
    from cosim.config import load_config

    return load_config(args.config, args.overrides)


def show_first_convergence_warning_only() -> None:
    """Show a run's first non-convergence warning; later ones are counted in the metrics, not printed."""
    from cosim.analog import ConvergenceWarning

    original, shown = warnings.showwarning, []

    def show(message, category, *args, **kwargs):
        if issubclass(category, ConvergenceWarning):
            if shown:
                return
            shown.append(message)
            message = f"{message} (further ones are not shown: see the unconverged_solves metric)"
        original(message, category, *args, **kwargs)

    warnings.showwarning = show


def cmd_run(args) -> int:
    from cosim.runner import run

    config = _load(args)
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


VALIDATION_PRECISION = ["model.dtype=float64", "solver.tol=1e-12", "solver.max_sweeps=20000"]


def cmd_gradcheck(args) -> int:
    from threadpoolctl import threadpool_limits

    from cosim import plots
    from cosim.config import dump_config
    from cosim.learning import gradcheck
    from cosim.results import write_results
    from cosim.runner import prepare

    if not args.as_configured:
        args.overrides += VALIDATION_PRECISION
    config = _load(args)
    beta = config.training.beta if args.beta is None else args.beta
    if not beta > 0 or args.samples < 2:
        raise CosimError("--beta must be positive and --samples at least 2")
    out = args.out or Path("runs") / f"{args.config.stem}-gradcheck"
    with threadpool_limits(limits=config.solver.threads, user_api="blas"):
        session = prepare(config)
        data = session.dataset
        if args.samples > len(data.train_y):
            raise CosimError(f"--samples {args.samples} exceeds the {len(data.train_y)} training samples")
        rows = gradcheck.compare(session.chain, data.train_x[:args.samples], data.train_y[:args.samples], beta,
                                 config.training.estimator)
    print(gradcheck.format_table(rows))
    placements = session.chip.placements
    if placements:
        print("tiles: " + ", ".join(f"model.blocks[{b}] (block{b}) on tile {t}" for b, t in placements.items()))
    out.mkdir(parents=True, exist_ok=True)
    columns = {field: [getattr(r, field) for r in rows] for field in ("cosine", "relative_error", "norm_ep", "norm_id")}
    write_results(out / "gradcheck.h5", dump_config(config),
                  {"gradcheck": {"names": [r.name.encode() for r in rows], **columns, "beta": beta,
                                 "samples": args.samples,
                                 "tiles": {f"block{b}": t for b, t in placements.items()}}})
    plots.gradient_agreement([r.name for r in rows], columns["cosine"], columns["relative_error"],
                             out / "gradcheck.png", title=f"EP vs ID, beta={beta:g}, {args.samples} samples")
    print(f"\nwritten: {out / 'gradcheck.h5'}, {out / 'gradcheck.png'}")
    return 0


def _spice_cases(args):
    """Settings and cases (tiles x samples x phases) of export-spice / spice-check, in float64."""
    from cosim.results import read_trained
    from cosim.runner import prepare
    from cosim.spice import SpiceSettings
    from cosim.spice.check import PHASES, load_trained, select_tiles, tile_cases

    args.overrides += VALIDATION_PRECISION
    config = _load(args)
    if args.samples < 1 or not args.ideal_n > 0 or (getattr(args, "tol", None) is not None and not args.tol > 0):
        raise CosimError("--samples must be at least 1, and --ideal-n and --tol positive")
    session = prepare(config)
    if args.from_results is not None:
        for note in load_trained(session.chain, read_trained(args.from_results)):
            print(f"note: {note}", file=sys.stderr)
    data = session.dataset
    if args.samples > len(data.test_y):
        raise CosimError(f"--samples {args.samples} exceeds the {len(data.test_y)} test samples")
    tiles = select_tiles(session.chain, session.chip.placements, args.tile)
    phases = PHASES if args.phase == "all" else (args.phase,)
    cases = tile_cases(session.chain, data.test_x[:args.samples], data.test_y[:args.samples], tiles, phases)
    return SpiceSettings(ideal_emission_coefficient=args.ideal_n), cases


def cmd_export_spice(args) -> int:
    from threadpoolctl import threadpool_limits

    from cosim.spice.check import export_cases

    with threadpool_limits(limits=1, user_api="blas"):
        settings, cases = _spice_cases(args)
    paths = export_cases(cases, args.out, settings)
    print(f"wrote {len(paths)} netlists to {args.out}/ ({', '.join(p.name for p in paths[:3])}"
          f"{', ...' if len(paths) > 3 else ''})")
    print(f"run one: cd {args.out} && ngspice -b {paths[0].name}   (writes {paths[0].stem}.out)")
    return 0


def cmd_spice_check(args) -> int:
    from threadpoolctl import threadpool_limits

    from cosim.spice import find_ngspice
    from cosim.spice.check import check_cases, format_reports

    if args.backend == "batch":
        find_ngspice()
    with threadpool_limits(limits=1, user_api="blas"):
        settings, cases = _spice_cases(args)
        reports = check_cases(cases, args.backend, args.tol, settings,
                              progress=lambda c: print(f"  solving {c.name} ...", file=sys.stderr, flush=True))
    print(f"{args.config}: {len(cases)} operating points, ngspice back end {args.backend}")
    print(format_reports(reports, settings))
    failed = [r.tile for r in reports if not r.passed]
    if failed:
        print(f"FAIL: tile(s) {', '.join(map(str, failed))} differ from ngspice by more than the tolerance")
        return 1
    return 0


def _sweep_parser(commands) -> None:
    sweep = commands.add_parser(
        "sweep", help="run a grid of configs x seeds in parallel (Dask), resumable, and tabulate it",
        description="Run every point of a grid over config keys (the config's sweep: section, plus --sweep "
                    "axes) times seeds, each point a full `cosim run` into DIR/points/<config hash>/, in "
                    "parallel on a Dask LocalCluster (one single-threaded worker per core) or on an existing "
                    "Dask scheduler. Finished points are never rerun; a failing point is recorded and the others "
                    "go on. At the end, DIR/sweep.h5, DIR/sweep.csv and figures are written and the table "
                    "printed. See docs/sweeps.md.")
    _common(sweep)
    sweep.add_argument("--out", type=Path, help="sweep directory (default: runs/<config name>)")
    sweep.add_argument("--sweep", dest="axes", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="add a grid axis: a config key and its values, e.g. chip.tile.node_adc.bits=2,4,8 "
                            "(values in YAML); KEY1+KEY2=V1,V2 moves several keys together; repeatable")
    sweep.add_argument("--seeds", metavar="S1,S2,...", help="seeds of every grid point (replaces sweep.seeds)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="workers of the local Dask cluster, one thread each (default: one per core); "
                            "0 runs the points one after another in this process, without Dask")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running Dask scheduler (e.g. tcp://10.0.0.1:8786, or one started by "
                            "dask-jobqueue on SLURM); DIR must be on a file system its workers share")
    sweep.add_argument("--resume", action="store_true",
                       help="continue a sweep in DIR: skip finished points, continue unfinished ones from their "
                            "checkpoints, rerun failed ones")
    sweep.add_argument("--aggregate-only", action="store_true",
                       help="run nothing: re-aggregate DIR (finished points so far) into the table and figures")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_sweep(args) -> int:
    from cosim.sweep import aggregate, expand, format_table, inert_keys, load_sweep, run_sweep

    config = load_sweep(args.config, args.overrides, args.axes, args.seeds)
    out = args.out or Path("runs") / args.config.stem
    if args.workers is not None and args.workers < 0:
        raise CosimError("--workers must be 0 (no Dask) or more")
    points = expand(config)
    for note in inert_keys(config, points):
        print(f"warning: {note}", file=sys.stderr)
    if args.aggregate_only:
        if not out.is_dir():
            raise CosimError(f"{out} does not exist; run the sweep first (without --aggregate-only)")
        rows = aggregate(config, out, points)
    else:
        grid = " x ".join(str(len(axis)) for axis in config.sweep.axes) or "1"
        seeds = len(config.sweep.seeds) if config.sweep.seeds is not None else 1
        print(f"{args.config}: {len(points)} runs ({grid} grid points x {seeds} seeds) -> {out}/", file=sys.stderr)
        try:
            rows = run_sweep(config, out, args.workers, args.scheduler, args.resume, not args.no_progress)
        except KeyboardInterrupt:
            print("cosim sweep: interrupted; finished points are kept and the table holds them so far — rerun "
                  "with --resume to continue", file=sys.stderr)
            return 130
    print(format_table(config, rows))
    failed = [row for row in rows if row.status == "failed"]
    pending = sum(row.status == "pending" for row in rows)
    print(f"\n{out}/sweep.h5, {out}/sweep.csv" + (f"; {pending} point(s) not finished" if pending else ""))
    for row in failed:
        print(f"FAILED {row.point.describe()}: {row.error}  (see {out}/points/{row.point.hash}/error.txt)")
    return 1 if failed and not args.aggregate_only else 0


COMMANDS = {"run": cmd_run, "gradcheck": cmd_gradcheck, "export-spice": cmd_export_spice,
            "spice-check": cmd_spice_check, "sweep": cmd_sweep}

if __name__ == "__main__":
    sys.exit(main())

"""Run every point of a grid over config keys (the config's sweep: section, plus --sweep axes) times seeds,
each point a full `cosim run` into DIR/points/<config hash>/, in parallel on a Dask LocalCluster (one
single-threaded worker per core) or on an existing Dask scheduler. Finished points are never rerun; a
failing point is recorded and the others go on. At the end, DIR/sweep.h5, DIR/sweep.csv and figures are
written and the table printed. See docs/sweeps.md."""

from __future__ import annotations

import sys
from pathlib import Path

from cosim.cli.common import add_config_arguments
from cosim.errors import CosimError

NAME = "sweep"
HELP = "run a grid of configs x seeds in parallel (Dask), resumable, and tabulate it"


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--out", type=Path, help="sweep directory (default: runs/<config name>)")
    parser.add_argument("--sweep", dest="axes", action="append", default=[], metavar="KEY=V1,V2,...",
                        help="add a grid axis: a config key and its values, e.g. chip.tile.node_adc.bits=2,4,8 "
                             "(values in YAML); KEY1+KEY2=V1,V2 moves several keys together; repeatable")
    parser.add_argument("--seeds", metavar="S1,S2,...", help="seeds of every grid point (replaces sweep.seeds)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="workers of the local Dask cluster, one thread each (default: one per core); "
                            "0 runs the points one after another in this process, without Dask")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running Dask scheduler (e.g. tcp://10.0.0.1:8786, or one started by "
                            "dask-jobqueue on SLURM); DIR must be on a file system its workers share")
    parser.add_argument("--resume", action="store_true",
                        help="continue a sweep in DIR: skip finished points, continue unfinished ones from their "
                             "checkpoints, rerun failed ones")
    parser.add_argument("--aggregate-only", action="store_true",
                        help="run nothing: re-aggregate DIR (finished points so far) into the table and figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args) -> int:
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

"""Sweeps: a grid over any config keys times seeds, each point a full run, on Dask; resumable, aggregated.

    config = load_sweep("chip_configs/sweep_adc_noise.yaml")   # or load_config: the sweep: section
    rows = run_sweep(config, "runs/sweep_adc_noise", workers=2, resume=True)
    print(format_table(config, rows))

Directory layout of a sweep DIR (only this package and cosim.cli know it; docs/sweeps.md):
  DIR/sweep.yaml           the sweep's resolved config (the base config with its sweep: section)
  DIR/points/<hash>/       one point (hash: of its resolved config): what `cosim run` writes there
                           (config.yaml, results.h5, checkpoint.h5, plots), then done.json, written last and
                           atomically (the point's record and summary); or error.txt (the traceback)
  DIR/sweep.h5, sweep.csv  one row per point and seed (cosim.sweep.aggregate)
  DIR/report.html          the sweep's page (cosim.sweep.report)

Modules: grid (points, hashes, --sweep specs), run (the point task, Dask and serial execution),
aggregate (the table), report (the sweep's page).
"""

from __future__ import annotations

from pathlib import Path

from cosim.config import dump_config
from cosim.config.schema import Config
from cosim.errors import CosimError
from cosim.report.progress import progress as progress_bar
from cosim.results import atomic_write
from cosim.sweep.report import write_sweep_report
from cosim.sweep.aggregate import Row, collect, format_table, write
from cosim.sweep.grid import Point, expand, inert_keys, load_sweep
from cosim.sweep.run import dask_client, is_done, point_dir, run_dask, run_serial

__all__ = ["Point", "Row", "aggregate", "expand", "format_table", "inert_keys", "load_sweep", "run_sweep"]

SWEEP_CONFIG = "sweep.yaml"


def run_sweep(config: Config, out: Path, workers: int | None = None, scheduler: str | None = None,
              resume: bool = False, progress: bool = True, processes: bool = True) -> list[Row]:
    """Run every unfinished point of ``config``'s sweep into ``out``, then aggregate (also when interrupted).

    ``workers``: single-threaded Dask workers of a new LocalCluster (None: one per core; 0: no Dask, the
    points run one after another in this process); ``scheduler``: address of an existing Dask scheduler
    instead. ``resume``: continue a sweep whose points already exist in ``out`` (finished points are
    skipped, unfinished ones continue from their checkpoints, failed ones run again)."""
    out = Path(out)
    points = expand(config)
    started = [p for p in points if point_dir(out, p).exists()]
    if started and not resume:
        raise CosimError(f"{out} already holds {len(started)} of this sweep's {len(points)} points; pass --resume "
                         "to continue it (finished points are kept), or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / SWEEP_CONFIG, lambda tmp: tmp.write_text(dump_config(config)))
    todo = [p for p in points if not is_done(point_dir(out, p))]
    bar = progress_bar(total=len(points), initial=len(points) - len(todo), desc="sweep", unit="point",
                       disable=not progress)
    state = {"running": 0, "failed": 0}

    def tick(running: int) -> None:
        state["running"] = running
        bar.set_postfix(state)

    def report(point: Point, record: dict) -> None:
        state["failed"] += record.get("status") != "done"
        bar.update(1)
        bar.set_postfix(state)

    try:
        tick(0)
        if todo and workers == 0 and scheduler is None:
            run_serial(todo, out, report, tick)
        elif todo:
            with dask_client(workers, scheduler, processes) as client:
                run_dask(todo, out, report, tick, client)
    finally:
        bar.close()
        rows = aggregate(config, out, points)
    return rows


def aggregate(config: Config, out: Path, points: list[Point] | None = None) -> list[Row]:
    """Collect the sweep's rows from ``out`` (finished, failed and pending points), write sweep.h5, sweep.csv
    and report.html; returns the rows."""
    rows = collect(config, out, points)
    write(config, rows, out)
    write_sweep_report(config, rows, out)
    return rows

"""Running the points of a sweep: one task per point, on a Dask cluster or one after another in-process.

A point's task trains the point's resolved config with :func:`cosim.runner.run` into
DIR/points/<hash>/ (resuming from its checkpoint when an earlier session was cut off), then writes
DIR/points/<hash>/done.json, atomically and last. A task that raises writes error.txt (the traceback)
instead; the sweep records it and goes on. A point whose done.json exists is never run again. Warnings a
run raises (e.g. unconverged solves) go to warnings.txt beside it, each distinct one once, rather than to
a worker's terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from threadpoolctl import threadpool_limits

from cosim.results import atomic_write
from cosim.sweep.grid import Point

DONE, ERROR, WARNINGS, POINTS = "done.json", "error.txt", "warnings.txt", "points"

# One thread of every kind per worker process: the parallelism of a sweep is its points.
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "NUMBA_THREADING_LAYER": "workqueue"}
WORKER_EXIT_S = 60.0  # a worker process is killed when it has not exited 0.8 x this long after closing
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.worker-saturation": 1.0,  # a worker holds only the point it runs
    "distributed.scheduler.allowed-failures": 1,  # a point whose worker died runs once more, then fails
}


def point_dir(out: Path, point: Point) -> Path:
    return Path(out) / POINTS / point.hash


def is_done(directory: Path) -> bool:
    return (Path(directory) / DONE).is_file()


def run_point(config_yaml: str, directory: str) -> dict:
    """Train one point into ``directory`` and return its record (what done.json holds); the Dask task.

    Never raises for a failing run: the traceback goes to error.txt and the record says ``failed``."""
    from cosim.config import load_config
    from cosim.results import RESULTS, read_summary
    from cosim.runner import run

    directory = Path(directory)
    if is_done(directory):
        return json.loads((directory / DONE).read_text())
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ERROR).unlink(missing_ok=True)
    start = time.perf_counter()
    try:
        with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")  # each distinct warning once, into the point's warnings.txt
            run(load_config(config_yaml), directory, resume=True, progress=False)
        summary = {key: _plain(value) for key, value in read_summary(directory / RESULTS).items()}
    except Exception:
        text = traceback.format_exc()
        atomic_write(directory / ERROR, lambda tmp: tmp.write_text(text))
        return {"status": "failed", "error": _last_line(text), "wall_seconds": time.perf_counter() - start}
    if caught:
        lines = "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
        atomic_write(directory / WARNINGS, lambda tmp: tmp.write_text(lines))
    record = {"status": "done", "summary": summary, "warnings": len(caught),
              "wall_seconds": time.perf_counter() - start, "host": socket.gethostname(), "pid": os.getpid(),
              "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    atomic_write(directory / DONE, lambda tmp: tmp.write_text(json.dumps(record, indent=2) + "\n"))
    return record


def record_failure(directory: Path, text: str) -> dict:
    """Record a point whose task could not report by itself (e.g. its worker process died)."""
    atomic_write(Path(directory) / ERROR, lambda tmp: tmp.write_text(text))
    return {"status": "failed", "error": _last_line(text)}


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


def _plain(value):
    """HDF5 attribute values as JSON-able Python values."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


# --------------------------------------------------------------------------------------- execution

Report = Callable[[Point, dict], None]


def run_serial(points: list[Point], out: Path, report: Report, tick: Callable[[int], None]) -> None:
    """Run the points one after another in this process (``--workers 0``: debugging, profiling)."""
    for point in points:
        tick(1)
        report(point, run_point(point.config_yaml, str(point_dir(out, point))))


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None, processes: bool = True) -> Iterator:
    """A Dask client: connected to ``scheduler`` (an address), or to a new LocalCluster of ``workers``
    single-threaded workers (processes by default, threads when ``processes`` is false)."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **THREAD_ENV}
    settings = {**LOCAL_CLUSTER_CONFIG, "distributed.nanny.pre-spawn-environ": environ}
    with dask.config.set(settings):
        cluster = LocalCluster(n_workers=workers or available_cores(), threads_per_worker=1, processes=processes,
                               dashboard_address=":0", scheduler_kwargs={"dashboard": False},  # any free port
                               **({"env": THREAD_ENV} if processes else {}))
        with cluster:
            with Client(cluster) as client:
                yield client
            if processes:
                cluster.sync(_close_workers, cluster)


async def _close_workers(cluster) -> None:
    """Close a LocalCluster's worker processes, giving each WORKER_EXIT_S to exit.

    A worker process that ran cosim takes seconds to exit after its worker has stopped (the interpreter
    tears down numba, scipy and distributed), longer on a loaded machine; the cluster's own close gives
    it 4 s (0.8 x its nanny's default 5 s) and then kills it with a warning, after every sweep."""
    import asyncio

    await asyncio.gather(*(nanny.close(timeout=WORKER_EXIT_S) for nanny in list(cluster.workers.values())))


def run_dask(points: list[Point], out: Path, report: Report, tick: Callable[[int], None], client) -> None:
    """Submit every point to ``client`` and report each as it finishes; ``tick(n)`` gets the number of points
    running (every 2 s and after every finished point)."""
    from distributed import wait

    futures = {client.submit(run_point, point.config_yaml, str(point_dir(out, point)), pure=False): point
               for point in points}
    pending = set(futures)
    while pending:
        try:
            finished, pending = wait(pending, timeout=2, return_when="FIRST_COMPLETED")
        except TimeoutError:
            finished = set()
        for future in finished:
            point = futures[future]
            if future.status == "finished":
                report(point, future.result())
            else:  # the task itself never raises: its worker died (KilledWorker) or it was cancelled
                error = future.exception() if future.status == "error" else f"task {future.status}"
                text = f"the point's Dask task failed: {type(error).__name__}: {error}\n"
                report(point, record_failure(point_dir(out, point), text))
        tick(_running(client, {future.key for future in pending}))


def _running(client, keys: set) -> int:
    """Points being worked on: tasks the scheduler has handed to workers, at most one per worker thread."""
    try:
        handed = sum(1 for tasks in client.processing().values() for key in tasks if key in keys)
        return min(handed, sum(client.nthreads().values()))
    except Exception:  # a scheduler that does not answer only costs the progress display
        return 0

"""How many threads a run uses: ``solver.threads`` at most, capped at the cores this process may use (its
CPU affinity, e.g. under ``taskset`` or a container's CPU set) and at the cores other processes leave idle,
so that no setting oversubscribes a busy machine.

Idle cores are estimated from the 1-minute load average (runnable tasks, ``os.getloadavg``) less this
process's own share of it (:func:`own_load` at the start: its busy cores since it started, weighted as the
load average weighs them; at a re-check, its busy cores over the last interval, CPU time over wall time), or
by what other processes run right now (:func:`running_others`) when that is less, since the average still
counts jobs that ended in the last minute; a core counts as idle when other processes use less than
``IDLE_MARGIN`` of it. During training the count is
re-checked every ``RECHECK_S`` seconds (:func:`recheck`, called by the trainer once per step), so a run that
starts on idle cores drops to one thread when other jobs arrive, and takes the second core back when they leave.

The default, ``solver.threads: 1``, is deliberate: the default chip's products are small (batch 32,
256-wide layers), and on a loaded machine a second thread was measured several times slower (it waits for
the busy core at every product). Wide crossbars gain from more on idle cores: the XL config asks for 2
(see docs/benchmarks.md, "Run throughput"). The command line also pins OpenBLAS to one thread before numpy
loads unless ``OPENBLAS_NUM_THREADS`` is set.

How the threads are used, inside a :func:`solver_threads` block (:func:`numba_threads` of them, 1 outside):

* BLAS stays at one thread. A large product goes through :func:`matmul`, which splits it into slabs run
  at once by single-threaded BLAS calls on a pool of Python threads. OpenBLAS's own workers spin for about
  0.1 s after every product they share (measured: 0.07-0.1 CPU seconds during a sleep after one 2-thread
  product here), holding the second core while the element-wise kernels below want it: with two BLAS
  threads, those kernels ran no faster on two threads than on one inside the XL step.
* The element-wise Numba kernels of large arrays (optimiser steps, conductance installs, layer updates;
  memory-bound passes) take their parallel builds: :func:`parallel` chooses. Their OpenMP threads wait
  passively between kernels (``OMP_WAIT_POLICY=PASSIVE`` unless set): forced to 2 threads on a loaded
  machine (load average 3 on 2 cores), the XL step ran 0.30x as fast as on 1 thread with spinning waits,
  0.68x with passive ones.

Spare capacity beyond the solver's threads (half a core) runs the device worker (:func:`device_worker`): device noise
drawn ahead and the next read's 1/f amplitudes prepared while the main thread solves; the numbers are the
same either way, so the choice, re-checked with the thread count, never changes a result.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when Numba first starts its OpenMP threads

import numba  # noqa: E402
import numpy as np  # noqa: E402
from threadpoolctl import ThreadpoolController  # noqa: E402

from cosim import worker  # noqa: E402

IDLE_MARGIN = 0.3  # a core is idle when other processes use less than this share of it, on average
WORKER_SPARE = 0.5  # cores other processes must leave beyond the solver threads for the device worker
RECHECK_S = 30.0  # seconds between re-checks of the idle cores during a run
PARALLEL_MIN = 1 << 20  # elements from which an element-wise Numba pass is split over threads
MATMUL_PARALLEL_MIN = 1 << 22  # multiply-adds from which :func:`matmul` splits a product (~0.1 ms on a core)
MATMUL_MIN_SLAB = 64  # rows or columns of the result below which a slab is not worth a thread
LOAD_WINDOW_S = 60.0  # time constant of the 1-minute load average, an exponential average of runnable tasks


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def others_load(own_busy: float = 0.0) -> float:
    """Cores other processes keep busy: the 1-minute load average less ``own_busy`` (this process's busy
    cores over the last interval), or what they run right now (:func:`running_others`) when that is less:
    the average still counts jobs that ended in the last minute. 0 where the platform tells neither."""
    average = max(0.0, os.getloadavg()[0] - own_busy) if hasattr(os, "getloadavg") else 0.0
    now = running_others()
    return average if now is None else min(average, now)


def running_others(samples: int = 5, interval_s: float = 0.002) -> float | None:
    """Tasks of other processes running or runnable now, the mean of ``samples`` looks (Linux:
    /proc/loadavg's running count less this process's running threads); None where unknown."""
    try:
        counts = []
        for i in range(samples):
            if i:
                time.sleep(interval_s)
            running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
            own = sum(1 for task in Path("/proc/self/task").iterdir()
                      if _task_state(task) == "R")
            counts.append(max(0, running - own))
        return sum(counts) / len(counts)
    except (OSError, IndexError, ValueError):
        return None


def _task_state(task: Path) -> str:
    try:
        return (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""  # the thread ended meanwhile


def idle_cores(own_busy: float = 0.0, others: float | None = None) -> int:
    """Available cores other processes leave idle (a core is idle when they use less than ``IDLE_MARGIN``
    of it); ``others``: their load when already known, else :func:`others_load` of ``own_busy``."""
    cores = available_cores()
    others = others_load(own_busy) if others is None else others
    return max(0, min(cores, int(cores - others + IDLE_MARGIN)))


def process_age_s() -> float:
    """Seconds since this process started (Linux: /proc/self/stat against the boot clock); 0 when unknown."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime, in clock ticks after boot
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, IndexError, ValueError, AttributeError):
        return 0.0


def own_load() -> float:
    """This process's share of the 1-minute load average now (cores): its mean busy cores since it started
    (CPU time over age), weighted as the load average weighs them: an exponential average with time constant
    ``LOAD_WINDOW_S`` to which the process added nothing before it started. 0 when its age is unknown."""
    age = process_age_s()
    if age <= 0.0:
        return 0.0
    times = os.times()
    return (times.user + times.system) / age * -math.expm1(-age / LOAD_WINDOW_S)


def device_worker(threads: int, own_busy: float = 0.0, others: float | None = None) -> bool:
    """Whether the device worker (:mod:`cosim.worker`) may run beside ``threads`` solver threads: when other
    processes leave at least ``WORKER_SPARE`` of a core beyond them (the worker keeps about a third of a core
    busy on the default chip: 3.5 ms of draws in a 9-10 ms step). On a busy machine the main thread would
    wait for a descheduled worker: at load average 3.4 on 2 cores, the default chip's step took a median
    17.5 ms with the worker against 14.2 ms without. ``others`` as for :func:`idle_cores`."""
    others = others_load(own_busy) if others is None else others
    return available_cores() - others - threads >= WORKER_SPARE


def run_threads(requested: int, own_busy: float = 0.0, others: float | None = None) -> int:
    """The threads a run asking for ``requested`` gets: at least 1, at most the available and idle cores
    (``others`` as for :func:`idle_cores`)."""
    return max(1, min(int(requested), available_cores(), idle_cores(own_busy, others)))


class SolverThreads:
    """Inside ``with``: :func:`run_threads` of ``requested`` for :func:`matmul` and the parallel Numba
    kernels, re-chosen by :meth:`recheck` every ``recheck_s`` seconds from the load of the interval; BLAS
    itself at one thread (see the module docstring)."""

    def __init__(self, requested: int, recheck_s: float = RECHECK_S):
        self.requested, self.recheck_s = int(requested), recheck_s
        self.threads, self.device_worker = self._choose(own_load())
        self._limits = None
        self._mark = self._clock()

    def _choose(self, own_busy: float) -> tuple[int, bool]:
        """(threads, whether the device worker runs), from one look at the load of other processes."""
        others = others_load(own_busy)
        threads = run_threads(self.requested, others=others)
        return threads, device_worker(threads, others=others)

    @staticmethod
    def _clock() -> tuple[float, float]:
        times = os.times()
        return time.monotonic(), times.user + times.system

    def recheck(self) -> None:
        """Re-choose the thread count when ``recheck_s`` seconds have passed since the last choice."""
        if time.monotonic() - self._mark[0] < self.recheck_s:
            return
        wall, cpu = self._clock()
        own_busy = (cpu - self._mark[1]) / (wall - self._mark[0])
        self._mark = wall, cpu
        threads, self.device_worker = self._choose(own_busy)
        worker.set_background(self.device_worker)
        if threads != self.threads:
            self.threads = threads
            _set_numba_threads(threads)

    def __enter__(self) -> SolverThreads:
        global _active
        self._limits = _blas().limit(limits=1, user_api="blas")
        self._outer, _active = _active, self
        self._numba_outer = numba.get_num_threads()
        _set_numba_threads(self.threads)
        self._worker_outer = worker.background()
        worker.set_background(self.device_worker)
        return self

    def __exit__(self, *exc) -> None:
        global _active
        self._limits.restore_original_limits()
        numba.set_num_threads(self._numba_outer)
        worker.set_background(self._worker_outer)
        _active = self._outer


_active: SolverThreads | None = None  # the innermost SolverThreads block, for recheck()
_controller: ThreadpoolController | None = None


def _blas() -> ThreadpoolController:
    """The loaded thread pools (numpy's BLAS), found once: a fresh search costs 0.4 ms per block entered."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def solver_threads(requested: int) -> SolverThreads:
    """:func:`run_threads` threads inside the ``with`` block, re-checked by :func:`recheck`."""
    return SolverThreads(requested)


def numba_threads() -> int:
    """Threads a parallel Numba kernel or a split :func:`matmul` may use now: the innermost
    :func:`solver_threads` block's count, or 1."""
    return 1 if _active is None else _active.threads


def parallel(array) -> bool:
    """Whether an element-wise pass over ``array`` should take the parallel kernel: more than one thread
    now and at least ``PARALLEL_MIN`` elements (below, starting the threads costs about what they save)."""
    return array.size >= PARALLEL_MIN and numba_threads() > 1


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` of 2-D arrays, into ``out`` when given. A product of ``MATMUL_PARALLEL_MIN`` or more
    multiply-adds on :func:`numba_threads` threads is split along the longer side of the result into as many
    slabs (of at least ``MATMUL_MIN_SLAB`` rows or columns), each one single-threaded BLAS call, run at once
    (the calling thread takes the first); the slabs' entries are computed as in the whole product.
    Measured in the XL sweep (batch 32, float32, 2 threads, load ~3): 32 x 10 x 32768 0.88 -> 0.59 ms split;
    32 x 32768 x 10 split into two 16-row slabs 0.70 -> 0.92 ms, hence the least slab."""
    threads = numba_threads()
    (m, k), n = a.shape, b.shape[1]
    if threads == 1 or m * k * n < MATMUL_PARALLEL_MIN or max(m, n) < threads * MATMUL_MIN_SLAB:
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), np.result_type(a, b))
    cuts = np.linspace(0, max(m, n), threads + 1).astype(int)
    slabs = [(a[i:j], b, out[i:j]) if m >= n else (a, b[:, i:j], out[:, i:j]) for i, j in zip(cuts, cuts[1:])]
    pending = [_pool().submit(np.matmul, x, y, out=z) for x, y, z in slabs[1:]]
    np.matmul(*slabs[0][:2], out=slabs[0][2])
    for future in pending:
        future.result()
    return out


_workers: tuple[int, ThreadPoolExecutor] | None = None  # (the process that made it, the pool)


def _pool() -> ThreadPoolExecutor:
    """The Python threads of :func:`matmul` (idle ones wait on a lock: no spinning); a new pool in a
    forked child, which inherits the parent's pool object but not its threads."""
    global _workers
    if _workers is None or _workers[0] != os.getpid():
        _workers = os.getpid(), ThreadPoolExecutor(max(1, available_cores() - 1), thread_name_prefix="cosim-matmul")
    return _workers[1]


def _set_numba_threads(threads: int) -> None:
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def recheck() -> None:
    """Let the innermost :func:`solver_threads` block re-choose its thread count (cheap when not due)."""
    if _active is not None:
        _active.recheck()

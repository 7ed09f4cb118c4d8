"""How many threads a run's matrix products get: ``solver.threads``, capped at the cores this process may
use (its CPU affinity, e.g. under ``taskset`` or a container's CPU set), so that no setting oversubscribes.

The default, one thread, is deliberate: on a loaded or 2-core machine a second BLAS thread was measured
slower than one (it waits for the busy core at every product, and the Numba node kernels between the
products are serial); on idle cores the large products of wide crossbars gain from more (see
docs/benchmarks.md, "Run throughput"). The command line also pins OpenBLAS to one thread before numpy loads
unless ``OPENBLAS_NUM_THREADS`` is set; raising the limit here later still takes effect.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager

from threadpoolctl import threadpool_limits


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def blas_threads(requested: int) -> int:
    """The BLAS threads a run asking for ``requested`` gets: at least 1, at most the available cores."""
    return max(1, min(int(requested), available_cores()))


def solver_threads(requested: int) -> AbstractContextManager:
    """Limit BLAS to :func:`blas_threads` threads inside the ``with`` block."""
    return threadpool_limits(limits=blas_threads(requested), user_api="blas")

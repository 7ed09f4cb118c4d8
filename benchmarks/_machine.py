"""The machine a benchmark ran on, as the benchmarks print it (shared code, not a benchmark): CPU model,
cores, load, library versions, BLAS, and the GEMM speed measured now, so that a figure is read against the
machine that produced it (the machines here differ by 5x in speed; a figure from elsewhere is never a ratio
of this run)."""

from __future__ import annotations

import os
import platform
import time

import numba
import numpy as np
from threadpoolctl import threadpool_info

GEMM_N = 512  # the reference product: 512 x 512 x 512, float32


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (or what the platform says) and the logical CPUs."""
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return f"{names[0]} x {len(names)} logical CPUs"
    except (OSError, IndexError):
        return f"{platform.processor() or 'unknown CPU'} x {os.cpu_count()} logical CPUs"


def gemm_gflops(repeats: int = 5) -> float:
    """GFLOP/s of a 512^3 float32 product with the BLAS threads set now, best of ``repeats``."""
    a = np.random.default_rng(0).normal(size=(GEMM_N, GEMM_N)).astype(np.float32)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, a, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * GEMM_N ** 3 / best / 1e9


def describe(gemm: bool = True) -> list[str]:
    """Lines that state the machine: CPU, cores this process may use, load average, versions, BLAS pools
    and (``gemm``) the reference GEMM's GFLOP/s measured now."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    lines = [f"CPU: {cpu_model()}; {cores} available to the process; load average {load} (1, 5, 15 min)",
             f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}"]
    lines += [f"BLAS: {pool.get('internal_api')} {pool.get('version')} ({pool.get('architecture')}), "
              f"{pool.get('num_threads')} thread(s)" for pool in threadpool_info() if pool.get("user_api") == "blas"]
    if gemm:
        lines.append(f"GEMM {GEMM_N}^3 float32, measured now: {gemm_gflops():.1f} GFLOP/s")
    return lines


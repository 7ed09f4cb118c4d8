"""Training throughput of one analog resistive block: one full EP training step through the public API.

A step is: the free phase, both nudged phases (centred EP), the gradients (the 1/2 dV^2 rule, the bias
and input gradients), the optimiser update and the write of the new conductances into the network —
exactly what ``cosim run`` does for an analog block, without a chip. Networks (2*784)-H-10 with one
hidden layer of ideal diodes, as in the EP literature: H = 1024, 4096 and 32768 ("XL"), batch 1, 32 and
128, float32 and float64, 4 block-coordinate sweeps per phase (as the reference implementation).

Printed per configuration: samples/s, the time split by phase, peak memory (the process's peak RSS:
each configuration runs in its own subprocess), and the time of the bare GEMMs one step needs measured
in the same run (the machine's limit): the input drive X W0 (once per step, shared by the three
phases), the weight-gradient product S0^T D1 and the source-current difference D1 W0^T, plus the small
products of the sweeps. The ratio step / GEMM says how close the step is to that limit.

    python benchmarks/train_throughput.py                 # all widths, batches and dtypes
    python benchmarks/train_throughput.py --widths 1024 --batches 32 --dtypes float32
    python benchmarks/train_throughput.py --quick         # a small smoke run

BLAS and Numba run on one thread each (--threads to change BLAS): on a 2-core machine a second BLAS
thread competes with the Numba kernels.

No figure measured elsewhere enters a ratio here: every ratio printed is of two times measured in this
run. (Published figures of the PyTorch reference implementation are quoted, labelled as such, in
docs/benchmarks.md only.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
from _machine import describe

PHASES = ("free", "nudged", "gradients", "optimiser", "write")


def build(width: int, dtype: str, seed: int = 0):
    """The block, its optimiser and a batch source: (2*784)-width-10, ideal diodes to +-50 mV."""
    from cosim.analog import BCDSolver, ResistiveBlock, ResistiveNetwork
    from cosim.learning.blocks import AnalogBlock, NudgeSettings
    from cosim.learning.optim import SGD

    rng = np.random.default_rng(seed)
    sizes = [2 * 784, width, 10]
    weights = [rng.uniform(1e-8, 1e-5, (a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    network = ResistiveNetwork(weights, lower_rails=[-0.05], upper_rails=[0.05], duplicate_inputs=True, dtype=dtype)
    solver = BCDSolver(network, tol=1e-30, max_sweeps=4)  # a fixed 4 sweeps per phase
    block = AnalogBlock(ResistiveBlock(network, solver), 1e-8, 1e-5, 1.0, NudgeSettings("ep", "centred", 0.1))
    groups = [{"params": [p], "bounds": b} for p, b in zip(block.parameters, block.bounds)]
    return block, SGD(groups, lr=1e-2, momentum=0.9), rng


def timed_step(block, optimiser, x, error, clock: dict) -> None:
    """One training step, each part timed into ``clock`` (seconds)."""
    from cosim.analog import ep_gradients

    inner = block.block
    t0 = time.perf_counter()
    block.forward(x, training=True)
    t1 = time.perf_counter()
    beta = block.nudge_strength(error)
    plus, minus = inner.nudged(beta, error=error), inner.nudged(-beta, error=error)
    t2 = time.perf_counter()
    grads = ep_gradients(inner.network, *inner.readout.measure_pair(inner.network, plus, minus), block.g_max)
    gradients = [*grads.conductances, *(g * block.g_max for g in grads.biases)]
    t3 = time.perf_counter()
    optimiser.step([[g] for g in gradients], scale=1.0 / len(x))
    t4 = time.perf_counter()
    block.after_update()
    t5 = time.perf_counter()
    for phase, (start, stop) in zip(PHASES, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5))):
        clock[phase] += stop - start


def gemm_time(width: int, batch: int, dtype: str, sweeps: int, repeats: int) -> float:
    """Seconds of the bare matrix products one training step needs, on preallocated outputs."""
    rng = np.random.default_rng(1)
    n0 = 2 * 784
    w0, w1 = rng.random((n0, width), dtype=np.float64).astype(dtype), rng.random((width, 10)).astype(dtype)
    x, h, o = (rng.random((batch, n)).astype(dtype) for n in (n0, width, 10))
    drive, hidden_from_out = np.empty((batch, width), dtype), np.empty((batch, width), dtype)
    out_from_hidden, grad0, currents = np.empty((batch, 10), dtype), np.empty((n0, width), dtype), np.empty((batch, n0), dtype)
    grad1 = np.empty((width, 10), dtype)

    def step():
        np.matmul(x, w0, out=drive)
        for _ in range(3 * sweeps):  # free, plus, minus
            np.matmul(o, w1.T, out=hidden_from_out)
            np.matmul(h, w1, out=out_from_hidden)
        np.matmul(x.T, h, out=grad0)
        np.matmul(h.T, o, out=grad1)
        np.matmul(h, w0.T, out=currents)

    step()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    return best


def measure(width: int, batch: int, dtype: str, steps: int) -> dict:
    """Run in a fresh process: throughput, phase split, peak memory and GEMM time of one configuration."""
    warnings.simplefilter("ignore")  # the fixed 4 sweeps stop before tol by design
    block, optimiser, rng = build(width, dtype)
    x = rng.uniform(0, 1, (batch, 784)).astype(dtype)
    error = rng.normal(size=(batch, 10)).astype(dtype)
    clock = dict.fromkeys(PHASES, 0.0)
    timed_step(block, optimiser, x, error, clock)  # compile and warm up
    clock = dict.fromkeys(PHASES, 0.0)
    start = time.perf_counter()
    for _ in range(steps):
        timed_step(block, optimiser, x, error, clock)
    seconds = (time.perf_counter() - start) / steps
    return {
        "width": width, "batch": batch, "dtype": dtype, "samples_per_s": batch / seconds,
        "step_ms": 1e3 * seconds, "split_ms": {p: 1e3 * t / steps for p, t in clock.items()},
        "peak_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gemm_ms": 1e3 * gemm_time(width, batch, dtype, 4, repeats=3),
    }


def run_isolated(width: int, batch: int, dtype: str, steps: int, threads: int) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               NUMBA_NUM_THREADS="1", MKL_NUM_THREADS=str(threads))
    code = (f"import json, sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import train_throughput as t; "
            f"print(json.dumps(t.measure({width}, {batch}, {dtype!r}, {steps})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def steps_for(width: int, batch: int) -> int:
    """Enough steps for a stable time, few enough for XL."""
    return max(2, min(50, int(4e6 / (width * max(batch, 8)))))


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[1024, 4096, 32768])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32, 128])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="one small configuration")
    args = parser.parse_args(argv)
    if args.quick:
        args.widths, args.batches, args.dtypes = [256], [32], ["float32"]
    print("\n".join(describe()))
    print(f"{'network':<20} {'batch':>5} {'dtype':>8} {'samples/s':>10} {'step ms':>8} "
          f"{'GEMM ms':>8} {'step/GEMM':>9} {'peak MB':>8}   split ms (" + ", ".join(PHASES) + ")")
    rows = []
    for width in args.widths:
        for dtype in args.dtypes:
            for batch in args.batches:
                row = run_isolated(width, batch, dtype, steps_for(width, batch), args.threads)
                rows.append(row)
                split = ", ".join(f"{row['split_ms'][p]:.2f}" for p in PHASES)
                print(f"(2*784)-{width}-10{'':<{20 - len(f'(2*784)-{width}-10')}} {batch:>5} {dtype:>8} "
                      f"{row['samples_per_s']:>10.1f} {row['step_ms']:>8.2f} {row['gemm_ms']:>8.2f} "
                      f"{row['step_ms'] / row['gemm_ms']:>9.2f} {row['peak_MB']:>8.0f}   {split}", flush=True)
    return rows


if __name__ == "__main__":
    main()

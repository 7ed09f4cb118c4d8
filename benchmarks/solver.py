"""Benchmark: time per sample of one free equilibrium of a resistive network (BCD solver).

Two deep resistive networks with ideal diodes, duplicated inputs ([+x, -x]) and random uniform
conductances:

    A: (2*784)-1024-10            one hidden layer,    fixed 4 sweeps
    B: (2*784)-512-512-512-10     three hidden layers, fixed 20 sweeps

at batch 1, 32 and 256, in float32 and float64. Each configuration is timed three ways, in the same run:

    cosim   BCDSolver.relax(x): input drive X.W0 once, cached self-conductances, BLAS GEMMs for the
            crossbars, Numba kernels for the node-local divide / clip / convergence test;
    numpy   a plain numpy version of the same sweeps that recomputes everything every sweep (X.W0,
            the denominators, np.clip with temporaries); checked against cosim (allclose) first;
    GEMM    only the matrix products the sweeps need, numpy.matmul into preallocated outputs: X.W0 once,
            then per sweep one forward and one backward product per crossbar (the input crossbar has no
            backward product: the input voltages are sources). This is the machine's limit.

The sweep count is fixed for the timing (tol tiny, max_sweeps=N, ConvergenceWarning suppressed); the
sweeps the solver needs to reach its default tol (1e-10 float64, 1e-5 float32) are reported beside it.

Threads are set deliberately: BLAS via threadpoolctl (--threads, default 1); the Numba kernels are serial.

    python benchmarks/solver.py                 # full run (< 3 minutes on 2 cores)
    python benchmarks/solver.py --quick         # tiny smoke run (seconds)
    python benchmarks/solver.py --dtype float32 --threads 2
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
from _machine import describe
from threadpoolctl import threadpool_limits

from cosim.analog import BCDSolver, ConvergenceWarning, IdealDiode, ResistiveNetwork

RAILS = (-0.5, 0.5)  # V: lower / upper diode rail of every hidden node (a hard-tanh-like clip)
G_RANGE = (1e-7, 1e-5)  # S: conductances drawn uniformly in this range
BIAS_OFFSET = 0.8  # V: bias current of a hidden node = U(-0.8, 0.8) V times its self-conductance
INPUT_RANGE = (-1.0, 1.0)  # V: block inputs drawn uniformly


@dataclass(frozen=True)
class Case:
    name: str
    sizes: tuple[int, ...]
    sweeps: int  # fixed sweep count for the timing


FULL_CASES = (
    Case("(2*784)-1024-10", (2 * 784, 1024, 10), 4),
    Case("(2*784)-512-512-512-10", (2 * 784, 512, 512, 512, 10), 20),
)
QUICK_CASES = (
    Case("(2*64)-64-10", (2 * 64, 64, 10), 4),
    Case("(2*64)-32-32-32-10", (2 * 64, 32, 32, 32, 10), 20),
)


# ---------------------------------------------------------------------------------------- problem set-up
def make_network(sizes, dtype, rng) -> ResistiveNetwork:
    """Random uniform crossbars; ideal diodes to RAILS on every hidden node; bias currents that spread the
    hidden nodes over about +-BIAS_OFFSET volts, so that a good part of them sits at a rail."""
    conductances = [rng.uniform(*G_RANGE, size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    n_layers = len(sizes) - 1
    biases = []
    for m in range(1, n_layers + 1):
        if m == n_layers:  # linear output layer: no bias
            biases.append(np.zeros(sizes[m]))
            continue
        self_conductance = conductances[m - 1].sum(axis=0) + conductances[m].sum(axis=1)
        biases.append(rng.uniform(-BIAS_OFFSET, BIAS_OFFSET, size=sizes[m]) * self_conductance)
    hidden = n_layers - 1
    return ResistiveNetwork(conductances, biases, [RAILS[0]] * hidden, [RAILS[1]] * hidden, IdealDiode(),
                            duplicate_inputs=True, dtype=dtype)


def clamped_fraction(network: ResistiveNetwork, layers) -> float:
    """Fraction of hidden nodes (all samples) sitting exactly at one of their diode rails."""
    at_rail = total = 0
    for m in range(1, network.n_layers):
        v = layers[m]
        clamped = (v == network.lower_rails[m - 1]) | (v == network.upper_rails[m - 1])
        at_rail += int(clamped.sum())
        total += clamped.size
    return at_rail / total


# ---------------------------------------------------------------------------------------- plain numpy
def numpy_relax(network: ResistiveNetwork, x: np.ndarray, sweeps: int) -> list[np.ndarray]:
    """The same red-black sweeps as BCDSolver, written plainly: everything recomputed every sweep."""
    weights = network.conductances
    n_layers = network.n_layers
    v = [np.concatenate([x, -x], axis=1)]
    for m in range(1, n_layers + 1):
        lo, hi = _numpy_rails(network, m)
        v.append(np.clip(np.zeros((x.shape[0], network.sizes[m]), dtype=x.dtype), lo, hi))
    order = list(range(1, n_layers + 1, 2)) + list(range(2, n_layers + 1, 2))
    for _ in range(sweeps):
        max_dv = max_v = 0.0
        for m in order:
            current = v[m - 1] @ weights[m - 1] + network.biases[m - 1]  # X.W0 recomputed for m == 1
            den = weights[m - 1].sum(axis=0)
            if m < n_layers:
                current = current + v[m + 1] @ weights[m].T
                den = den + weights[m].sum(axis=1)
            lo, hi = _numpy_rails(network, m)
            new = np.clip(current / den, lo, hi)
            max_dv = max(max_dv, float(np.abs(new - v[m]).max()))
            max_v = max(max_v, float(np.abs(new).max()))
            v[m] = new
        # a real loop would stop when max_dv / max_v <= tol; here the sweep count is fixed
    return v


def _numpy_rails(network, m):
    if m < network.n_layers:
        return network.lower_rails[m - 1], network.upper_rails[m - 1]
    return -np.inf, np.inf


# ---------------------------------------------------------------------------------------- bare GEMMs
class GemmOnly:
    """The crossbar products of ``sweeps`` BCD sweeps, numpy.matmul into preallocated outputs."""

    def __init__(self, network: ResistiveNetwork, layers, sweeps: int):
        self.weights = network.conductances
        self.n_layers = network.n_layers
        self.sweeps = sweeps
        self.layers = [np.ascontiguousarray(v) for v in layers]  # realistic operand values (no zeros)
        batch = layers[0].shape[0]
        self.below = [None] + [np.empty((batch, n), dtype=network.dtype) for n in network.sizes[1:]]
        self.above = [None] + [np.empty((batch, n), dtype=network.dtype) for n in network.sizes[1:]]
        self.order = list(range(1, self.n_layers + 1, 2)) + list(range(2, self.n_layers + 1, 2))

    def macs_per_sample(self) -> int:
        """Multiply-accumulates per sample: X.W0 once, then forward + backward per sweep."""
        w = self.weights
        per_sweep = sum(2 * w[l].size for l in range(1, self.n_layers))
        return w[0].size + self.sweeps * per_sweep

    def __call__(self):
        w, v, below, above = self.weights, self.layers, self.below, self.above
        np.matmul(v[0], w[0], out=below[1])
        for _ in range(self.sweeps):
            for m in self.order:
                if m > 1:
                    np.matmul(v[m - 1], w[m - 1], out=below[m])
                if m < self.n_layers:
                    np.matmul(v[m + 1], w[m].T, out=above[m])


# ---------------------------------------------------------------------------------------- timing
def best_time(fn, repeats: int, min_seconds: float) -> float:
    """Best over ``repeats`` of the mean time of one call, each repeat looping for at least min_seconds."""
    start = time.perf_counter()
    fn()  # warm-up (Numba compile, BLAS buffers, page faults)
    once = max(time.perf_counter() - start, 1e-7)
    loops = max(1, int(min_seconds / once))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - start) / loops)
    return best


def run_case(case: Case, batch: int, dtype, network: ResistiveNetwork, rng, repeats: int, min_seconds: float):
    x = rng.uniform(*INPUT_RANGE, size=(batch, network.input_width)).astype(dtype)
    fixed = BCDSolver(network, tol=1e-300, max_sweeps=case.sweeps)

    def cosim_solve():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fixed.relax(x)

    # correctness first: the plain numpy sweeps must land on the same voltages
    state = cosim_solve()
    assert state.info.sweeps == case.sweeps
    reference = numpy_relax(network, x, case.sweeps)
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (1e-4, 1e-6)
    for m, (a, b) in enumerate(zip(state.layers, reference)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{case.name} b={batch} layer {m}")

    converged = BCDSolver(network).relax(x)  # default tol
    gemm = GemmOnly(network, state.layers, case.sweeps)

    t_cosim = best_time(cosim_solve, repeats, min_seconds)
    t_numpy = best_time(lambda: numpy_relax(network, x, case.sweeps), repeats, min_seconds)
    t_gemm = best_time(gemm, repeats, min_seconds)
    return dict(
        network=case.name, batch=batch, dtype=np.dtype(dtype).name, sweeps=case.sweeps,
        tol_sweeps=converged.info.sweeps, converged=converged.info.converged,
        clamped=clamped_fraction(network, converged.layers),
        cosim_us=1e6 * t_cosim / batch, numpy_us=1e6 * t_numpy / batch, gemm_us=1e6 * t_gemm / batch,
        gemm_gflops=2 * gemm.macs_per_sample() * batch / t_gemm / 1e9,
    )


# ---------------------------------------------------------------------------------------- report
def machine_facts(threads: int) -> list[str]:
    return [*describe(), f"BLAS threads requested: {threads}; Numba kernels: serial (njit, no prange)"]


def format_table(rows) -> str:
    header = ("| network | batch | dtype | sweeps | sweeps to tol | clamped | cosim µs/sample | numpy µs/sample "
              "| GEMM µs/sample | cosim/GEMM | speedup vs numpy |")
    lines = [header, "|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|"]
    for r in rows:
        tol = f"{r['tol_sweeps']}" + ("" if r["converged"] else " (cap)")
        lines.append(
            f"| {r['network']} | {r['batch']} | {r['dtype']} | {r['sweeps']} | {tol} | {100 * r['clamped']:.0f}% "
            f"| {r['cosim_us']:.1f} | {r['numpy_us']:.1f} | {r['gemm_us']:.1f} "
            f"| {r['cosim_us'] / r['gemm_us']:.2f} | {r['numpy_us'] / r['cosim_us']:.1f}x |")
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", choices=("float32", "float64", "both"), default="both")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (threadpoolctl); default 1")
    parser.add_argument("--batches", type=int, nargs="+", default=None, help="default: 1 32 256")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats, best kept (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny networks, batch 1 and 4: a smoke run")
    return parser.parse_args(argv)


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    cases = QUICK_CASES if args.quick else FULL_CASES
    batches = args.batches or ([1, 4] if args.quick else [1, 32, 256])
    repeats = args.repeats or (2 if args.quick else 5)
    min_seconds = 0.0 if args.quick else 0.1
    dtypes = [np.float32, np.float64] if args.dtype == "both" else [np.dtype(args.dtype).type]
    rows = []
    started = time.perf_counter()
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for line in machine_facts(args.threads):
            print(line)
        print(f"rails {RAILS} V, conductances U{G_RANGE} S, hidden bias currents U(+-{BIAS_OFFSET} V) x "
              f"self-conductance, inputs U{INPUT_RANGE} V duplicated [+x, -x]\n")
        for case in cases:
            rng = np.random.default_rng(args.seed)
            base = make_network(case.sizes, np.float64, rng)
            for dtype in dtypes:
                network = base if dtype == np.float64 else base.astype(dtype)
                for batch in batches:
                    row = run_case(case, batch, dtype, network, np.random.default_rng(args.seed + batch),
                                   repeats, min_seconds)
                    rows.append(row)
                    print(f"  {row['network']:<24} batch {batch:>4} {row['dtype']}: cosim {row['cosim_us']:9.1f} "
                          f"numpy {row['numpy_us']:9.1f} GEMM {row['gemm_us']:9.1f} µs/sample "
                          f"({row['gemm_gflops']:.1f} GFLOP/s in the GEMMs)", flush=True)
    print()
    print(format_table(rows))
    big = [r for r in rows if r["batch"] >= 32]
    if big:
        worst = max(r["cosim_us"] / r["gemm_us"] for r in big)
        verdict = "met" if worst <= 1.5 else "NOT met"
        print(f"\ntarget cosim <= 1.5x GEMM at batch >= 32: {verdict} (worst ratio {worst:.2f})")
    print(f"total {time.perf_counter() - started:.1f} s")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)

"""Benchmark: crossbars with real wires (cosim.analog.resistive.wires) against ngspice, badcrossbar and the wire-free solve.

Per operating point, measured in the same run:

    ngspice     the same wired netlist (cosim.spice.wired), `ngspice -b`, one sample (process start included);
    badcrossbar its linear crossbar (inputs on word lines, bit lines at 0 V), batch 1 and batch B;
    wire-free   BCDSolver on the same network without wires (the cost factor of the wires).

Agreement is checked in the same run (max |dV| over every word- and bit-line node against badcrossbar, over
every layer node against ngspice).

    python benchmarks/ir_drop.py            # 128x128 vs ngspice, 256x256 vs badcrossbar
    python benchmarks/ir_drop.py --quick    # tiny sizes (seconds)
    python benchmarks/ir_drop.py --sweeps   # sweeps to tol vs tile size and wire resistance
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from solver import machine_facts
from threadpoolctl import threadpool_limits

from cosim.analog import BCDSolver, IdealDiode, ResistiveNetwork
from cosim.analog.resistive.wires import WiredNetwork, WiredSolver, WireLayout
from cosim.analog.resistive.wires.reference import grounded_crossbar

G_RANGE = (1e-6, 1e-4)  # S: devices 10 kohm .. 1 Mohm
SEGMENT_OHM = 1.0  # per cell pitch, word and bit lines


def timed(fn, repeats: int = 3) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def gemm_gflops(n: int = 512) -> float:
    a = np.random.default_rng(0).standard_normal((n, n))
    seconds, _ = timed(lambda: a @ a, 5)
    return 2 * n ** 3 / seconds / 1e9


def versus_badcrossbar(n: int, batch: int, rng) -> dict:
    from badcrossbar.compute import compute

    g = rng.uniform(*G_RANGE, (n, n))
    x = rng.uniform(-1, 1, (batch, n))
    solver = WiredSolver(grounded_crossbar(g, SEGMENT_OHM, SEGMENT_OHM), on_unconverged="raise")
    ours, eq = timed(lambda: solver.relax(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, solution = timed(lambda: compute(x.T, 1 / g, r_i=SEGMENT_OHM), 1)
    words = solution.voltages.word_line.reshape(n, n, batch)
    error = np.abs(np.moveaxis(words, 2, 0) - eq.word_lines[0]).max()
    return dict(case=f"badcrossbar {n}x{n} batch {batch}", cosim=ours / batch, other=theirs / batch,
                error=error, sweeps=eq.info.sweeps)


def hidden_network(n: int, rng) -> ResistiveNetwork:
    """n -> n (hidden, ideal diodes at +-0.5 V) -> 10: one tile-sized crossbar and a small readout."""
    weights = [rng.uniform(*G_RANGE, (n, n)), rng.uniform(*G_RANGE, (n, 10))]
    return ResistiveNetwork(weights, lower_rails=[-0.5], upper_rails=[0.5], diode=IdealDiode())


def versus_ngspice(n: int, rng) -> dict:
    from cosim.spice import ngspice
    from cosim.spice.wired import write_wired_netlist

    network = hidden_network(n, rng)
    wired = WiredNetwork(network, WireLayout(SEGMENT_OHM, SEGMENT_OHM, SEGMENT_OHM, SEGMENT_OHM))
    x = rng.uniform(-1, 1, (1, n))
    ours, eq = timed(lambda: WiredSolver(wired, on_unconverged="raise").relax(x))
    netlist = write_wired_netlist(wired, x[0], record_wires=False)  # wrdata refuses ~1e4 vectors
    theirs, result = timed(lambda: ngspice.run_batch(netlist, timeout=900), 1)
    error = max(np.abs(s - v[0]).max() for s, v in zip(result.layers(netlist), eq.layers))
    return dict(case=f"ngspice {n}x{n} (hidden layer, diodes)", cosim=ours, other=theirs, error=error,
                sweeps=eq.info.sweeps)


def versus_wire_free(n: int, batch: int, rng) -> dict:
    network = hidden_network(n, rng)
    x = rng.uniform(-1, 1, (batch, n))
    free, ideal = timed(lambda: BCDSolver(network, tol=1e-10).relax(x))
    wired = WiredNetwork(network, WireLayout(SEGMENT_OHM, SEGMENT_OHM, SEGMENT_OHM, SEGMENT_OHM))
    ours, eq = timed(lambda: WiredSolver(wired).relax(x))
    return dict(case=f"wire-free {n}x{n} batch {batch} ({ideal.info.sweeps} vs {eq.info.sweeps} sweeps)",
                cosim=ours / batch, other=free / batch, error=float("nan"), sweeps=eq.info.sweeps)


def sweep_counts(sizes=(32, 64, 128, 256), ohms=(0.1, 1.0, 3.0, 10.0)) -> str:
    """Sweeps to convergence (cold start, one sample, default stop rule) of the linear crossbar vs tile size and
    segment resistance: plain block Gauss-Seidel (omega = 1) / adaptive SOR (the default)."""
    rng = np.random.default_rng(0)
    rows = ["| tile n×n | " + " | ".join(f"r = {r:g} Ω" for r in ohms) + " |", "|---" * (len(ohms) + 1) + "|"]
    for n in sizes:
        g, x = rng.uniform(*G_RANGE, (n, n)), rng.uniform(-1, 1, (1, n))
        cells = [" / ".join(str(WiredSolver(grounded_crossbar(g, r, r), max_sweeps=20000, omega=omega).relax(x)
                                .info.sweeps) for omega in (1.0, None)) for r in ohms]
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--sweeps", action="store_true", help="only the table of sweeps vs tile size and r")
    args = parser.parse_args(argv)
    if args.sweeps:
        print(sweep_counts())
        return []
    rng = np.random.default_rng(0)
    spice_n, cross_n, batch = (16, 32, 4) if args.quick else (128, 256, 32)
    with threadpool_limits(1):
        print("\n".join(machine_facts(1)))
        print("load average (1, 5, 15 min) at start: " + ", ".join(f"{a:.2f}" for a in os.getloadavg()))
        print(f"GEMM 512x512 float64: {gemm_gflops():.1f} GFLOP/s (1 thread)")
        rows = [versus_ngspice(spice_n, rng), versus_badcrossbar(cross_n, 1, rng),
                versus_badcrossbar(cross_n, batch, rng), versus_wire_free(cross_n, batch, rng)]
    print("| case | cosim ms/point | other ms/point | other/cosim | max dV (V) | sweeps |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {1e3 * r['cosim']:.2f} | {1e3 * r['other']:.2f} | {r['other'] / r['cosim']:.1f}x "
              f"| {r['error']:.1e} | {r['sweeps']} |")
    print("load average (1, 5, 15 min) at end: " + ", ".join(f"{a:.2f}" for a in os.getloadavg()))
    return rows


if __name__ == "__main__":
    main()

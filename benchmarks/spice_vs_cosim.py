"""Benchmark: one DC operating point of the same resistive network in cosim and in ngspice.

Networks with one hidden layer of N nodes fed by a 2N-input crossbar (each of N inputs as [+x, -x]) and
10 outputs: (2N)-N-10, for N = 64, 128, 256, 300, 384, 512 (and 1024 for cosim alone: ngspice's time grows about
as the cube of the node count (x24 from N = 256 to N = 512 in docs/benchmarks.md) — so it
is capped by --max-spice, default 512, to keep the whole run under 8 minutes).

Both tools solve the same circuit: conductances uniform in 1e-8..1e-5 S, Shockley diodes (I_s = 1e-14 A,
n = 1, 27 degC) from every hidden node to rails at -/+0.05 V, hidden bias currents that spread the hidden
nodes over about +-0.8 V (so that many of the diodes conduct), inputs uniform in [-1, 1] V, one sample.

    cosim    BCDSolver.relax in float64 at tol 1e-12 (relative), one BLAS thread; best of --repeats;
    ngspice  `ngspice -b` wall time on the exported netlist (process start, parsing, matrix set-up and
             ordering, Newton iterations, wrdata), one run. The netlist's writing is not counted.

The table also gives the share of hidden nodes whose diode carries more than 1 nA ("diodes on") and
max |dv| between the tools (the check that they solved the same thing).

    python benchmarks/spice_vs_cosim.py                  # the table in docs/benchmarks.md ("## SPICE")
    python benchmarks/spice_vs_cosim.py --quick          # N = 16, 32: a smoke run (seconds)
    python benchmarks/spice_vs_cosim.py --max-spice 1024 # include ngspice at N = 1024 (many minutes)
"""

from __future__ import annotations

import argparse
import subprocess
import time

import numpy as np
from _machine import describe
from threadpoolctl import threadpool_limits

from cosim.analog import BCDSolver, ResistiveNetwork, ShockleyDiode
from cosim.analog.resistive.observables import diode_currents
from cosim.spice.netlist import write_netlist
from cosim.spice.ngspice import find_ngspice, run_batch

G_RANGE = (1e-8, 1e-5)  # S
RAILS = (-0.05, 0.05)  # V
BIAS_OFFSET = 0.8  # V: hidden bias current = U(-0.8, 0.8) V x the node's self-conductance
OUTPUTS = 10
CONDUCTING = 1e-9  # A: a hidden node's diode counts as on above this current (forward bias > 0.3 V)
FULL_SIZES = (64, 128, 256, 300, 384, 512, 1024)
QUICK_SIZES = (16, 32)


def make_network(hidden: int, rng: np.random.Generator) -> ResistiveNetwork:
    sizes = (2 * hidden, hidden, OUTPUTS)
    conductances = [rng.uniform(*G_RANGE, size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    self_conductance = conductances[0].sum(axis=0) + conductances[1].sum(axis=1)
    biases = [rng.uniform(-BIAS_OFFSET, BIAS_OFFSET, hidden) * self_conductance, np.zeros(OUTPUTS)]
    return ResistiveNetwork(conductances, biases, [RAILS[0]], [RAILS[1]], ShockleyDiode(), duplicate_inputs=True)


def time_cosim(network: ResistiveNetwork, x: np.ndarray, repeats: int) -> tuple[float, list[np.ndarray]]:
    solver = BCDSolver(network, tol=1e-12, max_sweeps=100_000, on_unconverged="raise")
    solver.relax(x)  # compile and warm up
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        equilibrium = solver.relax(x)
        best = min(best, time.perf_counter() - start)
    return best, [v[0] for v in equilibrium.layers]


def measure(hidden: int, with_spice: bool, repeats: int, seed: int) -> dict:
    rng = np.random.default_rng([seed, hidden])
    network = make_network(hidden, rng)
    x = rng.uniform(-1.0, 1.0, (1, hidden))
    cosim_s, layers = time_cosim(network, x, repeats)
    diode = diode_currents(network, [v[None, :] for v in layers])[0]
    conducting = float(np.mean(np.abs(diode) > CONDUCTING))
    row = {"hidden": hidden, "network": f"({2 * hidden})-{hidden}-{OUTPUTS}", "nodes": sum(network.sizes),
           "resistors": sum(w.size for w in network.conductances), "cosim_s": cosim_s, "conducting": conducting,
           "spice_s": None, "max_dv": None}
    if with_spice:
        netlist = write_netlist(network, x[0])
        result = run_batch(netlist)
        spice = result.layers(netlist)
        row["spice_s"] = result.seconds
        row["max_dv"] = max(float(np.abs(s - c).max()) for s, c in zip(spice[1:], layers[1:]))
    return row


def markdown(rows: list[dict]) -> str:
    lines = ["| network | nodes | resistors | diodes on | cosim ms | ngspice s | ngspice / cosim | max abs dv (V) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        spice = "not run" if r["spice_s"] is None else f"{r['spice_s']:.2f}"
        ratio = "—" if r["spice_s"] is None else f"{r['spice_s'] / r['cosim_s']:,.0f}x"
        dv = "—" if r["max_dv"] is None else f"{r['max_dv']:.1e}"
        lines.append(f"| {r['network']} | {r['nodes']} | {r['resistors']:,} | {100 * r['conducting']:.0f}% | "
                     f"{1e3 * r['cosim_s']:.3f} | {spice} | {ratio} | {dv} |")
    return "\n".join(lines)


def ngspice_version() -> str:
    done = subprocess.run([find_ngspice(), "-v"], capture_output=True, text=True)
    return next((line.strip("* ").strip() for line in done.stdout.splitlines() if "ngspice-" in line), "ngspice")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--max-spice", type=int, default=512, help="largest N solved by ngspice (default 512)")
    parser.add_argument("--repeats", type=int, default=20, help="cosim repeats, best taken (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    print(f"{ngspice_version()}; 1 BLAS thread")
    print("\n".join(describe()))
    rows = []
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        for hidden in sizes:
            rows.append(measure(hidden, hidden <= args.max_spice, args.repeats, args.seed))
            r = rows[-1]
            spice = "-" if r["spice_s"] is None else f"{r['spice_s']:.2f} s"
            print(f"  N={hidden}: cosim {1e3 * r['cosim_s']:.3f} ms, ngspice {spice}", flush=True)
    print(f"\n{markdown(rows)}\n\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

"""Throughput of the main job, `cosim run`: its training step beside the bare GEMMs it needs, split by part.

For ``chip_configs/default.yaml`` and its ideal twin ``default_ideal.yaml`` (every block, digital and
analog, with the chip model on), built through :func:`cosim.runner.prepare` (a synthetic dataset of the
same shape when Fashion-MNIST is absent), this prints:

* the training step (forward, backward, optimiser, device writes, the chip's per-batch booking: exactly
  the loop of :class:`~cosim.learning.train.Trainer`), best of interleaved repeats;
* its GEMM floor: the matrix products the step needs, listed from the built chain (linear ops: forward,
  weight gradient and, except for the first block, input gradient; crossbars: the input drive once, the
  per-sweep products of every solve with the sweeps the solves really took, less those of all-zero layers
  that cold starts write as zeros, the 1/2 dV^2 gradient GEMM and, except for the first block, the
  source-current difference), timed as bare ``numpy.matmul`` calls
  into preallocated outputs in the same run; the ratio step / floor;
* the step split by part, from timers wrapped around methods by this script only (exclusive times:
  a part's time excludes the parts it calls); "Python and glue" is what no timer covers; every product
  goes through :func:`cosim.threads.matmul`, timed as its own part (the GEMMs as they ran in the step,
  beside their floor);
* the machine: CPU model (/proc/cpuinfo), the cores this process may use (``os.sched_getaffinity``)
  and the GEMM GFLOP/s of the floor, measured in the same run.

Then the XL network (``fmnist_drn_xl.yaml``, (2*784)-32768-10, batch 32) with 1 and 2 threads (the large
products split by :func:`cosim.threads.matmul`, the parallel Numba kernels; BLAS at one thread) and as a run
asking for 2 gets them (capped at the idle cores), interleaved, best of 20; and where the wall time of one
`cosim run` goes (start-up, data loading, training, evaluation, checkpoint and results, report.html), timed
from outside around the phases of :func:`cosim.runner.run`.

    python benchmarks/run_throughput.py           # about 3 minutes on 2 (loaded) cores, a full epoch included
    python benchmarks/run_throughput.py --quick   # a smoke run: few steps, a small XL stand-in, a short run
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _machine import describe
from threadpoolctl import threadpool_limits

from cosim.threads import solver_threads

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("default.yaml", "default_ideal.yaml")


class Parts:
    """Exclusive time per part of a training step, from timers wrapped around methods while in a ``with``."""

    CHIP = ("device read noise", "device programming", "converters", "ledger")
    GEMMS = "GEMMs, as they ran in the step"
    NODES = "node updates (the layer kernel)"
    PASSES = (GEMMS, NODES, "optimiser", "conductance install")  # what every step must do, as it ran

    def __init__(self, s):
        from cosim.analog.devices import DeviceArray
        from cosim.analog.relaxation import kernels as relaxation_kernels
        from cosim.analog.resistive import block as resistive_block
        from cosim.analog.resistive import energy as resistive_energy
        from cosim.analog.resistive import gradients as resistive_gradients
        from cosim.analog.resistive import observables as resistive_observables
        from cosim.analog.resistive import solve as resistive_solve
        from cosim.analog.resistive.network import ResistiveNetwork
        from cosim.chip.chip import Chip
        from cosim.chip.ledger import Ledger
        from cosim.chip.tile import Tile
        from cosim.converters import Converter
        from cosim.digital import ops as digital_ops
        from cosim.learning.blocks import AnalogBlock, DigitalBlock

        gemms = [(module, "matmul", self.GEMMS) for module in (  # every product of the step goes through matmul
            resistive_energy, resistive_solve, resistive_gradients, resistive_observables, digital_ops)]
        self.targets = gemms + [  # (owner, attribute, part)
            (relaxation_kernels, "layer_update", self.NODES),
            (DigitalBlock, "forward", "digital forward"), (DigitalBlock, "backward", "digital backward"),
            (s.chain, "loss", "loss"),
            (resistive_block.ResistiveBlock, "forward", "analog free phase"),
            (resistive_block.ResistiveBlock, "nudged", "analog nudged phases"),
            (resistive_block, "ep_gradients", "EP gradients"), (Tile, "measure_pair", "EP gradients"),
            (type(s.optimizer), "step", "optimiser"),
            (DeviceArray, "read", "device read noise"),
            (DeviceArray, "update", "device programming"), (Tile, "program", "device programming"),
            (AnalogBlock, "after_update", "conductance install"),
            (ResistiveNetwork, "set_conductances", "conductance install"),
            (Converter, "__call__", "converters"),
            (Ledger, "add", "ledger"), (Tile, "after_solve", "ledger"), (Chip, "book_step", "ledger"),
            (Tile, "book_gradient_arithmetic", "ledger"),
        ]
        self.solver, self.energy = resistive_solve.ResistiveSolver, resistive_energy.ResistiveEnergy
        self.networks = {id(b.network): i for i, b in enumerate(s.chain.blocks) if b.kind == "analog"}
        self.times = dict.fromkeys([part for _, _, part in self.targets], 0.0)
        self.times["Python and glue"] = 0.0
        self.sweep_counts: dict[int, int] = {}
        self.skipped: dict[tuple[int, int, int], int] = {}  # products of all-zero layers the solves left out
        self._stack: list[float] = []

    def _timed(self, function, part):
        def timed(*args, **kwargs):
            self._stack.append(0.0)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.times[part] += elapsed - self._stack.pop()
                self._stack[-1] += elapsed
        return timed

    def _counted(self, relax):
        def counted(solver, *args, **kwargs):
            state = relax(solver, *args, **kwargs)
            index = self.networks[id(solver.network)]
            self.sweep_counts[index] = self.sweep_counts.get(index, 0) + state.info.sweeps
            return state
        return counted

    def _skips(self, product):
        def counted(energy, layer, v, w, out):
            if layer in energy._zero:
                shape = (v.shape[0], v.shape[1], w.shape[1])
                self.skipped[shape] = self.skipped.get(shape, 0) + 1
            return product(energy, layer, v, w, out)
        return counted

    def __enter__(self):
        self._saved = [(owner, name, vars(owner).get(name)) for owner, name, _ in self.targets]
        self._saved.append((self.solver, "relax", vars(self.solver)["relax"]))
        for owner, name, part in self.targets:
            setattr(owner, name, self._timed(getattr(owner, name), part))
        self.solver.relax = self._counted(self.solver.relax)
        self._saved.append((self.energy, "_product", vars(self.energy)["_product"]))
        self.energy._product = self._skips(self.energy._product)
        self._stack.append(0.0)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        elapsed = time.perf_counter() - self._start
        self.times["Python and glue"] += elapsed - self._stack.pop()
        for owner, name, original in reversed(self._saved):  # inherited methods: remove the wrapper
            setattr(owner, name, original) if original is not None else delattr(owner, name)

    def per_step(self, steps: int) -> dict[str, float]:
        return {part: seconds / steps for part, seconds in self.times.items()}

    def sweeps(self, steps: int) -> dict[int, float]:
        """Mean sweeps per step (all phases) of each analog block, by its index in the chain."""
        return {index: count / steps for index, count in self.sweep_counts.items()}

    def skipped_products(self, steps: int) -> dict[tuple[int, int, int], float]:
        """Products per step that cold starts write as zeros (their layer is all zero): not needed."""
        return {shape: count / steps for shape, count in self.skipped.items()}


def gemm_floor(chain, sweeps: dict[int, float], batch: int,
               skipped: dict[tuple[int, int, int], float]) -> dict[tuple[int, int, int], float]:
    """The products one training step needs, {(m, k, n): count per step}: see the module docstring;
    ``skipped``: sweep products the solves did not need (of all-zero layers at a cold start), taken off."""
    from cosim.digital.ops import Linear

    products: dict[tuple[int, int, int], float] = {}

    def add(shape, count=1.0):
        products[shape] = products.get(shape, 0.0) + count

    for index, block in enumerate(chain.blocks):
        if block.kind == "digital":
            for op in (op for op in block.ops if isinstance(op, Linear)):
                i, o = op.in_features, op.out_features
                add((batch, i, o))
                add((i, batch, o))
                if index:
                    add((batch, o, i))
            continue
        n = block.network.sizes
        add((batch, n[0], n[1]))  # the input drive, once per step
        for m in range(1, len(n)):  # every sweep: what the neighbours drive into layer m
            if m >= 2:
                add((batch, n[m - 1], n[m]), sweeps[index])
            if m < len(n) - 1:
                add((batch, n[m + 1], n[m]), sweeps[index])
        for l in range(len(n) - 1):  # the 1/2 dV^2 rule: the input layer's voltages do not move
            add((n[l], batch if l == 0 else 2 * batch, n[l + 1]))
        if index:
            add((batch, n[1], n[0]))  # the source-current difference: the error for the block before
    for shape, count in skipped.items():
        add(shape, -count)
    return products


def product_timer(products: dict, dtype):
    """A function running the products in their step counts (rounded; at least once) into preallocated
    outputs, and the FLOPs it does: timed like the step, as one block, so both see the same machine load."""
    rng = np.random.default_rng(0)
    runs = [(rng.random(s[:2]).astype(dtype), rng.random(s[1:]).astype(dtype), np.empty((s[0], s[2]), dtype),
             max(1, round(count))) for s, count in products.items()]

    def run():
        for a, b, out, count in runs:
            for _ in range(count):
                np.matmul(a, b, out=out)

    return run, sum(2 * a.shape[0] * a.shape[1] * b.shape[1] * count for a, b, _, count in runs)


def session(name: str, samples: int, overrides=()):
    """A prepared run of chip_configs/``name`` on ``samples`` training samples (synthetic if data is absent)."""
    from cosim.config.loader import load_config
    from cosim.errors import DatasetNotFoundError
    from cosim.runner import prepare

    base = [f"data.n_train={samples}", "data.n_test=64", *overrides]
    try:
        return prepare(load_config(ROOT / "chip_configs" / name, base))
    except DatasetNotFoundError:
        return prepare(load_config(ROOT / "chip_configs" / name, [*base, "data.dataset=synthetic"]))


def stepper(s):
    """One training step of a prepared session, as the Trainer does it, over its batches in turn."""
    chain, batch = s.chain, s.trainer.batch_size
    x, y = s.dataset.train_x, s.dataset.train_y
    batches = len(y) // batch
    count = [0]

    def step():
        i = count[0] % batches
        count[0] += 1
        xb, yb = x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
        out = chain.forward(xb, training=True)
        chain.backward(out, yb, input_gradient=False)  # as the Trainer: nothing before the first block
        s.optimizer.step(chain.gradients(), scale=1.0 / len(yb))
        chain.after_update()
        s.chip.book_step(len(yb))

    return step


def best_of(functions: dict, repeats: int, steps: int) -> dict:
    """Best seconds per call of each function, the functions interleaved round by round (load is shared)."""
    best = dict.fromkeys(functions, np.inf)
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            for _ in range(steps):
                function()
            best[name] = min(best[name], (time.perf_counter() - start) / steps)
    return best


def configured_threads(name: str) -> int:
    """``solver.threads`` of chip_configs/``name``: what a run of it asks for."""
    from cosim.config.loader import load_config

    return load_config(ROOT / "chip_configs" / name).solver.threads


def without_worker(step):
    """``step`` with the device worker off (its work done on the main thread, as on a busy machine)."""
    from cosim import worker

    def serial():
        allowed = worker.background()
        worker.set_background(False)
        try:
            step()
        finally:
            worker.set_background(allowed)
    return serial


def step_table(steps: int, repeats: int, device_worker: bool) -> None:
    sessions = {name: session(name, 32 * steps) for name in CONFIGS}
    steps_of = {name: stepper(s) for name, s in sessions.items()}
    for step in steps_of.values():
        step()  # compile, calibrate converters, warm caches
    split, sweeps, skipped = {}, {}, {}
    for _ in range(repeats):  # interleaved; per config, the repeat with the smallest total
        for name, step in steps_of.items():
            with Parts(sessions[name]) as parts:
                for _ in range(steps):
                    step()
            times = parts.per_step(steps)
            if sum(times.values()) < sum(split.get(name, {"": np.inf}).values()):
                split[name], sweeps[name], skipped[name] = times, parts.sweeps(steps), parts.skipped_products(steps)
    floors = {name: gemm_floor(s.chain, sweeps[name], s.trainer.batch_size, skipped[name])
              for name, s in sessions.items()}
    products = {name: product_timer(floors[name], sessions[name].chain.analog_blocks[0].network.dtype)
                for name in CONFIGS}
    serial = {f"{CONFIGS[0]} without the device worker": without_worker(steps_of[CONFIGS[0]])} if device_worker else {}
    best = best_of({**steps_of, **serial, **{f"{name} GEMMs": products[name][0] for name in CONFIGS}}, repeats,
                   steps)
    print("| config | step ms | GEMM floor ms | step / floor | GEMM GFLOP/s | chip share | products (m x k x n, count) |")
    print("|---|---|---|---|---|---|---|")
    for name in CONFIGS:
        flops = products[name][1]
        gemm = best[f"{name} GEMMs"]
        chip = sum(split[name][p] for p in Parts.CHIP) / sum(split[name].values())
        listed = ", ".join(f"{m}x{k}x{n} x{c:g}" for (m, k, n), c in floors[name].items())
        print(f"| {name} | {1e3 * best[name]:.2f} | {1e3 * gemm:.2f} | {best[name] / gemm:.2f} | "
              f"{flops / gemm / 1e9:.1f} | {100 * chip:.0f} % | {listed} |")
    for name in serial:
        print(f"| {name} | {1e3 * best[name]:.2f} | {1e3 * best[f'{CONFIGS[0]} GEMMs']:.2f} | "
              f"{best[name] / best[f'{CONFIGS[0]} GEMMs']:.2f} | | | (device noise drawn on the main thread) |")
    extra = best[CONFIGS[0]] - best[CONFIGS[1]]
    print(f"\nThe chip's non-idealities cost {1e3 * extra:.2f} ms per step, {100 * extra / best[CONFIGS[0]]:.0f} % of "
          f"the {CONFIGS[0]} step (its step minus its ideal twin's).")
    print("\nSplit of the step (ms per step, exclusive; timers on; the repeat with the smallest total):\n")
    print("| part | " + " | ".join(CONFIGS) + " |")
    print("|---|" + "---|" * len(CONFIGS))
    for part in split[CONFIGS[0]]:
        print(f"| {part} | " + " | ".join(f"{1e3 * split[n][part]:.2f}" for n in CONFIGS) + " |")
    print("| total (timed) | " + " | ".join(f"{1e3 * sum(split[n].values()):.2f}" for n in CONFIGS) + " |")
    for name in CONFIGS:
        gemm, floor = split[name][Parts.GEMMS], best[f"{name} GEMMs"]
        passes = sum(split[name][part] for part in Parts.PASSES)
        print(f"\n{name}: its GEMMs took {1e3 * gemm:.2f} ms inside the step, {gemm / floor:.2f}x their floor (the floor "
              f"repeats each product on operands left in cache; in the step the operands come from memory); "
              f"everything else took {1e3 * (sum(split[name].values()) - gemm):.2f} ms. With the passes every step "
              f"makes (node updates, optimiser, install) as they ran: {1e3 * passes:.2f} ms, {passes / floor:.2f}x "
              f"the floor, before any digital op, readout, chip part or Python.")


def xl_threads(quick: bool, repeats: int) -> None:
    """Step time of the XL network with 1 and 2 threads, and as a run asking for 2 gets them (capped at the
    idle cores, :mod:`cosim.threads`), interleaved."""
    cores = len(os.sched_getaffinity(0))
    overrides = ["model.blocks.0.hidden=[1024]"] if quick else []
    s = session("fmnist_drn_xl.yaml", 64, overrides)
    step = stepper(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fixed 4 sweeps stop before tol by design
        step()
        forced = {n: forced_threads(n) for n in (1, 2)}
        _within(forced[2], step)  # compiles the parallel kernels
        threads = {n: (lambda n=n: _within(forced[n], step)) for n in (1, 2)}
        governed = solver_threads(2)
        with governed:
            threads["governed"] = step
            best = best_of(threads, repeats, 1)
    width = s.chain.analog_blocks[0].network.sizes
    print(f"\nXL {'-'.join(map(str, width))}, batch 32, {cores} cores available, load average "
          f"{os.getloadavg()[0]:.1f}: 1 thread {1e3 * best[1]:.0f} ms, 2 threads {1e3 * best[2]:.0f} ms per step: "
          f"2 threads {best[1] / best[2]:.2f}x as fast; solver.threads: 2 as a run gets it ({governed.threads} "
          f"thread(s) at this load) {1e3 * best['governed']:.0f} ms, {best[1] / best['governed']:.2f}x as fast as 1")


def forced_threads(n: int):
    """A :class:`~cosim.threads.SolverThreads` block of ``n`` threads (split products and the parallel Numba
    kernels) whatever the load, the device worker off; made once (choosing samples the load for ~10 ms)."""
    from cosim.threads import SolverThreads

    forced = SolverThreads(n)
    forced.threads, forced.device_worker = n, False
    return forced


def _within(block, step) -> None:
    with block:
        step()


def run_phases(samples: int) -> None:
    """Shares of one `cosim run` wall time, phases timed from outside around cosim.runner.run's calls."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import cosim.runner, cosim.cli"], check=True, env=os.environ)
    imports = time.perf_counter() - start
    from cosim import runner
    from cosim.config.loader import load_config
    from cosim.data import DATASETS, cache_path

    source = DATASETS["fashion-mnist"]
    cache = "warm" if cache_path(source.locate("fashion-mnist", None)).is_file() else "cold (written by this run)"
    preloaded = "cosim.report.run" in sys.modules  # then the report's time lacks its imports: say so
    clock: dict[str, float] = {}
    wrap = {"prepare": runner, "_save": runner, "_report": runner, "build_dataset": runner}
    originals = {name: getattr(module, name) for name, module in wrap.items()}

    def timed(name, function):
        def inner(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                clock[name] = clock.get(name, 0.0) + time.perf_counter() - begin
        return inner

    for name, module in wrap.items():
        setattr(module, name, timed(name, originals[name]))
    try:
        config = load_config(ROOT / "chip_configs" / "default.yaml", [f"data.n_train={samples}"])
        with tempfile.TemporaryDirectory() as out:
            begin = time.perf_counter()
            summary, _ = runner.run(config, Path(out), progress=False)
            wall = time.perf_counter() - begin + imports
    finally:
        for name, module in wrap.items():
            setattr(module, name, originals[name])
    # the trainer's own clock: training seconds; the rest of fit is the test evaluation
    print(f"\n`cosim run chip_configs/default.yaml` on {samples} training samples: {wall:.1f} s wall (dataset "
          f"cache {cache}{'; the report modules were already imported' if preloaded else ''})")
    shares = {"start-up (interpreter, imports)": imports, "data loading": clock["build_dataset"],
              "building the model and chip": clock["prepare"] - clock["build_dataset"],
              "checkpoint, results, gradient check (per epoch)": clock["_save"],
              "report.html (end of run, its imports included)": clock["_report"]}
    shares["training"] = summary["training_seconds"]
    shares["test evaluation"] = wall - sum(shares.values())
    for name, seconds in shares.items():
        print(f"| {name} | {seconds:.2f} s | {100 * seconds / wall:.1f} % |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--parts", nargs="+", choices=("step", "xl", "run"), default=["step", "xl", "run"],
                        help="what to measure (default: all three)")
    args = parser.parse_args(argv)
    steps, repeats = (3, 2) if args.quick else (20, 15)  # many short repeats: the best one finds a quiet spell
    print("\n".join(describe()))
    if "step" in args.parts:
        chosen = solver_threads(configured_threads(CONFIGS[0]))
        print(f"a run would get: solver threads {chosen.threads}, device worker "
              f"{'on' if chosen.device_worker else 'off'} (cosim.threads' choice at load average "
              f"{os.getloadavg()[0]:.1f}); measured below: the worker on, as on an idle machine, and off")
        chosen.device_worker = len(os.sched_getaffinity(0)) >= 2
        with chosen, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            step_table(steps, repeats, chosen.device_worker)
    if "xl" in args.parts:
        xl_threads(args.quick, 2 if args.quick else 20)
    if "run" in args.parts:
        with threadpool_limits(limits=1, user_api="blas"):
            run_phases(256 if args.quick else 60000)


if __name__ == "__main__":
    main()

"""Benchmark and studies of convolutional Hopfield blocks (docs/conv.md), all in one run:

1. speed: a fixed number of odd/even relaxation sweeps of a conv block through cosim's im2col GEMMs, through a
   plain numpy convolution (one einsum per kernel tap, no buffers), and the bare GEMMs of the same sweeps;
2. static gradient analysis: a 6-block, 15-layer conv ff-EBM (batch-norm between blocks) on 14x14 Fashion-MNIST
   in float64, at initialisation and after one epoch of EP training (its accuracy stated): per-layer cosine of EP
   vs implicit differentiation (each chained through the blocks its own way), and EP's relative error against beta;
3. dynamics: bcd vs rc vs momentum on one conv block: gradient evaluations, energy reached, and EP-vs-ID cosine
   with state noise of several sigma during the relaxations;
4. splitting: the same 6-layer conv ff-EBM cut into blocks of 1, 2, 3 layers, trained by EP for one epoch on a
   Fashion-MNIST subset, relaxing to --tol: test accuracy, relaxation cost and EP-vs-ID cosine per block size;
5. trained (only when named in --sections): EP vs ID against beta on a finished run's checkpoint;
6. noise: the blocks-of-2 network of 4. trained (same budget) with state noise during relaxation, bcd vs momentum
   vs rc: test accuracy and EP-vs-ID cosine.

    PYTHONPATH=. python benchmarks/conv.py            # the figures of docs/conv.md
    PYTHONPATH=. python benchmarks/conv.py --quick    # smoke run (small maps)
    PYTHONPATH=. python benchmarks/conv.py --sections static,noise   # some sections only
    PYTHONPATH=. python benchmarks/conv.py --sections trained --run runs/fmnist_conv   # after `cosim run
        chip_configs/fmnist_conv.yaml --out runs/fmnist_conv`
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from contextlib import contextmanager

import numpy as np

from _machine import describe

from cosim.analog import ConvergenceWarning, ConvHopfieldNetwork, ConvLayer, DenseLayer, HopfieldBlock, HopfieldSolver
from cosim.analog.hopfield.conv import ConvCoupling
from cosim.analog.hopfield.energy import HopfieldEnergy
from cosim.config import load_config
from cosim.learning.gradcheck import compare
from cosim.results import load_checkpoint
from cosim.runner import gradient_agreement, prepare


def _timed(f) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


class PlainCoupling(ConvCoupling):
    """The same operator as a plain numpy convolution: one einsum per kernel tap, fresh arrays every call."""

    def forward(self, w, s):
        c, h, w_ = self.in_shape
        x = np.pad(s.reshape(-1, h, w_, c), ((0, 0), (self.padding,) * 2, (self.padding,) * 2, (0, 0)))
        y = sum(np.einsum("bhwc,co->bhwo", x[window], w[i, j]) for i, j, window in self._taps())
        return self._pool(y, s.shape[0])

    def transpose(self, w, s):
        c, h, w_ = self.in_shape
        p, up = self.padding, self._unpool(s).reshape(s.shape[0], *self.conv_hw, -1)
        x = np.zeros((s.shape[0], h + 2 * p, w_ + 2 * p, c), dtype=s.dtype)
        for i, j, window in self._taps():
            x[window] += np.einsum("bhwo,co->bhwc", up, w[i, j])
        return x[:, p:p + h, p:p + w_, :].reshape(s.shape[0], -1)


def _relax_time(net, x, sweeps):
    solver = HopfieldSolver(net, "bcd", tol=1e-30, max_steps=sweeps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return min(_timed(lambda: solver.relax(x)) for _ in range(3))


def speed(side: int, channels: int, batch: int, sweeps: int) -> None:
    layers = [ConvLayer(channels), ConvLayer(channels, pool=2), ConvLayer(channels)]
    net = ConvHopfieldNetwork.initialised((3, side, side), layers, np.random.default_rng(0), dtype=np.float32)
    x = np.random.default_rng(1).normal(size=(batch, net.input_width)).astype(np.float32)
    t_fast = _relax_time(net, x, sweeps)
    plain = ConvHopfieldNetwork(net.input_shape, net.layers, net.weights, net.biases, np.float32)
    plain.couplings = [PlainCoupling(c.in_shape, c.out_shape[0], c.kernel, c.stride, c.padding, c.pool)
                       for c in net.couplings]
    t_plain = _relax_time(plain, x, sweeps)
    gemms = []  # each sweep: K s for every layer above the input and K^T s for every layer below the top
    for l, c in enumerate(net.couplings):
        rows = batch * c.conv_hw[0] * c.conv_hw[1]
        a, w = np.ones((rows, c.fan_in), np.float32), np.ones((c.fan_in, c.weight_shape[-1]), np.float32)
        gemms.append(lambda a=a, w=w: a @ w)
        if l > 0:
            g = np.ones((rows, c.weight_shape[-1]), np.float32)
            gemms.append(lambda g=g, w=w: g @ w.T)
    t_gemm = min(_timed(lambda: [f() for _ in range(sweeps) for f in gemms]) for _ in range(3))
    flops = 2 * batch * sweeps * 2 * net.macs_per_sweep()  # forward and transposed products (an upper bound)
    print(f"\n## speed: {sweeps} bcd sweeps, input 3x{side}x{side}, {channels} channels x 3 layers, batch {batch}, "
          f"float32\n| implementation | time (s) | vs bare GEMMs |\n|---|---|---|")
    for name, t in (("cosim im2col + GEMM, reused buffers", t_fast), ("plain numpy (einsum per tap)", t_plain),
                    ("bare GEMMs of the same sweeps", t_gemm)):
        print(f"| {name} | {t:.3f} | {t / t_gemm:.2f}x |")
    print(f"(about {flops / t_fast / 1e9:.1f} GFLOP/s in the cosim relaxation)")


def static_config(channels: int, n_train: int, n_test: int, lr: float) -> str:
    """YAML of the static analysis's ff-EBM: 6 conv Hopfield blocks of 2-3-2-3-2-3 layers (3x3, ``channels``
    maps; the first layer of block 2 average-pools 2x2 inside the energy) on 14x14 Fashion-MNIST, digital
    batch-norm between blocks, a linear readout; float64, centred EP (beta 0.1), Adam ``lr``, one epoch,
    relaxations by bcd to tol 1e-4 while training."""
    blocks = ["{kind: digital, ops: [{op: avgpool2d, kernel_size: 2}]}"]
    for b, size in enumerate((2, 3, 2, 3, 2, 3)):
        layers = [f"{{channels: {channels}, pool: {2 if (b == 1 and k == 0) else 1}}}" for k in range(size)]
        blocks.append(f"{{kind: conv_hopfield, layers: [{', '.join(layers)}], relaxation: {{kind: bcd}}}}")
        blocks.append("{kind: digital, ops: [{op: batchnorm}]}" if b < 5 else
                      "{kind: digital, ops: [{op: flatten}, {op: linear, out_features: 10}]}")
    return (f"data: {{dataset: fashion-mnist, n_train: {n_train}, n_test: {n_test}, batch_size: 32}}\n"
            f"model: {{dtype: float64, blocks: [{', '.join(blocks)}]}}\n"
            f"training: {{algorithm: ep, beta: 0.1, epochs: 1, optimizer: {{kind: adam, lr: {lr:g}}}}}\n"
            "solver: {tol: 1.0e-4, max_sweeps: 300}\n")


@contextmanager
def _relaxing(session, tol: float, cap: int = 20000):
    """Every energy block of ``session`` relaxing by bcd to ``tol`` (at most ``cap`` sweeps) inside the block."""
    solvers = [block.block.solver for block in session.chain.energy_blocks]
    for block in session.chain.energy_blocks:
        block.block.solver = HopfieldSolver(block.network, "bcd", tol=tol, max_steps=cap)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            yield
    finally:
        for block, solver in zip(session.chain.energy_blocks, solvers):
            block.block.solver = solver


def _gradient_report(session, x, y, when: str) -> None:
    """EP (chained through EP's input gradients) against ID (chained through its own) on exact relaxations
    (bcd to tol 1e-12): relative error of all conv kernels together for several beta, per-kernel cosines
    at beta 1e-4."""
    errors = []
    with _relaxing(session, 1e-12):
        for beta in (1e-1, 1e-2, 1e-3, 1e-4):
            rows = [r for r in compare(session.chain, x, y, beta, "centred", training=False)
                    if ".hopfield.weights" in r.name]
            exact = np.sqrt(sum(r.norm_id ** 2 for r in rows))
            errors.append(np.sqrt(sum((r.relative_error * r.norm_id) ** 2 for r in rows)) / exact)
    cosines = [r.cosine for r in rows]
    print(f"| {when} | " + " | ".join(f"{e:.2e}" for e in errors) + f" | {min(cosines):.6f} | "
          + " ".join(f"{c:.4f}" for c in cosines) + " |", flush=True)


def static_analysis(channels: int, batch: int, n_train: int, n_test: int, lr: float) -> None:
    """The 6-block, 15-layer conv ff-EBM on 14x14 Fashion-MNIST, at initialisation and after one epoch of EP
    training on ``n_train`` images (its test accuracy stated)."""
    session = prepare(load_config(static_config(channels, n_train, n_test, lr)))
    data = session.dataset
    x, y = data.test_x[:batch], data.test_y[:batch]
    print(f"\n## static gradient analysis: 6 blocks, 15 conv layers (2-3-2-3-2-3, {channels} channels on 1x14x14 "
          f"Fashion-MNIST), batch-norm between blocks, linear readout, float64, batch {batch} of test images; "
          f"trained: centred EP (beta 0.1), Adam {lr:g}, 1 epoch on {n_train} images\n"
          "| network | rel. error beta=0.1 | 0.01 | 0.001 | 1e-4 | min cosine (1e-4) | per-kernel cosines |"
          "\n|---|---|---|---|---|---|---|", flush=True)
    _gradient_report(session, x, y, "at initialisation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        session.trainer.fit(1)
    m = session.trainer.history.metrics
    _gradient_report(session, x, y, f"after training (test acc. {100 * m['test_accuracy'][-1]:.1f} % on "
                     f"{n_test}, train acc. {100 * m['train_accuracy'][-1]:.1f} %)")
    print(f"(training: {m['epoch_seconds'][-1]:.0f} s; free sweeps per block {m['free_sweeps'][-1]:.1f}; "
          f"unconverged solves {m['unconverged_samples'][-1]:.0f} of {m['solved_samples'][-1]:.0f})")


def split_config(size: int, channels: int, n_train: int, n_test: int, relaxation: str = "{kind: bcd}",
                 tol: float = 1e-4, max_sweeps: int = 200) -> str:
    """YAML of a 6-layer conv ff-EBM on 14x14 Fashion-MNIST cut into blocks of ``size`` layers: 3x3 convolutions
    of ``channels`` maps, layer 4 average-pooling 2x2 inside the energy (so every cut is the same network), digital
    batch-norm between blocks, a linear readout; centred EP, one epoch, Adam; ``relaxation``: every energy
    block's relaxation section (YAML flow mapping); ``tol``, ``max_sweeps``: the solver's stopping rule."""
    layers = [f"{{channels: {channels}, pool: {2 if k == 3 else 1}}}" for k in range(6)]
    blocks = ["{kind: digital, ops: [{op: avgpool2d, kernel_size: 2}]}"]
    for first in range(0, 6, size):
        blocks.append(f"{{kind: conv_hopfield, layers: [{', '.join(layers[first:first + size])}], "
                      f"relaxation: {relaxation}}}")
        blocks.append("{kind: digital, ops: [{op: batchnorm}]}" if first + size < 6 else
                      "{kind: digital, ops: [{op: flatten}, {op: linear, out_features: 10}]}")
    return (f"data: {{dataset: fashion-mnist, n_train: {n_train}, n_test: {n_test}, batch_size: 32}}\n"
            f"model: {{blocks: [{', '.join(blocks)}]}}\n"
            "training: {algorithm: ep, beta: 0.1, epochs: 1, optimizer: {kind: adam, lr: 0.002}}\n"
            f"solver: {{tol: {tol:g}, max_sweeps: {max_sweeps}}}\n")


def _trained(yaml: str):
    """A session of ``yaml`` trained for its one epoch (convergence warnings silenced: counted in the metrics)."""
    session = prepare(load_config(yaml))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        session.trainer.fit(1)
    return session


def splitting(channels: int, n_train: int, n_test: int, tol: float, sizes=(1, 2, 3), cap: int = 20000) -> None:
    """Train the 6-layer conv network cut into blocks of 1, 2, 3 layers, relaxing (bcd) to ``tol`` in at most
    ``cap`` sweeps: accuracy,
    relaxation cost, and the trained net's EP-vs-ID cosines (min / mean over the kernels; centred EP at the
    training beta, 64 training samples) with its relaxations stopped at tol 1e-4, 1e-5 (the schema's
    default), 1e-6, 1e-7 and ``tol`` (the same cap)."""
    checks = sorted({1e-4, 1e-5, 1e-6, 1e-7, tol}, reverse=True)
    print(f"\n## splitting with accuracy: 6 conv layers ({channels} maps, 14x14 Fashion-MNIST) in blocks of 1/2/3, "
          f"centred EP, 1 epoch on {n_train} samples, {n_test} test samples, trained relaxing by bcd to tol {tol:g} "
          f"(cap {cap} sweeps)"
          "\n| block size | blocks | test accuracy | free sweeps per block | layer-sweeps per sample (free) | "
          "unconverged solves | training time (s) | " + " | ".join(f"cosine min / mean, tol {t:g}" for t in checks)
          + " |\n|---|---|---|---|---|---|---|" + "---|" * len(checks))
    for size in sizes:
        session = _trained(split_config(size, channels, n_train, n_test, tol=tol, max_sweeps=cap))
        m = session.trainer.history.metrics
        cosines = []
        for t in checks:
            with _relaxing(session, t, cap):
                c = gradient_agreement(session)["cosine"]
            cosines.append(f"{min(c):.4f} / {np.mean(c):.4f}")
        sweeps = m["free_sweeps"][-1]
        print(f"| {size} | {6 // size} | {100 * m['test_accuracy'][-1]:.1f} % | {sweeps:.1f} | {6 * sweeps:.0f} | "
              f"{m['unconverged_samples'][-1] / max(m['solved_samples'][-1], 1):.3f} | {m['epoch_seconds'][-1]:.0f} | "
              + " | ".join(cosines) + " |", flush=True)


def noise_training(kinds, sigmas, channels: int, n_train: int, n_test: int) -> None:
    """The blocks-of-2 network of :func:`splitting` trained (same budget) with state noise sigma at every update
    of every energy block, relaxing by ``kinds``: test accuracy (noisy relaxations at test time too), the
    EP-vs-ID cosine of the trained network (EP through the noisy relaxations, ID at the same free equilibria;
    mean over the conv kernels, 64 training samples) and the free phase's gradient evaluations per block."""
    print(f"\n## noise robustness: 6 conv layers ({channels} maps) in blocks of 2, centred EP trained with state "
          f"noise sigma at every update, 1 epoch on {n_train} samples, {n_test} test samples\n"
          "| relaxation | sigma | test accuracy | EP-vs-ID cosine | free gradient evals per block | training time (s) |"
          "\n|---|---|---|---|---|---|")
    for kind in kinds:
        for sigma in sigmas:
            relaxation = f"{{kind: {kind}, noise_sigma: {sigma}, max_steps: 3000}}"
            session = _trained(split_config(2, channels, n_train, n_test, relaxation))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                cosine = gradient_agreement(session)["mean_cosine"]
            m = session.trainer.history.metrics
            print(f"| {kind} | {sigma:g} | {100 * m['test_accuracy'][-1]:.1f} % | {cosine:.4f} | "
                  f"{m['free_sweeps'][-1]:.1f} | {m['epoch_seconds'][-1]:.0f} |", flush=True)


def trained_run(run: Path, samples: int = 64) -> None:
    """EP vs ID on a trained run's checkpoint (``cosim run ... --out run``): per-kernel cosine and relative
    error for several beta (centred, as configured otherwise), and the fraction of each block's free output
    nodes at a bound 0 / 1 (on ``samples`` training images)."""
    yaml = (run / "config.yaml").read_text()
    session = prepare(load_config(yaml))
    session.chain.load_state(load_checkpoint(run / "checkpoint.h5")[1]["model"])
    x, y = session.dataset.train_x[:samples], session.dataset.train_y[:samples]
    dtype = session.chain.energy_blocks[0].network.dtype
    print(f"\n## EP vs ID on the trained {run} ({samples} training images, {dtype})"
          "\n| beta | per-kernel cosine | per-kernel relative error |\n|---|---|---|")
    for beta in (0.1, 0.03, 0.01, 0.001):
        rows = [r for r in compare(session.chain, x, y, beta, "centred", training=False)
                if ".hopfield.weights" in r.name]
        print(f"| {beta:g} | " + ", ".join(f"{r.name.split('.')[0]} {r.cosine:.4f}" for r in rows) + " | "
              + ", ".join(f"{r.relative_error:.3f}" for r in rows) + " |")
    session.chain.forward(x, training=False)
    for block in session.chain.energy_blocks:
        s = block.block.free.output
        print(f"free output nodes at 0: {np.mean(s <= 0):.3f}, at 1: {np.mean(s >= 1):.3f}")


def dynamics(side: int, channels: int, batch: int, sigmas) -> None:
    layers = [ConvLayer(channels), ConvLayer(channels, pool=2), DenseLayer(10)]
    net = ConvHopfieldNetwork.initialised((1, side, side), layers, np.random.default_rng(0), 1.5, 0.1)
    x = np.random.default_rng(1).uniform(0, 1, (batch, net.input_width))
    exact_block = HopfieldBlock(net, HopfieldSolver(net, "bcd", tol=1e-12, max_steps=5000))
    out = exact_block.forward(x)
    error = out - np.eye(10)[np.arange(batch) % 10]
    exact = exact_block.implicit_gradients(error=error).flat()
    print(f"\n## dynamics on a conv block (2 conv layers of {channels} channels + dense 10, 1x{side}x{side}, batch {batch})"
          "\n| relaxation | sigma | gradient evals (free) | energy reached (mean) | cosine EP vs ID |\n|---|---|---|---|---|")
    for kind in ("bcd", "rc", "momentum"):
        for sigma in sigmas:
            solver = HopfieldSolver(net, kind, tol=1e-6, max_steps=20000 if kind != "bcd" else 2000,
                                    noise_sigma=sigma, rng=np.random.default_rng(2))
            block = HopfieldBlock(net, solver)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                block.forward(x)
                ep = block.ep_gradients(0.05, error=error).flat()
            energy = HopfieldEnergy(net, solver.drive(x), None).energy(block.free.layers[1:]).mean()
            cosine = float(ep @ exact / (np.linalg.norm(ep) * np.linalg.norm(exact)))
            print(f"| {kind} | {sigma:g} | {block.free.info.sweeps} | {energy:.6f} | {cosine:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small maps, batches and subsets (a smoke run)")
    parser.add_argument("--sections", default="speed,static,splitting,dynamics,noise",
                        help="comma-separated subset of the sections to run")
    parser.add_argument("--static-train", type=int, default=2000, help="static: training images")
    parser.add_argument("--static-lr", type=float, default=2e-3, help="static: Adam's learning rate")
    parser.add_argument("--run", type=Path, default=Path("runs/fmnist_conv"),
                        help="trained: the --out directory of a finished `cosim run` of a conv config")
    parser.add_argument("--tol", type=float, default=1e-4, help="splitting: the relaxations' tolerance")
    parser.add_argument("--cap", type=int, default=20000, help="splitting: the relaxations' sweep cap")
    parser.add_argument("--sizes", default="1,2,3", help="splitting: the block sizes")
    args = parser.parse_args()
    quick, sections = args.quick, args.sections.split(",")
    print("\n".join(describe()), "\n(figures measured on a shared, loaded machine)")
    if "speed" in sections:
        speed(16 if quick else 32, 8 if quick else 32, 4 if quick else 16, 5 if quick else 20)
    if "static" in sections:
        static_analysis(4 if quick else 8, 2 if quick else 16, 32 if quick else args.static_train, 32 if quick else 500,
                        args.static_lr)
    if "dynamics" in sections:
        dynamics(8 if quick else 16, 4 if quick else 8, 4 if quick else 16, (0.0, 0.01) if quick else (0.0, 0.01, 0.03, 0.1))
    if "splitting" in sections:
        splitting(4 if quick else 8, 32 if quick else 1000, 32 if quick else 500, args.tol,
                  tuple(int(k) for k in args.sizes.split(",")), args.cap)
    if "trained" in sections:
        trained_run(args.run)
    if "noise" in sections:
        noise_training(("bcd", "momentum", "rc"), (0.0, 0.05) if quick else (0.0, 0.03, 0.1), 4 if quick else 8,
                       32 if quick else 1000, 32 if quick else 500)


if __name__ == "__main__":
    main()

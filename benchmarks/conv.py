"""Benchmark and studies of convolutional Hopfield blocks (docs/conv.md), all in one run:

1. speed: a fixed number of odd/even relaxation sweeps of a conv block through cosim's im2col GEMMs, through a
   plain numpy convolution (one einsum per kernel tap, no buffers), and the bare GEMMs of the same sweeps;
2. static gradient analysis: a 6-block, 15-layer conv ff-EBM (identity between blocks) at initialisation in
   float64: per-layer cosine of EP vs implicit differentiation (each chained through the blocks its own way),
   and the relative error of EP against beta;
3. splitting: the same 6-layer conv network cut into blocks of 1, 2, 3 layers: free-phase sweeps and time;
4. dynamics: bcd vs rc vs momentum on one conv block: gradient evaluations, energy reached, and EP-vs-ID cosine
   with state noise of several sigma during the relaxations.

    PYTHONPATH=. python benchmarks/conv.py            # the figures of docs/conv.md
    PYTHONPATH=. python benchmarks/conv.py --quick    # smoke run (small maps)
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np

from cosim.analog import ConvergenceWarning, ConvHopfieldNetwork, ConvLayer, DenseLayer, HopfieldBlock, HopfieldSolver
from cosim.analog.hopfield.conv import ConvCoupling
from cosim.analog.hopfield.energy import HopfieldEnergy


def machine() -> str:
    try:
        names = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
        cpu = f"{names[0]} x {len(names)} logical CPUs"
    except (OSError, IndexError):
        cpu = platform.processor() or "unknown CPU"
    a = np.random.default_rng(0).normal(size=(512, 512)).astype(np.float32)
    best = min(_timed(lambda: a @ a) for _ in range(5))
    return f"{cpu}; numpy {np.__version__}; GEMM 512^3 float32: {2 * 512 ** 3 / best / 1e9:.1f} GFLOP/s"


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


def _chain(block_sizes, side, channels, rng, tol=1e-12):
    """Conv Hopfield blocks in a row (identity between them), the last ending in a dense layer of 10."""
    blocks, shape = [], (1, side, side)
    for b, size in enumerate(block_sizes):
        layers = [ConvLayer(channels, pool=2 if (b == 1 and k == 0) else 1) for k in range(size)]
        layers += [DenseLayer(10)] if b == len(block_sizes) - 1 else []
        net = ConvHopfieldNetwork.initialised(shape, layers, rng, weight_scale=1.0, bias=0.1, dtype=np.float64)
        blocks.append(HopfieldBlock(net, HopfieldSolver(net, "bcd", tol=tol, max_steps=5000)))
        shape = net.shapes[-1]
    return blocks


def _backward(blocks, error, method, beta):
    grads = []
    for block in reversed(blocks):
        g = block.implicit_gradients(error=error) if method == "id" else block.ep_gradients(beta, error=error)
        grads.insert(0, g)
        error = g.inputs
    return grads


def static_analysis(side: int, channels: int, batch: int) -> None:
    blocks = _chain([2, 3, 2, 3, 2, 3], side, channels, np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(0, 1, (batch, side * side))
    for block in blocks:
        x = block.forward(x)
    error = x - np.eye(10)[np.arange(batch) % 10]
    exact = _backward(blocks, error, "id", 0)
    print(f"\n## static gradient analysis: 6 blocks, 15 layers (2-3-2-3-2-3, {channels} channels on 1x{side}x{side}), "
          f"float64, batch {batch}, at initialisation")
    flat = lambda gs: np.concatenate([w.ravel() for g in gs for w in g.weights])
    for beta in (1e-1, 1e-2, 1e-3, 1e-4):
        ep = _backward(blocks, error, "ep", beta)
        err = np.linalg.norm(flat(ep) - flat(exact)) / np.linalg.norm(flat(exact))
        print(f"beta={beta:g}: relative error |EP - ID| / |ID| = {err:.2e}")
        if beta == 1e-4:
            cosines = [float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))
                       for ge, gi in zip(ep, exact) for a, b in zip(ge.weights, gi.weights)]
    print("per-coupling cosine EP vs ID (beta=1e-4), 15 conv layers + the dense output:", " ".join(f"{c:.6f}" for c in cosines))
    print(f"min cosine {min(cosines):.6f}")


def splitting(side: int, channels: int, batch: int) -> None:
    x0 = np.random.default_rng(1).uniform(0, 1, (batch, side * side))
    print(f"\n## splitting: 6 conv layers ({channels} channels, 1x{side}x{side}) cut into blocks\n"
          "| block size | blocks | free sweeps per block | sweeps x layers (work) | forward time (s) |\n|---|---|---|---|---|")
    for size in (1, 2, 3, 6):
        blocks = _chain([size] * (6 // size), side, channels, np.random.default_rng(0), tol=1e-6)
        x, sweeps, work, start = x0, [], 0, time.perf_counter()
        for block in blocks:
            x = block.forward(x)
            sweeps.append(block.free.info.sweeps)
            work += block.free.info.sweeps * block.network.n_layers
        print(f"| {size} | {len(blocks)} | {np.mean(sweeps):.1f} | {work} | {time.perf_counter() - start:.2f} |")


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
    parser.add_argument("--quick", action="store_true", help="small maps and batches (a smoke run)")
    quick = parser.parse_args().quick
    print(machine(), "(figures measured on a shared, loaded machine)")
    speed(16 if quick else 32, 8 if quick else 32, 4 if quick else 16, 5 if quick else 20)
    static_analysis(8 if quick else 16, 4 if quick else 8, 2 if quick else 4)
    splitting(8 if quick else 16, 4 if quick else 8, 4 if quick else 16)
    dynamics(8 if quick else 16, 4 if quick else 8, 4 if quick else 16, (0.0, 0.01) if quick else (0.0, 0.01, 0.03, 0.1))


if __name__ == "__main__":
    main()

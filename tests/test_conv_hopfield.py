"""Convolutional Hopfield blocks: the coupling operators against plain numpy, the relaxations' optimality
and descent, gradients against finite differences, the chain adapter, configs and the ImageNet32 loader
(the energy-block contract suite covers the rest, family "conv-hopfield")."""

import pickle
import warnings

import numpy as np
import pytest

from cosim.analog import ConvergenceWarning, ConvHopfieldNetwork, ConvLayer, DenseLayer, HopfieldBlock, HopfieldSolver
from cosim.analog.hopfield.conv import ConvCoupling
from cosim.analog.hopfield.energy import HopfieldEnergy
from cosim.analog.relaxation import kkt_residual
from cosim.data import read_imagenet32_batches


def _reference_conv(x, w, stride, padding, pool):
    """Plain loops: x (B, C, H, W), w (k, k, C, Co) -> average-pooled cross-correlation (B, Co, H', W')."""
    k = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (xp.shape[2] - k) // stride + 1, (xp.shape[3] - k) // stride + 1
    y = np.zeros((x.shape[0], w.shape[3], ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            y[:, :, i, j] = np.einsum("bcuv,uvco->bo", patch, w)
    return y.reshape(y.shape[0], y.shape[1], ho // pool, pool, wo // pool, pool).mean(axis=(3, 5))


def _rows(images):
    return images.transpose(0, 2, 3, 1).reshape(images.shape[0], -1)


@pytest.mark.parametrize("stride, padding, pool", [(1, 1, 1), (2, 1, 1), (1, 0, 2), (2, 2, 2)])
def test_convolution_and_its_transpose_match_plain_numpy(stride, padding, pool):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 10, 10))
    coupling = ConvCoupling((3, 10, 10), 4, 3, stride, padding, pool)
    w = rng.normal(size=coupling.weight_shape)
    np.testing.assert_allclose(coupling.forward(w, _rows(x)), _rows(_reference_conv(x, w, stride, padding, pool)),
                               atol=1e-12)
    # the transpose is the adjoint: <K x, t> = <x, K^T t>, and so is the weight gradient
    t = rng.normal(size=(2, int(np.prod(coupling.out_shape))))
    lhs = np.sum(coupling.forward(w, _rows(x)) * t)
    assert np.sum(_rows(x) * coupling.transpose(w, t)) == pytest.approx(lhs, rel=1e-12)
    assert np.sum(w * coupling.weight_gradient(_rows(x), t)) == pytest.approx(lhs, rel=1e-12)
    # the transpose column by column equals the explicit matrix of K
    matrix = np.stack([coupling.forward(w, e[None])[0] for e in np.eye(x[0].size)])
    np.testing.assert_allclose(coupling.transpose(w, t), t @ matrix.T, atol=1e-12)


def _network(dtype=np.float64, scale=1.5):
    layers = (ConvLayer(3, kernel=3, padding=1, pool=2), ConvLayer(4, kernel=3, stride=2, padding=1), DenseLayer(3))
    net = ConvHopfieldNetwork.initialised((2, 8, 8), layers, np.random.default_rng(1), scale, dtype=dtype)
    net.set_biases([np.full(3, 0.3), np.full(4, 0.2), np.full(3, 0.3)])
    return net


def _inputs(net, batch=3):
    return np.random.default_rng(2).uniform(-0.5, 1.0, (batch, net.input_width))


def test_block_descent_reaches_a_kkt_point_and_never_raises_the_energy():
    net = _network()
    x = _inputs(net)
    energies = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for sweeps in range(1, 25):
            state = HopfieldSolver(net, "bcd", tol=1e-14, max_steps=sweeps).relax(x)
            energy = HopfieldEnergy(net, HopfieldSolver(net).drive(x), None)
            energies.append(energy.energy(state.layers[1:]))
    assert np.all(np.diff(np.array(energies), axis=0) <= 1e-12)
    final = HopfieldSolver(net, "bcd", tol=1e-12, max_steps=2000, on_unconverged="raise").relax(x)
    grad = [np.zeros_like(s) for s in final.layers[1:]]
    energy.gradient(final.layers[1:], grad)
    assert kkt_residual(energy, final.layers[1:], grad) < 1e-11
    assert any(((s > 0) & (s < 1)).any() for s in final.layers[1:])  # not every node at a bound


@pytest.mark.parametrize("kind", ["rc", "momentum"])
def test_dynamics_reach_the_fixed_point_of_block_descent(kind):
    net = _network()
    x = _inputs(net)
    reference = HopfieldSolver(net, "bcd", tol=1e-12, max_steps=2000).relax(x)
    state = HopfieldSolver(net, kind, tol=1e-10, max_steps=100000, on_unconverged="raise").relax(x)
    for a, b in zip(state.layers, reference.layers):
        np.testing.assert_allclose(a, b, atol=1e-8)


def test_implicit_weight_gradients_match_finite_differences():
    net = _network()
    x = _inputs(net, batch=2)
    target = np.array([[0.2, 0.7, 0.1], [0.9, 0.1, 0.4]])

    def loss(network):
        block = HopfieldBlock(network, HopfieldSolver(network, "bcd", tol=1e-14, max_steps=5000))
        return 0.5 * np.sum((block.forward(x) - target) ** 2), block

    _, block = loss(net)
    grads = block.implicit_gradients(target=target)
    rng, h = np.random.default_rng(3), 1e-6
    for l in range(net.n_layers):
        for _ in range(3):
            index = tuple(rng.integers(0, n) for n in net.weights[l].shape)
            values = []
            for sign in (1, -1):
                weights = [w.copy() for w in net.weights]
                weights[l][index] += sign * h
                values.append(loss(ConvHopfieldNetwork(net.input_shape, net.layers, weights, net.biases))[0])
            assert grads.weights[l][index] == pytest.approx((values[0] - values[1]) / (2 * h), rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ep_matches_implicit_differentiation_in_both_precisions(dtype):
    net = _network(dtype)
    block = HopfieldBlock(net, HopfieldSolver(net, "bcd", tol=1e-6 if dtype == np.float32 else 1e-13,
                                              max_steps=5000))
    out = block.forward(_inputs(net))
    error = out - 0.5
    exact = block.implicit_gradients(error=error)
    ep = block.ep_gradients(1e-2 if dtype == np.float32 else 1e-4, error=error)
    for a, b in zip(ep.weights, exact.weights):
        assert a.dtype == dtype
        cosine = np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b))
        assert cosine > (0.99 if dtype == np.float32 else 0.99999)


def test_a_conv_ff_ebm_config_builds_and_trains_on_image_shaped_data():
    from cosim.build import build_chain, build_optimizer
    from cosim.config import load_config
    from cosim.streams import Streams

    config = load_config("chip_configs/cifar10_conv_L6_bs2.yaml",
                         ["data.batch_size=4", "model.dtype=float64", "model.blocks.0.layers.0.channels=4",
                          "model.blocks.0.layers.1.channels=4", "model.blocks.2.layers.0.channels=4",
                          "model.blocks.2.layers.1.channels=4", "model.blocks.4.layers.0.channels=4",
                          "model.blocks.4.layers.1.channels=4"])
    chain, chip = build_chain(config, (3, 32, 32), 10, Streams(0))
    optimizer, _ = build_optimizer(config, chain, 1)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3, 32, 32)), rng.integers(0, 10, 4)
    before = [p.copy() for p in chain.energy_blocks[0].parameters]
    for _ in range(2):
        out = chain.forward(x, training=True)
        assert out.shape == (4, 10)
        chain.backward(out, y)
        optimizer.step(chain.gradients(), 1.0 / len(x))
        chain.after_update()
    assert any(not np.array_equal(a, b) for a, b in zip(before, chain.energy_blocks[0].parameters))
    assert chip.ledger.energy["crossbar", "free"] > 0 and chip.ledger.energy["crossbar", "plus"] > 0


@pytest.mark.parametrize("fmt", ["pickle", "npz"])
def test_imagenet32_batches_load_from_pickles_or_npz(tmp_path, fmt):
    rng = np.random.default_rng(0)
    stems = [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]
    for n, stem in enumerate(stems):
        data, labels = rng.integers(0, 256, (2, 3072), dtype=np.uint8), [1 + n, 1000]
        if fmt == "npz":
            np.savez(tmp_path / f"{stem}.npz", data=data, labels=np.array(labels))
        else:
            (tmp_path / stem).write_bytes(pickle.dumps({"data": data, "labels": labels, "mean": data.mean(0)}))
    splits = read_imagenet32_batches(tmp_path)
    assert splits.train_x.shape == (20, 3, 32, 32) and splits.test_x.shape == (2, 3, 32, 32)
    assert splits.train_y.min() == 0 and splits.train_y.max() == 999 and splits.test_y.tolist() == [10, 999]


def test_the_rail_fraction_is_undefined_for_one_layer_blocks_and_counted_for_deeper_ones():
    from cosim.build import build_chain
    from cosim.config import load_config
    from cosim.learning.train import clamped_fraction
    from cosim.streams import Streams

    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8))
    one = load_config("chip_configs/fmnist_conv.yaml", ["model.blocks.0.layers.0.channels=2",
                                                        "model.blocks.2.layers.0.channels=2"])
    chain, _ = build_chain(one, (1, 8, 8), 10, Streams(0))
    chain.forward(x, training=False)
    assert np.isnan(clamped_fraction(chain.energy_blocks))  # a one-layer block has no hidden nodes
    from cosim.report.run import _rows
    assert _rows([("clamped_fraction", float("nan"), "1", "")])[0][1] == "n/a"
    two = load_config("data: {dataset: fashion-mnist}\nmodel: {blocks: [{kind: conv_hopfield, layers: [{channels: 2}, "
                      "{channels: 2}]}, {kind: digital, ops: [{op: flatten}, {op: linear, out_features: 10}]}]}\n")
    chain, _ = build_chain(two, (1, 8, 8), 10, Streams(0))
    chain.forward(x, training=False)
    block = chain.energy_blocks[0]
    assert block.hidden_values == 2 * 2 * 8 * 8  # the first layer's maps, per sample
    assert clamped_fraction(chain.energy_blocks) == block.clamped_values / block.hidden_values


def test_a_run_of_one_layer_conv_blocks_saves_its_undefined_rail_fraction(tmp_path):
    """NaN marks the rail fraction as not measured; the run's files must still be written."""
    from cosim.config import load_config
    from cosim.results import read_summary
    from cosim.runner import run

    config = load_config("chip_configs/fmnist_conv.yaml", [
        "model.blocks.0.layers.0.channels=2", "model.blocks.2.layers.0.channels=2", "data.n_train=64",
        "data.n_test=32", "training.epochs=1"])
    run(config, tmp_path, progress=False)
    assert np.isnan(read_summary(tmp_path / "results.h5")["clamped_fraction"])

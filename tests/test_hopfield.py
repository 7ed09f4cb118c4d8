"""Deep Hopfield blocks: relaxations, EP vs implicit differentiation vs finite differences, noise, the chain adapter."""

import warnings

import numpy as np
import pytest

from cosim.analog import ConvergenceWarning
from cosim.analog import HopfieldBlock, HopfieldEnergy, HopfieldNetwork, HopfieldSolver
from cosim.build import build_chain
from cosim.streams import Streams
from cosim.config import config_from_dict
from cosim.errors import ParameterError
from cosim.learning.blocks import NudgeSettings
from cosim.learning.chain import Chain
from cosim.learning.hopfield_block import HopfieldChainBlock

SIZES = (12, 10, 9, 4)


def make_network(sizes=SIZES, gain=1.0, seed=0, dtype=np.float64) -> HopfieldNetwork:
    """Gaussian couplings of std gain / sqrt(fan-in): gain >~ 1.5 gives a non-convex energy in the box."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, gain / np.sqrt(a), (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    return HopfieldNetwork(weights, [rng.normal(0.0, 0.2, n) for n in sizes[1:]], dtype=dtype)


def make_inputs(network, batch=6, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, network.input_width))


def energies(network, x, state):
    return HopfieldEnergy(network, HopfieldSolver(network).drive(x), None).energy(state.layers[1:])


def tensors(grads):
    return [*grads.weights, *grads.biases, grads.inputs]


def cosine(a, b):
    return float(a.ravel() @ b.ravel() / (np.linalg.norm(a) * np.linalg.norm(b)))


RELAXATIONS = {
    "bcd": {},
    "synchronous": {"synchronous": True},
    "rc": {"relaxation": "rc"},
    "momentum": {"relaxation": "momentum"},
}


@pytest.mark.parametrize("name", RELAXATIONS)
def test_relaxations_agree_on_a_convex_instance(name):
    net = make_network(gain=0.5)
    x = make_inputs(net)
    reference = HopfieldSolver(net, tol=1e-14, max_steps=10000).relax(x)
    state = HopfieldSolver(net, tol=1e-12, max_steps=20000, on_unconverged="raise", **RELAXATIONS[name]).relax(x)
    assert max(np.abs(a - b).max() for a, b in zip(state.layers, reference.layers)) < 1e-10
    clipped = np.concatenate([s.ravel() for s in state.layers[1:]])
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    assert 0 < np.mean((clipped == 0) | (clipped == 1)) < 1  # some units at a bound, some free


def test_momentum_median_energy_is_no_higher_than_gradient_flow_on_non_convex_instances():
    finals = {"rc": [], "momentum": []}
    for seed in range(8):
        net = make_network((20, 30, 30, 8), gain=2.5, seed=seed)
        x = make_inputs(net, 8, seed=seed + 50)
        for name in finals:
            state = HopfieldSolver(net, name, tol=1e-7, on_unconverged="raise").relax(x)
            finals[name].append(energies(net, x, state))
    momentum, flow = np.concatenate(finals["momentum"]), np.concatenate(finals["rc"])
    assert np.median(momentum) <= np.median(flow) + 1e-9 * abs(np.median(flow))
    assert np.mean(momentum < flow - 1e-9) >= np.mean(momentum > flow + 1e-9)  # lower minima more often


@pytest.mark.parametrize("relaxation", ["bcd", "momentum"])
def test_ep_matches_implicit_differentiation(relaxation):
    net = make_network(gain=1.5)
    block = HopfieldBlock(net, HopfieldSolver(net, relaxation, tol=1e-14, max_steps=100000, on_unconverged="raise"))
    block.forward(make_inputs(net))
    error = np.random.default_rng(2).normal(size=block.free.output.shape)
    exact = block.implicit_gradients(error=error)
    estimate = block.ep_gradients(1e-5, error=error)
    for ep, id_ in zip(tensors(estimate), tensors(exact)):
        assert cosine(ep, id_) >= 0.999


def test_implicit_gradients_match_finite_differences_of_the_converged_loss():
    net = make_network(gain=1.0)
    x = make_inputs(net, 4)
    target = np.random.default_rng(3).uniform(0, 1, (4, net.output_width))
    solver = HopfieldSolver(net, tol=1e-14, max_steps=100000, on_unconverged="raise")

    def loss(weights=None, biases=None, inputs=x):
        trial = HopfieldNetwork(weights or net.weights, biases or net.biases)
        out = HopfieldSolver(trial, tol=1e-14, max_steps=100000).relax(inputs).output
        return 0.5 * float(np.sum((out - target) ** 2))

    block = HopfieldBlock(net, solver)
    block.forward(x)
    exact = block.implicit_gradients(target=target)
    ep = block.ep_gradients(1e-6, target=target)
    h = 1e-6
    rng = np.random.default_rng(4)
    for _ in range(6):
        l = int(rng.integers(net.n_layers))
        i, j = (int(rng.integers(n)) for n in net.weights[l].shape)
        plus, minus = [w.copy() for w in net.weights], [w.copy() for w in net.weights]
        plus[l][i, j] += h
        minus[l][i, j] -= h
        numeric = (loss(weights=plus) - loss(weights=minus)) / (2 * h)
        assert exact.weights[l][i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-8)
        assert ep.weights[l][i, j] == pytest.approx(numeric, rel=1e-4, abs=1e-7)
    m = net.n_layers - 1
    plus, minus = [b.copy() for b in net.biases], [b.copy() for b in net.biases]
    plus[m][0] += h
    minus[m][0] -= h
    assert exact.biases[m][0] == pytest.approx((loss(biases=plus) - loss(biases=minus)) / (2 * h), rel=1e-5, abs=1e-8)
    shifted = x.copy()
    shifted[1, 2] += h
    below = x.copy()
    below[1, 2] -= h
    assert exact.inputs[1, 2] == pytest.approx((loss(inputs=shifted) - loss(inputs=below)) / (2 * h), rel=1e-5,
                                               abs=1e-8)


def test_noise_changes_results_and_is_reproducible_with_a_seed():
    net = make_network(gain=0.5)  # convex: the noisy states stay near the one minimum
    x = make_inputs(net)
    clean = HopfieldSolver(net).relax(x).output
    for relaxation in ("bcd", "rc", "momentum"):
        def relax(seed):
            solver = HopfieldSolver(net, relaxation, noise_sigma=0.01, rng=np.random.default_rng(seed))
            return solver.relax(x).output

        first = relax(7)
        assert np.array_equal(first, relax(7))
        assert not np.array_equal(first, relax(8))
        assert 0 < np.abs(first - clean).max() < 0.1


def test_synchronous_fixed_point_may_oscillate_and_the_cap_warns():
    net = make_network((20, 30, 30, 8), gain=2.5, seed=1)
    x = make_inputs(net, 16)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        state = HopfieldSolver(net, synchronous=True, max_steps=200).relax(x)
    assert not state.info.converged and state.info.sweeps == 200
    assert HopfieldSolver(net, max_steps=200).relax(x).info.converged  # odd/even never raises the energy


def test_invalid_arguments():
    net = make_network()
    with pytest.raises(ParameterError, match="unknown relaxation"):
        HopfieldSolver(net, "newton")
    with pytest.raises(ParameterError, match="bcd"):
        HopfieldSolver(net, "rc", synchronous=True)
    with pytest.raises(ParameterError, match="shape"):
        HopfieldNetwork([np.ones((3, 4)), np.ones((5, 2))])
    with pytest.raises(ParameterError, match="block input"):
        HopfieldSolver(net).relax(np.ones((2, 3)))


def test_chain_block_gradients_match_implicit_differentiation_end_to_end():
    net = make_network(gain=1.0)
    solver = HopfieldSolver(net, "momentum", tol=1e-13, max_steps=100000, on_unconverged="raise")
    block = HopfieldChainBlock(HopfieldBlock(net, solver), NudgeSettings("ep", "centred", 1e-4))
    chain = Chain([block], "squared_error")
    x, labels = make_inputs(net), np.arange(6) % net.output_width
    out = chain.forward(x, training=True)
    _, grad_ep = chain.backward(out, labels)
    ep = [g.copy() for g in block.gradients]
    block.nudge = NudgeSettings("id")
    _, grad_id = chain.backward(out, labels)
    for a, b in zip(ep, block.gradients):
        assert cosine(a, b) >= 0.999
    assert cosine(grad_ep, grad_id) >= 0.999
    before = block.network.weights
    block.weights[0] += 0.01
    chain.after_update()
    assert block.network.weights is not before and np.array_equal(block.network.weights[0], block.weights[0])


def test_config_builds_a_hopfield_chain_that_trains():
    config = config_from_dict({
        "seed": 1,
        "data": {"dataset": "synthetic", "n_train": 64, "n_test": 32, "batch_size": 16},
        "model": {"dtype": "float64", "blocks": [
            {"kind": "digital", "ops": [{"op": "linear", "out_features": 12}]},
            {"kind": "hopfield", "hidden": [8], "outputs": 10,
             "relaxation": {"kind": "momentum", "noise_sigma": 0.001}},
            {"kind": "digital", "ops": [{"op": "batchnorm"}]},
        ]},
        "solver": {"tol": 1e-8},
    })
    chain, _ = build_chain(config, (20,), 10, Streams(0))
    hopfield = chain.blocks[1]
    assert isinstance(hopfield, HopfieldChainBlock) and hopfield.block.solver.relaxation == "momentum"
    x, y = np.random.default_rng(2).normal(size=(16, 20)), np.arange(16) % 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        chain.backward(chain.forward(x, training=True), y)
    assert all(np.isfinite(g).all() for g in hopfield.gradients)
    assert hopfield.free_solves == 1 and hopfield.mean_free_sweeps > 1

"""The contract every energy-block family keeps, with every relaxation it supports (cf. scikit-learn's
estimator checks). A new family passes it by being added to FAMILIES below."""

import io
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from cosim.analog import (ConvergenceWarning, ConvHopfieldNetwork, ConvLayer, DenseLayer, HopfieldBlock, HopfieldNetwork, HopfieldSolver, IdealDiode,
                          ResistiveBlock, ResistiveNetwork, ResistiveSolver, ShockleyDiode, make_relaxation)
from cosim.analog.core import EnergyGradients
from cosim.analog.relaxation import RELAXATIONS
from cosim.errors import ConvergenceError, ParameterError


@dataclass(frozen=True)
class Family:
    """How to build one energy-block family: a small network, a solver around a strategy, a block, the
    scale of its nudge, and its parameters as named arrays (and back)."""

    name: str
    relaxations: tuple
    network: Callable  # (dtype) -> network
    solver: Callable  # (network, strategy, on_unconverged) -> solver
    block: Callable  # (network, solver) -> block
    beta_unit: Callable  # (network) -> nudge strength of relative size 1
    parameters: Callable  # (network) -> dict of arrays
    rebuild: Callable  # (network, dict of arrays) -> a new network


def _resistive(diode):
    def network(dtype):
        rng = np.random.default_rng(3)
        sizes = (6, 5, 4, 2)
        return ResistiveNetwork([rng.uniform(1e-6, 1e-5, (a, b)) for a, b in zip(sizes, sizes[1:])],
                                biases=[rng.uniform(-2e-7, 2e-7, n) for n in sizes[1:]],
                                lower_rails=[-0.05, -0.05], upper_rails=[0.05, 0.05], diode=diode,
                                duplicate_inputs=True, dtype=dtype)

    def rebuild(net, p):
        return ResistiveNetwork([p[f"w{l}"] for l in range(net.n_layers)], [p[f"b{m}"] for m in range(net.n_layers)],
                                net.lower_rails, net.upper_rails, net.diode, net.amplifiers, net.duplicate_inputs,
                                net.dtype)

    return dict(
        network=network,
        solver=lambda net, strategy, on_unconverged: ResistiveSolver(net, strategy, on_unconverged=on_unconverged,
                                                                     max_sweeps=20000),
        block=ResistiveBlock,
        beta_unit=lambda net: float(np.mean(net.self_conductances[-1])),
        parameters=lambda net: {**{f"w{l}": w for l, w in enumerate(net.conductances)},
                                **{f"b{m}": b for m, b in enumerate(net.biases)}},
        rebuild=rebuild,
    )


def _hopfield_network(dtype):
    rng = np.random.default_rng(4)
    sizes = (3, 5, 4, 2)
    return HopfieldNetwork([rng.uniform(-0.6, 0.6, (a, b)) for a, b in zip(sizes, sizes[1:])],
                           [rng.uniform(0.1, 0.4, n) for n in sizes[1:]], dtype=dtype)


def _conv_hopfield_network(dtype):
    """A 2 x 6 x 6 input; a padded 3 x 3 convolution with 2 x 2 average pooling inside the energy (2 x 3 x 3);
    a strided padded 3 x 3 convolution (3 x 2 x 2); a dense output of 2 units."""
    layers = (ConvLayer(2, kernel=3, stride=1, padding=1, pool=2), ConvLayer(3, kernel=3, stride=2, padding=1),
              DenseLayer(2))
    net = ConvHopfieldNetwork.initialised((2, 6, 6), layers, np.random.default_rng(8), weight_scale=1.5,
                                          dtype=dtype)
    net.set_biases([np.array([0.2, 0.3]), np.array([0.1, 0.25, 0.3]), np.array([0.2, 0.3])])
    return net


def _hopfield_parameters(net):
    return {**{f"w{l}": w for l, w in enumerate(net.weights)}, **{f"b{m}": b for m, b in enumerate(net.biases)}}


FAMILIES = [
    Family("resistive-ideal", ("bcd", "rc", "momentum"), **_resistive(IdealDiode())),
    Family("resistive-shockley", ("bcd",), **_resistive(ShockleyDiode())),
    Family("hopfield", ("bcd", "rc", "momentum"), _hopfield_network,
           lambda net, strategy, on_unconverged: HopfieldSolver(net, strategy, on_unconverged=on_unconverged),
           HopfieldBlock, lambda net: 1.0,
           _hopfield_parameters,
           lambda net, p: HopfieldNetwork([p[f"w{l}"] for l in range(net.n_layers)],
                                          [p[f"b{m}"] for m in range(net.n_layers)], net.dtype)),
    Family("conv-hopfield", ("bcd", "rc", "momentum"), _conv_hopfield_network,
           lambda net, strategy, on_unconverged: HopfieldSolver(net, strategy, on_unconverged=on_unconverged),
           HopfieldBlock, lambda net: 1.0, _hopfield_parameters,
           lambda net, p: ConvHopfieldNetwork(net.input_shape, net.layers, [p[f"w{l}"] for l in range(net.n_layers)],
                                              [p[f"b{m}"] for m in range(net.n_layers)], net.dtype)),
]
CASES = [pytest.param(f, kind, id=f"{f.name}-{kind}") for f in FAMILIES for kind in f.relaxations]
BCD_CASES = [pytest.param(f, "bcd", id=f"{f.name}-bcd") for f in FAMILIES]


def _strategy(kind, tol=1e-13, cap=None, **settings):
    cap_name = RELAXATIONS[kind].cap_name
    return make_relaxation(kind, tol=tol, **{cap_name: cap or (20000 if kind == "bcd" else 200000)}, **settings)


def _solved_block(family, kind, dtype=np.float64, batch=3, **settings):
    net = family.network(dtype)
    block = family.block(net, family.solver(net, _strategy(kind, **settings), "raise"))
    x = np.random.default_rng(5).uniform(-0.3, 0.3, (batch, net.input_width))
    out = block.forward(x)
    return block, x, out


def _error(out):
    return out - np.linspace(-0.02, 0.08, out.size).reshape(out.shape)


def _ep_error(family, block, error, rel, exact, estimator="centred"):
    """|EP - ID| / |ID| over parameter and input gradients, for a nudge of relative strength rel."""
    ep = block.ep_gradients(rel * family.beta_unit(block.network), error=error, estimator=estimator)
    a = np.concatenate([ep.flat(), ep.inputs.ravel()])
    return np.linalg.norm(a - exact) / np.linalg.norm(exact)


def _exact(block, error):
    exact = block.implicit_gradients(error=error)
    return np.concatenate([exact.flat(), exact.inputs.ravel()])


@pytest.mark.parametrize("family, kind", CASES)
def test_ep_tends_to_implicit_differentiation_as_beta_goes_to_zero(family, kind):
    block, _, out = _solved_block(family, kind)
    error = _error(out)
    assert _ep_error(family, block, error, 1e-3, _exact(block, error)) < 1e-4


@pytest.mark.parametrize("family, kind", BCD_CASES)
def test_centred_error_is_second_order_and_one_sided_error_first_order_in_beta(family, kind):
    block, _, out = _solved_block(family, kind, tol=1e-15)
    error = _error(out)
    exact = _exact(block, error)
    centred = [_ep_error(family, block, error, rel, exact) for rel in (0.04, 0.02)]
    positive = [_ep_error(family, block, error, rel, exact, "positive") for rel in (0.01, 0.005)]
    # halving beta quarters the centred error, down to rounding (a piecewise-quadratic energy, as with
    # ideal diodes and an unchanged clamped set, makes centred EP exact) ...
    assert centred[1] <= max(centred[0] / 3.0, 1e-10)
    assert 1.7 < positive[0] / positive[1] < 2.3  # ... and halves the one-sided error


@pytest.mark.parametrize("family, kind", CASES)
def test_input_gradients_match_finite_differences(family, kind):
    block, x, out = _solved_block(family, kind, batch=2)
    target = _error(out) - out  # a fixed target: L = 1/2 |out - target|^2 summed
    grad = block.implicit_gradients(error=out - target).inputs
    h = 1e-6
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        up, down = (0.5 * np.sum((block.forward(x + s) - target) ** 2) for s in (step, -step))
        assert grad[i] == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("family, kind", CASES)
def test_shapes_and_dtypes(family, kind, dtype):
    block, x, out = _solved_block(family, kind, dtype=dtype, tol=1e-4 if dtype == np.float32 else 1e-12)
    net = block.network
    assert out.shape == (x.shape[0], net.output_width) and out.dtype == dtype
    assert all(v.dtype == dtype and v.shape == (x.shape[0], n) for v, n in zip(block.free.layers, net.sizes))
    grads = block.ep_gradients(0.05 * family.beta_unit(net), error=_error(out))
    params = list(family.parameters(net).values())
    assert grads.flat().size == sum(p.size for p in params)
    assert grads.inputs.shape == x.shape


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_parameters_survive_a_save_load_round_trip(family):
    net = family.network(np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **family.parameters(net))
    buffer.seek(0)
    loaded = dict(np.load(buffer))
    copy = family.rebuild(net, loaded)
    for name, value in family.parameters(copy).items():
        np.testing.assert_array_equal(value, family.parameters(net)[name])
    x = np.random.default_rng(6).uniform(-0.3, 0.3, (2, net.input_width))
    outputs = [family.block(n, family.solver(n, _strategy("bcd"), "raise")).forward(x) for n in (net, copy)]
    np.testing.assert_array_equal(*outputs)


@pytest.mark.parametrize("family, kind", CASES)
def test_a_capped_relaxation_reports_it_and_warns_or_raises(family, kind):
    net = family.network(np.float64)
    x = np.random.default_rng(7).uniform(-0.3, 0.3, (2, net.input_width))
    capped = family.solver(net, _strategy(kind, tol=1e-15, cap=1), "warn")
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        state = capped.relax(x)
    assert not state.info.converged
    with pytest.raises(ConvergenceError, match="did not converge"):
        family.solver(net, _strategy(kind, tol=1e-15, cap=1), "raise").relax(x)


@pytest.mark.parametrize("family, kind", CASES)
def test_a_warm_start_from_the_equilibrium_stays_there_in_fewer_sweeps(family, kind):
    block, x, _ = _solved_block(family, kind, tol=1e-10)
    free = block.free
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        again = block.solver.relax(block.drive, init=free)
    assert again.info.sweeps < free.info.sweeps
    for a, b in zip(again.layers, free.layers):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9 * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_every_family_returns_the_shared_gradients_and_checks_inputs_alike(family):
    block, x, out = _solved_block(family, "bcd")
    grads = block.implicit_gradients(error=_error(out))
    assert isinstance(grads, EnergyGradients)
    named = grads.weights if "hopfield" in family.name else grads.conductances
    assert named is grads.couplings
    assert grads.flat().size == sum(p.size for p in family.parameters(block.network).values())
    with pytest.raises(ParameterError, match=rf"block input must have shape \(batch, {x.shape[1]}\)"):
        block.forward(x[:, 1:])
    with pytest.raises(ParameterError, match="block input contains NaN or infinity"):
        block.forward(np.where(x > 0, np.nan, x))

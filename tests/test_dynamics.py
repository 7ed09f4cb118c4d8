"""Relaxation dynamics on resistive networks: same minimiser as BCD, energy behaviour, curvature, stopping rule."""

import numpy as np
import pytest

from analog_cases import CASES, make_block, make_inputs, make_network
from cosim.analog import BCDSolver, ConvergenceWarning, Nudge, ResistiveBlock
from cosim.analog import GradientFlowSolver, MomentumSolver, ResistiveEnergy
from cosim.analog.relaxation import kkt_residual
from cosim.errors import ConvergenceError, ParameterError

IDEAL = [c for c in CASES if c.diode == "ideal"]
RELAXATIONS = {
    "rc": lambda net, **kw: GradientFlowSolver(net, **kw),
    "momentum": lambda net, **kw: MomentumSolver(net, **kw),
    "momentum-restart": lambda net, **kw: MomentumSolver(net, restart=True, step=0.6, **kw),
    "momentum-bifurcation": lambda net, **kw: MomentumSolver(net, bifurcation_steps=40, **kw),
}


def max_difference(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a.layers, b.layers))


def dense_curvature(energy, sizes):
    """Largest eigenvalue of M^-1 H from the dense Hessian, built column by column from hessian_vector."""
    n = sum(sizes)
    columns = []
    for i in range(n):
        unit = np.zeros(n)
        unit[i] = 1.0
        parts = np.split(unit, np.cumsum(sizes)[:-1])
        columns.append(np.concatenate([h[0] for h in energy.hessian_vector([p[None, :] for p in parts])]))
    hessian = np.array(columns).T
    root = np.sqrt(np.concatenate([m[0] for m in energy.metric]))
    return float(np.linalg.eigvalsh(hessian / root[:, None] / root[None, :]).max()), hessian


@pytest.mark.parametrize("case", IDEAL, ids=lambda c: c.id)
@pytest.mark.parametrize("name", RELAXATIONS)
def test_every_relaxation_reaches_the_bcd_minimiser(case, name):
    """Convex QP (ideal diodes): the unique minimiser, free and nudged, whatever the dynamics."""
    net = make_network(case)
    x = make_inputs(net, 5)
    exact = BCDSolver(net, tol=1e-14, max_sweeps=20000)
    solver = RELAXATIONS[name](net, tol=1e-12, max_steps=50000, on_unconverged="raise")
    target = np.random.default_rng(4).uniform(-0.2, 0.2, (5, net.output_width))
    for nudge in (None, Nudge(2e-5, target=target)):
        reference = exact.relax(x, nudge)
        state = solver.relax(x, nudge)
        assert state.info.converged
        assert max_difference(state, reference) < 1e-9
        assert np.all(state.layers[1] >= net.lower_rails[0] - 1e-15)


def test_nudged_phase_warm_starts_from_the_free_state():
    net = make_network(CASES[1])
    x = make_inputs(net, 4)
    solver = MomentumSolver(net, tol=1e-10)
    free = solver.relax(x)
    error = np.random.default_rng(2).normal(size=free.output.shape)
    cold = solver.relax(x, Nudge(1e-7, error=error))
    warm = solver.relax(x, Nudge(1e-7, error=error), init=free)
    assert warm.info.sweeps < cold.info.sweeps
    assert max_difference(warm, cold) < 1e-8


def test_rc_settling_time_is_in_seconds_and_scales_with_capacitance():
    net = make_network(CASES[0])
    x = make_inputs(net, 3)
    fast = GradientFlowSolver(net, capacitance=1e-13).relax(x)
    slow = GradientFlowSolver(net, capacitance=2e-13).relax(x)
    assert fast.info.steps == slow.info.steps
    assert slow.info.time == pytest.approx(2 * fast.info.time, rel=1e-12)
    tau = 1e-13 / max(float(d.max()) for d in net.self_conductances)  # fastest node RC constant
    assert 1.0 < fast.info.time / tau < 1e4


def test_curvature_matches_the_dense_hessian_and_is_refreshed_when_weights_change():
    net = make_network(CASES[2])
    solver = GradientFlowSolver(net)
    x = make_inputs(net, 2)
    solver.relax(x)
    energy = ResistiveEnergy.phase(net, solver.drive(x), None, solver.capacitance)
    exact, hessian = dense_curvature(energy, net.sizes[1:])
    assert np.allclose(hessian, hessian.T, rtol=1e-12, atol=1e-20)
    estimate = solver.dynamics.curvature.value
    assert exact <= estimate <= 1.06 * exact
    products = solver.dynamics.curvature.products
    solver.relax(x)
    assert solver.dynamics.curvature.products == products  # same conductances: cached
    net.set_conductances([2.0 * w for w in net.conductances])
    solver.relax(x)
    assert solver.dynamics.curvature.products > products
    assert solver.dynamics.curvature.value == pytest.approx(2 * estimate, rel=0.02)


def test_gradient_flow_never_raises_the_energy():
    net = make_network(CASES[1])
    state = GradientFlowSolver(net, record=True, tol=1e-10).relax(make_inputs(net, 4))
    potential = np.array([p for p, _ in state.info.trace])
    assert np.all(np.diff(potential, axis=0) <= 1e-12 * np.abs(potential).max())


def _largest_rise(step):
    """Largest one-step rise of kinetic + potential energy, relative to the total drop, lightly damped."""
    net = make_network(CASES[1])
    solver = MomentumSolver(net, step=step, damping=0.05, tol=1e-9, max_steps=100000, record=True)
    state = solver.relax(make_inputs(net, 4))
    total = np.array([p + k for p, k in state.info.trace])
    return float(np.max(np.diff(total, axis=0).max(axis=0) / (total[0] - total[-1])))


def test_damped_momentum_total_energy_rises_only_by_discretisation_error():
    coarse, fine = _largest_rise(0.2), _largest_rise(0.1)
    assert fine < 0.01
    assert fine < coarse / 4  # shrinks with the step: a discretisation error, not a source of energy


def test_stopping_rule_checks_the_kkt_residual_and_the_cap_warns_or_raises():
    net = make_network(CASES[1])
    x = make_inputs(net, 3)
    state = MomentumSolver(net, tol=1e-8).relax(x)
    solver = MomentumSolver(net)
    energy = ResistiveEnergy.phase(net, solver.drive(x), None, solver.capacitance)
    grad = [np.empty_like(v) for v in state.layers[1:]]
    energy.gradient(state.layers[1:], grad)
    assert kkt_residual(energy, state.layers[1:], grad) <= 1e-8 * energy.reference(state.layers[1:])
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        capped = MomentumSolver(net, max_steps=5).relax(x)
    assert not capped.info.converged and capped.info.steps == 5
    with pytest.raises(ConvergenceError):
        GradientFlowSolver(net, max_steps=5, on_unconverged="raise").relax(x)


def test_momentum_ep_matches_implicit_differentiation():
    block = make_block(CASES[1])
    net = block.network
    block = ResistiveBlock(net, MomentumSolver(net, tol=1e-13, max_steps=100000, max_sweeps=500, on_unconverged="raise"))
    block.forward(make_inputs(net, 6))
    error = np.random.default_rng(11).normal(size=block.free.output.shape)
    exact = block.implicit_gradients(error=error)
    estimate = block.ep_gradients(1e-7, error=error)
    for ep, id_ in zip([*estimate.conductances, *estimate.biases, estimate.inputs],
                       [*exact.conductances, *exact.biases, exact.inputs]):
        assert float(ep.ravel() @ id_.ravel() / (np.linalg.norm(ep) * np.linalg.norm(id_))) >= 0.999


def test_state_noise_changes_the_result_and_is_reproducible():
    net = make_network(CASES[0])
    x = make_inputs(net, 3)

    def relax(seed):
        return MomentumSolver(net, noise_sigma=1e-4, rng=np.random.default_rng(seed), max_steps=3000).relax(x)

    clean = MomentumSolver(net).relax(x)
    first, again, other = relax(0), relax(0), relax(1)
    assert max_difference(first, clean) > 1e-6
    assert max_difference(first, again) == 0.0
    assert max_difference(first, other) > 0.0
    assert max_difference(first, clean) < 1e-2  # noise at 1e-4 V leaves the equilibrium close


def test_invalid_settings_are_rejected():
    net = make_network(CASES[0])
    with pytest.raises(ParameterError, match="fraction of the stability limit"):
        GradientFlowSolver(net, step=1.5)
    with pytest.raises(ParameterError, match="Generator"):
        MomentumSolver(net, noise_sigma=0.1)
    with pytest.raises(ParameterError, match="ideal diodes only"):
        MomentumSolver(make_network(CASES[3]))
    with pytest.raises(ParameterError, match="capacitances"):
        GradientFlowSolver(net, capacitance=-1.0)


def test_kkt_residual_kernel_flags_nan_and_matches_numpy():
    from cosim.analog.relaxation import kernels

    rng = np.random.default_rng(0)
    s, g = rng.uniform(0, 1, (4, 7)), rng.normal(size=(4, 7))
    d, lo, hi = rng.uniform(0.5, 2, (1, 7)), np.zeros((1, 7)), np.ones((4, 7))
    expected = np.max(np.abs(np.clip(s - g / d, lo, hi) - s))
    assert kernels.kkt_residual_layer(s, g, d, lo, hi) == pytest.approx(expected, rel=1e-15)
    g[2, 3] = np.nan
    assert kernels.kkt_residual_layer(s, g, d, lo, hi) == np.inf  # a NaN state never passes the stopping test

"""The BCD solver against physics: Kirchhoff's law, diode complementarity, energy minima, scipy."""

import numpy as np
import pytest
from scipy import optimize

from analog_cases import CASES, make_block, make_inputs
from cosim.analog import BCDSolver, ConvergenceWarning, Nudge
from cosim.analog import observables as obs
from cosim.errors import ConvergenceError

CASE_IDS = [c.id for c in CASES]


def relative_kcl_residuals(block, state, nudge=None):
    """Per layer: |net current into each node| / (sum of branch current magnitudes), diodes included."""
    net = block.network
    currents = obs.element_currents(net, state.layers, nudge)
    scales = obs.kirchhoff_scale(net, state.layers, nudge)
    if net.diode.__class__.__name__ == "ShockleyDiode":
        diodes = obs.diode_currents(net, state.layers)
        for m, i_d in enumerate(diodes):
            currents[m] = currents[m] + i_d
            scales[m] = scales[m] + np.abs(i_d)
    else:  # ideal: a clamped node's diode absorbs whatever the elements deliver
        for m in range(net.n_layers - 1):
            v = state.layers[m + 1]
            clamped = (v == net.lower_rails[m]) | (v == net.upper_rails[m])
            currents[m] = np.where(clamped, 0.0, currents[m])
    return [np.abs(i) / np.maximum(s, 1e-300) for i, s in zip(currents, scales)]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("phase", ["free", "nudged"])
def test_kirchhoff_current_law_holds_at_every_free_node(case, phase):
    block = make_block(case)
    x = make_inputs(block.network)
    block.forward(x)
    state, nudge = block.free, None
    if phase == "nudged":
        nudge = Nudge(2e-5, error=np.random.default_rng(3).normal(size=block.free.output.shape))
        state = block.solver.relax(block.drive, nudge, init=block.free)
    assert state.info.converged
    worst = max(r.max() for r in relative_kcl_residuals(block, state, nudge))
    assert worst <= 1e-9


@pytest.mark.parametrize("case", [c for c in CASES if c.diode == "ideal"], ids=lambda c: c.id)
def test_ideal_diode_complementarity(case):
    """At a clamped node the diode current has the sign that holds the node at its rail; elsewhere it is 0."""
    block = make_block(case)
    block.forward(make_inputs(block.network, batch=16))
    net, layers = block.network, block.free.layers
    currents = obs.element_currents(net, layers)
    n_clamped = 0
    for m in range(1, net.n_layers):
        v, i = layers[m], currents[m - 1]
        lo, hi = net.lower_rails[m - 1], net.upper_rails[m - 1]
        assert (v >= lo).all() and (v <= hi).all()
        # diode current = -i: into the node (>= 0) at the lower rail, out of it at the upper rail
        assert (i[v == lo] <= 1e-15).all()
        assert (i[v == hi] >= -1e-15).all()
        n_clamped += int(((v == lo) | (v == hi)).sum())
    assert n_clamped > 0, "the test network should have clamped nodes"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_equilibrium_minimises_the_energy(case):
    """Feasible perturbations of the equilibrium never lower the co-content."""
    block = make_block(case)
    block.forward(make_inputs(block.network))
    net, layers = block.network, block.free.layers
    e0 = obs.energy(net, layers)
    rng = np.random.default_rng(7)
    for _ in range(20):
        moved = [layers[0]]
        for m in range(1, net.n_layers + 1):
            v = layers[m] + rng.normal(0, 1e-3, layers[m].shape)
            if m < net.n_layers:
                v = np.clip(v, net.lower_rails[m - 1], net.upper_rails[m - 1])
            moved.append(v)
        assert (obs.energy(net, moved) >= e0 - 1e-15).all()


@pytest.mark.parametrize("case", CASES[:3], ids=lambda c: c.id)
def test_matches_scipy_bound_constrained_minimiser(case):
    """Ideal diodes: the equilibrium is the minimiser of a box-constrained QP; L-BFGS-B finds the same."""
    block = make_block(case)
    net = block.network
    x = make_inputs(net, batch=1)
    ours = np.concatenate([v.ravel() for v in (block.forward(x), block.free.layers)[1][1:]])
    v0 = net.input_voltages(x)
    splits = np.cumsum(net.sizes[1:])[:-1]
    scale = 1e4  # energies are ~1e-5 W; rescale for the optimiser's tolerances

    def unpack(flat):
        return [v0] + [part[None, :] for part in np.split(flat, splits)]

    def fun(flat):
        layers = unpack(flat)
        grad = -np.concatenate([(i * s).ravel() for i, s in
                                zip(obs.element_currents(net, layers), net.node_weights[1:])])
        return scale * obs.energy(net, layers)[0], scale * grad

    bounds = []
    for m in range(1, net.n_layers + 1):
        rails = (net.lower_rails[m - 1], net.upper_rails[m - 1]) if m < net.n_layers else \
            (np.full(net.sizes[m], -np.inf), np.full(net.sizes[m], np.inf))
        bounds += [(lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None) for lo, hi in zip(*rails)]
    result = optimize.minimize(fun, np.zeros(sum(net.sizes[1:])), jac=True, method="L-BFGS-B", bounds=bounds,
                               options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 20000})
    np.testing.assert_allclose(ours, result.x, atol=1e-6)


@pytest.mark.parametrize("case", [c for c in CASES if c.diode == "shockley"], ids=lambda c: c.id)
def test_shockley_matches_scipy_root_of_kirchhoff_equations(case):
    block = make_block(case)
    net = block.network
    x = make_inputs(net, batch=1)
    block.forward(x)
    ours = np.concatenate([v.ravel() for v in block.free.layers[1:]])
    v0 = net.input_voltages(x)
    splits = np.cumsum(net.sizes[1:])[:-1]

    def kcl(flat):
        layers = [v0] + [part[None, :] for part in np.split(flat, splits)]
        currents = obs.element_currents(net, layers)
        for m, i_d in enumerate(obs.diode_currents(net, layers)):
            currents[m] = currents[m] + i_d
        return np.concatenate([i.ravel() for i in currents]) * 1e4

    result = optimize.root(kcl, ours + 1e-3, method="hybr", tol=1e-14)
    assert np.abs(kcl(result.x)).max() < 1e-12  # scipy's own stopping flag is too strict at this scale
    np.testing.assert_allclose(ours, result.x, atol=1e-9)


def test_warm_start_from_the_solution_converges_at_once_to_the_same_state():
    block = make_block(CASES[1])
    block.forward(make_inputs(block.network))
    again = block.solver.relax(block.drive, init=block.free)
    assert again.info.sweeps <= 2 < block.free.info.sweeps
    for a, b in zip(again.layers, block.free.layers):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_float32_gives_float32_states_close_to_float64():
    case = CASES[1]
    b64 = make_block(case)
    b32 = make_block(case, tol=1e-6, dtype=np.float32)
    x = make_inputs(b64.network)
    out64 = b64.forward(x)
    out32 = b32.forward(x.astype(np.float32))
    assert all(v.dtype == np.float32 for v in b32.free.layers)
    np.testing.assert_allclose(out32, out64, atol=1e-4)


def test_unconverged_relaxation_warns_or_raises():
    block = make_block(CASES[1])
    x = make_inputs(block.network)
    net = block.network
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        state = BCDSolver(net, tol=1e-14, max_sweeps=2).relax(x)
    assert not state.info.converged and state.info.sweeps == 2
    with pytest.raises(ConvergenceError, match="max_sweeps"):
        BCDSolver(net, tol=1e-14, max_sweeps=2, on_unconverged="raise").relax(x)


def test_input_drive_is_recomputed_when_the_weights_change():
    block = make_block(CASES[0])
    net = block.network
    x = make_inputs(net)
    drive = block.solver.drive(x)
    net.set_conductances([2.0 * w for w in net.conductances])
    stale = block.solver.relax(drive)
    fresh = block.solver.relax(x)
    np.testing.assert_allclose(stale.output, fresh.output, atol=1e-12)


def test_conductances_are_read_only():
    net = make_block(CASES[0]).network
    with pytest.raises(ValueError):
        net.conductances[0][0, 0] = 1.0

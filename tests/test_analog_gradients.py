"""EP gradients vs implicit differentiation vs finite differences of the converged loss."""

import numpy as np
import pytest

from analog_cases import CASES, make_block, make_inputs
from cosim.analog import ResistiveBlock
from cosim.analog.resistive.gradients import crossbar_bilinear

CASE_IDS = [c.id for c in CASES]


def cosine(a, b):
    return float(a.ravel() @ b.ravel() / (np.linalg.norm(a) * np.linalg.norm(b)))


def relative_error(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def tensors(grads):
    return [*grads.conductances, *grads.biases, grads.inputs]


def prepared(case, batch=6, volts=1.0):
    block = make_block(case)
    block.forward(make_inputs(block.network, batch, volts=volts))
    error = np.random.default_rng(11).normal(size=block.free.output.shape)
    return block, error


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_centred_ep_matches_implicit_differentiation_per_tensor(case):
    block, error = prepared(case)
    exact = block.implicit_gradients(error=error)
    estimate = block.ep_gradients(1e-7, error=error)
    for ep, id_ in zip(tensors(estimate), tensors(exact)):
        assert cosine(ep, id_) >= 0.9999


@pytest.mark.parametrize("case", CASES[:2], ids=lambda c: c.id)
def test_target_nudge_matches_squared_error_gradient(case):
    block, _ = prepared(case)
    target = np.random.default_rng(5).uniform(-0.2, 0.2, block.free.output.shape)
    exact = block.implicit_gradients(target=target)
    estimate = block.ep_gradients(1e-7, target=target)
    for ep, id_ in zip(tensors(estimate), tensors(exact)):
        assert cosine(ep, id_) >= 0.9999


@pytest.mark.parametrize("estimator, order", [("centred", 2), ("positive", 1), ("negative", 1)])
def test_ep_bias_falls_with_beta_at_the_estimators_order(estimator, order):
    """Shockley diodes make the equilibrium smooth and nonlinear in beta: centred EP errs O(beta^2).

    Inputs of 5 V drive some diodes into conduction, so the energy is not quadratic (where it is,
    centred EP is exact and its error is rounding noise)."""
    block, error = prepared(CASES[3], volts=5.0)
    exact = block.implicit_gradients(error=error).flat()
    errors = [relative_error(block.ep_gradients(beta, error=error, estimator=estimator).flat(), exact)
              for beta in (4e-6, 2e-6, 1e-6)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(np.abs(ratios - 2**order) < 0.25 * 2**order), (errors, ratios)


def converged_loss(block: ResistiveBlock, x, error):
    """L = sum_b error_b . v_out,b: a loss whose output gradient is ``error``."""
    return float(np.sum(error * block.forward(x)))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_implicit_differentiation_matches_finite_differences(case):
    block, error = prepared(case, batch=3)
    x = make_inputs(block.network, 3)
    exact = block.implicit_gradients(error=error)
    net = block.network
    rng = np.random.default_rng(2)

    def probe(get, set_, index, step):
        base = get()
        values = []
        for sign in (1.0, -1.0):
            changed = [p.copy() for p in base]
            changed[index[0]][index[1:]] += sign * step
            set_(changed)
            values.append(converged_loss(block, x, error))
        set_(base)
        return (values[0] - values[1]) / (2 * step)

    for _ in range(4):
        l = int(rng.integers(net.n_layers))
        i, j = (int(rng.integers(s)) for s in net.conductances[l].shape)
        fd = probe(lambda: list(net.conductances), net.set_conductances, (l, i, j), 1e-9)
        assert fd == pytest.approx(exact.conductances[l][i, j], rel=1e-5, abs=1e-3)
        m = int(rng.integers(net.n_layers))
        k = int(rng.integers(net.sizes[m + 1]))
        fd = probe(lambda: list(net.biases), net.set_biases, (m, k), 1e-10)
        assert fd == pytest.approx(exact.biases[m][k], rel=1e-5, abs=1e-3)
    # block inputs: perturb one input of one sample
    b, k = int(rng.integers(x.shape[0])), int(rng.integers(x.shape[1]))
    values = []
    for sign in (1.0, -1.0):
        moved = x.copy()
        moved[b, k] += sign * 1e-6
        values.append(converged_loss(block, moved, error))
    assert (values[0] - values[1]) / 2e-6 == pytest.approx(exact.inputs[b, k], rel=1e-5, abs=1e-7)


def test_crossbar_bilinear_equals_the_explicit_sum():
    rng = np.random.default_rng(0)
    d_lo, s_lo, d_hi, s_hi = (rng.normal(size=(4, n)) for n in (3, 3, 5, 5))
    explicit = np.einsum("bij,bij->ij", 1.7 * d_lo[:, :, None] - d_hi[:, None, :],
                         1.7 * s_lo[:, :, None] - s_hi[:, None, :])
    np.testing.assert_allclose(crossbar_bilinear(1.7, d_lo, s_lo, d_hi, s_hi), explicit, rtol=1e-12)


def test_ep_gradients_of_float32_block_stay_float32():
    block = make_block(CASES[0], tol=1e-6, dtype=np.float32)
    block.forward(make_inputs(block.network).astype(np.float32))
    error = np.ones_like(block.free.output)
    grads = block.ep_gradients(1e-5, error=error)
    assert all(g.dtype == np.float32 for g in tensors(grads))

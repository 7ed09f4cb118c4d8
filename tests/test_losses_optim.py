"""Losses and optimisers: finite-difference gradients, stability, reference recursions, groups, schedules."""

import math

import numpy as np
import pytest

from cosim.errors import ParameterError
from cosim.learning.losses import LOSSES, accuracy, get_loss, one_hot, softmax_cross_entropy, squared_error
from cosim.learning.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    constant_schedule,
    cosine_schedule,
    make_optimizer,
)

DTYPES = [np.float32, np.float64]
BATCH, CLASSES = 4, 5

LOSS_CASES = {
    "cross_entropy": lambda y, labels: softmax_cross_entropy(y, labels),
    "squared_error_labels": lambda y, labels: squared_error(y, labels),
    "squared_error_scaled": lambda y, labels: squared_error(y, labels, target_scale=0.3),
    "squared_error_targets": lambda y, labels: squared_error(y, np.linspace(-1, 1, y.size).reshape(y.shape)),
}


def _outputs(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(BATCH, CLASSES)).astype(dtype), rng.integers(0, CLASSES, size=BATCH)


# ---------------------------------------------------------------------------------------------- losses


@pytest.mark.parametrize("case", LOSS_CASES)
def test_loss_gradient_matches_central_differences(case):
    loss_fn = LOSS_CASES[case]
    y, labels = _outputs()
    loss, grad = loss_fn(y, labels)
    assert loss.shape == (BATCH,) and grad.shape == y.shape
    eps = 1e-6
    numeric = np.zeros_like(y)
    for idx in np.ndindex(y.shape):
        shift = np.zeros_like(y)
        shift[idx] = eps
        numeric[idx] = (loss_fn(y + shift, labels)[0].sum() - loss_fn(y - shift, labels)[0].sum()) / (2 * eps)
    # the gradient of the summed per-sample losses: not divided by the batch size
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LOSS_CASES)
def test_loss_keeps_float_dtype(case, dtype):
    y, labels = _outputs(dtype)
    loss, grad = LOSS_CASES[case](y, labels)
    assert loss.dtype == dtype and grad.dtype == dtype


@pytest.mark.parametrize("name", LOSSES)
def test_integer_outputs_are_computed_in_float64(name):
    loss, grad = get_loss(name)(np.array([[2, 0, 1]]), np.array([0]))
    assert loss.dtype == grad.dtype == np.float64


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e30, 0, -1e30], [-1e30, -1e30, -1e30], [3e4, -3e4, 0]], dtype=dtype)
    loss, grad = softmax_cross_entropy(logits, np.array([1, 2, 0]))
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(loss, [1e30, math.log(3), 0], rtol=1e-6)
    np.testing.assert_allclose(grad, [[1, -1, 0], [1 / 3, 1 / 3, -2 / 3], [-0.0, 0, 0]], atol=1e-6)


@pytest.mark.parametrize(
    "loss_fn, expected",
    [
        (lambda y, labels: softmax_cross_entropy(np.zeros_like(y), labels), math.log(CLASSES)),
        (lambda y, labels: squared_error(np.zeros_like(y), labels), 0.5),
        (lambda y, labels: squared_error(np.zeros_like(y), labels, target_scale=0.3), 0.5 * 0.3**2),
    ],
    ids=["cross_entropy_uniform", "squared_error_onehot", "squared_error_scaled"],
)
def test_loss_values(loss_fn, expected):
    y, labels = _outputs()
    np.testing.assert_allclose(loss_fn(y, labels)[0], np.full(BATCH, expected))


def test_squared_error_sums_over_all_sample_axes():
    outputs = np.ones((2, 3, 4))
    loss, grad = squared_error(outputs, np.zeros_like(outputs))
    np.testing.assert_array_equal(loss, [6.0, 6.0])
    np.testing.assert_array_equal(grad, outputs)


def test_one_hot_and_accuracy():
    np.testing.assert_array_equal(one_hot([2, 0], 3, scale=2.0), [[0, 0, 2], [2, 0, 0]])
    assert accuracy(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.array([0, 0, 0])) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: get_loss("hinge"), "cross_entropy, squared_error"),
        (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])), r"\[0, 3\)"),
        (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])), "integers"),
        (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])), "shape"),
        (lambda: softmax_cross_entropy(np.zeros(3), np.array([0])), "shape"),
        (lambda: squared_error(np.zeros((2, 3)), np.zeros((2, 3)), target_scale=2.0), "target_scale"),
        (lambda: squared_error(np.zeros((2, 3)), np.zeros((3, 2))), "shape"),
        (lambda: accuracy(np.zeros((0, 3)), np.zeros(0, dtype=int)), "empty"),
    ],
    ids=["unknown", "label_range", "float_labels", "label_count", "1d_logits", "scale_with_targets",
         "target_shape", "empty_accuracy"],
)
def test_loss_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


# ------------------------------------------------------------------------------------------ optimisers

P0 = [np.array([1.0, -2.0, 0.5]), np.array([[0.3, -0.7]]), np.array([2.0, -1.0])]
G0 = [np.array([0.5, -1.0, 2.0]), np.array([[1.0, 0.1]]), np.array([-0.3, 0.8])]
GRADS = [[g * (1 + 0.5 * t) - 0.2 * t for g in G0] for t in range(3)]  # three steps, one list per step


def _groups(dtype=np.float64, **second_group):
    """Two groups over fresh copies of P0: params 0, 1 in the first, param 2 in the second."""
    params = [p.astype(dtype) for p in P0]
    return [{"params": params[:2]}, {"params": params[2:], **second_group}]


def _flat(groups):
    return [p for group in groups for p in group["params"]]


def _nested(grads):
    return [grads[:2], grads[2:]]


def sgd_reference(p, grads, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    buf = np.zeros_like(p)
    for g in grads:
        g = g + weight_decay * p
        buf = momentum * buf + g
        p = p - lr * (g + momentum * buf if nesterov else buf)
    return p


def adam_reference(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=True):
    m = v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g**2
        p = p - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
    return p


REFERENCES = {"sgd": sgd_reference, "adam": adam_reference}
REFERENCE_CASES = {
    "sgd_plain": ("sgd", dict(lr=0.1)),
    "sgd_momentum": ("sgd", dict(lr=0.1, momentum=0.9)),
    "sgd_nesterov": ("sgd", dict(lr=0.1, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": ("sgd", dict(lr=0.1, momentum=0.5, weight_decay=0.2)),
    "adam": ("adam", dict(lr=0.1)),
    "adamw": ("adam", dict(lr=0.1, betas=(0.8, 0.99), weight_decay=0.2)),
    "adam_l2": ("adam", dict(lr=0.1, weight_decay=0.2, decoupled=False)),
}
# One setting per kind for the behavioural tests below.
KINDS = {"sgd": dict(lr=0.05, momentum=0.9), "adam": dict(lr=0.05)}


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 1e-14), (np.float32, 3e-6, 1e-6)])
@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_optimizer_matches_reference_recursion(case, dtype, rtol, atol):
    """float64 to rounding; float32 parameters are updated with float32 arithmetic (as PyTorch does), within a
    few float32 roundings of the float64 recursion."""
    kind, kwargs = REFERENCE_CASES[case]
    # the second group runs at half the rate and without weight decay: per-group settings are honoured
    groups = _groups(dtype, lr_scale=0.5, weight_decay=0.0)
    opt = make_optimizer(kind, groups, **kwargs)
    for grads in GRADS:
        opt.step(_nested(grads))
    second = {**kwargs, "lr": 0.5 * kwargs["lr"], "weight_decay": 0.0}
    for i, p in enumerate(_flat(groups)):
        assert p.dtype == dtype
        expected = REFERENCES[kind](P0[i], [grads[i] for grads in GRADS], **(kwargs if i < 2 else second))
        np.testing.assert_allclose(p, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("kind", KINDS)
def test_optimizer_minimises_a_quadratic(kind):
    curvature, centre = np.array([1.0, 3.0, 0.5]), np.array([1.0, -2.0, 0.5])
    p = np.zeros(3)
    opt = make_optimizer(kind, [{"params": [p]}], **KINDS[kind])
    steps = 400
    schedule = cosine_schedule(KINDS[kind]["lr"], steps)
    for step in range(steps):
        opt.set_lr(schedule(step))
        opt.step([[curvature * (p - centre)]])
    np.testing.assert_allclose(p, centre, atol=1e-3)


@pytest.mark.parametrize("decoupled", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_weight_decay_shrinks_params(kind, decoupled):
    kwargs = {**KINDS[kind], "weight_decay": 0.1, **({"decoupled": decoupled} if kind == "adam" else {})}
    groups = _groups()
    opt = make_optimizer(kind, groups, **kwargs)
    for _ in range(3):
        opt.step([[np.zeros_like(p) for p in group["params"]] for group in groups])
    for p, p0 in zip(_flat(groups), P0):
        assert np.all(np.abs(p) < np.abs(p0)) and np.all(np.sign(p) == np.sign(p0))


@pytest.mark.parametrize("kind", KINDS)
def test_bounds_clip_params_after_every_step(kind):
    lo, hi = 0.2, 0.8
    p = np.array([0.5, 0.5, 0.3, 0.7])
    opt = make_optimizer(kind, [{"params": [p], "bounds": (lo, hi)}], **{**KINDS[kind], "lr": 10.0})
    for _ in range(2):
        opt.step([[np.array([100.0, -100.0, 1.0, -1.0])]])
        assert np.all((p >= lo) & (p <= hi))
    np.testing.assert_array_equal(p[:2], [lo, hi])


@pytest.mark.parametrize("kind", KINDS)
def test_zero_lr_scale_and_zero_lr_freeze_params(kind):
    groups = _groups(lr_scale=0.0)
    opt = make_optimizer(kind, groups, **KINDS[kind], weight_decay=0.1)
    grads = _nested(GRADS[0])
    opt.step(grads)
    np.testing.assert_array_equal(groups[1]["params"][0], P0[2])
    assert not np.allclose(groups[0]["params"][0], P0[0])
    frozen = [p.copy() for p in _flat(groups)]
    opt.set_lr(0.0)
    opt.step(grads)
    for p, before in zip(_flat(groups), frozen):
        np.testing.assert_array_equal(p, before)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_params_and_state_stay_float32(kind):
    results = {}
    for dtype in DTYPES:
        groups = _groups(dtype)
        opt = make_optimizer(kind, groups, **KINDS[kind])
        for grads in GRADS:  # float64 gradients
            opt.step(_nested(grads))
        assert all(p.dtype == dtype for p in _flat(groups))
        assert all(buf.dtype == dtype for key, buf in opt.state_dict().items() if "." in key)
        results[dtype] = _flat(groups)
    for p32, p64 in zip(results[np.float32], results[np.float64]):
        np.testing.assert_allclose(p32, p64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_round_trip_continues_identically(kind):
    groups_a = _groups()
    opt_a = make_optimizer(kind, groups_a, **KINDS[kind])
    for grads in GRADS[:2]:
        opt_a.step(_nested(grads))
    opt_a.set_lr(0.01)
    state = opt_a.state_dict()
    assert all(isinstance(value, np.ndarray) for value in state.values())

    groups_b = [{"params": [p.copy() for p in group["params"]]} for group in groups_a]
    opt_b = make_optimizer(kind, groups_b, **KINDS[kind])
    opt_b.load_state_dict(state)
    for opt in (opt_a, opt_b):
        opt.step(_nested(GRADS[2]))
    for p_a, p_b in zip(_flat(groups_a), _flat(groups_b)):
        np.testing.assert_array_equal(p_a, p_b)
    state["steps"][...] = -1  # the returned state is a copy
    assert opt_a.steps == 3


def _p():
    return [np.zeros(2)]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_optimizer("rmsprop", [{"params": _p()}], lr=0.1), "adam, sgd"),
        (lambda: make_optimizer("sgd", [{"params": _p()}], lr=0.1, beta=0.9), "beta"),
        (lambda: SGD([{"params": _p(), "lr": 0.1}], lr=0.1), "unknown keys"),
        (lambda: SGD([{"params": [[0.0, 1.0]]}], lr=0.1), "numpy array"),
        (lambda: SGD([{"params": [np.zeros(2, dtype=int)]}], lr=0.1), "floating"),
        (lambda: SGD([{"params": _p(), "bounds": (1.0, 0.0)}], lr=0.1), "lo <= hi"),
        (lambda: SGD([{"params": _p(), "lr_scale": -1.0}], lr=0.1), "lr_scale"),
        (lambda: SGD([{"params": _p()}], lr=-0.1), "lr"),
        (lambda: SGD([{"params": _p()}], lr=0.1, momentum=1.0), "momentum"),
        (lambda: SGD([{"params": _p()}], lr=0.1, nesterov=True), "nesterov"),
        (lambda: Adam([{"params": _p()}], lr=0.1, betas=(0.9, 1.5)), "betas"),
        (lambda: Adam([{"params": _p()}], lr=0.1, eps=0.0), "eps"),
        (lambda: SGD([{"params": _p()}], lr=0.1).step([[np.zeros(2)], [np.zeros(2)]]), "one gradient list"),
        (lambda: SGD([{"params": _p()}], lr=0.1).step([[np.zeros(3)]]), "shape"),
        (lambda: SGD([{"params": _p()}], lr=0.1).step([[]]), "1 params"),
        (lambda: Adam([{"params": _p()}], lr=0.1).load_state_dict(SGD([{"params": _p()}], lr=0.1).state_dict()),
         "missing"),
    ],
    ids=["unknown_kind", "unknown_kwarg", "unknown_group_key", "list_param", "int_param", "bounds_inverted",
         "negative_lr_scale", "negative_lr", "momentum_one", "nesterov_without_momentum", "beta_above_one",
         "zero_eps", "group_count", "grad_shape", "grad_count", "state_of_other_kind"],
)
def test_optimizer_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_registry_lists_both_kinds():
    assert OPTIMIZERS == {"sgd": SGD, "adam": Adam}


# ----------------------------------------------------------------------------------------- schedules


def test_constant_schedule():
    schedule = constant_schedule(0.3)
    assert [schedule(step) for step in (0, 1, 1000)] == [0.3, 0.3, 0.3]


@pytest.mark.parametrize("warmup", [0, 1, 5])
def test_cosine_schedule_endpoints_and_monotonicity(warmup):
    base, total, final_fraction = 2.0, 25, 0.1
    schedule = cosine_schedule(base, total, warmup_steps=warmup, final_fraction=final_fraction)
    lrs = np.array([schedule(step) for step in range(total + 5)])
    ramp, decay = lrs[:warmup], lrs[warmup:]
    np.testing.assert_allclose(ramp, base * np.arange(1, warmup + 1) / max(warmup, 1))
    assert decay[0] == pytest.approx(base)
    assert np.all(np.diff(decay) <= 1e-15) and np.all(np.diff(decay[: total - warmup]) < 0)
    np.testing.assert_allclose(lrs[total - 1 :], base * final_fraction)
    middle = warmup + (total - 1 - warmup) / 2
    if middle.is_integer():
        assert schedule(int(middle)) == pytest.approx(base * (1 + final_fraction) / 2)


@pytest.mark.parametrize(
    "call",
    [
        lambda: cosine_schedule(1.0, 10, warmup_steps=10),
        lambda: cosine_schedule(1.0, 10, final_fraction=1.5),
        lambda: cosine_schedule(-1.0, 10),
        lambda: cosine_schedule(1.0, 10)(-1),
        lambda: constant_schedule(math.nan),
    ],
    ids=["warmup_too_long", "final_fraction", "negative_base", "negative_step", "nan_constant"],
)
def test_schedule_errors(call):
    with pytest.raises(ParameterError):
        call()

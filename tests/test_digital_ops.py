"""Digital ops: finite-difference gradients, reference implementations, shapes, dtypes, costs, registry."""

import inspect
from dataclasses import dataclass, fields
from typing import Callable

import numpy as np
import pytest

from cosim.digital import (
    OPS,
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Flatten,
    GainOffset,
    HardTanh,
    Identity,
    Linear,
    MaxPool2d,
    Op,
    OpCost,
    ReLU,
    Sigmoid,
    Tanh,
    make_op,
)
from cosim.errors import CosimError, ParameterError

BATCH = 3


@dataclass(frozen=True)
class Case:
    """One op under test: ``build(rng, dtype)``, per-sample input shape, mode, and whether inputs must be distinct."""

    id: str
    build: Callable[[np.random.Generator, type], Op]
    shape: tuple
    training: bool = True
    distinct: bool = False


CASES = [
    Case("linear", lambda rng, dt: Linear(5, 3, rng, dtype=dt), (5,)),
    Case("linear_nobias", lambda rng, dt: Linear(4, 2, rng, bias=False, dtype=dt), (4,)),
    Case("conv2d_padded", lambda rng, dt: Conv2d(2, 3, 3, rng, padding=1, dtype=dt), (2, 5, 5)),
    Case(
        "conv2d_rect_strided",
        lambda rng, dt: Conv2d(2, 3, (2, 3), rng, stride=(2, 1), padding=(1, 0), bias=False, dtype=dt),
        (2, 6, 5),
    ),
    Case("maxpool", lambda rng, dt: MaxPool2d(2), (2, 4, 4), distinct=True),
    Case("maxpool_overlapping", lambda rng, dt: MaxPool2d((3, 2), stride=1), (2, 5, 4), distinct=True),
    Case("avgpool", lambda rng, dt: AvgPool2d(2), (2, 4, 5)),
    Case("avgpool_overlapping", lambda rng, dt: AvgPool2d(3, stride=(1, 2)), (2, 4, 5)),
    Case("batchnorm_2d", lambda rng, dt: BatchNorm(3, dtype=dt), (3,)),
    Case("batchnorm_4d", lambda rng, dt: BatchNorm(2, dtype=dt), (2, 3, 3)),
    Case("batchnorm_eval", lambda rng, dt: BatchNorm(2, dtype=dt), (2, 3, 3), training=False),
    Case("flatten", lambda rng, dt: Flatten(), (2, 3, 2)),
    Case("relu", lambda rng, dt: ReLU(), (6,)),
    Case("hardtanh", lambda rng, dt: HardTanh(-0.5, 0.7), (2, 4)),
    Case("sigmoid", lambda rng, dt: Sigmoid(), (6,)),
    Case("tanh", lambda rng, dt: Tanh(), (2, 3, 2)),
    Case("identity", lambda rng, dt: Identity(), (4,)),
    Case("gainoffset_fixed", lambda rng, dt: GainOffset(3, gain=[2.0, -1.0, 0.5], offset=0.2, dtype=dt), (3,)),
    Case("gainoffset_learnable", lambda rng, dt: GainOffset(2, gain=1.5, learnable=True, dtype=dt), (2, 3, 2)),
]


def _setup(case: Case, dtype=np.float64, seed=0):
    """The op (random parameters and running statistics), an input batch and a loss weight ``r``."""
    rng = np.random.default_rng(seed)
    op = case.build(rng, dtype)
    for array in op.params.values():
        array[...] = rng.uniform(0.5, 1.5, size=array.shape) * rng.choice([-1, 1], size=array.shape)
    if isinstance(op, BatchNorm):
        op.running_mean[...] = rng.normal(size=op.num_features)
        op.running_var[...] = rng.uniform(0.5, 2.0, size=op.num_features)
    shape = (BATCH, *case.shape)
    size = int(np.prod(shape))
    x = rng.permutation(size).reshape(shape) * 0.1 - 0.05 * size if case.distinct else rng.normal(size=shape)
    out = op.forward(x.astype(dtype), case.training)
    return op, x.astype(dtype), rng.normal(size=out.shape).astype(dtype)


def _numeric_grad(loss: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of ``loss()`` with respect to each entry of ``array`` (perturbed in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = loss()
        array[index] = saved - eps
        minus = loss()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradients_match_finite_differences(case):
    op, x, r = _setup(case)
    op.forward(x, case.training)
    grad_x = op.backward(r)
    assert set(op.grads) == set(op.params)

    def loss():
        return float(np.sum(op.forward(x, case.training) * r))

    np.testing.assert_allclose(grad_x, _numeric_grad(loss, x), rtol=1e-5, atol=1e-7, err_msg="grad_x")
    for name, param in op.params.items():
        np.testing.assert_allclose(op.grads[name], _numeric_grad(loss, param), rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_float32_stays_float32(case):
    op, x, r = _setup(case, dtype=np.float32)
    assert op.forward(x, case.training).dtype == np.float32
    assert op.backward(r).dtype == np.float32
    assert all(a.dtype == np.float32 for a in [*op.params.values(), *op.grads.values()])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_output_shape_and_cost_agree_with_forward(case):
    op, x, _ = _setup(case)
    y = op.forward(x, case.training)
    assert y.shape == (BATCH, *op.output_shape(case.shape))
    cost = op.cost(case.shape, BATCH)
    assert all(isinstance(getattr(cost, f.name), int) and getattr(cost, f.name) >= 0 for f in fields(cost))
    if not isinstance(op, (Flatten, Identity)):
        assert cost.bytes_written_forward == 4 * y.size and cost.bytes_written_backward >= 4 * x.size


@pytest.mark.parametrize(
    "op, input_shape, message",
    [
        (Linear(5, 3, np.random.default_rng(0)), (4,), "expects per-sample shape"),
        (Linear(5, 3, np.random.default_rng(0)), (5, 2), "Flatten"),
        (Conv2d(2, 3, 5, np.random.default_rng(0)), (2, 3, 3), "larger than the padded input"),
        (Conv2d(2, 3, 3, np.random.default_rng(0)), (1, 5, 5), "2 input channels"),
        (Conv2d(2, 3, 3, np.random.default_rng(0)), (2, 5), r"\(C, H, W\)"),
        (MaxPool2d(3), (1, 2, 2), "larger than the padded input"),
        (AvgPool2d(2), (4,), r"\(C, H, W\)"),
        (BatchNorm(3), (4,), "expects per-sample shape"),
        (BatchNorm(3), (3, 2), "1 or 3 axes"),
        (GainOffset(3), (2, 4, 4), "expects per-sample shape"),
    ],
    ids=lambda v: v.name if isinstance(v, Op) else None,
)
def test_impossible_shapes_raise(op, input_shape, message):
    with pytest.raises(ParameterError, match=message):
        op.output_shape(input_shape)
    with pytest.raises(ParameterError, match=message):
        op.forward(np.zeros((2, *input_shape)), training=True)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Linear(0, 3, np.random.default_rng(0)),
        lambda: Conv2d(2, 3, 0, np.random.default_rng(0)),
        lambda: Conv2d(2, 3, 3, np.random.default_rng(0), padding=-1),
        lambda: Conv2d(2, 3, (3, 3, 3), np.random.default_rng(0)),
        lambda: MaxPool2d(2, stride=0),
        lambda: BatchNorm(3, momentum=2.0),
        lambda: HardTanh(1.0, -1.0),
        lambda: GainOffset(3, gain=[1.0, 2.0]),
    ],
)
def test_invalid_constructor_arguments_raise(build):
    with pytest.raises(ParameterError):
        build()


def test_dtype_mismatch_and_misuse_raise():
    op = Linear(3, 2, np.random.default_rng(0))
    with pytest.raises(CosimError, match="before forward"):
        op.backward(np.zeros((4, 2)))
    with pytest.raises(ParameterError, match="dtype float32 differs"):
        op.forward(np.zeros((4, 3), dtype=np.float32), training=True)
    op.forward(np.zeros((4, 3)), training=True)
    with pytest.raises(ParameterError, match="grad_y has shape"):
        op.backward(np.zeros((4, 3)))


def _naive_conv2d(x, weight, bias, stride, padding):
    """Direct-loop reference for Conv2d's forward."""
    (sh, sw), (ph, pw) = stride, padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    batch, _, height, width = x.shape
    c_out, _, kh, kw = weight.shape
    y = np.zeros((batch, c_out, (height - kh) // sh + 1, (width - kw) // sw + 1))
    for b, o, i, j in np.ndindex(y.shape):
        y[b, o, i, j] = np.sum(x[b, :, i * sh : i * sh + kh, j * sw : j * sw + kw] * weight[o]) + bias[o]
    return y


def _naive_pool(x, kernel, stride, reduce):
    """Direct-loop reference for pooling with ``reduce`` (np.max or np.mean)."""
    (kh, kw), (sh, sw) = kernel, stride
    batch, channels, height, width = x.shape
    y = np.zeros((batch, channels, (height - kh) // sh + 1, (width - kw) // sw + 1))
    for b, c, i, j in np.ndindex(y.shape):
        y[b, c, i, j] = reduce(x[b, c, i * sh : i * sh + kh, j * sw : j * sw + kw])
    return y


@pytest.mark.parametrize(
    "kernel, stride, padding", [((3, 3), (1, 1), (0, 0)), ((3, 2), (2, 1), (1, 2)), ((1, 1), (2, 3), (0, 1))]
)
def test_conv2d_and_pools_match_naive_loops(kernel, stride, padding):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 7, 6))
    conv = Conv2d(3, 4, kernel, rng, stride=stride, padding=padding)
    expected = _naive_conv2d(x, conv.params["weight"], conv.params["bias"], stride, padding)
    np.testing.assert_allclose(conv.forward(x, training=False), expected, rtol=1e-12, atol=1e-12)
    for pool, reduce in [(MaxPool2d(kernel, stride), np.max), (AvgPool2d(kernel, stride), np.mean)]:
        np.testing.assert_allclose(pool.forward(x, training=False), _naive_pool(x, kernel, stride, reduce), rtol=1e-12)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 2, 5)])
def test_batchnorm_running_statistics(shape):
    rng = np.random.default_rng(2)
    x = rng.normal(2.0, 3.0, size=shape)
    axes = (0, *range(2, len(shape)))
    bn = BatchNorm(3, momentum=0.25)
    train = bn.forward(x, training=True)
    np.testing.assert_allclose(train.mean(axis=axes), 0.0, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean, 0.25 * x.mean(axis=axes))
    np.testing.assert_allclose(bn.running_var, 0.75 + 0.25 * x.var(axis=axes, ddof=1))

    bn.params["gamma"][...], bn.params["beta"][...] = [1.0, 2.0, 3.0], [0.0, -1.0, 1.0]
    stats = [s.copy() for s in (bn.running_mean, bn.running_var)]
    channel = (1, 3) + (1,) * (len(shape) - 2)
    expected = (x - stats[0].reshape(channel)) / np.sqrt(stats[1].reshape(channel) + bn.eps)
    expected = expected * bn.params["gamma"].reshape(channel) + bn.params["beta"].reshape(channel)
    np.testing.assert_allclose(bn.forward(x, training=False), expected)
    np.testing.assert_array_equal(bn.running_mean, stats[0])
    np.testing.assert_array_equal(bn.running_var, stats[1])


def test_batchnorm_training_needs_two_values_per_channel():
    with pytest.raises(ParameterError, match="more than one value"):
        BatchNorm(3).forward(np.ones((1, 3)), training=True)


@pytest.mark.parametrize(
    "op, input_shape, batch, macs_forward",
    [
        (Linear(5, 3, np.random.default_rng(0)), (5,), 4, 4 * 5 * 3),
        # 7 + 2*1 - 3 = 6, 6 // 2 + 1 = 4 outputs per side; 3 out channels, 2 * 3 * 3 MACs each
        (Conv2d(2, 3, 3, np.random.default_rng(0), stride=2, padding=1), (2, 7, 7), 2, 2 * 3 * 4 * 4 * 2 * 3 * 3),
    ],
    ids=["linear", "conv2d"],
)
def test_mac_counts_match_hand_computed(op, input_shape, batch, macs_forward):
    cost = op.cost(input_shape, batch)
    assert (cost.macs_forward, cost.macs_backward) == (macs_forward, 2 * macs_forward)


def test_linear_bytes_and_cost_sum():
    cost = Linear(5, 3, np.random.default_rng(0)).cost((5,), batch=4, itemsize=8)
    n_in, n_out, n_params = 4 * 5, 4 * 3, 5 * 3 + 3
    reads_backward = n_out + n_in + n_params  # grad_y, cached input, weights
    assert cost == OpCost(60, 120, 8 * (n_in + n_params), 8 * n_out, 8 * reads_backward, 8 * (n_in + n_params))
    assert (cost + cost).macs_backward == 240


KIND_ARGUMENTS = {
    "linear": dict(in_features=3, out_features=2),
    "conv2d": dict(in_channels=1, out_channels=2, kernel_size=3),
    "maxpool2d": dict(kernel_size=2),
    "avgpool2d": dict(kernel_size=2),
    "batchnorm": dict(num_features=3),
    "gainoffset": dict(num_features=3, gain=2.0),
    "hardtanh": dict(lo=0.0, hi=1.0),
}


@pytest.mark.parametrize("kind", sorted(OPS))
def test_make_op_builds_every_kind(kind):
    kwargs = dict(KIND_ARGUMENTS.get(kind, {}))
    if "rng" in inspect.signature(OPS[kind]).parameters:
        kwargs["rng"] = np.random.default_rng(0)
    assert type(make_op(kind, **kwargs)) is OPS[kind]


def test_make_op_errors_name_valid_kinds_and_arguments():
    with pytest.raises(ParameterError) as err:
        make_op("softmax")
    assert all(name in str(err.value) for name in OPS)
    with pytest.raises(ParameterError, match="out_features"):
        make_op("linear", in_features=3, rng=np.random.default_rng(0))

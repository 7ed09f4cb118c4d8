"""The one-pass device kernels against the straightforward numpy formulas, in float64, on the same random
streams: the same numbers come out and the generators end in the same state."""

import numpy as np
import pytest

from cosim.analog.device_kernels import noisy_read, settle

G_MIN, G_MAX = 1e-6, 2.5e-5
SHAPE = (37, 23)


def straightforward_settle(target, clip_target, gain, rng, sigma, scale, stuck):
    """What DeviceArray did with numpy: clip, gain, noise, clip, stuck devices."""
    g = np.clip(target, G_MIN, G_MAX) if clip_target else target
    if gain is not None:
        g = g * gain
    if rng is not None:
        g = g + sigma * (1.0 if scale is None else scale) * rng.standard_normal(g.shape)
    g = np.clip(g, G_MIN, G_MAX)
    if stuck is not None:
        g = np.where(stuck < 0, G_MIN, np.where(stuck > 0, G_MAX, g))
    return g


@pytest.mark.parametrize("clip_target", [True, False])
@pytest.mark.parametrize("defects", [True, False])
@pytest.mark.parametrize("scaled", [True, False])
def test_settle_matches_numpy(clip_target, defects, scaled):
    rng = np.random.default_rng(0)
    target = rng.uniform(-1e-6, 3e-5, SHAPE)  # some beyond the range on both sides
    gain = rng.uniform(0.8, 1.2, SHAPE) if defects else None
    stuck = rng.integers(-1, 2, SHAPE).astype(np.int8) if defects else None
    scale = rng.uniform(0, 3, SHAPE) if scaled else None
    sigma = 0.01 * (G_MAX - G_MIN)
    fast, plain = np.random.default_rng(1), np.random.default_rng(1)
    got = settle(target, clip_target, gain, fast, sigma, scale, G_MIN, G_MAX, stuck, np.empty(SHAPE))
    expected = straightforward_settle(target, clip_target, gain, plain, sigma, scale, stuck)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)
    assert fast.bit_generator.state == plain.bit_generator.state


def test_settle_without_noise_draws_nothing():
    rng = np.random.default_rng(2)
    state = rng.bit_generator.state
    target = np.full(SHAPE, 3e-5, np.float32)
    got = settle(target, True, None, None, 0.0, None, G_MIN, G_MAX, None, np.empty(SHAPE))
    assert (got == G_MAX).all() and rng.bit_generator.state == state


def test_noisy_read_matches_numpy():
    g = np.random.default_rng(3).uniform(G_MIN, G_MAX, SHAPE)
    fast, plain = np.random.default_rng(4), np.random.default_rng(4)
    got = noisy_read(g, fast, 0.5, np.empty(SHAPE))  # large noise: some reads floored at 0 S
    np.testing.assert_allclose(got, np.maximum(g * (1.0 + 0.5 * plain.standard_normal(SHAPE)), 0.0), rtol=1e-15,
                               atol=0)
    assert (got == 0).any() and fast.bit_generator.state == plain.bit_generator.state


def straightforward_conversion(adc, values, rng):
    """What Converter did with numpy (one batch, range already set)."""
    codes = (values - adc.lo) / adc.lsb + adc.spec.offset_lsb
    if adc.spec.noise_lsb:
        codes = codes + rng.normal(0.0, adc.spec.noise_lsb, values.shape)
    codes = np.rint(codes)
    saturated = int(np.count_nonzero((codes < 0) | (codes > adc.levels - 1)))
    codes = np.clip(codes, 0, adc.levels - 1)
    counts = np.bincount(codes.astype(np.int64).ravel(), minlength=adc.levels)
    return adc.lo + codes * adc.lsb, saturated, counts


@pytest.mark.parametrize("noise_lsb", [0.0, 1.5])
@pytest.mark.parametrize("range_", ["fixed", "calibrated"])
def test_converter_kernel_matches_numpy(noise_lsb, range_):
    from cosim.converters import Converter, ConverterSpec

    spec = ConverterSpec(ideal=False, bits=6, range=range_, full_scale=0.5, noise_lsb=noise_lsb, offset_lsb=0.3)
    values = np.random.default_rng(5).normal(0.0, 0.4, (32, 17))  # some beyond the range
    adc = Converter(spec, np.random.default_rng(6))
    adc(values)  # sets a calibrated range; counts start from this batch's
    values = 1.5 * values  # beyond the calibrated range too
    counts_before, saturated_before = adc.code_counts.copy(), adc.saturated
    plain = np.random.default_rng(7)
    adc.rng = np.random.default_rng(7)
    expected, saturated, counts = straightforward_conversion(adc, values, plain)
    got = adc(values)
    assert got.shape == values.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15)
    assert adc.saturated - saturated_before == saturated > 0
    np.testing.assert_array_equal(adc.code_counts - counts_before, counts)
    assert adc.rng.bit_generator.state == plain.bit_generator.state

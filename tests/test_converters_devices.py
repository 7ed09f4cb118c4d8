"""Converters and conductance devices against their definitions."""

import numpy as np
import pytest

from cosim.analog.devices import DeviceArray, DeviceModel
from cosim.converters import Converter, ConverterSpec
from cosim.errors import ParameterError


def convert(values, **spec):
    return Converter(ConverterSpec(**spec), np.random.default_rng(0))(np.asarray(values, dtype=np.float64))


def test_ideal_converter_is_exact_and_counts():
    adc = Converter(ConverterSpec(ideal=True), np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(4, 5))
    assert adc(x) is x and adc.conversions == 20


@pytest.mark.parametrize("bits", [2, 4, 8, 12])
def test_quantisation_error_is_at_most_half_an_lsb_and_levels_are_exact(bits):
    x = np.linspace(-1, 1, 20001)
    y = convert(x, ideal=False, bits=bits, range="fixed", full_scale=1.0)
    lsb = 1.0 / (2 ** (bits - 1) - 1)
    assert np.abs(y - x).max() <= lsb / 2 + 1e-12
    assert len(np.unique(y)) == 2 ** bits - 1
    assert convert([0.0], ideal=False, bits=bits, range="fixed")[0] == 0.0  # mid-tread


def test_fewer_bits_mean_larger_error():
    x = np.random.default_rng(0).uniform(-1, 1, 10000)
    errors = [np.abs(convert(x, ideal=False, bits=b, range="fixed") - x).mean() for b in (3, 5, 8)]
    assert errors[0] > errors[1] > errors[2]


def test_calibration_takes_the_first_batch_range_and_later_values_saturate():
    adc = Converter(ConverterSpec(ideal=False, bits=6, range="calibrated", margin=1.0), np.random.default_rng(0))
    first = adc(np.array([0.1, 0.25, 0.5]))
    assert (adc.lo, adc.hi) == pytest.approx((0.1, 0.5)) and first[[0, -1]] == pytest.approx([0.1, 0.5])
    assert adc(np.array([2.0]))[0] == pytest.approx(0.5) and adc.saturated == 1  # beyond the calibrated range: clipped
    widened = Converter(ConverterSpec(ideal=False, range="calibrated", margin=2.0), np.random.default_rng(0))
    widened(np.array([0.1, 0.5]))
    assert (widened.lo, widened.hi) == pytest.approx((-0.1, 0.7))


def test_noise_and_offset_in_lsb():
    x = np.zeros(20000)
    noisy = convert(x, ideal=False, bits=10, range="fixed", noise_lsb=2.0)
    lsb = 1.0 / 511
    assert np.std(noisy) / lsb == pytest.approx(2.0, rel=0.05)
    assert convert([0.0], ideal=False, bits=10, range="fixed", offset_lsb=3.0)[0] == pytest.approx(3 * lsb)


def test_code_histogram_counts_every_conversion():
    adc = Converter(ConverterSpec(ideal=False, bits=4, range="fixed"), np.random.default_rng(0))
    adc(np.random.default_rng(1).uniform(-1, 1, 500))
    assert adc.code_counts.sum() == 500 and len(adc.code_counts) == 15
    calibrated = Converter(ConverterSpec(ideal=False, bits=4), np.random.default_rng(0))
    calibrated(np.random.default_rng(1).uniform(-1, 1, 500))
    assert len(calibrated.code_counts) == 16 and calibrated.code_counts[[0, -1]].all()


def test_bad_converter_spec():
    with pytest.raises(ParameterError, match="bits"):
        ConverterSpec(bits=1)


def devices(**model):
    return DeviceArray(DeviceModel(**model), (100, 50), np.random.default_rng(0))


def test_ideal_device_writes_exactly_within_its_range():
    array = devices(g_min=1e-8, g_max=1e-5)
    target = np.random.default_rng(1).uniform(-1e-6, 2e-5, (100, 50))
    np.testing.assert_array_equal(array.program(target), np.clip(target, 1e-8, 1e-5))
    np.testing.assert_array_equal(array.read(), array.conductances)


@pytest.mark.parametrize("low, high", [(0.05, 0.0), (0.0, 0.1), (0.03, 0.07)])
def test_stuck_at_faults_pin_the_stated_proportion(low, high):
    array = devices(stuck_at_min=low, stuck_at_max=high)
    g = array.program(np.full((100, 50), 5e-6))
    assert np.mean(g == 1e-8) == pytest.approx(low) and np.mean(g == 1e-5) == pytest.approx(high)
    g = array.update(np.full((100, 50), 6e-6))  # writes do not free them
    assert np.mean(g == 1e-8) == pytest.approx(low) and np.mean(g == 1e-5) == pytest.approx(high)


def test_levels_quantise_the_conductance():
    g = devices(levels=5, g_min=0.0, g_max=4e-6).program(np.random.default_rng(1).uniform(0, 4e-6, (100, 50)))
    assert set(np.unique(np.round(g / 1e-6, 9))) <= {0, 1, 2, 3, 4}


def test_programming_noise_has_the_stated_spread():
    g = devices(programming_noise=0.01, g_min=0.0, g_max=1e-5).program(np.full((100, 50), 5e-6))
    assert np.std(g) / 1e-5 == pytest.approx(0.01, rel=0.1)


def test_read_noise_is_redrawn_at_every_read():
    array = devices(read_noise=0.02)
    array.program(np.full((100, 50), 5e-6))
    first, second = array.read(), array.read()
    assert not np.array_equal(first, second)
    assert np.std(first / array.conductances - 1) == pytest.approx(0.02, rel=0.1)


def test_pulsed_updates_move_in_whole_asymmetric_steps():
    array = devices(pulsed=True, pulse_step=0.01, asymmetry=0.5, g_min=0.0, g_max=1e-5)
    start = array.program(np.full((100, 50), 5e-6))
    up = array.update(start + 3e-7) - start  # 3 nominal steps of 1e-7 up, each 1.25x as large
    np.testing.assert_allclose(up, 3 * 1.25e-7)
    down = array.update(array.conductances - 2e-7) - (start + up)
    np.testing.assert_allclose(down, -2 * 0.75e-7)
    assert array.writes == 100 * 50 * (1 + 3 + 2)


def test_pulse_step_spread_varies_per_device():
    array = devices(pulsed=True, pulse_step=0.01, pulse_step_spread=0.3, g_min=0.0, g_max=1e-5)
    start = array.program(np.full((100, 50), 5e-6))
    steps = array.update(start + 1e-7) - start
    assert np.std(steps) / np.mean(steps) == pytest.approx(0.3, rel=0.15)


def test_bad_device_model():
    with pytest.raises(ParameterError, match="stuck-at"):
        DeviceModel(stuck_at_min=0.6, stuck_at_max=0.6)

"""Drift, retention, read noise over time, global drift compensation, soft bounds and device presets."""

import math

import numpy as np
import pytest

from cosim.analog.devices import DeviceModel, drift
from cosim.analog.devices.soft_bounds import soft_bounds_update, symmetry_point
from cosim.config.presets import PRESETS, preset
from cosim.errors import ConfigError


def test_power_law_exponent_recovered_from_log_log_fit():
    rng = np.random.default_rng(0)
    nu = drift.draw_nu(5000, 0.06, 0.01, rng)
    g0 = np.full(5000, 10e-6)
    times = np.logspace(2, 8, 7)
    mean_log = [np.log(drift.power_law_drift(g0, nu, t, 20.0)).mean() for t in times]
    slope = np.polyfit(np.log(times / 20.0), mean_log, 1)[0]
    assert slope == pytest.approx(-nu.mean(), rel=1e-9)
    assert np.array_equal(drift.power_law_drift(g0, nu, 5.0, 20.0), g0)  # nothing before the first read


def test_pcm_nu_statistics_follow_the_fit():
    mean, std = drift.pcm_nu_statistics(np.array([25e-6, 2.5e-6, 1e-9]))
    assert mean[0] == pytest.approx(0.049) and std[0] == pytest.approx(0.008)  # clipped at high G
    assert mean[1] == pytest.approx(-0.0155 * math.log(0.1) + 0.0244)
    assert mean[2] == pytest.approx(0.1) and std[2] == pytest.approx(0.045)    # clipped at low G
    assert drift.pcm_programming_noise_std(np.array([0.0]))[0] == pytest.approx(0.2635e-6)


def test_read_noise_grows_with_time_as_sqrt_log():
    g = np.array([10e-6])
    s1, s2 = (drift.one_over_f_read_noise_std(g, 0.01, t, 250e-9)[0] for t in (20.0, 2e7))
    assert s2 / s1 == pytest.approx(math.sqrt(math.log((2e7 + 250e-9) / 5e-7) / math.log((20 + 250e-9) / 5e-7)))
    q_s = drift.one_over_f_q(np.array([25e-6, 2.5e-6, 1e-12]), 25e-6, 0.0088, 0.65)
    assert q_s[0] == pytest.approx(0.0088) and q_s[1] == pytest.approx(0.0088 * 10**0.65) and q_s[2] == 0.2


def test_log_relaxation_spread_grows_linearly_in_log_time():
    xi = np.random.default_rng(1).standard_normal(20000)
    g0 = np.full(xi.size, 20e-6)
    spreads = [drift.log_relaxation(g0, xi, t, 1.0, -0.005, 0.01, 40e-6).std() for t in (9.0, 99.0, 999.0)]
    assert np.allclose(np.diff(spreads), spreads[0], rtol=1e-9)
    mean = drift.log_relaxation(g0, np.zeros(1), 99.0, 1.0, -0.005, 0.01, 40e-6)[0]
    assert mean == pytest.approx(20e-6 - 40e-6 * 0.005 * 2)


def test_exponential_relaxation_reaches_equilibrium():
    g = drift.exponential_relaxation(np.array([1e-6, 1e-7]), 1e4, 1e4, 5e-7)
    assert np.allclose(g, 5e-7 + (np.array([1e-6, 1e-7]) - 5e-7) / math.e)
    assert np.allclose(drift.exponential_relaxation(np.array([1e-6]), 1e9, 1e4, 5e-7), 5e-7)


def test_global_compensation_restores_mean_output():
    rng = np.random.default_rng(2)
    g_prog = rng.uniform(1e-6, 25e-6, (64, 32))
    nu = drift.draw_nu(g_prog.shape, 0.06, 0.01, rng)
    ones = np.ones(64)
    ref0 = drift.reference_read(g_prog, ones)
    g_day = drift.power_law_drift(g_prog, nu, 86400.0, 20.0)
    alpha = drift.global_drift_scale(ref0, drift.reference_read(g_day, ones))
    x = rng.uniform(0, 1, (200, 64))
    before, after = (x @ g_prog).mean(), alpha * (x @ g_day).mean()
    assert (x @ g_day).mean() < 0.7 * before          # a day of drift loses > 30 % of the output
    assert after == pytest.approx(before, rel=0.01)   # compensation restores the mean within 1 %
    assert drift.global_drift_scale(ref0, 0.0) == 1.0


def test_soft_bounds_saturate_and_compose():
    g = np.array([0.0, 0.5, 1.0])
    one = soft_bounds_update(g, np.ones(3), 0.1, 0.1, 0.0, 1.0)
    assert np.allclose(one, g + 0.1 * (1.0 - g))
    twice = soft_bounds_update(one, np.ones(3), 0.1, 0.1, 0.0, 1.0)
    assert np.allclose(soft_bounds_update(g, 2 * np.ones(3), 0.1, 0.1, 0.0, 1.0), twice)
    many = soft_bounds_update(g, np.full(3, 500), 0.1, 0.1, 0.0, 1.0)
    assert np.all(many <= 1.0) and np.allclose(many, 1.0)
    down = soft_bounds_update(g, np.full(3, -500), 0.1, 0.1, 0.0, 1.0)
    assert np.all(down >= 0.0) and np.allclose(down, 0.0)
    assert np.array_equal(soft_bounds_update(g, np.zeros(3), 0.1, 0.1, 0.0, 1.0), g)
    p = symmetry_point(0.1, 0.3, 0.0, 1.0)
    up, down = (soft_bounds_update(np.array([p]), np.array([n]), 0.1, 0.3, 0.0, 1.0)[0] - p for n in (1, -1))
    assert up == pytest.approx(-down)  # at the symmetry point one up and one down pulse are equal and opposite


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ConfigError, match="pcm"):
        preset("flash")

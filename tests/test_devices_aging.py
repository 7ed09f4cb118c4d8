"""Devices over time on the chip: every time knob changes what reads see (never the programmed state), zero
drift reproduces today's results exactly, drift compensation restores the operating point, presets resolve."""

from pathlib import Path

import numpy as np
import pytest

from cosim.analog.devices import DeviceArray, DeviceModel
from cosim.config import dump_config, load_config
from cosim.config.presets import PRESETS, preset
from cosim.errors import ConfigError
from cosim.learning.train import evaluate
from cosim.runner import prepare
from session_steps import steps

TINY = Path(__file__).parent / "configs" / "tiny.yaml"
DEV = "chip.tile.device.{}={}"
DAY, YEAR = 86400.0, 3.15e7


def array(seed=0, shape=(40, 30), g=None, **model):
    devices = DeviceArray(DeviceModel(g_min=1e-6, g_max=25e-6, **model), shape, np.random.default_rng(seed))
    devices.program(np.full(shape, 12e-6) if g is None else g)
    return devices


def read_spread(devices, reads=20):
    return np.std([devices.read() / devices.aged() for _ in range(reads)])


# ------------------------------------------------------------------ each law on one array
def test_no_retention_leaves_reads_unchanged_at_any_age():
    devices = array()
    programmed = devices.conductances.copy()
    devices.set_age(10 * YEAR)
    assert devices.aged() is devices.conductances and np.array_equal(devices.read(), programmed)


def test_power_law_drift_changes_reads_not_the_programmed_state():
    devices = array(retention="power_law", drift_nu=0.05, retention_t0=20.0)
    programmed = devices.conductances.copy()
    devices.set_age(DAY)
    np.testing.assert_allclose(devices.aged(), programmed * (DAY / 20.0) ** -0.05)
    assert np.array_equal(devices.conductances, programmed)
    devices.set_age(10.0)  # before the first read: nothing modelled
    np.testing.assert_array_equal(devices.aged(), programmed)


def test_drift_spread_and_state_dependence():
    spread = array(retention="power_law", drift_nu=0.05, drift_nu_spread=0.02)
    spread.set_age(DAY)
    assert np.std(spread.aged()) > 0.01 * 12e-6
    g = np.tile(np.array([2e-6, 24e-6]), (40, 15))
    states = array(g=g, retention="power_law", drift_nu_state_dependent=True, retention_t0=20.0)
    states.set_age(YEAR)
    loss = 1 - states.aged() / states.conductances
    assert loss[:, 0].mean() > loss[:, 1].mean()  # low (amorphous) states drift faster (Joshi 2020)


def test_draws_are_kept_across_ages_and_redrawn_at_the_next_write():
    devices = array(retention="power_law", drift_nu=0.05, drift_nu_spread=0.02)
    devices.set_age(DAY)
    first = devices.aged().copy()
    devices.set_age(YEAR)
    devices.set_age(DAY)
    np.testing.assert_array_equal(devices.aged(), first)
    devices.update(devices.conductances)
    assert devices.age == 0 and np.array_equal(devices.aged(), devices.conductances)


def test_log_relaxation_mean_and_spread():
    spread = array(retention="log_relaxation", relaxation_spread=0.01)
    spread.set_age(99.0)
    assert np.std(spread.aged() - spread.conductances) == pytest.approx(0.01 * 24e-6 * 2, rel=0.1)
    mean = array(retention="log_relaxation", relaxation_mean=-0.01)
    mean.set_age(99.0)
    np.testing.assert_allclose(mean.aged(), 12e-6 - 0.01 * 24e-6 * 2)


def test_exponential_retention_discharges_to_equilibrium():
    devices = array(retention="exponential", retention_tau=100.0, retention_equilibrium=0.25)
    devices.set_age(1e5)
    np.testing.assert_allclose(devices.aged(), 1e-6 + 0.25 * 24e-6)


def test_one_over_f_read_noise_grows_with_age_and_with_a_shorter_read():
    devices = array(read_noise_1f=0.01, retention_t0=20.0)
    young = read_spread(devices)
    devices.set_age(10 * YEAR)
    assert read_spread(devices) > 1.1 * young
    assert read_spread(array(read_noise_1f=0.01, t_read=1e-3)) < 0.9 * young


def test_one_over_f_exponent_makes_low_states_noisier():
    g = np.tile(np.array([2e-6, 24e-6]), (40, 15))
    devices = array(g=g, read_noise_1f=0.005, read_noise_1f_exponent=0.65)
    ratio = np.array([devices.read() / g for _ in range(20)])
    assert ratio[:, :, 0].std() > 3 * ratio[:, :, 1].std()


def test_soft_bounds_saturate_pulsed_updates():
    hard = array(pulsed=True, pulse_step=0.1)
    soft = array(pulsed=True, pulse_step=0.1, soft_bounds=True)
    for devices in (hard, soft):
        devices.update(np.full(devices.shape, 19.2e-6))  # three pulses of 2.4 uS
    assert np.allclose(hard.conductances, 19.2e-6)
    np.testing.assert_allclose(soft.conductances, 25e-6 - 13e-6 * 0.9**3)  # each pulse: 10 % of the way to g_max


# ------------------------------------------------------------------ on the chip
def session(*overrides):
    return prepare(load_config(TINY, list(overrides)))


def test_retention_does_not_change_training_and_age_zero_changes_nothing():
    noisy = [DEV.format("programming_noise", 0.01), DEV.format("read_noise", 0.01)]
    plain, timed = session(*noisy), session(*noisy, DEV.format("retention", "power_law"),
                                             DEV.format("drift_nu", 0.05))
    for a, b in zip(steps(plain), steps(timed)):
        np.testing.assert_array_equal(a, b)
    timed.chip.age(0.0)
    x, y = timed.dataset.test_x, timed.dataset.test_y
    assert evaluate(plain.chain, x, y, 60) == evaluate(timed.chain, x, y, 60)


def test_chip_age_drifts_every_tile_and_can_go_back():
    s = session(DEV.format("retention", "power_law"), DEV.format("drift_nu", 0.1), DEV.format("g_min_S", 1e-6))
    steps(s)
    network = s.chain.analog_blocks[0].network
    programmed = [np.array(g) for g in network.conductances]
    s.chip.age(YEAR)
    np.testing.assert_allclose(network.conductances[0], programmed[0] * YEAR ** -0.1)
    s.chip.age(0.0)
    np.testing.assert_array_equal(network.conductances[0], programmed[0])


def biased_session(*overrides):
    s = session(DEV.format("retention", "power_law"), DEV.format("drift_nu", 0.1), DEV.format("g_min_S", 1e-6),
                *overrides)
    steps(s)
    block = s.chain.analog_blocks[0]
    block.network.set_biases([np.full(b.shape, 2e-7) for b in block.network.biases])  # currents the drift upsets
    return s, block


def outputs(s):
    return s.chain.analog_blocks[0].block.forward(s.chain.analog_blocks[0].input_scale * s.dataset.test_x[:8, :12])


def test_drift_compensation_restores_node_voltages_and_books_its_reference_reads():
    s, block = biased_session()
    fresh = outputs(s)
    s.chip.age(YEAR, compensate=False)
    assert np.abs(outputs(s) - fresh).max() > 1e-4
    assert s.chip.ledger.report()["calibration_J"] == 0
    s.chip.age(YEAR, compensate=True)  # a uniform drift (no spread): compensation is exact
    np.testing.assert_allclose(outputs(s), fresh, atol=1e-9)
    assert s.chip.ledger.report()["calibration_J"] > 0
    assert s.chip.ledger.report()["total_per_training_sample_J"] == pytest.approx(
        s.chip.ledger.table()[:, :-1].sum())


def test_drift_compensation_key_is_the_default_of_chip_age():
    s, _ = biased_session(DEV.format("drift_compensation", "true"))
    fresh = outputs(s)
    s.chip.age(YEAR)
    np.testing.assert_allclose(outputs(s), fresh, atol=1e-9)


# ------------------------------------------------------------------ presets
def test_preset_fills_unset_keys_and_explicit_keys_win():
    config = load_config(TINY, ["chip.tile.device.preset=pcm", "chip.tile.device.read_noise=0.02"])
    device = config.chip.tile.device
    assert device.programming_noise == preset("pcm")["programming_noise"] and device.retention == "power_law"
    assert device.read_noise == 0.02 and device.g_max_S == 1e-5  # --set and tiny.yaml win over the preset
    assert load_config(dump_config(config)) == config  # the resolved config shows the values and loads back


def test_tile_override_can_name_a_preset():
    config = load_config(TINY, ['chip.tiles=[{tile: 0, set: {device.preset: ecram, device.read_noise: 0.0}}]'])
    changes = config.chip.tiles[0].set
    assert changes["device.g_max_S"] == preset("ecram")["g_max_S"] and changes["device.read_noise"] == 0.0


def test_unknown_preset_names_its_key():
    with pytest.raises(ConfigError, match="chip.tile.device.preset.*pcm"):
        load_config(TINY, ["chip.tile.device.preset=flash"])


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_loads_trains_and_ages(name):
    for key, entry in PRESETS[name].items():
        assert len(entry.source) > 10 and isinstance(entry.checked, bool), (name, key)
    s = prepare(load_config(TINY, [f"chip.tile.device={{preset: {name}}}", "model.dtype=float32",
                                   "solver.tol=1e-5"]))
    before = steps(s, 2)
    assert all(np.isfinite(p).all() for p in before)
    s.chip.age(YEAR, compensate=True)
    loss, accuracy = evaluate(s.chain, s.dataset.test_x, s.dataset.test_y, 60)
    assert np.isfinite(loss) and 0 <= accuracy <= 1


def test_preset_override_on_a_config_without_a_device_section():
    device = load_config("", ["chip.tile.device.preset=reram_hfox", "chip.tile.device.read_noise=0.0"]).chip.tile.device
    assert device.g_max_S == preset("reram_hfox")["g_max_S"] and device.read_noise == 0.0

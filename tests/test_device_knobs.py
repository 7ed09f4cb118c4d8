"""Issue 14's knobs, one test each: every device key over time reaches the device model alone, the laws'
time constants set the times they should, the chip's node scales its area, and the preset file is well formed
(every cell read in a source or marked an estimate)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from cosim.analog.devices import DeviceArray, DeviceModel
from cosim.build import device_model
from cosim.config import load_config
from cosim.config.presets import PRESETS
from cosim.config.schema import DeviceConfig

# device key -> (DeviceModel field it sets, a value other than the default)
TIME_KEYS = {
    "soft_bounds": ("soft_bounds", True),
    "read_noise_1f": ("read_noise_1f", 0.01),
    "read_noise_1f_exponent": ("read_noise_1f_exponent", 0.5),
    "read_noise_t_read_s": ("t_read", 1e-6),
    "retention": ("retention", "log_relaxation"),
    "retention_t0_s": ("retention_t0", 5.0),
    "drift_nu": ("drift_nu", 0.07),
    "drift_nu_spread": ("drift_nu_spread", 0.01),
    "drift_nu_state_dependent": ("drift_nu_state_dependent", True),
    "relaxation_mean": ("relaxation_mean", -0.01),
    "relaxation_spread": ("relaxation_spread", 0.02),
    "retention_tau_s": ("retention_tau", 50.0),
    "retention_equilibrium": ("retention_equilibrium", 0.25),
}


@pytest.mark.parametrize("key", sorted(TIME_KEYS))
def test_each_device_time_key_sets_its_model_field_and_nothing_else(key):
    field, value = TIME_KEYS[key]
    base = device_model(load_config("").chip.tile.device)
    changed = device_model(load_config("", [f"chip.tile.device.{key}={value}"]).chip.tile.device)
    assert getattr(changed, field) == value != getattr(base, field)
    assert dataclasses.replace(changed, **{field: getattr(base, field)}) == base


def aged(seconds, **model):
    devices = DeviceArray(DeviceModel(g_min=1e-6, g_max=25e-6, **model), (20, 20), np.random.default_rng(0))
    devices.program(np.full((20, 20), 21e-6))
    devices.set_age(seconds)
    return devices.aged()


def test_retention_tau_is_the_e_folding_time_of_the_discharge():
    g = aged(50.0, retention="exponential", retention_tau=50.0, retention_equilibrium=0.25)
    equilibrium = 1e-6 + 0.25 * 24e-6
    np.testing.assert_allclose(g, equilibrium + (21e-6 - equilibrium) / np.e)


def test_retention_t0_sets_the_time_scale_of_the_log_relaxation():
    shift = [aged(99.0, retention="log_relaxation", relaxation_mean=-0.01, retention_t0=t0) - 21e-6
             for t0 in (1.0, 9.0)]
    np.testing.assert_allclose(shift[0], -0.01 * 24e-6 * np.log10(1 + 99.0))
    np.testing.assert_allclose(shift[1], -0.01 * 24e-6 * np.log10(1 + 99.0 / 9.0))


def test_technology_node_scales_the_chip_area_as_its_square():
    from cosim.chip.area import chip_area

    areas = {}
    for node in (32, 16):
        chip = load_config("", [f"chip.technology.node_nm={node}"]).chip
        areas[node] = chip_area(chip, [(0, chip.tile, 2)])
    assert areas[16]["node_nm"] == 16
    for part in ("crossbar", "adc", "dac", "buffer", "digital", "total"):
        assert areas[16]["tile0"][part] == pytest.approx(areas[32]["tile0"][part] / 4), part
    assert areas[16]["total_m2"] == pytest.approx(areas[32]["total_m2"] / 4)


def test_every_preset_cell_is_read_or_an_estimate_of_a_device_key():
    data = yaml.safe_load((Path(__file__).parents[1] / "cosim" / "config" / "presets.yaml").read_text())
    fields = {f.name for f in dataclasses.fields(DeviceConfig)}
    for key, cells in data["keys"].items():
        assert key in fields, key
        for name, (_, kind, source) in cells.items():
            assert name in data["presets"] and kind in ("read", "estimate") and len(source) > 3, (key, name)
    for name, entries in PRESETS.items():
        for key, entry in entries.items():
            assert entry.checked != entry.source.startswith("estimate:"), (name, key)

"""Area and energy tables: sources, scaling, totals, and a cross-check against the Accelergy models."""

import subprocess
from pathlib import Path

import pytest

from cosim.chip import costs


def test_every_entry_has_a_source_and_a_unit():
    for name, cost in costs.TABLE.items():
        assert cost.source and cost.unit and cost.value > 0, name


def tile(*overrides):
    from cosim.config import load_config

    return load_config("", list(overrides)).chip


def test_tile_area_parts_add_up_and_scale_with_their_knobs():
    from cosim.chip.area import tile_area

    base = tile_area(tile().tile, 2, 32)
    assert base["total"] == pytest.approx(sum(v for k, v in base.items() if k != "total"))
    assert base["crossbar"] == pytest.approx(2 * 1024 * 1024 * 53 * (32e-9) ** 2)
    assert tile_area(tile().tile, 2, 16)["crossbar"] == pytest.approx(base["crossbar"] / 4)
    assert tile_area(tile("chip.tile.device.cell_area_F2=9").tile, 2, 32)["crossbar"] == pytest.approx(
        base["crossbar"] * 9 / 53)
    assert tile_area(tile("chip.tile.node_adc.bits=12").tile, 2, 32)["adc"] > base["adc"]
    assert tile_area(tile("chip.tile.input_dac.bits=4").tile, 2, 32)["dac"] < base["dac"]
    assert tile_area(tile("chip.tile.buffer.capacity_bytes=1024").tile, 2, 32)["buffer"] < base["buffer"]
    assert tile_area(tile("chip.tile.digital.macs_per_second=1e9").tile, 2, 32)["digital"] < base["digital"]


def test_chip_area_total_node_and_sources():
    from cosim.chip.area import chip_area

    chip = tile("chip.technology.node_nm=16")
    report = chip_area(chip, [(0, chip.tile, 2), (1, chip.tile, 1)])
    parts = report["tile0"]["total"] + report["tile1"]["total"] + report["global_buffer_m2"] + report["io_m2"]
    assert report["total_m2"] == pytest.approx(parts) and report["total_mm2"] == pytest.approx(parts * 1e6)
    assert report["node_nm"] == 16 and report["unit"] == "m^2"
    assert {line.decode().split(":")[0] for line in report["sources"]} >= {"crossbar", "adc", "dac", "digital", "io"}


def test_adc_table_interpolates_and_grows_with_bits():
    energy, area = costs.adc(8, 1e8)
    assert energy == pytest.approx(1.71e-12, rel=0.01) and area == pytest.approx(3939e-12, rel=0.01)
    assert costs.adc(10, 1e9)[0] > costs.adc(8, 1e9)[0] > costs.adc(4, 1e9)[0]
    assert costs.adc(8, 1e8, node_nm=16)[1] == pytest.approx(area / 4)


def test_sram_energy_matches_horowitz_points():
    assert costs.sram_read_energy(32_000) == pytest.approx(2.5e-12)
    assert costs.sram_area(1024, 45) == pytest.approx(1024 * 8 * 0.346e-12 / 0.7)


def test_cost_tables_match_hwcomponents():
    """The ADC table and the presets' cell areas against the Accelergy models (hwcomponents-adc and the
    cell files of hwcomponents-neurosim), in the Python >= 3.12 side environment `make test` builds."""
    python = Path(__file__).parents[1] / ".venv-hwc" / "bin" / "python"
    if not python.exists():
        pytest.skip("no .venv-hwc (hwcomponents needs Python >= 3.12): run scripts/install-hwcomponents.sh")
    script = Path(__file__).parents[1] / "scripts" / "hwcomponents_tables.py"
    checked = subprocess.run([str(python), str(script), "--check"], capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr

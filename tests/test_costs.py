"""Area and energy tables: sources, scaling, totals, and a cross-check against the Accelergy models."""

import pytest

from cosim.chip import costs


def test_every_entry_has_a_source_and_a_unit():
    for name, cost in costs.TABLE.items():
        assert cost.source and cost.unit and cost.value > 0, name


def test_tile_area_parts_add_up():
    parts = costs.tile_area(rows=256, columns=256, cell="reram_hfox", feature_nm=32, adc_bits=8, adc_rate_Hz=1e8,
                            n_adc=64, dac_bits=4, n_dac=256, buffer_bytes=65536, macs_per_second=1e11)
    assert parts["total"] == pytest.approx(sum(v for k, v in parts.items() if k != "total"))
    assert parts["crossbar"] == pytest.approx(256 * 256 * 53 * (32e-9) ** 2)


def test_adc_table_interpolates_and_grows_with_bits():
    energy, area = costs.adc(8, 1e8)
    assert energy == pytest.approx(1.71e-12, rel=0.01) and area == pytest.approx(3939e-12, rel=0.01)
    assert costs.adc(10, 1e9)[0] > costs.adc(8, 1e9)[0] > costs.adc(4, 1e9)[0]
    assert costs.adc(8, 1e8, node_nm=16)[1] == pytest.approx(area / 4)


def test_sram_energy_matches_horowitz_points():
    assert costs.sram_read_energy(32_000) == pytest.approx(2.5e-12)
    assert costs.sram_area(1024, 45) == pytest.approx(1024 * 8 * 0.346e-12 / 0.7)


def test_adc_table_matches_hwcomponents():
    adc_model = pytest.importorskip(
        "hwcomponents_adc", reason="hwcomponents-adc needs Python >= 3.12; run scripts/hwcomponents_tables.py --check")
    for bits, rate in ((4, 1e6), (8, 1e8), (12, 1e9)):
        live = adc_model.ADC(n_bits=bits, tech_node=32e-9, throughput=rate)
        energy, area = costs.adc(bits, rate)
        assert live.get_energy() == pytest.approx(energy, rel=1e-6) and live.area == pytest.approx(area, rel=1e-6)

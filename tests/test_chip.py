"""The chip model: every knob changes what it should, ideal hardware is exact, the ledger adds up."""

from pathlib import Path

import numpy as np
import pytest

from cosim.analog import ExactReadout
from cosim.chip import COMPONENTS, PHASES
from cosim.chip.ledger import TRAINING_PHASES
from cosim.config import load_config
from cosim.errors import ConfigError
from cosim.learning import gradcheck
from cosim.learning.blocks import IdealHardware
from cosim.runner import prepare
from session_steps import steps

TINY = Path(__file__).parent / "configs" / "tiny.yaml"
ADC = "chip.tile.{kind}.{key}={value}"


def trainer(*overrides):
    """The session (dataset, chain, chip, optimiser, trainer) of the tiny config with ``overrides``."""
    return prepare(load_config(TINY, list(overrides)))


def adc(kind, bits):
    return [ADC.format(kind=kind, key="ideal", value="false"), ADC.format(kind=kind, key="bits", value=bits)]


def batch(t, n=32):
    return t.dataset.train_x[:n], t.dataset.train_y[:n]


def test_ideal_chip_reproduces_the_float_results_exactly():
    with_chip = steps(trainer())
    plain = trainer()
    for block in plain.chain.analog_blocks:
        block.hardware = IdealHardware(block.g_min, block.g_max)
        block.block.readout = ExactReadout()
    for a, b in zip(with_chip, steps(plain)):
        np.testing.assert_array_equal(a, b)


def analog_cosines(t, beta=0.5):
    rows = gradcheck.compare(t.chain, *batch(t), beta=beta)
    return np.array([r.cosine for r in rows if ".analog." in r.name])


def test_fewer_adc_bits_lower_the_ep_gradient_cosine():
    means = []
    for bits in (12, 6, 3):
        t = trainer(*adc("node_adc", bits), *adc("current_adc", bits))
        means.append(analog_cosines(t).mean())
    assert means[0] > means[1] > means[2], means
    assert means[0] > 0.99


def gradient_spread(read_noise):
    t = trainer(f"chip.tile.device.read_noise={read_noise}")
    x, y = batch(t)
    samples = []
    for _ in range(4):
        t.chain.backward(t.chain.forward(x, training=False), y)
        samples.append(np.concatenate([g.ravel() for g in t.chain.analog_blocks[0].gradients]))
    samples = np.array(samples)
    return float(np.mean(np.std(samples, axis=0)) / np.mean(np.abs(samples)))


def test_more_read_noise_makes_repeated_gradients_noisier():
    quiet, noisy = gradient_spread(0.001), gradient_spread(0.03)
    assert gradient_spread(0.0) == 0.0
    assert noisy > 3 * quiet > 0


@pytest.mark.parametrize("low, high", [(0.02, 0.0), (0.0, 0.05)])
def test_stuck_at_faults_pin_the_stated_proportion_of_devices_through_training(low, high):
    t = trainer(f"chip.tile.device.stuck_at_min={low}", f"chip.tile.device.stuck_at_max={high}")
    steps(t, 2)
    tile, network = t.chip.tiles[0], t.chain.analog_blocks[0].network
    g_min, g_max = (np.float64(v).astype(network.dtype) for v in (tile.device.g_min, tile.device.g_max))
    for devices, g in zip(tile.devices, network.conductances):
        assert np.mean(devices.stuck < 0) == pytest.approx(low, abs=1 / g.size)
        assert np.mean(devices.stuck > 0) == pytest.approx(high, abs=1 / g.size)
        assert (g[devices.stuck < 0] == g_min).all() and (g[devices.stuck > 0] == g_max).all()


def test_input_dac_bits_change_the_forward_pass():
    x, _ = batch(trainer())
    outputs = [trainer(*overrides).chain.forward(x) for overrides in
               ([], ["chip.tile.input_dac.ideal=false", "chip.tile.input_dac.bits=3"])]
    assert not np.allclose(*outputs)


def test_programming_noise_changes_the_trained_conductances():
    clean = steps(trainer())
    noisy = steps(trainer("chip.tile.device.programming_noise=0.02"))
    assert not np.allclose(clean[4], noisy[4])


def test_energy_total_is_the_sum_of_its_parts_and_all_phases_are_booked():
    t = trainer(*adc("node_adc", 8))
    steps(t, 2)
    report = t.chip.ledger.report()
    table = report["per_phase_J"]
    assert table.shape == (len(COMPONENTS), len(PHASES))
    assert report["total_per_training_sample_J"] == pytest.approx(table.sum())
    assert report["total_per_training_sample_J"] == pytest.approx(sum(report["per_component_J"].values()))
    assert (table[:, :len(TRAINING_PHASES)].sum(axis=0) > 0).all(), "every training phase costs something"
    assert report["calibration_J"] == 0  # reference reads only when an aged chip is compensated
    assert report["samples"] == 32


def test_more_adc_bits_cost_more_energy():
    def adc_energy(bits):
        t = trainer(*adc("node_adc", bits))
        steps(t, 1)
        return t.chip.ledger.report()["per_component_J"]["adc"]
    assert adc_energy(10) > adc_energy(6)


def test_tile_overrides_inherit_the_defaults():
    config = load_config(TINY, ["chip.tiles=[{tile: 0, set: {node_adc.bits: 5}}]", "chip.tile.node_adc.bits=7",
                                "chip.tile.current_adc.bits=9"])
    t = prepare(config)
    tile = t.chip.tiles[0].config
    assert tile.node_adc.bits == 5 and tile.current_adc.bits == 9


CAPACITY_ERRORS = [
    (["chip.tile.buffer.capacity_bytes=100"], "chip.tile.buffer.capacity_bytes"),
    (["chip.global_buffer.capacity_bytes=100"], "chip.global_buffer.capacity_bytes"),
    (["chip.mapping=[]"], "chip.mapping"),
]


@pytest.mark.parametrize("overrides, message", CAPACITY_ERRORS, ids=[m for _, m in CAPACITY_ERRORS])
def test_capacity_and_mapping_errors_are_clear(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        trainer(*overrides)


def _leaf_keys(cls, path):
    import dataclasses

    from cosim.config import schema_fields, unwrap_optional

    for name, (field, tp) in schema_fields(cls).items():
        inner = unwrap_optional(tp)
        if dataclasses.is_dataclass(inner):
            yield from _leaf_keys(inner, f"{path}.{name}")
        else:
            yield f"{path}.{name}", name


def test_the_chip_doc_page_explains_every_chip_key():
    from cosim.config.schema import ChipConfig

    text = (Path(__file__).parents[1] / "docs" / "chip.md").read_text()
    missing = [path for path, name in _leaf_keys(ChipConfig, "chip") if f"`{name}`" not in text
               and f"`{path}`" not in text and f"{name}`" not in text]
    assert not missing, f"docs/chip.md does not explain {missing}"


def test_step_costs_are_worked_out_once_per_batch_size_with_unchanged_totals():
    """Per-step costs come from the planned shapes, cached per batch size (the last batch may be
    smaller); the totals are those of walking the chain on every batch (values of cosim before)."""
    t = trainer()
    chip = t.chip
    for size in (16, 16, 16, 8):
        chip.book_step(size)
    chip.book_step(60, training=False)
    assert sorted(chip._step_costs) == [(8, True), (16, True), (60, False)]
    before = {"digital/digital_backward": 4.8810048e-06, "digital/digital_forward": 5.0670656e-06,
              "global_buffer/digital_forward": 4.8604e-06, "io/digital_forward": 7.29408e-05,
              "programming/update": 3.4e-10, "tile_buffer/digital_backward": 8.495199999999999e-07,
              "tile_buffer/digital_forward": 7.377200000000001e-07}
    assert {f"{c}/{p}": v for (c, p), v in chip.ledger.energy.items()} == pytest.approx(before, rel=1e-14, abs=0)
    assert chip.ledger.latency["digital_forward"] == pytest.approx(4.7485759999999996e-05, rel=1e-14)
    assert chip.ledger.latency["digital_backward"] == pytest.approx(1.0610880000000002e-05, rel=1e-14)
    assert chip.ledger.samples == 56


def test_ideal_hardware_and_the_chip_tile_offer_the_same_hardware_protocol():
    from cosim.learning.protocols import ChainBlock, TileHardware, missing_members

    t = trainer()
    tile = t.chip.tiles[0]
    assert isinstance(tile, TileHardware) and isinstance(IdealHardware(1e-8, 1e-5), TileHardware)
    assert missing_members(type(tile), TileHardware) == [] and missing_members(IdealHardware, TileHardware) == []
    for block in t.chain.blocks:
        assert missing_members(type(block), ChainBlock) == []


def test_every_chain_block_class_offers_the_block_protocol():
    from cosim.learning.blocks import AnalogBlock, DigitalBlock
    from cosim.learning.conv_hopfield_block import ConvHopfieldChainBlock
    from cosim.learning.hopfield_block import HopfieldChainBlock
    from cosim.learning.protocols import ChainBlock, TileHardware, missing_members

    for cls in (DigitalBlock, AnalogBlock, HopfieldChainBlock, ConvHopfieldChainBlock):
        assert missing_members(cls, ChainBlock) == []

    class Drifted(IdealHardware):
        def drive_nudge(self, error):
            return error

    assert missing_members(Drifted, TileHardware) == [
        "Drifted.drive_nudge('self', 'error') differs from TileHardware.drive_nudge('self', 'error', 'phases')"]


def test_results_file_reports_the_area_beside_energy(tmp_path):
    from cosim.results import read_results
    from cosim.runner import run

    summary, chip = run(load_config(TINY, ["training.epochs=1"]), tmp_path, progress=False)
    area = read_results(tmp_path / "results.h5")["area"]
    assert area["unit"] == "m^2" and area["node_nm"] == 32
    assert area["total_mm2"] == pytest.approx(summary["chip_area_mm2"]) and summary["chip_area_mm2"] > 0
    assert "tile0" in area and len(area["sources"]) >= 6
    assert "chip area" in chip.describe()


def test_area_counts_every_array_of_a_partitioned_crossbar():
    """Crossbars 24x10 and 10x10 on arrays of 8 x 4: 3x3 + 2x3 = 15 arrays, each built at full size."""
    chip = trainer("chip.tile.rows=8", "chip.tile.columns=4").chip
    cell = chip.config.tile.device.cell_area_F2 * (chip.config.technology.node_nm * 1e-9) ** 2
    assert chip.area()["tile0"]["crossbar"] == pytest.approx(15 * 8 * 4 * cell)
    assert "15 arrays of 8 x 4" in chip.describe()

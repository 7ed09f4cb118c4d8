"""The pieces of the reports that need no run: SI prefixes and units in text and on axes, the Pareto front,
and how sweep axes are named and placed."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cosim.config import load_config  # noqa: E402
from cosim.report.figures import si_axis  # noqa: E402
from cosim.report.units import quantity, si, si_pm  # noqa: E402
from cosim.sweep.aggregate import format_metric  # noqa: E402
from cosim.sweep.labels import Axis, condensed, key_unit  # noqa: E402
from cosim.sweep.pareto import non_dominated  # noqa: E402


@pytest.mark.parametrize("value, unit, power, text", [
    (2.3e-8, "J", 1, "23.0 nJ"), (6.744e-6, "J", 1, "6.74 µJ"), (4.2e-13, "J", 1, "420 fJ"), (1.5, "s", 1, "1.50 s"),
    (0.0, "J", 1, "0 J"), (1.2e-6, "m", 2, "1.20 mm²"), (5.4e-9, "m", 2, "5400 µm²"), (7.56e-7, "m", 2, "0.756 mm²"),
    (3e-4, "m", 2, "300 mm²"), (0.25, "1", 1, "0.25"), (7, "", 1, "7")])
def test_si_puts_the_prefix_on_the_unit_and_squares_it_for_areas(value, unit, power, text):
    assert si(value, unit, power=power) == text


def test_mean_and_spread_share_one_prefix_and_units_are_read_as_files_spell_them():
    assert si_pm(6.8e-6, 2e-8, "J") == "6.80 ± 0.02 µJ"
    assert si_pm(6.744e-6, 1e-9, "J", digits=4) == "6.744 ± 0.001 µJ"
    assert quantity(1.2, "mm2") == "1.20 mm²" and quantity(5.45e-5, "m^2") == "54.5 mm²"
    assert quantity(3e-9, "J") == "3.00 nJ"


def test_sweep_table_cells_carry_units():
    assert format_metric("energy_per_training_sample_J", [6.744e-6, 6.746e-6]) == "6.745 ± 0.001 µJ"
    assert format_metric("chip_area_mm2", [1.2]) == "1.20 mm²"
    assert format_metric("final_test_accuracy", [0.81, 0.83]) == "82.00 ± 1.00 %"
    assert format_metric("ep_id_cosine", [0.99]) == "0.990"
    assert format_metric("wall_seconds", [float("nan")]) == "-"


def test_axis_ticks_get_si_prefixes_with_the_decimals_their_spacing_needs():
    fig, (linear, log) = plt.subplots(1, 2)
    linear.plot([827.5e-9, 828.1e-9], [0, 1])
    log.loglog([1e-12, 1e-6], [1, 2])
    si_axis(linear.xaxis, "J")
    si_axis(log.xaxis, "J")
    fig.canvas.draw()
    shown = [t.get_text() for t in linear.get_xticklabels() if t.get_text()]
    assert len(set(shown)) == len(shown) and all(t.endswith(" nJ") for t in shown)  # 827.6 nJ, 827.8 nJ, ...
    assert {"1 pJ", "1 µJ"} <= {t.get_text() for t in log.get_xticklabels()}
    plt.close(fig)


def test_pareto_front_in_accuracy_energy_and_area():
    # columns: accuracy (higher is better), energy and area (lower is better)
    points = np.array([[0.80, 5.0, 2.0],    # 0: dominated by 1 (as accurate, less energy, same area)
                       [0.80, 4.0, 2.0],    # 1: front
                       [0.90, 9.0, 3.0],    # 2: front (most accurate)
                       [0.70, 1.0, 5.0],    # 3: front (least energy)
                       [0.60, 6.0, 1.0],    # 4: front (smallest area), though poor in accuracy and energy
                       [0.60, 6.0, 1.5],    # 5: dominated by 4
                       [np.nan, 0.1, 0.1],  # 6: not measured: never on the front, dominates nothing
                       [0.90, 9.0, 3.0]])   # 7: equal to 2: both on the front
    front = non_dominated(points, [True, False, False])
    assert np.flatnonzero(front).tolist() == [1, 2, 3, 4, 7]
    two = non_dominated(points[:, :2], [True, False])  # without area, 4 falls off (5 J, 60 % is beaten by 1)
    assert np.flatnonzero(two).tolist() == [1, 2, 3, 7]
    assert non_dominated(np.empty((0, 3)), [True, False, False]).size == 0


def test_sweep_axes_are_named_by_key_unit_and_placed_readably():
    config = load_config("chip_configs/default.yaml")
    assert key_unit(config, "chip.tile.node_adc.bits") == "bit"
    assert key_unit(config, "chip.tile.wires.word_segment_ohm") == "ohm"
    assert key_unit(config, "model.blocks.1.lower_rail_V") == "V"
    assert key_unit(config, "chip.tile.device.read_noise") == ""
    assert condensed(["chip.tile.output_adc.bits", "chip.tile.node_adc.bits"]) == "chip.tile.{output_adc,node_adc}.bits"
    assert condensed(["training.beta", "training.optimizer.lr"]) == "training.{beta,optimizer.lr}"
    bits = Axis("adc_bits", "chip.tile.{output_adc,node_adc}.bits", "bit", [2, 4, 8, 10])
    assert bits.title == "adc_bits (bit) = chip.tile.{output_adc,node_adc}.bits" and bits.text(4) == "adc_bits = 4"
    x, labels, scale = bits.positions()  # integers at their own positions, labelled as integers
    assert scale == "linear" and x.tolist() == [2, 4, 8, 10] and labels == ["2", "4", "8", "10"]
    tiles = Axis("rows", "chip.tile.{rows,columns}", "", [32, 64, 128, 256, 512])
    assert tiles.positions()[2] == "log" and tiles.positions()[1][-1] == "512"  # a decade and more: log
    wires = Axis("chip.tile.wires.word_segment_ohm", "chip.tile.wires.word_segment_ohm", "ohm", [0.0, 0.5, 5.0])
    x, labels, scale = wires.positions()  # a zero and uneven gaps: evenly spaced, labelled with the values
    assert scale == "linear" and x.tolist() == [0, 1, 2] and labels == ["0", "0.5", "5"]
    assert Axis("rows", "chip.tile.rows", "", [32, 48, 64]).positions()[0].tolist() == [32, 48, 64]
    assert Axis("rows", "chip.tile.rows", "", [32, 64]).title == "rows (dimensionless) = chip.tile.rows"
    assert Axis("preset", "chip.tile.device.preset", "", ["pcm", "rram"]).positions()[1] == ["pcm", "rram"]


def test_report_colour_maps_follow_matplotlibs():
    from cosim.report.colours import rgb

    fractions = np.linspace(0.0, 1.0, 10001)
    for name in ("viridis", "magma"):
        reference = np.rint(255 * matplotlib.colormaps[name](fractions)[:, :3])
        assert np.abs(rgb(fractions, name).astype(float) - reference).max() <= 6, name  # of 255
    np.testing.assert_array_equal(rgb(fractions, "magma", reverse=True), rgb(1 - fractions, "magma"))
    assert rgb(np.nan).tolist() == [255, 255, 255]  # nothing to show: white


def test_png_of_an_array_decodes_to_it(tmp_path):
    import base64

    from cosim.report.colours import png

    pixels = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    (tmp_path / "a.png").write_bytes(base64.b64decode(png(pixels)))
    np.testing.assert_array_equal(np.rint(255 * plt.imread(tmp_path / "a.png")).astype(np.uint8), pixels)


def test_log_scale_spans_at_most_six_decades_and_clips():
    from cosim.report.colours import LogScale

    scale = LogScale.of(np.array([0.0, 1e-15, 1e-9, 1e-6]))
    assert (scale.low, scale.high) == (1e-12, 1e-6)  # zeros ignored, 1e-15 below the floor
    np.testing.assert_allclose(scale(np.array([1e-15, 1e-9, 1e-6, 1.0])), [0.0, 0.5, 1.0, 1.0])
    assert scale.decades() == [1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6]


@pytest.mark.parametrize("low, high, most, integer, ticks", [
    (0.0, 256.0, 4, False, [0, 100, 200]),
    (-52.0, 52.0, 4, False, [-50, 0, 50]),
    (0.0, 1.0, 6, False, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (0.5, 12.5, 5, True, [5, 10]),  # 2, 4, ..., 12 would be 6 ticks
    (0.9, 3.1, 8, True, [1, 2, 3]),  # epochs: never 1.5
])
def test_svg_ticks_are_round_and_inside_the_range(low, high, most, integer, ticks):
    from cosim.report.svg import nice_ticks

    got, _ = nice_ticks(low, high, most, integer)
    np.testing.assert_allclose(got, ticks, atol=1e-12)


def test_svg_panel_carries_title_units_decades_and_legend():
    from cosim.report.svg import Panel, tick_text

    panel = Panel("crossbar 0", "conductance (µS)", "devices", ylog=True)
    panel.stairs([0, 5, 3000, 20], [1, 5, 10, 15, 20], label="after")
    svg = panel.svg()
    for text in ("crossbar 0", "conductance (µS)", "devices", "after", "10¹", "10²", "10³"):
        assert f">{text}<" in svg, text
    assert tick_text(-0.25, 0.25) == "−0.25" and tick_text(1e-17, 0.2) == "0" and tick_text(200.0, 100.0) == "200"


def test_log_axes_label_decades_or_finer_marks_when_few_decades_show():
    from cosim.report.svg import log_marks

    assert [text for _, text in log_marks(0.5, 2e4)] == ["10⁰", "10¹", "10²", "10³", "10⁴"]
    assert [text for _, text in log_marks(2e4, 3.2e4)] == ["2×10⁴", "3×10⁴"]  # within a decade: every digit
    assert [text for _, text in log_marks(15, 900)] == ["2×10¹", "5×10¹", "10²", "2×10²", "5×10²"]
    assert len(log_marks(1, 1e12)) == 7  # every other decade beyond 7
    assert [text for _, text in log_marks(150, 260)] == ["150", "200", "250"]  # under a factor of 2: round numbers


def test_the_technology_node_reads_in_nanometres_not_in_its_groups_square_metres():
    """Regression: the area table showed node_nm = 32 as "32.0 m²" (the area group's unit)."""
    from cosim.results import units_of

    assert units_of("node_nm") == ("nm", "")

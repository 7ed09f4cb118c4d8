"""Reports and self-describing data: report.html of a run and of a sweep (checked in a headless Chromium
when one is installed), units on every HDF5 dataset, sweep.h5 as an xarray dataset, progress lines in logs."""

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim import cli
from cosim.report import progress
from cosim.report.browser import CHROMIUM, chromium, screenshot
from cosim.report.budget import read_budget
from cosim.report.run import REPORT, write_run_report
from cosim.results import add_dataset
from cosim.sweep import format_table, load_sweep
from cosim.sweep.aggregate import collect

TINY = Path(__file__).parent / "configs" / "tiny.yaml"
TWO_TILES = ("model.blocks=[{kind: digital, ops: [{op: linear, out_features: 12}, {op: batchnorm}, {op: hardtanh}]}, "
             "{kind: resistive, hidden: [10], outputs: 8, lower_rail_V: -0.05, upper_rail_V: 0.05}, "
             "{kind: digital, ops: [{op: batchnorm}, {op: hardtanh}]}, "
             "{kind: resistive, hidden: [8], outputs: 10, lower_rail_V: -0.05, upper_rail_V: 0.05}, "
             "{kind: digital, ops: [{op: batchnorm}]}]")
CHIP = ["--set", TWO_TILES, "--set", "chip.tile.device.stuck_at_min=0.02", "--set", "chip.tile.node_adc.ideal=false",
        "--set", "chip.tile.output_adc.ideal=false", "--set", "chip.tile.input_dac.ideal=false",
        "--set", "chip.tile.nudge_dac.ideal=false"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert cli.main(["run", str(TINY), "--out", str(out), "--no-progress", *CHIP]) == 0
    return out


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    args = ["sweep", str(TINY), "--out", str(out), "--workers", "0", "--no-progress", "--seeds", "0,1",
            "--sweep", "chip.tile.node_adc.bits=4,8", "--sweep", "training.beta=0.1,0.3",
            "--set", "chip.tile.node_adc.ideal=false", "--set", "training.epochs=1"]
    assert cli.main(args) == 0
    return out


def test_every_dataset_of_a_run_carries_units_and_a_description(run_dir):
    missing = []
    with h5py.File(run_dir / "results.h5") as f:
        f.visititems(lambda name, item: isinstance(item, h5py.Dataset) and not
                     {"units", "description"} <= set(item.attrs) and missing.append(name))
        assert f["parameters/block1/conductances_S.0"].attrs["units"] == "S"
        assert f["energy/per_location_J"].attrs["units"] == "J"
        assert f["metrics/test_accuracy"].attrs["units"] == "1"
        assert f["energy/per_phase_J"].attrs["units"] == "J"
        steps = f["steps/step"][()]
        assert len(steps) > 2 and np.all(np.diff(steps) > 0)  # loss against steps, not two dots
        assert f["metrics/ep_id_cosine_per_tensor"].shape[0] == 2  # one row per epoch
    assert not missing


def test_run_report_shows_config_health_training_energy_and_tiles(run_dir):
    html = (run_dir / REPORT).read_text()
    for heading in ("Configuration", "Health", "Training", "Energy, latency and area", "Tile 0", "Tile 1"):
        assert f">{heading}" in html, heading
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch
    # SVG panels: training (2), cosine (1); per tile: 2 crossbars x (map, histogram), converter banks, 2 layers
    assert html.count("<svg class=plot") >= 3 + 2 * (4 + 2 + 2)
    assert html.count("data:image/png;base64,") == 2 * 2  # a PNG per conductance map
    assert html.count("<table class=heat>") == 4 + 2 * 3  # budget heat tables: the overview, per phase x 3 locations
    assert re.search(r"\d+(\.\d+)? [pnµ]J", html)  # energies with SI prefixes
    assert re.search(r"\d+(\.\d+)? [mµ]m²", html)  # areas too, the prefix on the metre


def test_a_run_and_its_report_load_no_matplotlib():
    """Start-up and the run's report draw without it (the sweep report still uses it)."""
    code = "import sys, cosim.cli, cosim.runner, cosim.report.run; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_energy_latency_and_area_per_tile_add_up_to_the_chip_totals(run_dir):
    with h5py.File(run_dir / "results.h5") as f:
        energy, area = f["energy"], f["area"]
        locations = [name.decode() for name in energy["locations"][()]]
        components = [name.decode() for name in energy["components"][()]]
        per_location, latency = energy["per_location_J"][()], energy["latency_per_location_s"][()]
        np.testing.assert_allclose(per_location.sum(axis=0), energy["per_phase_J"][()], rtol=1e-12)
        np.testing.assert_allclose(latency.sum(axis=(0, 1)), energy["latency_per_phase_s"][()], rtol=1e-12)
        assert energy.attrs["total_per_training_sample_J"] == pytest.approx(per_location[..., :-1].sum())
        tiles = sum(area[f"tile{t}"].attrs["total"] for t in (0, 1))
        assert area.attrs["total_m2"] == pytest.approx(tiles + area.attrs["global_buffer_m2"] + area.attrs["io_m2"])
        budget = read_budget(f)  # what the report draws: area by (location, component), the ledger's names
        assert budget.area.sum() == pytest.approx(area.attrs["total_m2"])
        assert budget.area[2, budget.components.index("io")] == area.attrs["io_m2"]
        assert budget.area[1, budget.components.index("tile_buffer")] == area["tile1"].attrs["buffer"]
    assert locations == ["tile0", "tile1", "chip"]
    for tile in (0, 1):  # each tile's own crossbars, converters and digital processor
        for component in ("crossbar", "adc", "dac", "digital"):
            assert per_location[tile, components.index(component)].sum() > 0, (tile, component)
    chip_only = {c for c in components if per_location[2, components.index(c)].any()}
    assert chip_only == {"global_buffer", "io"}


def test_run_report_lists_groups_it_does_not_know_with_their_units(run_dir, tmp_path):
    for name in ("results.h5", "config.yaml"):
        shutil.copy(run_dir / name, tmp_path / name)
    with h5py.File(tmp_path / "results.h5", "a") as f:
        if "area" in f:  # replaced by one of known content
            del f["area"]
        area = f.create_group("area")
        add_dataset(area, "tile_mm2", [0.25], units="mm2", description="area of each tile")
        f.create_group("health").attrs["clamped_node_fraction"] = 0.125
    html = write_run_report(tmp_path).read_text()
    assert ">Area<" in html and "area of each tile" in html and "mm2" in html
    assert "clamped_node_fraction" in html.split(">Health<")[1].split("<h2>")[0]


def test_sweep_h5_opens_in_xarray_with_named_dimensions_and_axes_as_coordinates(sweep_dir):
    xarray = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    with xarray.open_dataset(sweep_dir / "sweep.h5", engine="h5netcdf") as data:
        assert data["final_test_accuracy"].dims == ("chip.tile.node_adc.bits", "training.beta", "seed")
        assert data["chip.tile.node_adc.bits"].values.tolist() == [4, 8]
        assert data["chip.tile.node_adc.bits"].dtype.kind == "i"  # integer knobs stay integers
        assert data["seed"].values.tolist() == [0, 1]
        assert data["energy_per_training_sample_J"].attrs["units"] == "J"
        assert (data["status"].values == "done").all()
        assert float(data["final_test_accuracy"].sel({"training.beta": 0.3}).mean()) > 0


def test_sweep_report_names_keys_units_seeds_and_values_never_hashes(sweep_dir):
    html = (sweep_dir / REPORT).read_text()
    assert "chip.tile.node_adc.bits" in html and "2 seed(s)" in html and "Pareto" in html
    hashes = [p.name for p in (sweep_dir / "points").iterdir()]
    assert hashes and not any(h in html for h in hashes)


def test_the_console_table_of_a_sweep_gives_units_with_si_prefixes(sweep_dir):
    config = load_sweep(sweep_dir / "sweep.yaml")
    table = format_table(config, collect(config, sweep_dir))
    lines = table.splitlines()
    assert len(lines) == 2 + 4  # headings, rule, one line per grid point
    for line in lines[2:]:
        assert re.search(r"\d+\.\d{2} ± \d+\.\d{2} %", line)  # accuracy over the 2 seeds
        assert re.search(r"\d+\.\d+ ± \d+\.\d+ [pnµm]J", line)  # energy per training sample
        assert re.search(r"\d+\.\d+ ± \d+\.\d+ mm²", line)  # chip area
        assert re.search(r"\d [mµ]?s\b", line)  # wall times in seconds, with a prefix under 1 s
    assert not re.search(r"\de[-+]\d", table)  # no raw floats with exponents


def test_progress_in_a_log_is_a_few_plain_lines_with_rate_and_eta(monkeypatch):
    stream = io.StringIO()
    clock = iter(np.arange(0.0, 1000.0, 0.5))  # 0.5 s per step
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    bar = progress.Lines(range(200), total=200, desc="epoch 1/1", unit="batch", stream=stream)
    assert list(bar) == list(range(200))
    bar.close()
    lines = stream.getvalue().splitlines()
    assert 5 <= len(lines) <= 12 and lines[-1].startswith("epoch 1/1: 200/200 (100 %) batch")
    assert all("batch/s" in line and "left" in line for line in lines)


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (Debian package chromium; "
                                             "scripts/install-system-packages.sh installs it)")
@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_report_renders_in_a_real_browser(kind, run_dir, sweep_dir, tmp_path):
    page = (run_dir if kind == "run" else sweep_dir) / REPORT
    dom = chromium(page, tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom")
    body = re.search(r"<body[^>]*>", dom).group(0)
    total = int(re.search(r'data-images-total="(\d+)"', body).group(1))
    assert total >= 3 and 'data-images-broken="0"' in body  # every embedded image decoded
    shot = tmp_path / f"{kind}.png"
    screenshot(page, shot, tmp_path / "profile")
    pixels = _png_pixels(shot)
    assert pixels.std() > 10  # not a blank page


def _png_pixels(path: Path) -> np.ndarray:
    import matplotlib.image
    return np.asarray(matplotlib.image.imread(path))[..., :3] * 255.0


def test_health_fractions_read_as_percentages():
    from cosim.report.run import _rows

    rows = _rows([("clip_fraction.tile0.output_adc", 0.0123, "1", "clipped conversions"),
                  ("energy_per_sample", 6.8e-6, "J", "")])
    assert rows[0][1] == "1.23 %" and rows[1][1].endswith("µJ")


def test_conductance_maps_show_block_means():
    from cosim.report.tiles import block_means

    values = np.arange(512 * 256, dtype=float).reshape(512, 256)
    shown = block_means(values, 128)
    assert shown.shape == (128, 128) and shown[0, 0] == values[:4, :2].mean()
    assert block_means(values[:10, :10], 128) is not None and block_means(values[:10, :10], 128).shape == (10, 10)

"""`cosim export`: per-tile files with units, and an export loaded into a freshly built session evaluates
exactly as the run's own reloaded chip."""

from pathlib import Path

import numpy as np
import pytest

from cosim.cli import main
from cosim.config import load_config
from cosim.evaluate import evaluate_run, reseed, score_test_split
from cosim.export import load_export
from cosim.results import read_run, read_trained
from cosim.runner import prepare, run

NOISY = Path(__file__).parent / "configs" / "tiny_noisy.yaml"
#: calibrate once (on the first batch) and keep the range: an export carries ranges, not a schedule
FROZEN = [f"chip.tile.{c}.recalibrate_every=0" for c in ("nudge_dac", "output_adc", "node_adc", "current_adc")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    config = load_config(NOISY, FROZEN)
    run(config, root / "run", progress=False)
    assert main(["export", str(root / "run"), "--out", str(root / "chip")]) == 0
    return config, root / "run", root / "chip"


def test_export_writes_every_array_with_units(exported):
    _, run_dir, chip = exported
    files = {p.name for p in (chip / "tile0").iterdir()}
    for name in ("target_conductances_S.0", "held_conductances_S.1", "stuck.0", "variability_gain.0",
                 "bias_currents_A.1", "lower_rail_V.0", "upper_rail_V.0"):
        assert f"{name}.csv" in files
    header = (chip / "tile0" / "held_conductances_S.0.csv").read_text().splitlines()[0]
    assert header.startswith("column 0 [S],")
    assert (chip / "tile0" / "bias_currents_A.0.csv").read_text().startswith("value [A]\n")
    held = np.loadtxt(chip / "tile0" / "held_conductances_S.0.csv", delimiter=",", skiprows=1)
    saved = read_run(run_dir).arrays["chip"]
    np.testing.assert_array_equal(held, saved["tile0.devices.0"])
    with np.load(chip / "tile0.npz") as data:
        assert data["held_conductances_S.0"].shape == (24, 10) and data["stuck.0"].any()
        assert not np.array_equal(data["target_conductances_S.0"], data["held_conductances_S.0"])
        assert list(data["converters.converter"][:3]) == ["input_dac", "nudge_dac", "output_adc"]
    readme = (chip / "README.md").read_text()
    assert "| 0 | 1 | 24 -> 10 -> 10 | 24 x 10, 10 x 10 |" in readme and "duplicate_inputs" in readme


def test_results_parameters_are_the_held_conductances_without_read_noise(exported):
    """results.h5 stores what the devices hold, not the last noisy read of a solve."""
    _, run_dir, chip = exported
    held = read_run(run_dir).arrays["chip"]["tile0.devices.0"]
    analog = [group for group in read_trained(run_dir / "results.h5").parameters.values() if "tile" in group]
    tile0 = next(group for group in analog if group["tile"] == 0)
    np.testing.assert_array_equal(tile0["conductances_S.0"], held)


def test_an_export_loaded_into_a_fresh_session_evaluates_identically(exported):
    config, run_dir, chip = exported
    reference = evaluate_run(read_run(run_dir), repeats=2)
    session = prepare(config)
    load_export(session, chip)
    reseed(session, "eval/repeat1")  # the same noise realisation as the reference's repeat 1
    accuracy, loss = score_test_split(session, config.data.test_batch_size)
    assert (accuracy, loss) == (reference.accuracy[1], reference.loss[1])


def test_export_refuses_a_bad_out(exported, tmp_path, capsys):
    _, run_dir, _ = exported
    (tmp_path / "file").write_text("x")
    assert main(["export", str(run_dir), "--out", str(tmp_path / "file")]) == 2
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "no config.yaml" in capsys.readouterr().err

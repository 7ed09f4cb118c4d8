"""`cosim eval`: exact reload of a trained noisy chip, non-ideality overrides on the same devices, repeats,
output files, and readable errors for bad run directories and refused overrides."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim.cli import main
from cosim.config import load_config
from cosim.evaluate import NON_IDEALITY_KEYS, evaluate_run, resolve_overrides, restore
from cosim.results import load_checkpoint, read_run
from cosim.runner import run

CONFIGS = Path(__file__).parent / "configs"


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory):
    """tiny_noisy.yaml trained for 2 epochs: programming/read noise, variability, stuck, pulsed, non-ideal
    calibrated converters."""
    out = tmp_path_factory.mktemp("noisy")
    run(load_config(CONFIGS / "tiny_noisy.yaml"), out, progress=False)
    return out


def test_eval_reproduces_the_recorded_test_metrics_exactly(noisy_run):
    evaluation = evaluate_run(read_run(noisy_run))
    metrics = load_checkpoint(noisy_run / "checkpoint.h5")[1]["metrics"]
    assert evaluation.exact and not evaluation.changes
    assert evaluation.accuracy[0] == metrics["test_accuracy"][-1]
    assert evaluation.loss[0] == metrics["test_loss"][-1]


@pytest.mark.parametrize("device_worker", [False, True])
def test_eval_reproduces_a_run_trained_and_evaluated_with_or_without_the_device_worker(tmp_path, monkeypatch,
                                                                                        device_worker):
    """The device worker is on or off as the machine's load allows; eval reproduces the run either way."""
    import cosim.threads

    monkeypatch.setattr(cosim.threads, "device_worker", lambda *args, **kwargs: device_worker)
    run(load_config(CONFIGS / "tiny_noisy.yaml"), tmp_path, progress=False)
    evaluation = evaluate_run(read_run(tmp_path))
    assert evaluation.accuracy[0] == load_checkpoint(tmp_path / "checkpoint.h5")[1]["metrics"]["test_accuracy"][-1]


def test_the_checkpoint_state_alone_is_not_the_state_the_recorded_evaluation_saw(noisy_run):
    """Regression: the checkpoint is written after the test evaluation and gradient check, which drew noise
    and advanced the converters' calibration schedule; eval must start from the state before them."""
    saved = read_run(noisy_run)
    before, after = saved.meta["evaluation"], saved.meta
    assert before["epoch"] == after["epochs_done"] - 1
    assert before["streams"] != after["streams"]
    batches = [t["converters"]["output_adc"]["batches"] for t in (before["chip"]["tiles"][0], after["chip"]["tiles"][0])]
    assert batches[0] < batches[1]


def test_adc_bits_override_reads_the_same_programmed_devices(noisy_run):
    saved = read_run(noisy_run)
    restored = restore(saved, ["chip.tile.output_adc.bits=3"])
    assert restored.changes == [("tile0.output_adc.bits", 6, 3)]
    tile = restored.session.chip.tiles[0]
    for l, devices in enumerate(tile.devices):
        np.testing.assert_array_equal(devices.conductances, saved.arrays["chip"][f"tile0.devices.{l}"])
    assert tile.output_adc.levels == 2 ** 3
    # the calibrated range is kept: only the resolution changed
    recorded = saved.meta["evaluation"]["chip"]["tiles"][0]["converters"]["output_adc"]
    assert (tile.output_adc.lo, tile.output_adc.hi) == (recorded["lo"], recorded["hi"])
    evaluation = evaluate_run(saved, ["chip.tile.output_adc.bits=3"])
    assert evaluation.loss[0] != evaluation.recorded_loss


def test_wire_resistance_override_reads_the_same_devices_through_wires(noisy_run):
    """The ex-situ question of the IR-drop study: the chip trained with ideal wires, read through real ones."""
    saved = read_run(noisy_run)
    wired = ["chip.tile.wires.word_segment_ohm=50", "chip.tile.wires.bit_segment_ohm=50"]
    restored = restore(saved, wired)
    assert restored.changes == [("tile0.wires.word_segment_ohm", 0.0, 50.0), ("tile0.wires.bit_segment_ohm", 0.0, 50.0)]
    for l, devices in enumerate(restored.session.chip.tiles[0].devices):
        np.testing.assert_array_equal(devices.conductances, saved.arrays["chip"][f"tile0.devices.{l}"])
    assert evaluate_run(saved, wired).loss[0] != saved_loss(saved)
    assert evaluate_run(saved, ["chip.tile.wires.word_segment_ohm=0"]).loss[0] == saved_loss(saved)
    partitioned = evaluate_run(saved, [*wired, "chip.tile.rows=4", "chip.tile.columns=4"]).loss[0]
    assert partitioned != evaluate_run(saved, wired).loss[0]  # the same devices on smaller arrays: shorter lines
    assert evaluate_run(saved, ["chip.tile.rows=4"]).loss[0] == saved_loss(saved)  # ideal wires: the same network


def saved_loss(saved) -> float:
    return float(saved.arrays["metrics"]["test_loss"][-1])


def test_per_tile_override_paths_resolve_to_the_tile(noisy_run):
    trained = load_config(noisy_run / "config.yaml")
    _, changes = resolve_overrides(trained, ["chip.tiles=[{tile: 0, set: {device.read_noise: 0.05}}]"])
    assert changes == [("tile0.device.read_noise", 0.01, 0.05)]


@pytest.mark.parametrize("override", ["model.blocks.1.hidden=[12]", "training.beta=0.2", "seed=1",
                                      "chip.tile.device.g_max_S=1e-4", "chip.tile.output_adc.energy_per_step_J=1e-13",
                                      "data.test_batch_size=30"])
def test_structural_overrides_are_refused_with_the_reason(noisy_run, override, capsys):
    assert main(["eval", str(noisy_run), "--set", override]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "eval may change only non-idealities" in err and "*_adc" in err
    assert not list(noisy_run.glob("eval-*")) or all("hidden" not in p.name for p in noisy_run.glob("eval-*"))


def test_non_ideality_keys_cover_read_side_knobs_only():
    assert "device.read_noise" in NON_IDEALITY_KEYS and "*_adc.bits" in NON_IDEALITY_KEYS
    assert not any(key.startswith("device.") and "read_noise" not in key for key in NON_IDEALITY_KEYS)


def test_repeats_write_files_beside_the_run_and_leave_its_files_alone(noisy_run, capsys):
    own = {p.name: p.read_bytes() for p in noisy_run.iterdir() if p.is_file()}
    assert main(["eval", str(noisy_run), "--repeats", "3", "--set", "chip.tile.output_adc.bits=4"]) == 0
    printed = capsys.readouterr().out
    assert "mean ± std" in printed and "tile0.output_adc.bits: 6 -> 4" in printed
    assert {p.name: p.read_bytes() for p in noisy_run.iterdir() if p.name in own} == own
    with h5py.File(noisy_run / "eval-output_adc.bits=4-r3.h5", "r") as f:
        group = f["eval"]
        accuracy = group["test_accuracy"][()]
        assert accuracy.shape == (3,) and group.attrs["repeats"] == 3
        assert [s.decode() for s in group["changed_keys"][()]] == ["tile0.output_adc.bits"]
        assert [s.decode() for s in group["overrides"][()]] == ["chip.tile.output_adc.bits=4"]
        assert group.attrs["test_accuracy_mean"] == pytest.approx(accuracy.mean())
        assert "bits: 4" in f.attrs["config"]
    rows = [line for line in (noisy_run / "eval-output_adc.bits=4-r3.csv").read_text().splitlines()
            if not line.startswith("#")]
    assert rows[0] == "repeat,streams,test_accuracy,test_loss" and [r.split(",")[0] for r in rows[1:]] == \
        ["0", "1", "2", "mean", "std"]
    assert float(rows[1].split(",")[2]) == accuracy[0]


def test_eval_of_ideal_devices_with_read_noise_reads_the_trained_conductances(tmp_path):
    run(load_config(CONFIGS / "tiny.yaml"), tmp_path, progress=False)
    saved = read_run(tmp_path)
    restored = restore(saved, ["chip.tile.device.read_noise=0.001"])
    block = restored.session.chain.blocks[1]
    np.testing.assert_allclose(restored.session.chip.tiles[0].devices[0].conductances,
                               saved.arrays["model"]["block1.analog.conductances.0"] * block.g_max)
    evaluation = evaluate_run(saved, ["chip.tile.device.read_noise=0.001"])
    assert abs(evaluation.accuracy[0] - evaluation.recorded_accuracy) <= 0.05


def test_bad_run_directories_give_one_line_and_exit_2(tmp_path, noisy_run, capsys):
    (tmp_path / "norun").mkdir()
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.yaml").write_text((noisy_run / "config.yaml").read_text())
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.yaml").write_text((noisy_run / "config.yaml").read_text())
    (corrupt / "checkpoint.h5").write_bytes(b"not hdf5")
    for bad, expected in [(tmp_path / "missing", "not a directory"), (tmp_path / "norun", "no config.yaml"),
                          (partial, "no checkpoint.h5"), (corrupt, "not a readable")]:
        assert main(["eval", str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert expected in err and "\n" not in err
    assert main(["eval", str(noisy_run), "--name", "../x"]) == 2


@pytest.fixture(scope="module")
def pcm_run(tmp_path_factory):
    """tiny.yaml on PCM devices (drift, 1/f read noise), trained one epoch."""
    out = tmp_path_factory.mktemp("pcm")
    run(load_config(CONFIGS / "tiny.yaml", ["chip.tile.device.preset=pcm", "training.epochs=1"]), out,
        progress=False)
    return out


def test_eval_over_time_ages_the_same_programmed_devices(pcm_run, capsys):
    saved = read_run(pcm_run)
    assert evaluate_run(saved, age_s=0.0).loss[0] == saved_loss(saved)  # age 0: the chip as programmed
    ten_years = 10 * 365.25 * 86400
    plain = evaluate_run(saved, age_s=ten_years, compensate=False)
    compensated = evaluate_run(saved, age_s=ten_years, compensate=True)
    assert plain.loss[0] != saved_loss(saved) and compensated.loss[0] != plain.loss[0]
    assert main(["eval", str(pcm_run), "--time", "1s,1d,10y", "--name", "life"]) == 0
    rows = (pcm_run / "eval-life-lifetime.csv").read_text().splitlines()
    assert rows[0].startswith("time,seconds,compensation") and len(rows) == 1 + 3 * 2
    assert rows[-1].startswith("10y,") and rows[-1].split(",")[2] == "compensated"
    assert (pcm_run / "eval-life-t10y-plain.h5").is_file()


@pytest.mark.parametrize("bad", ["1x", "-1s", "1e9y", ""])
def test_bad_times_are_refused_in_one_line(pcm_run, bad, capsys):
    assert main(["eval", str(pcm_run), f"--time={bad}"]) == 2
    assert "--time" in capsys.readouterr().err

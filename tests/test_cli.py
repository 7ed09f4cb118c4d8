"""The command line end to end: results layout, resume after a kill, gradcheck, and clean errors."""

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from cosim import cli
from cosim.learning.train import Trainer

TINY = Path(__file__).parent / "configs" / "tiny.yaml"


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args])


def test_run_writes_results_config_and_curves(tmp_path):
    assert run_cli("run", TINY, "--out", tmp_path, "--no-progress") == 0
    with h5py.File(tmp_path / "results.h5") as f:
        config = yaml.safe_load(f.attrs["config"])
        assert config["training"]["epochs"] == 2 and config["schema_version"] == 2
        for name in ("train_loss", "train_accuracy", "test_accuracy"):
            assert f["metrics"][name].shape == (2,)
        accuracy, loss = f["metrics"]["test_accuracy"][()], f["metrics"]["train_loss"][()]
        assert ((0 <= accuracy) & (accuracy <= 1)).all() and loss[1] < loss[0]
        assert f["parameters"]["block1"]["conductances_S.0"].shape == (24, 10)
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == config
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_overrides_reach_the_run(tmp_path):
    assert run_cli("run", TINY, "--out", tmp_path, "--no-progress", "--set", "training.epochs=1") == 0
    with h5py.File(tmp_path / "results.h5") as f:
        assert f["metrics"]["train_loss"].shape == (1,)


NOISY_CHIP = ["--set", "chip.tile.device.programming_noise=0.01", "--set", "chip.tile.device.read_noise=0.01",
              "--set", "chip.tile.node_adc.ideal=false", "--set", "chip.tile.output_adc.ideal=false",
              "--set", "chip.tile.device.update=pulsed"]


@pytest.mark.parametrize("chip, device_worker", [([], False), (NOISY_CHIP, False), (NOISY_CHIP, True)],
                         ids=["ideal-chip", "noisy-chip", "noisy-chip-device-worker"])
def test_resume_after_a_kill_continues_to_the_same_result(tmp_path, monkeypatch, chip, device_worker):
    """Also with the device worker drawing noise ahead (whatever the machine's load): the streams are
    checkpointed at their consumption point and a prepared read is not used after they restart."""
    import cosim.threads

    monkeypatch.setattr(cosim.threads, "device_worker", lambda *args, **kwargs: device_worker)
    assert run_cli("run", TINY, "--out", tmp_path / "straight", "--no-progress", *chip) == 0
    original = Trainer.train_epoch

    def killed_in_second_epoch(self, epoch, epochs):
        if epoch == 1:
            raise KeyboardInterrupt
        original(self, epoch, epochs)

    monkeypatch.setattr(Trainer, "train_epoch", killed_in_second_epoch)
    assert run_cli("run", TINY, "--out", tmp_path / "killed", "--no-progress", *chip) == 130
    assert (tmp_path / "killed" / "checkpoint.h5").exists()
    monkeypatch.setattr(Trainer, "train_epoch", original)
    assert run_cli("run", TINY, "--out", tmp_path / "killed", "--no-progress", "--resume", *chip) == 0
    with h5py.File(tmp_path / "straight" / "results.h5") as a, h5py.File(tmp_path / "killed" / "results.h5") as b:
        for name in ("train_loss", "test_accuracy"):
            np.testing.assert_allclose(a["metrics"][name][()], b["metrics"][name][()], rtol=1e-12)
        np.testing.assert_allclose(a["energy"]["per_phase_J"][()], b["energy"]["per_phase_J"][()], rtol=1e-12)
        np.testing.assert_array_equal(a["parameters"]["block1"]["conductances_S.0"][()],
                                      b["parameters"]["block1"]["conductances_S.0"][()])


def test_resume_refuses_a_different_config(tmp_path, capsys):
    assert run_cli("run", TINY, "--out", tmp_path, "--no-progress", "--set", "training.epochs=1") == 0
    assert run_cli("run", TINY, "--out", tmp_path, "--no-progress", "--resume") == 2
    assert "different config" in capsys.readouterr().err


def test_gradcheck_prints_table_and_writes_files(tmp_path, capsys):
    assert run_cli("gradcheck", TINY, "--out", tmp_path, "--samples", "16", "--beta", "0.01") == 0
    table = capsys.readouterr().out
    assert "block1.analog.conductances.0" in table and "model.blocks[1] (block1) on tile 0" in table
    with h5py.File(tmp_path / "gradcheck.h5") as f:
        assert f["gradcheck"]["tiles"].attrs["block1"] == 0
        names = [n.decode() for n in f["gradcheck"]["names"][()]]
        cosines = dict(zip(names, f["gradcheck"]["cosine"][()]))
        norms = dict(zip(names, f["gradcheck"]["norm_id"][()]))
    largest = max(norms.values())
    assert all(c > 0.999 for n, c in cosines.items() if norms[n] > 1e-9 * largest)
    assert (tmp_path / "gradcheck.png").exists()


ERRORS = [
    (["--set", "training.bta=0.1"], "did you mean 'beta'"),
    (["--set", "model.blocks.1.hidden=[0]"], "model.blocks[1].hidden"),
    (["--set", "data.dataset=cifar11"], "data.dataset"),
    (["--set", "model.blocks.2.ops.0.op=conv2d"], "out_channels"),
    (["--set", "model.blocks.1.outputs=3"], "needs 10 outputs"),
    (["--set", "data.dataset=mnist", "--set", "data.path=/nonexistent"], "mnist"),
]


@pytest.mark.parametrize("extra, message", ERRORS, ids=[e[1] for e in ERRORS])
def test_bad_input_is_one_clear_error_with_exit_code_2(tmp_path, capsys, extra, message):
    assert run_cli("run", TINY, "--out", tmp_path, "--no-progress", *extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("cosim run: error:")


def test_missing_config_file_and_no_traceback_from_a_subprocess(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cosim", "run", str(tmp_path / "missing.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "missing.yaml" in result.stderr and "Traceback" not in result.stderr


def test_help_explains_every_command():
    for command in ("run", "gradcheck"):
        with pytest.raises(SystemExit) as exit_info:
            run_cli(command, "--help")
        assert exit_info.value.code == 0


def test_run_names_tiles_by_the_chips_mapping_in_console_and_results(tmp_path, capsys):
    assert run_cli("run", TINY, "--out", tmp_path, "--no-progress", "--set", "training.epochs=1",
                   "--set", "chip.mapping=[2]") == 0
    assert "tile 2 (model.blocks[1]): crossbars 24 -> 10 -> 10" in capsys.readouterr().out
    with h5py.File(tmp_path / "results.h5") as f:
        assert f["parameters"]["block1"].attrs["tile"] == 2

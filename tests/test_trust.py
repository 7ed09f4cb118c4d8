"""Trusting a run's files: kills at every step of the save sequence (run and sweep), sealed checkpoints,
--out checks, Ctrl-C, ngspice timeouts, non-finite guards, honest summaries and their warnings."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim import cli
from cosim.config import dump_config, load_config
from cosim.converters import Converter, ConverterSpec
from cosim.errors import CosimError
from cosim.learning.gradcheck import TensorAgreement, flags, format_table
from cosim.results import (CHECKPOINT, CONFIG, FAULT_ENV, FAULT_EXIT, RESULTS, NonFiniteError, atomic_write,
                           load_checkpoint, read_summary, write_run_results)
from cosim.runner import health_warnings, prepare, resolvability_warnings

TINY = Path(__file__).parent / "configs" / "tiny.yaml"
SMALL = ["--set", "data.n_train=64", "--set", "data.n_test=32", "--no-progress"]


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args])


def in_child(function, env: dict) -> int:
    """Run ``function()`` in a forked child with ``env`` added; its exit code (FAULT_EXIT: killed by the hook)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.environ.update(env)
            code = function()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def epochs_in(directory: Path) -> tuple[int, int]:
    """(epochs in results.h5, epochs in checkpoint.h5)."""
    meta = load_checkpoint(directory / CHECKPOINT)[2]
    return int(read_summary(directory / RESULTS)["epochs"]), meta["epochs_done"]


SAVE_STEPS = ["checkpoint.h5:written", "checkpoint.h5:renamed", "results.h5:written", "results.h5:renamed"]


@pytest.mark.parametrize("step", SAVE_STEPS)
def test_a_kill_at_any_step_of_the_last_save_is_repaired_by_resume(tmp_path, step):
    straight = tmp_path / "straight"
    assert run_cli("run", TINY, "--out", straight, *SMALL) == 0
    killed = tmp_path / "killed"
    code = in_child(lambda: run_cli("run", TINY, "--out", killed, *SMALL), {FAULT_ENV: f"{step}@2"})
    assert code == FAULT_EXIT
    assert run_cli("run", TINY, "--out", killed, *SMALL, "--resume") == 0
    assert epochs_in(killed) == (2, 2)
    a, b = read_summary(straight / RESULTS), read_summary(killed / RESULTS)
    assert a["final_train_loss"] == b["final_train_loss"] and a["final_test_accuracy"] == b["final_test_accuracy"]


@pytest.mark.parametrize("step", ["checkpoint.h5:renamed", "results.h5:written"])
def test_a_sweep_point_killed_in_the_last_save_is_finished_with_full_results(tmp_path, step):
    from cosim.sweep.run import run_point

    config = load_config(TINY, ["data.n_train=64", "data.n_test=32"])
    yaml_text, directory = dump_config(config), tmp_path / "point"
    code = in_child(lambda: run_point(yaml_text, str(directory)) and 0, {FAULT_ENV: f"{step}@2"})
    assert code == FAULT_EXIT and not (directory / "done.json").exists()
    record = run_point(yaml_text, str(directory))
    assert record["status"] == "done" and record["summary"]["epochs"] == 2
    assert json.loads((directory / "done.json").read_text())["summary"]["epochs"] == 2
    assert epochs_in(directory) == (2, 2)


def test_a_bit_flipped_checkpoint_is_refused(tmp_path, capsys):
    assert run_cli("run", TINY, "--out", tmp_path, *SMALL, "--set", "training.epochs=1") == 0
    path = tmp_path / CHECKPOINT
    with h5py.File(path) as f:
        offset = f["metrics"]["train_loss"].id.get_offset()
    data = bytearray(path.read_bytes())
    data[offset + 3] ^= 0x10
    path.write_bytes(bytes(data))
    assert run_cli("run", TINY, "--out", tmp_path, *SMALL, "--set", "training.epochs=1", "--resume") == 2
    assert "corrupt" in capsys.readouterr().err


def test_resume_without_checkpoint_says_so_and_a_finished_run_is_not_overwritten(tmp_path, capsys):
    assert run_cli("run", TINY, "--out", tmp_path, *SMALL, "--set", "training.epochs=1", "--resume") == 0
    assert "holds no checkpoint.h5; starting afresh" in capsys.readouterr().err
    assert run_cli("run", TINY, "--out", tmp_path, *SMALL) == 2
    assert "holds another run" in capsys.readouterr().err
    assert run_cli("run", TINY, "--out", tmp_path, *SMALL, "--force") == 0
    assert epochs_in(tmp_path) == (2, 2)


def test_result_files_follow_the_umask(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    atomic_write(tmp_path / "x.txt", lambda tmp: tmp.write_text("x"))
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_bad_out_is_one_line_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    missing_data = ["--set", "data.dataset=mnist", "--set", "data.path=/nonexistent"]
    for out in (tmp_path / "file", tmp_path / "file" / "below", Path("/proc/cosim-cannot-write")):
        assert run_cli("run", TINY, "--out", out, "--no-progress", *missing_data) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "--out" in err, err


def test_a_training_set_under_one_batch_is_a_clear_error(tmp_path, capsys):
    assert run_cli("run", TINY, "--out", tmp_path, "--no-progress", "--set", "data.n_train=8") == 2
    assert "data.batch_size = 16 exceeds the 8 training samples" in capsys.readouterr().err


def test_non_finite_values_are_never_written(tmp_path):
    write_run_results(tmp_path / RESULTS, "x: 1\n", {"test_loss": [np.nan, 1.0]}, {"final_test_accuracy": np.nan},
                      {}, {})  # NaN as "not evaluated" is allowed
    with pytest.raises(NonFiniteError, match="metrics/train_loss is not finite.*training.optimizer.lr"):
        write_run_results(tmp_path / RESULTS, "x: 1\n", {"train_loss": [np.inf]}, {}, {}, {})
    with pytest.raises(NonFiniteError, match="energy/per_phase_J"):
        write_run_results(tmp_path / RESULTS, "x: 1\n", {}, {}, {}, {"energy": {"per_phase_J": [1.0, np.nan]}})


@pytest.mark.parametrize("full_scale", [1e-12, 1e3])
def test_converters_stay_finite_at_the_ends_of_their_range(full_scale):
    for range_ in ("fixed", "calibrated"):
        adc = Converter(ConverterSpec(ideal=False, range=range_, full_scale=full_scale), np.random.default_rng(0))
        for values in (np.array([1e-12, -3e-12, 0.0]), np.array([1e3, -1e3, 5.0]), np.zeros(3)):
            assert np.isfinite(adc(values)).all()


def test_ngspice_that_hangs_is_stopped_with_a_clear_message(tmp_path, monkeypatch):
    from cosim.analog import ResistiveNetwork
    from cosim.spice import ngspice
    from cosim.spice.netlist import write_netlist

    netlist = write_netlist(ResistiveNetwork([np.full((2, 1), 1e-6)], biases=[np.zeros(1)]), [0.3, -0.1])

    fake = tmp_path / "ngspice"
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setenv(ngspice.TIMEOUT_ENV, "0.5")
    with pytest.raises(ngspice.SpiceError, match="did not finish .* within 0.5 s and was stopped"):
        ngspice.run(netlist)
    monkeypatch.setenv(ngspice.TIMEOUT_ENV, "soon")
    with pytest.raises(CosimError, match="COSIM_NGSPICE_TIMEOUT must be a positive number"):
        ngspice.run(netlist)


# "start": SIGINT while the first epoch trains (config.yaml written, no checkpoint yet); "checkpoint": around
# the first save. Waiting for a file, not a fixed delay: a SIGINT before Python has installed its handler
# (possible within 0.5 s of launch on a loaded machine) ends any Python process by the signal.
@pytest.mark.parametrize("wait_for", [CONFIG, CHECKPOINT])
def test_ctrl_c_exits_130_without_traceback_and_leaves_consistent_files(tmp_path, wait_for):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "cosim", "run", str(TINY), "--out", str(tmp_path), "--no-progress",
               "--set", "training.epochs=50"]
    # SIGINT at its default in the child: under a non-interactive shell's `&` (a background CI job) it is
    # inherited as ignored, and Python then installs no KeyboardInterrupt handler
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (tmp_path / wait_for).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err, err
    if (tmp_path / CHECKPOINT).exists():
        results, checkpoint = epochs_in(tmp_path)
        assert results == checkpoint


def test_gradcheck_flags_by_one_rule():
    rows = [TensorAgreement("w", 0.99, 0.1, 1.0, 1.0), TensorAgreement("b", 0.31, 5.0, 1e-7, 1e-7),
            TensorAgreement("u", 0.9, 0.2, 1.0, 1.0, unconverged=True)]
    assert flags(rows) == ["", "exact gradient ~0: cosine not meaningful", "from an unconverged solve"]
    table = format_table(rows).splitlines()
    assert table[2].endswith("(exact gradient ~0: cosine not meaningful)") and "unconverged" in table[3]


def test_gradcheck_h5_records_flags_and_unconverged_samples(tmp_path):
    assert run_cli("gradcheck", TINY, "--out", tmp_path, "--samples", "8", "--as-configured",
                   "--set", "solver.max_sweeps=2", "--set", "solver.tol=1e-12") == 0
    with h5py.File(tmp_path / "gradcheck.h5") as f:
        group = f["gradcheck"]
        assert group.attrs["unconverged_samples"] > 0
        assert all(b"unconverged" in flag for flag, name in zip(group["flags"][()], group["names"][()])
                   if name.startswith(b"block0") or name.startswith(b"block1"))


def test_summary_counts_unconverged_samples_and_warns(tmp_path, capsys):
    assert run_cli("run", TINY, "--out", tmp_path, *SMALL, "--set", "solver.max_sweeps=2",
                   "--set", "chip.tile.output_adc.ideal=false", "--set", "chip.tile.output_adc.range=fixed",
                   "--set", "chip.tile.output_adc.full_scale=1e-6") == 0
    summary = read_summary(tmp_path / RESULTS)
    assert summary["unconverged_samples"] > 0 and 0.01 < summary["unconverged_fraction"] <= 1
    assert summary["clip_fraction.tile0.output_adc"] > 0.05 and 0 <= summary["clamped_fraction"] <= 1
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("WARNING:")]
    assert any("solver.max_sweeps" in line for line in warnings)
    assert any("output_adc clipped" in line and "full_scale" in line for line in warnings)


def test_health_warnings_name_the_knob():
    lines = health_warnings({"unconverged_fraction": 0.02, "unconverged_samples": 10, "ep_id_cosine.block1": 0.5,
                             "ep_id_cosine.block3": 0.99, "clip_fraction.tile0.node_adc.a.0": 0.2,
                             "clip_fraction.tile0.input_dac": 0.01})
    assert len(lines) == 3
    assert "solver.max_sweeps" in lines[0] and "block1" in lines[1] and "chip.tile.node_adc.full_scale" in lines[2]
    assert all(knob in lines[1] for knob in ("solver.max_sweeps", "solver.tol", "training.beta"))


def test_pulsed_devices_whose_updates_round_to_no_pulse_are_flagged(tmp_path, capsys):
    """The ECRAM preset's pulses (1 % of the range) are coarse against Adam's 1e-3 steps (the default chip's
    learning rate): nothing is written and training stalls; the run says so and names the knobs. At this
    config's 1e-2 the devices take pulses."""
    assert run_cli("run", TINY, "--out", tmp_path / "coarse", *SMALL, "--set", "chip.tile.device.preset=ecram",
                   "--set", "training.optimizer.lr=0.001") == 0
    summary = read_summary(tmp_path / "coarse" / RESULTS)
    assert summary["pulses_per_device_update.tile0"] < 0.01
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("WARNING:")]
    assert any("pulses per device" in line and "pulse_step" in line and "lr" in line for line in warnings)
    assert run_cli("run", TINY, "--out", tmp_path / "fine", *SMALL, "--set", "chip.tile.device.preset=ecram") == 0
    assert read_summary(tmp_path / "fine" / RESULTS)["pulses_per_device_update.tile0"] > 0.01
    assert not health_warnings({"pulses_per_device_update.tile0": 0.3})


def test_per_solve_read_noise_and_coarse_absolute_readout_are_flagged_at_the_start():
    noisy = load_config(TINY, ["chip.tile.device.read_noise=0.01", "chip.tile.device.read_noise_redraw=solve"])
    assert len(resolvability_warnings(prepare(noisy), noisy.training.beta)) == 1
    slow = load_config(TINY, ["chip.tile.device.read_noise=0.01"])  # the default: redrawn once per step
    assert slow.chip.tile.device.read_noise_redraw == "step"
    assert resolvability_warnings(prepare(slow), slow.training.beta) == []
    coarse = load_config(TINY, ["chip.tile.node_adc.ideal=false", "chip.tile.node_adc.bits=3",
                                "chip.tile.ep_readout=absolute"])
    assert "LSB" in resolvability_warnings(prepare(coarse), coarse.training.beta)[0]


def test_an_out_of_range_error_signal_is_named_not_blamed_on_beta():
    config = load_config(TINY)
    block = prepare(config).chain.energy_blocks[0]
    block.forward(np.ones((4, 12)), training=True)
    with pytest.raises(CosimError, match=r"error reaching the analog block \(rms inf\)"):
        block.nudge_strength(np.full((4, 10), np.inf))

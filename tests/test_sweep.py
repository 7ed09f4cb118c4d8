"""Sweeps: grid expansion and hashing, validation, resume after a kill, failing points, Dask, aggregation."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import pytest
import yaml

from cosim import cli
from cosim.config import config_hash, load_config
from cosim.errors import ConfigError, CosimError
from cosim.learning.train import Trainer
from cosim.sweep import aggregate, expand, load_sweep, run_sweep
from cosim.sweep.grid import inert_keys
from cosim.sweep.run import dask_client, point_dir

TINY = Path(__file__).parent / "configs" / "tiny.yaml"
ROOT = Path(__file__).parents[1]
BITS = "chip.tile.node_adc.bits+chip.tile.current_adc.bits=2,4"
NOISE = "chip.tile.device.read_noise=0,0.01,0.03"


def sweep_config(*axes, seeds="0,1", overrides=()):
    return load_sweep(TINY, list(overrides), list(axes), seeds)


# ------------------------------------------------------------------------------------------ the grid


def test_grid_is_the_product_of_the_axes_times_the_seeds():
    points = expand(sweep_config(BITS, NOISE))
    assert len(points) == 2 * 3 * 2
    assert [(p.index, p.seed) for p in points[:4]] == [((0, 0), 0), ((0, 0), 1), ((0, 1), 0), ((0, 1), 1)]
    for point in points:
        config = load_config(point.config_yaml)
        bits = [2, 4][point.index[0]]
        assert config.chip.tile.node_adc.bits == config.chip.tile.current_adc.bits == bits  # zipped keys
        assert config.chip.tile.device.read_noise == [0, 0.01, 0.03][point.index[1]]
        assert config.seed == point.seed and config.sweep.axes == [] and config.sweep.seeds is None
        assert point.settings == {"chip.tile.node_adc.bits": bits, "chip.tile.current_adc.bits": bits,
                                  "chip.tile.device.read_noise": [0, 0.01, 0.03][point.index[1]]}


def test_a_zipped_axis_may_give_each_key_its_own_values_and_seeds_default_to_the_configs():
    config = load_config(TINY, ["sweep.axes=[{name: lr_beta, values: {training.optimizer.lr: [0.01, 0.02], "
                                "training.beta: [0.1, 0.3]}}]"])
    points = expand(config)
    assert [p.seed for p in points] == [3, 3]
    assert [(load_config(p.config_yaml).training.optimizer.lr, load_config(p.config_yaml).training.beta)
            for p in points] == [(0.01, 0.1), (0.02, 0.3)]
    assert len(expand(load_config(TINY))) == 1  # no axes, no seeds: the config itself


def test_hashes_are_stable_distinct_and_independent_of_the_sweep_around_a_point():
    points = expand(sweep_config(BITS, NOISE))
    hashes = [p.hash for p in points]
    assert len(set(hashes)) == len(hashes)
    assert hashes == [p.hash for p in expand(sweep_config(BITS, NOISE))]
    assert all(p.hash == config_hash(load_config(p.config_yaml)) for p in points)
    reordered = expand(sweep_config(NOISE, BITS))
    assert sorted(p.hash for p in reordered) == sorted(hashes)
    extended = expand(sweep_config(BITS, NOISE + ",0.05", seeds="0,1,2"))
    assert set(hashes) < {p.hash for p in extended}
    # a point is the plain run of its resolved config: `cosim run --set ...` has the same hash
    run_config = load_config(TINY, ["chip.tile.node_adc.bits=2", "chip.tile.current_adc.bits=2",
                                    "chip.tile.device.read_noise=0", "seed=0"])
    assert config_hash(run_config) == hashes[0]


ERRORS = {
    "unknown key": (["chip.tile.node_adc.bitz=2,4"], ["sweep.axes[0]", "chip.tile.node_adc.bitz", "unknown key",
                                                       "did you mean 'bits'"]),
    "second axis": ([NOISE, "training.betta=0.1"], ["sweep.axes[1]", "training.betta", "did you mean 'beta'"]),
    "bad value": (["chip.tile.node_adc.bits=1,4"], ["sweep.axes[0]", "chip.tile.node_adc.bits", ">= 2"]),
    "bad index": (["model.blocks.7.hidden=[3]"], ["sweep.axes[0]", "index 7 is out of range"]),
    "seed axis": (["seed=1,2"], ["sweep.axes[0].values.seed", "sweep.seeds"]),
    "overlap": (["training.beta=0.1", "training={beta: 0.2}"], ["sweep.axes[1]", "overlaps training.beta"]),
    "malformed": (["chip.tile.rows"], ["--sweep 'chip.tile.rows'", "KEY=V1,V2"]),
}


@pytest.mark.parametrize(("axes", "fragments"), ERRORS.values(), ids=ERRORS.keys())
def test_validation_errors_name_the_axis_and_the_key(axes, fragments):
    with pytest.raises(ConfigError) as err:
        expand(sweep_config(*axes))
    assert all(f in str(err.value) for f in fragments), str(err.value)


def test_yaml_sweep_errors():
    cases = {
        "sweep: {axes: [{values: {training.beta: [0.1], training.optimizer.lr: [0.1, 0.2]}}]}":
            ["sweep.axes[0].values.training.optimizer.lr", "has 2 values but training.beta has 1"],
        "sweep: {axes: [{values: {training.beta: []}}]}": ["sweep.axes[0].values.training.beta", "non-empty list"],
        "sweep: {axes: [{values: {}}]}": ["sweep.axes[0].values", "at least one key"],
        "sweep: {seeds: [1, 1]}": ["sweep.seeds", "distinct"],
        "sweep: {axes: [{name: a, values: {seed: [1]}}]}": ["cannot be swept"],
        "sweep: {axes: [{name: x, values: {training.beta: [0.1]}}, {name: x, values: {training.epochs: [1]}}]}":
            ["sweep.axes[1].name", "labelled 'x'"],
        "sweep: {axes: [{values: {training.beta: [0.1, .inf]}}]}": ["finite"],
    }
    for text, fragments in cases.items():
        with pytest.raises(ConfigError) as err:
            load_config(text)
        assert all(f in str(err.value) for f in fragments), (text, str(err.value))


def test_combinations_and_duplicates_are_checked_when_expanding():
    config = sweep_config("chip.tile.device.g_min_S=1e-9,5e-6", "chip.tile.device.g_max_S=4e-6,1e-4")  # each valid
    with pytest.raises(ConfigError, match=r"sweep point .*g_min_S=5.0e-06, chip.tile.device.g_max_S=4.0e-06"):
        expand(config)
    with pytest.raises(ConfigError, match="resolve to the same config"):
        expand(sweep_config("chip.tile.device.read_noise=0,0.0"))


def test_sweeping_a_knob_of_an_ideal_converter_is_flagged():
    config = sweep_config(BITS)  # tiny.yaml's converters are ideal
    notes = inert_keys(config, expand(config))
    assert len(notes) == 2 and "chip.tile.node_adc.ideal is true" in notes[0]
    real = sweep_config(BITS, overrides=["chip.tile.node_adc.ideal=false", "chip.tile.current_adc.ideal=false"])
    assert inert_keys(real, expand(real)) == []


# --------------------------------------------------------------------------------- running, resuming

KILLER = """
import os, sys
from cosim.learning.train import Trainer
from cosim.sweep import load_sweep, run_sweep

original, seen = Trainer.train_epoch, []

def train_epoch(self, epoch, epochs):
    seen.append(epoch)
    if seen.count(1) == 3:  # the third point, in its second epoch: its first epoch is checkpointed
        os._exit(9)         # no cleanup, no finally: like kill -9
    original(self, epoch, epochs)

Trainer.train_epoch = train_epoch
run_sweep(load_sweep(sys.argv[1], [], [sys.argv[3]], "0,1"), sys.argv[2], workers=0, progress=False)
"""


def test_resume_after_a_kill_skips_finished_points_and_continues_the_killed_one(tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    axis = "chip.tile.device.read_noise=0,0.02"
    killed = subprocess.run([sys.executable, "-c", KILLER, TINY, out, axis], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    config = sweep_config(axis)
    points = expand(config)
    dirs = [point_dir(out, p) for p in points]
    assert [(d / "done.json").exists() for d in dirs] == [True, True, False, False]
    assert (dirs[2] / "checkpoint.h5").exists() and not dirs[3].exists()
    assert [row.status for row in aggregate(config, out)] == ["done", "done", "pending", "pending"]
    finished = {d: (d / "done.json").stat().st_mtime_ns for d in dirs[:2]}

    with pytest.raises(CosimError, match="--resume"):
        run_sweep(config, out, workers=0, progress=False)
    trained, original = [], Trainer.train_epoch
    monkeypatch.setattr(Trainer, "train_epoch", lambda self, epoch, epochs: (trained.append(epoch),
                                                                            original(self, epoch, epochs)))
    rows = run_sweep(config, out, workers=0, resume=True, progress=False)
    assert trained == [1, 0, 1]  # the killed point's second epoch, then the unstarted point
    assert [row.status for row in rows] == ["done"] * 4
    assert {d: (d / "done.json").stat().st_mtime_ns for d in dirs[:2]} == finished
    with h5py.File(dirs[2] / "results.h5") as f:
        assert f["metrics"]["test_accuracy"].shape == (2,)
    assert not list(out.rglob(".*.tmp"))


def test_a_half_written_point_is_rerun_cleanly(tmp_path):
    config = sweep_config("training.beta=0.1", seeds="0")
    directory = point_dir(tmp_path, expand(config)[0])
    directory.mkdir(parents=True)
    (directory / ".results.h5.tmp").write_bytes(b"\0" * 100)  # a write cut off by a kill
    (directory / "error.txt").write_text("Traceback ...\nRuntimeError: an earlier session failed\n")
    rows = run_sweep(config, tmp_path, workers=0, resume=True, progress=False)
    assert rows[0].status == "done" and not (directory / "error.txt").exists()
    record = json.loads((directory / "done.json").read_text())
    assert record["status"] == "done" and 0 <= record["summary"]["final_test_accuracy"] <= 1


def test_a_failing_point_is_recorded_and_the_others_finish(tmp_path, capsys):
    sweep = "chip.tile.buffer.capacity_bytes=100,262144"
    args = ["sweep", TINY, "--out", tmp_path, "--workers", "0", "--no-progress", "--sweep", sweep, "--seeds", "0"]
    assert cli.main([str(a) for a in args]) == 1  # a tile buffer of 100 B cannot hold a batch of EP readings
    printed = capsys.readouterr().out
    assert "FAILED chip.tile.buffer.capacity_bytes=100, seed=0" in printed and "must hold the EP readings" in printed
    config = sweep_config(sweep, seeds="0")
    bad, good = (point_dir(tmp_path, p) for p in expand(config))
    assert "Traceback" in (bad / "error.txt").read_text() and not (bad / "done.json").exists()
    assert (good / "done.json").exists()
    lines = (tmp_path / "sweep.csv").read_text().splitlines()
    assert lines[0].startswith("chip.tile.buffer.capacity_bytes,seed,status,final_test_accuracy")
    assert lines[1].startswith("100,0,failed,nan") and "buffer" in lines[1] and lines[2].startswith("262144,0,done,")
    assert cli.main([str(a) for a in args] + ["--aggregate-only"]) == 0
    assert "0/1 (1 failed)" in capsys.readouterr().out


CRASH_IN_WORKER = """
import os
import cosim.runner

_run = cosim.runner.run

def run(config, out, *args, **kwargs):
    if config.training.beta == 0.25:
        os._exit(7)  # the worker process dies in the middle of this point
    return _run(config, out, *args, **kwargs)

cosim.runner.run = run
"""


def test_dask_local_cluster_runs_points_in_pinned_workers_and_survives_a_crashed_worker(tmp_path, monkeypatch):
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(textwrap.dedent(CRASH_IN_WORKER))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path / 'hook'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    config = sweep_config("training.beta=0.1,0.25,0.5", seeds="0", overrides=["training.epochs=1"])
    with dask_client(2, None) as client:
        environ = client.run(lambda: {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
                                                                     "OMP_NUM_THREADS")})
        assert len(environ) == 2 and all(set(env.values()) == {"1"} for env in environ.values())
        rows = run_sweep(config, tmp_path / "sweep", scheduler=client.scheduler.address, progress=False)
    assert [row.status for row in rows] == ["done", "failed", "done"]
    assert "KilledWorker" in rows[1].error
    pids = {json.loads((point_dir(tmp_path / "sweep", r.point) / "done.json").read_text())["pid"] for r in rows[::2]}
    assert os.getpid() not in pids


def _slow_exit() -> None:
    import atexit
    import time
    atexit.register(time.sleep, 4.5)  # a worker process that takes long to exit, as on a loaded machine


def test_closing_the_cluster_waits_for_slowly_exiting_workers_without_warnings(capfd):
    with dask_client(1, None) as client:
        client.run(_slow_exit)
    assert "still alive" not in capfd.readouterr().err


# ------------------------------------------------------------------------------------------ aggregation


def test_aggregation_of_a_finished_sweep(tmp_path, capsys):
    args = ["sweep", TINY, "--out", tmp_path, "--workers", "0", "--no-progress", "--sweep", "training.beta=0.1,0.3",
            "--sweep", "chip.tile.device.read_noise=0,0.02", "--seeds", "0,1", "--set", "training.epochs=1"]
    assert cli.main([str(a) for a in args]) == 0
    table = capsys.readouterr().out
    assert "training.beta" in table and "test accuracy" in table and " %" in table and table.count("2/2") == 4
    with h5py.File(tmp_path / "sweep.h5") as f:
        assert list(f["axes"]["training.beta"][()]) == [0.1] * 4 + [0.3] * 4
        assert list(f["keys"]["chip.tile.device.read_noise"][()]) == [0, 0, 0.02, 0.02] * 2
        assert list(f["points"]["seed"][()]) == [0, 1] * 4 and set(f["points"]["status"][()]) == {b"done"}
        for name in ("final_test_accuracy", "ep_id_cosine", "energy_per_training_sample_J", "wall_seconds"):
            assert (f["points"][name][()] > 0).all(), name
        assert yaml.safe_load(f.attrs["config"])["sweep"]["seeds"] == [0, 1]
    assert len((tmp_path / "sweep.csv").read_text().splitlines()) == 9
    assert (tmp_path / "report.html").stat().st_size > 20_000
    assert yaml.safe_load((tmp_path / "sweep.yaml").read_text())["sweep"]["axes"][0]["values"] == {
        "training.beta": [0.1, 0.3]}


def test_shipped_sweep_config_has_the_documented_grid():
    config = load_config(ROOT / "chip_configs" / "sweep_adc_noise.yaml")
    points = expand(config)
    assert len(points) == 6 * 3 * 3 and inert_keys(config, points) == []
    tile = load_config(points[0].config_yaml).chip.tile
    assert tile.output_adc.bits == tile.node_adc.bits == tile.current_adc.bits == 2
    assert tile.input_dac.bits == tile.nudge_dac.bits == 8 and tile.device.read_noise == 0


def test_two_local_clusters_start_without_a_port_warning():
    """A sweep beside another Dask cluster (another sweep, a notebook) must not warn about port 8787."""
    import warnings

    from cosim.sweep.run import dask_client

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with dask_client(1, None, processes=False) as first, dask_client(1, None, processes=False) as second:
            assert first.submit(abs, -1).result() == second.submit(abs, -2).result() - 1

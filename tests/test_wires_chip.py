"""Wired crossbars on the chip (chip.tile.wires): the full run path, zero-wire identity, readouts, the ledger,
per-tile overrides and rewiring the same programmed devices."""

import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim import cli
from cosim.analog import BCDSolver
from cosim.analog.resistive.wires import WiredSolver, wired_implicit_gradients
from cosim.build import rewire
from cosim.config import load_config
from cosim.config.schema import WiresConfig
from cosim.errors import ConfigError
from cosim.runner import prepare

CONFIGS = Path(__file__).parent / "configs"
TINY, TINY_WIRED = CONFIGS / "tiny.yaml", CONFIGS / "tiny_wired.yaml"
ZERO = [f"chip.tile.wires.{key}=0.0" for key in ("word_segment_ohm", "bit_segment_ohm", "driver_ohm", "sense_ohm")]
ZERO.append("chip.tile.diode.model=ideal")  # tiny_wired.yaml differs from tiny.yaml in its wires and diodes


def _results(out: Path) -> dict:
    with h5py.File(out / "results.h5") as f:
        metrics = {name: f["metrics"][name][()] for name in ("train_loss", "test_accuracy")}
        metrics["g"] = f["parameters"]["block1"]["conductances_S.0"][()]
    return metrics


def test_zero_wires_reproduce_the_wire_free_run_exactly(tmp_path):
    """The wired config with every resistance at 0 through `cosim run` is the wire-free run, bit for bit."""
    sets = [a for key in ZERO for a in ("--set", key)]
    assert cli.main(["run", str(TINY), "--out", str(tmp_path / "free"), "--no-progress"]) == 0
    assert cli.main(["run", str(TINY_WIRED), "--out", str(tmp_path / "zero"), "--no-progress", *sets]) == 0
    free, zero = _results(tmp_path / "free"), _results(tmp_path / "zero")
    for key in free:
        np.testing.assert_array_equal(free[key], zero[key])


def test_wired_tile_trains_with_the_wired_solver_and_books_wire_energy():
    session = prepare(load_config(TINY_WIRED, ["training.epochs=1"]))
    block = session.chain.blocks[1].block
    assert isinstance(block.solver, WiredSolver)
    session.trainer.fit(1)
    ledger = session.chip.ledger
    wires = sum(j for (component, _), j in ledger.energy.items() if component == "wires")
    devices = sum(j for (component, _), j in ledger.energy.items() if component == "crossbar")
    assert 0 < wires < devices


def test_wired_ep_through_the_tile_readout_matches_implicit_differentiation():
    session = prepare(load_config(TINY_WIRED, ["model.dtype=float64"]))
    analog = session.chain.blocks[1]
    block = analog.block
    x = np.random.default_rng(0).uniform(-1, 1, (8, block.network.input_width))
    block.forward(x)
    error = np.random.default_rng(1).standard_normal((8, block.network.output_width))
    ep = block.ep_gradients(1e-9, error=error, estimator="centred")
    free = block.free
    implicit = wired_implicit_gradients(block.solver.wired, free, block.solver.adjoint(free, error))
    for a, b in zip(ep.conductances + ep.biases, implicit.conductances + implicit.biases):
        cosine = (a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b)
        assert cosine > 0.9999
    assert np.allclose(ep.inputs, implicit.inputs, rtol=1e-3, atol=1e-6 * np.abs(implicit.inputs).max())


def test_wires_per_tile_override_and_rewire_keep_the_devices():
    config = load_config(TINY, ["chip.tiles=[{tile: 0, set: {wires.word_segment_ohm: 100.0}}]"])
    session = prepare(config)
    block, tile = session.chain.blocks[1].block, session.chip.tiles[0]
    assert isinstance(block.solver, WiredSolver) and tile.wires is not None
    devices = block.network.conductances
    x = np.random.default_rng(0).uniform(-1, 1, (4, block.network.input_width))
    wired_out = block.forward(x).copy()
    rewire(session.chain, session.chip, {0: WiresConfig()})
    assert isinstance(block.solver, BCDSolver) and tile.wires is None
    assert block.network.conductances is devices
    free_out = block.forward(x)
    assert np.abs(free_out - wired_out).max() > 0
    rewire(session.chain, session.chip, {0: WiresConfig(word_segment_ohm=100.0)})
    np.testing.assert_allclose(block.forward(x), wired_out, atol=1e-9)
    with pytest.raises(ConfigError, match="tile 5"):
        rewire(session.chain, session.chip, {5: WiresConfig()})


def test_wires_need_the_bcd_relaxation():
    with pytest.raises(ConfigError, match="bcd"):
        prepare(load_config(TINY_WIRED, ["model.blocks.1.relaxation.kind=rc"]))


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")
def test_spice_check_agrees_on_a_wired_tile_to_1e_9_volt(tmp_path, capsys):
    assert cli.main(["export-spice", str(TINY_WIRED), "--out", str(tmp_path), "--samples", "1"]) == 0
    netlist = next(tmp_path.glob("tile0_*.cir")).read_text()
    assert "RW0_" in netlist and "RB0_" in netlist
    capsys.readouterr()
    assert cli.main(["spice-check", str(TINY_WIRED), "--phase", "all", "--tol", "1e-9"]) == 0
    assert re.search(r"shockley\s+6\s+20\s.*ok", capsys.readouterr().out)


# ------------------------------------------------------------------------------ crossbars partitioned over arrays
ARRAYS = ["--set", "chip.tile.rows=8", "--set", "chip.tile.columns=4"]  # tiny's 24 x 10 and 10 x 10 crossbars: 3 x 3, 2 x 3


def test_partitioned_crossbars_without_wires_run_bit_for_bit_as_one_array(tmp_path):
    assert cli.main(["run", str(TINY), "--out", str(tmp_path / "one"), "--no-progress"]) == 0
    assert cli.main(["run", str(TINY), "--out", str(tmp_path / "split"), "--no-progress", *ARRAYS]) == 0
    one, split = _results(tmp_path / "one"), _results(tmp_path / "split")
    for key in one:
        np.testing.assert_array_equal(one[key], split[key])
    with h5py.File(tmp_path / "one" / "results.h5") as a, h5py.File(tmp_path / "split" / "results.h5") as b:
        np.testing.assert_array_equal(a["energy"]["per_phase_J"][()], b["energy"]["per_phase_J"][()])


def test_mapping_report_and_export_count_the_arrays(tmp_path):
    session = prepare(load_config(TINY, ARRAYS[1::2]))
    report = session.chip.describe()
    assert "15 arrays of 8 x 4 (crossbar 0: 3 x 3, 72 drivers, 30 sense ends; crossbar 1: 2 x 3, 30 drivers, " \
        "20 sense ends)" in report
    assert cli.main(["run", str(TINY), "--out", str(tmp_path / "run"), "--no-progress", "--set", "training.epochs=1",
                     *ARRAYS]) == 0
    assert cli.main(["export", str(tmp_path / "run"), "--out", str(tmp_path / "export")]) == 0
    readme = (tmp_path / "export" / "README.md").read_text()
    assert "| 24 x 10, 10 x 10 | 15 of 8 x 4: 3 x 3, 2 x 3 |" in readme
    with np.load(tmp_path / "export" / "tile0.npz") as data:
        assert (int(data["array_rows"]), int(data["array_columns"])) == (8, 4)


def test_partitioned_wired_tile_is_exact_and_loses_less_to_ir_drop():
    """Smaller arrays: the same network with shorter lines; KCL <= 1e-9 at every node of the partitioned tile."""
    from cosim.analog.resistive.wires import kirchhoff_residuals

    outputs = {}
    for arrays in ([], ARRAYS[1::2]):
        session = prepare(load_config(TINY_WIRED, ["solver.tol=1e-14", *arrays]))  # the wired solver's default
        block = session.chain.blocks[1].block
        x = np.random.default_rng(0).uniform(-1, 1, (4, block.network.input_width))
        outputs[len(arrays)] = block.forward(x).copy()
        assert max(kirchhoff_residuals(block.solver.wired, block.free).values()) <= 1e-9
    rewire(session.chain, session.chip, {0: WiresConfig()})
    ideal = block.forward(x)
    assert 0 < np.abs(outputs[2] - ideal).max() < np.abs(outputs[0] - ideal).max()


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")
def test_spice_check_agrees_on_a_partitioned_wired_tile(tmp_path, capsys):
    assert cli.main(["export-spice", str(TINY_WIRED), "--out", str(tmp_path), "--samples", "1", *ARRAYS]) == 0
    netlist = next(tmp_path.glob("tile0_*.cir")).read_text()
    assert "RD0_5_8 " in netlist and "RS0_9_16 " in netlist  # the drivers of the third column / row of arrays
    capsys.readouterr()
    assert cli.main(["spice-check", str(TINY_WIRED), "--phase", "all", "--tol", "1e-9", *ARRAYS]) == 0
    assert re.search(r"shockley\s+6\s+20\s.*ok", capsys.readouterr().out)

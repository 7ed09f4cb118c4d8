"""SPICE export and validation: netlist writer and wrdata parser (no ngspice needed), round trips through
ngspice on random networks (both diode kinds, amplifiers, free and nudged phases), clean errors, and the
export-spice / spice-check commands on the tiny config."""

import re
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim import cli
from cosim.analog import Amplifier, IdealDiode, Nudge, ResistiveNetwork, ShockleyDiode
from cosim.errors import CosimError
from cosim.spice import ngspice
from cosim.spice.check import CaseResult, TileCase, TileReport, compare_case, expected_difference, reference
from cosim.spice.netlist import (SpiceSettings, circuit_lines, node_name, spice_number, spice_temperature_celsius,
                                 write_netlist)

TINY = Path(__file__).parent / "configs" / "tiny.yaml"
HAVE_NGSPICE = shutil.which("ngspice") is not None
needs_ngspice = pytest.mark.skipif(not HAVE_NGSPICE, reason="ngspice is not installed (sudo apt-get install ngspice)")


def random_network(sizes, diode=IdealDiode(), amplified=False, seed=0, rails=0.05):
    rng = np.random.default_rng(seed)
    n_hidden = len(sizes) - 2
    amplifiers = None
    if amplified:
        amplifiers = [Amplifier(float(rng.uniform(1.2, 3.0)), float(rng.uniform(0.2, 0.9))) for _ in sizes[1:]]
    return ResistiveNetwork(
        [rng.uniform(1e-7, 1e-5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])],
        biases=[rng.normal(0, 2e-6, n) for n in sizes[1:]],
        lower_rails=[-rails * (1 + m) for m in range(n_hidden)], upper_rails=[rails * (1 + m) for m in range(n_hidden)],
        diode=diode, amplifiers=amplifiers, duplicate_inputs=True)


def case_for(network, phase="free", seed=1, target=False):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, network.input_width)
    nudge = None
    if phase != "free":
        beta = 1e-6 if phase == "plus" else -1e-6
        n_out = network.output_width
        nudge = (Nudge(beta, target=rng.uniform(-0.1, 0.1, (1, n_out))) if target
                 else Nudge(beta, error=rng.normal(size=(1, n_out))))
    return TileCase(0, 1, 0, phase, network, x, nudge)


# ------------------------------------------------------------------------------ writer, without ngspice
def test_tile_report_takes_the_worst_case_sums_the_times_and_passes_only_if_every_case_does():
    case = case_for(random_network((4, 3, 2), ShockleyDiode()))
    results = [CaseResult(case, 2e-7, 4e-14, 5, 0.5, 2.0, 1e-6), CaseResult(case, 3e-6, 9e-12, 5, 0.25, 1.0, 2e-6)]
    report = TileReport(0, 1, (4, 3, 2), results)
    assert (report.max_abs, report.tolerance, report.cosim_seconds, report.spice_seconds) == (3e-6, 2e-6, 0.75, 3.0)
    assert not report.passed and report.diodes == "shockley" and report.nodes == 5
    assert report.rms == pytest.approx(np.sqrt((4e-14 + 9e-12) / 10))
    assert TileReport(0, 1, (4, 3, 2), results[:1]).passed


def test_netlist_has_one_element_per_circuit_part():
    net = random_network([8, 3, 2], amplified=True)
    netlist = write_netlist(net, np.linspace(-1, 1, 4), Nudge(1e-6, error=np.ones((1, 2))))
    counts = netlist.element_counts()
    gaps = 8 + 3  # amplified rows: input nodes of gap 0, hidden nodes of gap 1
    assert counts == {
        "V": 8 + 2 + gaps,  # input sources, two rails, one ammeter per amplified row
        "R": 8 * 3 + 3 * 2,
        "E": gaps, "F": gaps,
        "I": 3 + 2 + 2,  # biases of layers 1 and 2, nudge currents
        "D": 2 * 3,
    }
    assert netlist.nodes == (tuple(f"l0_{i}" for i in range(8)), ("l1_0", "l1_1", "l1_2"), ("l2_0", "l2_1"))
    assert node_name(2, 5) == "l2_5"
    control = netlist.text.split(".control")[1]
    for line in ("option numdgt=15", "set wr_singlescale", "set wr_vecnames", "op", "quit"):
        assert f"\n{line}\n" in control
    assert "wrdata op.out " + " ".join(netlist.vectors) in control
    assert netlist.text.splitlines()[0].startswith("* cosim resistive network 8-3-2")


def test_plain_network_without_diodes_or_amplifiers():
    rng = np.random.default_rng(2)
    w = [rng.uniform(1e-6, 1e-5, (4, 3))]
    w[0][1, 2] = 0.0  # an open circuit: no element
    net = ResistiveNetwork(w)
    counts = write_netlist(net, [0.1, 0.2, 0.3, 0.4]).element_counts()
    assert counts == {"V": 4, "R": 11, "I": 3}


def test_values_are_written_at_full_precision():
    net = random_network([6, 4, 3], diode=ShockleyDiode(3.3e-15, 1.7, 310.0))
    x = np.random.default_rng(3).uniform(-1, 1, 3)
    text = write_netlist(net, x).text
    resistors = {m[0]: float(m[1]) for m in re.findall(r"^(R\S+) \S+ \S+ (\S+)$", text, re.M)}
    for (i, j), g in np.ndenumerate(net.conductances[1]):
        assert resistors[f"R1_{i}_{j}"] == 1.0 / g  # %.17g round-trips a float64 exactly
    sources = dict(re.findall(r"^VIN(\d+) \S+ 0 DC (\S+)$", text, re.M))
    np.testing.assert_array_equal([float(sources[str(i)]) for i in range(6)], np.concatenate([x, -x]))
    assert ".model dclamp D(IS=3.3e-15 N=1.7)" in text
    assert spice_number(0.1) == "0.10000000000000001"
    temp = spice_temperature_celsius(310.0)
    assert f"TEMP={spice_number(temp)} TNOM={spice_number(temp)}" in text
    assert 36.85 < temp < 36.8502  # ngspice's kT/q is 3.4e-7 smaller than cosim's: a slightly higher T


def test_diode_polarity_and_target_nudges():
    net = random_network([4, 2, 2])
    plus = write_netlist(net, [0.5, -0.5], Nudge(2e-6, target=np.array([[0.1, -0.1]]))).text
    assert "DL1_0 rail0 l1_0 dclamp" in plus and "DU1_0 l1_0 rail1 dclamp" in plus
    assert "VR0 rail0 0 DC -0.050000000000000003" in plus
    assert "RN1 l2_1 t1 500000" in plus and "VT1 t1 0 DC -0.10000000000000001" in plus
    minus = write_netlist(net, [0.5, -0.5], Nudge(-2e-6, target=np.array([[0.1, -0.1]]))).text
    assert "GN0 0 l2_0 t0 l2_0 -1.9999999999999999e-06" in minus
    with pytest.raises(CosimError, match="one sample of 2 outputs"):
        write_netlist(net, [0.5, -0.5], Nudge(1e-6, error=np.ones((2, 2))))


def test_circuit_lines_drop_title_comments_and_control():
    text = "* title\n* comment\nR1 a 0 1\n.control\nop\n.endc\n.end\n"
    assert circuit_lines(text) == ["R1 a 0 1", ".end"]


def test_wrdata_parser():
    text = (" l0_0                   v(l1_0)                v(l1_1)\n"
            " 1.000000000000000e+00  6.759704261808869e-01 -1.050000000000000e+00\n")
    assert ngspice.parse_wrdata(text, ["v(l1_0)", "v(L1_1)"]) == {"l1_0": 0.6759704261808869, "L1_1": -1.05}
    with pytest.raises(ngspice.SpiceError, match="lacks 1 vectors"):
        ngspice.parse_wrdata(text, ["v(l2_0)"])
    with pytest.raises(ngspice.SpiceError, match="unexpected wrdata output"):
        ngspice.parse_wrdata(text + text, ["v(l1_0)"])


def test_error_quoting_prefers_ngspice_error_lines():
    log = "Circuit: x\nError on line 3 :\n  r1 a\nsome note\nngspice-39 done\n"
    assert ngspice.quote_errors(log) == "Error on line 3 :"
    assert ngspice.quote_errors("") == "(ngspice printed nothing)"


def test_missing_ngspice_is_one_clear_error(monkeypatch, capsys):
    monkeypatch.setattr(ngspice.shutil, "which", lambda name: None)
    netlist = write_netlist(random_network([2, 1]), [0.3])
    with pytest.raises(ngspice.NgspiceMissingError, match="sudo apt-get install ngspice"):
        ngspice.run(netlist)
    assert cli.main(["spice-check", str(TINY)]) == 2
    assert "sudo apt-get install ngspice" in capsys.readouterr().err


def test_shared_backend_without_pyspice_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "PySpice.Spice.NgSpice.Shared", None)  # import fails
    with pytest.raises(ngspice.NgspiceMissingError, match="PySpice is not installed.*--backend batch"):
        ngspice.run(write_netlist(random_network([2, 1]), [0.3]), backend="shared")


# ------------------------------------------------------------------------------- round trips, ngspice
SHAPES = [(4, 3, 2), (6, 5, 4, 3), (8, 2), (2, 7, 1)]


@needs_ngspice
@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("amplified", [False, True], ids=["plain", "amplified"])
@pytest.mark.parametrize("phase", ["free", "plus", "minus"])
def test_shockley_round_trip_agrees_to_a_microvolt(sizes, amplified, phase):
    net = random_network(sizes, ShockleyDiode(1e-12, 0.1), amplified, seed=len(sizes), rails=0.02)
    case = case_for(net, phase, target=(phase == "minus" and amplified))
    result = compare_case(case, tol=1e-6)
    assert result.passed, result.max_abs
    assert result.max_abs < 1e-8  # typically 1e-11 V: far inside the tolerance
    assert result.nodes == sum(sizes[1:])


@needs_ngspice
@pytest.mark.parametrize("sizes", SHAPES[:3], ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("phase", ["free", "plus", "minus"])
def test_ideal_round_trip_differs_by_the_stand_in_diode_drop(sizes, phase):
    net = random_network(sizes, seed=7 + len(sizes), rails=0.01)
    case = case_for(net, phase, seed=len(sizes))
    layers, _ = reference(case)
    drop = expected_difference(case, layers, SpiceSettings())
    result = compare_case(case)
    assert result.passed and result.tolerance == pytest.approx(1e-6 + drop)
    if len(sizes) > 2:  # hidden nodes clamp here; the drop is what separates the tools
        assert 1e-4 < drop < 1e-3 and result.max_abs > 0.3 * drop
    tighter = compare_case(case, settings=SpiceSettings(ideal_emission_coefficient=1e-4))
    assert tighter.max_abs <= 0.2 * max(result.max_abs, 1e-12) + 1e-9  # the difference scales with N


@needs_ngspice
def test_shared_backend_matches_batch():
    pytest.importorskip("PySpice")
    case = case_for(random_network((6, 4, 3), ShockleyDiode(1e-12, 0.1), True), "plus")
    try:
        shared = compare_case(case, backend="shared")
    except ngspice.NgspiceMissingError as err:
        pytest.skip(str(err))
    batch = compare_case(case, backend="batch")
    assert shared.max_abs < 1e-8 and batch.max_abs < 1e-8


@needs_ngspice
@pytest.mark.parametrize("backend", ["batch", "shared"])
def test_broken_netlist_quotes_ngspice(backend):
    if backend == "shared":
        pytest.importorskip("PySpice")
    good = write_netlist(random_network([4, 2, 2]), [0.2, 0.4])
    broken = type(good)(good.text.replace(".model dclamp D(", ".model dclamp NOSUCHTYPE("), good.nodes,
                        good.output_file)
    try:
        with pytest.raises(ngspice.SpiceError, match="ngspice .*(dclamp|model|error)") as info:
            ngspice.run(broken, backend)
    except ngspice.NgspiceMissingError as err:
        pytest.skip(str(err))
    assert "|" in str(info.value) or "rror" in str(info.value)


@needs_ngspice
def test_netlist_without_an_analysis_is_an_error():
    netlist = write_netlist(random_network([4, 2, 2]), [0.2, 0.4])
    missing_op = type(netlist)(netlist.text.replace("\nop\n", "\n"), netlist.nodes, netlist.output_file)
    with pytest.raises(ngspice.SpiceError, match="ngspice failed"):
        ngspice.run(missing_op)


# ------------------------------------------------------------------------------------------------ CLI
@needs_ngspice
def test_export_spice_writes_one_netlist_per_tile_sample_and_phase(tmp_path, capsys):
    assert cli.main(["export-spice", str(TINY), "--out", str(tmp_path), "--phase", "all", "--samples", "2"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"tile0_sample{s}_{p}.cir" for s in (0, 1) for p in ("free", "plus", "minus"))
    free = (tmp_path / "tile0_sample0_free.cir").read_text()
    plus = (tmp_path / "tile0_sample0_plus.cir").read_text()
    assert "tile 0 = model.blocks[1], test sample 0, phase free" in free
    assert "wrdata tile0_sample0_free.out" in free and "IN0 0 l2_0 DC" in plus and "\nIN0 " not in free
    assert free.count("\nR0_") == 24 * 10 and free.count("\nVIN") == 24
    result = ngspice.run_batch(_as_netlist(free, "tile0_sample0_free.out"), workdir=tmp_path / "run")
    assert len(result.voltages) == 24 + 10 + 10


def _as_netlist(text, output_file):
    from cosim.spice.netlist import Netlist

    sizes = (24, 10, 10)
    return Netlist(text, tuple(tuple(node_name(m, i) for i in range(n)) for m, n in enumerate(sizes)), output_file)


@needs_ngspice
def test_spice_check_passes_on_the_tiny_config(capsys):
    assert cli.main(["spice-check", str(TINY), "--phase", "all"]) == 0
    out = capsys.readouterr().out
    assert "24-10-10" in out and re.search(r"ideal\s+6\s+20\s.*ok", out)


@needs_ngspice
def test_spice_check_fails_above_tolerance_and_names_bad_tiles(capsys):
    assert cli.main(["spice-check", str(TINY), "--tol", "1e-15", "--samples", "1",
                     "--set", "model.blocks.1.lower_rail_V=-0.001", "--set", "model.blocks.1.upper_rail_V=0.001"]) == 1
    assert "FAIL: tile(s) 0" in capsys.readouterr().out
    assert cli.main(["spice-check", str(TINY), "--tile", "3"]) == 2


@needs_ngspice
def test_export_from_a_trained_run_uses_its_conductances(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["run", str(TINY), "--out", str(run), "--no-progress", "--set", "training.epochs=1"]) == 0
    with h5py.File(run / "results.h5") as f:
        g = f["parameters"]["block1"]["conductances_S.1"][()]
    assert cli.main(["export-spice", str(TINY), "--out", str(tmp_path / "nets"), "--samples", "1",
                     "--from", str(run / "results.h5")]) == 0
    text = (tmp_path / "nets" / "tile0_sample0_free.cir").read_text()
    assert f"R1_3_4 l1_3 l2_4 {spice_number(1.0 / g[3, 4])}" in text
    assert cli.main(["spice-check", str(TINY), "--samples", "1", "--phase", "plus",
                     "--from", str(run / "results.h5")]) == 0
    capsys.readouterr()
    assert cli.main(["export-spice", str(TINY), "--out", str(tmp_path / "x"), "--from", str(run / "results.h5"),
                     "--set", "model.blocks.1.hidden=[7]"]) == 2
    assert "parameters/block1/conductances_S.0 is shape (24, 10)" in capsys.readouterr().err


def test_export_spice_names_tiles_by_the_chips_mapping(tmp_path, capsys):
    """Regression: tiles were numbered by counting analog blocks, ignoring chip.mapping."""
    mapped = ["--set", "chip.mapping=[3]"]
    assert cli.main(["export-spice", str(TINY), "--out", str(tmp_path), "--tile", "3", "--samples", "1", *mapped]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tile3_sample0_free.cir"]
    assert "tile 3 = model.blocks[1]" in (tmp_path / "tile3_sample0_free.cir").read_text()
    capsys.readouterr()
    assert cli.main(["export-spice", str(TINY), "--out", str(tmp_path / "x"), "--tile", "0", *mapped]) == 2
    assert "no tile 0: the model's analog blocks sit on tile(s) 3 (model.blocks[1])" in capsys.readouterr().err

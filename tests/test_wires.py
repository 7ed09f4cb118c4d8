"""Crossbars with real wires (cosim.analog.resistive.wires): exactness, zero-wire identity, gradients, outside simulators."""

import shutil
import warnings

import numpy as np
import pytest
from analog_cases import CASES, make_network, make_inputs

from cosim.analog import BCDSolver, ConvergenceWarning, Nudge
from cosim.analog.resistive.wires import (WiredNetwork, WiredSolver, WireLayout, kirchhoff_residuals, wired_ep_gradients,
                                wired_implicit_gradients)
from cosim.analog.resistive.wires.reference import grounded_crossbar
from cosim.errors import ConvergenceError, ParameterError

LAYOUT = WireLayout(2.0, 3.0, 50.0, 20.0)
FLIPPED = WireLayout(2.0, 3.0, 50.0, 20.0, word_driven_at="last", bit_sensed_at="first")
#: every crossbar cut into arrays of 3 word lines x 2 bit lines (uneven last arrays), word lines driven at the right
PARTITIONED = WireLayout(2.0, 3.0, 50.0, 20.0, word_driven_at="last", array_rows=3, array_columns=2)
LAYOUTS = {"default-ends": LAYOUT, "flipped-ends": FLIPPED, "partitioned": PARTITIONED}


def _solver(case, layout=LAYOUT, dtype=np.float64, **kw):
    wired = WiredNetwork(make_network(case, dtype=dtype), layout)
    return wired, WiredSolver(wired, max_sweeps=20000, on_unconverged="raise", **kw)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_kirchhoff_holds_at_every_layer_and_wire_node(case, layout):
    wired, solver = _solver(case, layout)
    x = make_inputs(wired.network, 4)
    for nudge in (None, Nudge(1e-6, error=np.ones((4, wired.network.output_width)))):
        eq = solver.relax(x, nudge)
        worst = kirchhoff_residuals(wired, eq)
        assert max(worst.values()) <= 1e-9, worst


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize("arrays", [(0, 0), (3, 2)], ids=["one-array", "partitioned"])
def test_zero_wires_reproduce_the_wire_free_solve_exactly(case, arrays):
    network = make_network(case)
    x = make_inputs(network, 3)
    ideal = BCDSolver(network).relax(x)
    wired = WiredSolver(WiredNetwork(network, WireLayout(array_rows=arrays[0], array_columns=arrays[1]))).relax(x)
    for a, b in zip(ideal.layers, wired.layers):
        np.testing.assert_array_equal(a, b)


def test_arrays_as_large_as_the_crossbar_are_the_unpartitioned_crossbar():
    network = make_network(CASES[3])
    x = make_inputs(network, 2)
    whole = WiredSolver(WiredNetwork(network, LAYOUT)).relax(x)
    big = WireLayout(2.0, 3.0, 50.0, 20.0, array_rows=max(network.sizes), array_columns=max(network.sizes))
    same = WiredSolver(WiredNetwork(network, big)).relax(x)
    for a, b in zip([*whole.layers, *whole.word_lines, *whole.bit_lines], [*same.layers, *same.word_lines, *same.bit_lines]):
        np.testing.assert_array_equal(a, b)
    assert big.arrays(*network.sizes[:2]) == (1, 1) and PARTITIONED.arrays(10, 7) == (4, 4)
    assert PARTITIONED.pieces(2, 7) == (2, 2)


def test_partitioning_shortens_the_lines():
    """The same crossbar on smaller arrays loses less to IR drop: its outputs lie nearer the wire-free ones."""
    network = make_network(CASES[0])
    x = make_inputs(network, 2)
    ideal = BCDSolver(network, tol=1e-14).relax(x).output
    errors = [np.abs(WiredSolver(WiredNetwork(network, WireLayout(200.0, 200.0, array_rows=r, array_columns=c)))
                     .relax(x).output - ideal).max() for r, c in ((0, 0), (4, 4), (2, 2))]
    assert errors[0] > errors[1] > errors[2] > 0


def test_tiny_wires_converge_to_the_wire_free_solution():
    """The wired kernel itself (one crossbar with wires, the other without) tends to the wire-free network."""
    network = make_network(CASES[1])
    x = make_inputs(network, 3)
    ideal = BCDSolver(network, tol=1e-14, max_sweeps=20000).relax(x)
    layouts = [WireLayout(1e-9, 1e-9, 1e-9, 1e-9)] + [WireLayout()] * (network.n_layers - 1)
    wired = WiredSolver(WiredNetwork(network, layouts), max_sweeps=20000).relax(x)
    np.testing.assert_allclose(wired.output, ideal.output, atol=1e-9)


def test_float32_warm_start_and_batch_independence():
    wired, solver = _solver(CASES[3])
    x = make_inputs(wired.network, 5)
    reference = solver.relax(x)
    single = solver.relax(x[2:3])
    np.testing.assert_allclose(single.output[0], reference.output[2], atol=1e-12)
    warm = solver.relax(x, init=reference)
    assert warm.info.sweeps <= 2
    wired32 = WiredNetwork(wired.network.astype(np.float32), LAYOUT)
    eq32 = WiredSolver(wired32).relax(x.astype(np.float32))
    assert eq32.output.dtype == np.float32 and eq32.word_lines[0].dtype == np.float32
    np.testing.assert_allclose(eq32.output, reference.output, atol=1e-4)


def test_unconverged_solve_is_reported():
    wired = WiredNetwork(make_network(CASES[1]), LAYOUT)
    x = make_inputs(wired.network, 2)
    with pytest.warns(ConvergenceWarning):
        eq = WiredSolver(wired, max_sweeps=1).relax(x)
    assert not eq.info.converged
    with pytest.raises(ConvergenceError):
        WiredSolver(wired, max_sweeps=1, on_unconverged="raise").relax(x)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_over_relaxed_sweeps_reach_the_plain_gauss_seidel_solution(case, layout):
    """Adaptive block SOR (the default) and plain block Gauss-Seidel (omega = 1) find the same operating point."""
    wired, sor = _solver(case, layout)
    _, plain = _solver(case, layout, omega=1.0)
    x = make_inputs(wired.network, 3)
    for nudge in (None, Nudge(1e-6, error=np.ones((3, wired.network.output_width)))):
        a, b = sor.relax(x, nudge), plain.relax(x, nudge)
        for u, v in zip([*a.layers, *a.word_lines, *a.bit_lines], [*b.layers, *b.word_lines, *b.bit_lines]):
            np.testing.assert_allclose(u, v, rtol=0, atol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_kcl_certificate_bounds_the_true_residual(case, layout):
    """With a loose voltage test, the KCL certificate alone decides when to stop: what it certifies holds."""
    wired, solver = _solver(case, layout, tol=0.5, kcl_tol=1e-9)
    x = make_inputs(wired.network, 4)
    eq = solver.relax(x)
    assert eq.info.converged
    assert max(kirchhoff_residuals(wired, eq).values()) <= 1e-9


def test_sor_never_returns_an_unconverged_state_silently():
    """A cap hit while over-relaxing, or after the voltage test passed but before KCL was certified, is reported."""
    wired = WiredNetwork(make_network(CASES[0]), WireLayout(200.0, 200.0, 50.0, 20.0))
    x = make_inputs(wired.network, 2)
    full = WiredSolver(wired, max_sweeps=20000, on_unconverged="raise").relax(x)
    assert full.info.sweeps > 3
    for cap in sorted({int(c) for c in np.linspace(1, full.info.sweeps - 1, 8)}):
        with pytest.warns(ConvergenceWarning):
            assert not WiredSolver(wired, max_sweeps=cap).relax(x).info.converged
    strict = WiredSolver(wired, tol=0.5, kcl_tol=1e-300, max_sweeps=2)
    with pytest.warns(ConvergenceWarning):
        assert not strict.relax(x).info.converged


def test_solver_settings_are_validated():
    wired = WiredNetwork(make_network(CASES[0]), LAYOUT)
    with pytest.raises(ParameterError, match="omega"):
        WiredSolver(wired, omega=2.0)
    with pytest.raises(ParameterError, match="kcl_tol"):
        WiredSolver(wired, kcl_tol=-1.0)


def test_layout_validation():
    with pytest.raises(ParameterError, match="word_segment_ohm"):
        WireLayout(-1.0)
    with pytest.raises(ParameterError, match="word_driven_at"):
        WireLayout(word_driven_at="middle")
    with pytest.raises(ParameterError, match="array_rows"):
        WireLayout(array_rows=-1)


def _gradients(case, beta, batch=3, layout=LAYOUT):
    wired, solver = _solver(case, layout)
    net = wired.network
    x = make_inputs(net, batch)
    target = np.random.default_rng(5).normal(0, 0.1, (batch, net.output_width))
    free = solver.relax(x)
    lam = solver.adjoint(free, free.output - target)
    implicit = wired_implicit_gradients(wired, free, lam)
    plus = solver.relax(x, Nudge(beta, target=target), init=free)
    minus = solver.relax(x, Nudge(-beta, target=target), init=free)
    return wired, x, target, implicit, wired_ep_gradients(wired, plus, minus)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize("layout", [LAYOUT, PARTITIONED], ids=["one-array", "partitioned"])
def test_ep_matches_implicit_differentiation(case, layout):
    _, _, _, implicit, ep = _gradients(case, beta=1e-7, layout=layout)
    for a, b in zip([*implicit.conductances, *implicit.biases, implicit.inputs],
                    [*ep.conductances, *ep.biases, ep.inputs]):
        cosine = np.dot(a.ravel(), b.ravel()) / (np.linalg.norm(a) * np.linalg.norm(b))
        assert cosine >= 0.9999


@pytest.mark.parametrize("case", [CASES[2], CASES[4]], ids=lambda c: c.id)
def test_implicit_differentiation_matches_finite_differences(case):
    wired, x, target, implicit, _ = _gradients(case, beta=1e-7)
    net = wired.network
    solver = WiredSolver(wired, max_sweeps=20000, on_unconverged="raise")

    def loss(weights=None, biases=None, inputs=x):
        if weights is not None:
            net.set_conductances(weights)
        if biases is not None:
            net.set_biases(biases)
        return 0.5 * float(((solver.relax(inputs).output - target) ** 2).sum())

    weights, biases = [w.copy() for w in net.conductances], [b.copy() for b in net.biases]
    rng = np.random.default_rng(3)
    for l in range(net.n_layers):
        i, k = rng.integers(net.sizes[l]), rng.integers(net.sizes[l + 1])
        h = 1e-3 * weights[l][i, k]
        up, down = [w.copy() for w in weights], [w.copy() for w in weights]
        up[l][i, k] += h
        down[l][i, k] -= h
        numeric = (loss(up) - loss(down)) / (2 * h)
        net.set_conductances(weights)
        assert numeric == pytest.approx(implicit.conductances[l][i, k], rel=1e-5, abs=1e-12 * abs(numeric) + 1e-9)
    m = net.n_layers - 1
    up, down = [b.copy() for b in biases], [b.copy() for b in biases]
    up[m][0] += 1e-9
    down[m][0] -= 1e-9
    assert (loss(biases=up) - loss(biases=down)) / 2e-9 == pytest.approx(implicit.biases[m][0], rel=1e-5)
    net.set_biases(biases)
    dx = np.zeros_like(x)
    dx[1, 0] = 1e-6
    numeric = (loss(inputs=x + dx) - loss(inputs=x - dx)) / 2e-6
    assert numeric == pytest.approx(implicit.inputs[1, 0], rel=1e-5)


# ------------------------------------------------------------------------------ outside simulators
def test_agrees_with_badcrossbar():
    compute = pytest.importorskip("badcrossbar.compute", reason="badcrossbar not installed "
                                  "(pip install --no-deps badcrossbar pathvalidate sigfig)").compute
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 1e-4, (24, 17))
    x = rng.uniform(-1, 1, (3, 24))
    wired = grounded_crossbar(g, 1.5, 0.7)
    eq = WiredSolver(wired, on_unconverged="raise").relax(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solution = compute(x.T, 1 / g, r_i_word_line=1.5, r_i_bit_line=0.7)
    words = np.moveaxis(solution.voltages.word_line, 2, 0)
    bits = np.moveaxis(solution.voltages.bit_line, 2, 0)
    assert np.abs(words - eq.word_lines[0]).max() <= 1e-9
    assert np.abs(bits - eq.bit_lines[0]).max() <= 1e-9
    assert np.abs(solution.currents.output - (eq.bit_lines[0][:, -1, :] / 0.7)).max() <= 1e-9 / 0.7


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice is not installed")
@pytest.mark.parametrize("case, layout", [(CASES[3], FLIPPED), (CASES[4], FLIPPED), (CASES[4], PARTITIONED)],
                         ids=["shockley-2hidden", "shockley-amplified", "shockley-amplified-partitioned"])
def test_agrees_with_ngspice_including_clamped_nodes(case, layout):
    from cosim.spice import ngspice
    from cosim.spice.wired import write_wired_netlist

    wired, solver = _solver(case, layout)
    net = wired.network
    x = make_inputs(net, 3, volts=3.0)
    eq = solver.relax(x)
    beyond = [(eq.layers[m] < net.lower_rails[m - 1]) | (eq.layers[m] > net.upper_rails[m - 1])
              for m in range(1, net.n_layers)]
    assert any(b.any() for b in beyond), "no sample clamps: the test would not exercise the diodes"
    for b in range(x.shape[0]):
        netlist = write_wired_netlist(wired, x[b])
        spice = ngspice.run_batch(netlist).layers(netlist)
        ours = [v[b] for v in eq.layers] + [a[b].ravel() for pair in zip(eq.word_lines, eq.bit_lines) for a in pair]
        assert max(np.abs(s - o).max() for s, o in zip(spice, ours)) <= 1e-9


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice is not installed")
def test_ir_drop_benchmark_quick(capsys, monkeypatch):
    pytest.importorskip("badcrossbar.compute", reason="badcrossbar not installed")
    import pathlib
    import sys

    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
    sys.modules.pop("ir_drop", None)
    import ir_drop

    rows = ir_drop.main(["--quick"])
    assert all(not r["error"] > 1e-9 for r in rows)
    assert "| case |" in capsys.readouterr().out

"""The optimised paths against straightforward ones (float64, tight tolerances), and buffer reuse."""

import contextlib

import numpy as np
import pytest

from analog_cases import CASES, make_block, make_inputs
from cosim.analog.resistive.gradients import crossbar_bilinear
from cosim.analog.resistive.observables import source_currents
from cosim.learning.blocks import AnalogBlock, NudgeSettings
from cosim.learning.optim import SGD, Adam


def straightforward_ep(network, plus, minus, beta):
    """The 1/2 dV^2 rule with explicit (batch, N, M) tensors, per-phase source currents, no GEMM tricks."""
    gap, node = network.gap_weights, network.node_weights
    grads = []
    for l, w in enumerate(network.conductances):
        a = network.amplifiers[l].forward_gain
        drops = [a * s.layers[l][:, :, None] - s.layers[l + 1][:, None, :] for s in (plus, minus)]
        grads.append(gap[l] * 0.5 * (drops[0] ** 2 - drops[1] ** 2).sum(axis=0) / (2 * beta))
    currents = [source_currents(network, s.layers, s.conductances) for s in (plus, minus)]
    inputs = network.fold_input_gradient(node[0] * (currents[0] - currents[1]) / (2 * beta))
    return grads, inputs


def split_products(monkeypatch, count=2):
    """A solver_threads block forced to ``count`` threads in which every product cosim.threads.matmul
    gets is split (its size thresholds lowered to one multiply-add and one row or column a slab)."""
    import cosim.threads as threads

    monkeypatch.setattr(threads, "MATMUL_PARALLEL_MIN", 1)
    monkeypatch.setattr(threads, "MATMUL_MIN_SLAB", 1)
    forced = threads.SolverThreads(count)
    forced.threads = count
    return forced


@pytest.mark.parametrize("split", [False, True], ids=["whole", "split products"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fast_ep_gradients_equal_the_straightforward_rule(case, split, monkeypatch):
    """The GEMM form of EP (its products whole, or split over threads by cosim.threads.matmul: the input
    drive, the sweeps' products, the 1/2 dV^2 product) against explicit tensors, float64."""
    block = make_block(case)
    beta = 1e-6
    with split_products(monkeypatch) if split else contextlib.nullcontext():
        block.forward(make_inputs(block.network, 4))
        error = np.random.default_rng(3).normal(size=block.free.output.shape)
        fast = block.ep_gradients(beta, error=error)
    slow, inputs = straightforward_ep(block.network, block.phases["plus"], block.phases["minus"], beta)
    for f, s in zip(fast.conductances, slow):
        np.testing.assert_allclose(f, s, rtol=1e-9, atol=1e-12 * np.abs(s).max())
    np.testing.assert_allclose(fast.inputs, inputs, rtol=1e-9, atol=1e-12 * np.abs(inputs).max())


@pytest.mark.parametrize("input_layer", [True, False])
def test_single_gemm_bilinear_with_output_buffer(input_layer):
    rng = np.random.default_rng(0)
    d_lo, s_lo, d_hi, s_hi = (rng.normal(size=(5, n)) for n in (4, 4, 6, 6))
    if input_layer:
        d_lo = None
    zero = np.zeros_like(s_lo) if d_lo is None else d_lo
    explicit = 0.3 * np.einsum("bij,bij->ij", 1.5 * zero[:, :, None] - d_hi[:, None, :],
                               1.5 * s_lo[:, :, None] - s_hi[:, None, :])
    out = np.full((4, 6), np.nan)
    result = crossbar_bilinear(1.5, d_lo, s_lo, d_hi, s_hi, factor=0.3, out=out)
    assert result is out
    np.testing.assert_allclose(out, explicit, rtol=1e-12, atol=1e-14)


def analog_block(seed=0):
    network = make_block(CASES[1], seed=seed).network
    from cosim.analog import BCDSolver, ResistiveBlock

    solver = BCDSolver(network, tol=1e-13, max_sweeps=20000, on_unconverged="raise")
    return AnalogBlock(ResistiveBlock(network, solver), 1e-6, 1e-4, 1.0, NudgeSettings("ep", "centred", 0.05))


def test_buffer_reuse_does_not_leak_state_between_steps():
    """Gradients of batch B after a step on batch A equal those of a fresh block on batch B."""
    first, second = make_inputs(analog_block().network, 4, seed=1), make_inputs(analog_block().network, 4, seed=2)
    error = np.random.default_rng(4).normal(size=(4, analog_block().network.output_width))
    used = analog_block()
    used.forward(first, True)
    used.backward(error)
    kept = [g.copy() for g in used.gradients]
    used.forward(second, True)
    used.backward(error)
    fresh = analog_block()
    fresh.forward(second, True)
    fresh.backward(error)
    for a, b in zip(used.gradients, fresh.gradients):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(kept[0], used.gradients[0])


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_fused_optimiser_kernels_equal_plain_numpy(kind):
    rng = np.random.default_rng(0)
    p0, grads = rng.uniform(0, 1, (30, 20)), [rng.normal(size=(30, 20)) for _ in range(3)]
    p = p0.copy()
    optimiser = (SGD([{"params": [p], "bounds": (0.1, 0.9)}], lr=0.05, momentum=0.9, weight_decay=0.01)
                 if kind == "sgd" else
                 Adam([{"params": [p], "bounds": (0.1, 0.9)}], lr=0.05, weight_decay=0.01))
    reference, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        optimiser.step([[g]], scale=0.5)
        g = 0.5 * g
        if kind == "sgd":
            g = g + 0.01 * reference
            m = 0.9 * m + g
            reference = reference - 0.05 * m
        else:
            reference = reference * (1 - 0.05 * 0.01)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            reference = reference - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        reference = np.clip(reference, 0.1, 0.9)
    np.testing.assert_allclose(p, reference, rtol=1e-12)


def test_one_pass_installation_equals_numpy_and_rejects_bad_values():
    network = make_block(CASES[0]).network
    rng = np.random.default_rng(0)
    theta = [rng.uniform(0, 1, w.shape) for w in network.conductances]
    network.set_conductances(theta, scale=2e-5, reuse=True)
    for w, t in zip(network.conductances, theta):
        np.testing.assert_array_equal(w, t * 2e-5)
    np.testing.assert_allclose(network.self_conductances[-1], network.conductances[-1].sum(axis=0), rtol=1e-14)
    theta[0][0, 0] = -1.0
    with pytest.raises(Exception, match="negative"):
        network.set_conductances(theta, scale=1e-5)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_crossbar_power_from_the_solve_equals_the_direct_sum(case):
    """The ledger's crossbar power from the solve's own products (input drive, last sweep) equals the sum
    g (A v_i - v_j)^2 over every device, in the free and both nudged phases."""
    from cosim.analog.resistive.observables import crossbar_power

    block = make_block(case)
    block.forward(make_inputs(block.network, 3))
    block.ep_gradients(0.05, error=np.random.default_rng(2).normal(size=block.free.output.shape))
    net = block.network
    for state in (block.free, *block.phases.values()):
        layers = state.layers
        direct = np.array([[(w * (net.amplifiers[l].forward_gain * layers[l][b][:, None]
                                  - layers[l + 1][b][None, :]) ** 2).sum()
                            for l, w in enumerate(net.conductances)] for b in range(3)])
        assert all(p is not None for p in state.crossbar_products[1:])  # red-black sweeps leave one per crossbar
        np.testing.assert_allclose(crossbar_power(net, layers, state.input_product, state.crossbar_products),
                                   direct, rtol=1e-10)
        np.testing.assert_allclose(crossbar_power(net, layers), direct, rtol=1e-10)


@pytest.mark.parametrize("relaxation", ["red-black", "synchronous", "noisy"])
def test_products_handed_on_by_the_solve_are_those_of_its_final_voltages(relaxation):
    """Whatever the sweep order, a product the solve hands on equals the product of its returned voltages."""
    import warnings

    from cosim.analog.relaxation import BlockDescent
    from cosim.analog.resistive.solve import ResistiveSolver

    net = make_block(CASES[1]).network
    descent = BlockDescent(1e-14, 7, synchronous=relaxation == "synchronous",
                           noise_sigma=1e-3 if relaxation == "noisy" else 0.0, rng=np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 7 sweeps stop before tol
        state = ResistiveSolver(net, descent).relax(make_inputs(net, 3))
    for l, known in enumerate(state.crossbar_products[1:], start=1):
        if known is not None:
            side, product = known
            exact = state.layers[l + 1] @ net.conductances[l].T if side else state.layers[l] @ net.conductances[l]
            np.testing.assert_allclose(product, exact, rtol=1e-13)


# ---------------------------------------------------------------- device kernels against the numpy forms

def straightforward_write(model, target, rng, gain=None, stuck=None, conductances=None, step_up=None, step_down=None):
    """DeviceArray's write as plain numpy expressions (one Gaussian per device, numpy's order): an exact
    write, or (given ``conductances``) a pulsed update that draws noise only where pulses were applied."""
    from cosim.analog.devices.soft_bounds import soft_bounds_update

    m, scale = model, 1.0
    if conductances is None:
        g = np.clip(target, m.g_min, m.g_max)
        if m.levels is not None:
            g = m.g_min + np.rint((g - m.g_min) / m.span * (m.levels - 1)) / (m.levels - 1) * m.span
        g = g * gain if gain is not None else g
        z = rng.standard_normal(g.shape)
    else:
        pulses = np.rint((target - conductances) / (m.pulse_step * m.span))
        g = (soft_bounds_update(conductances, pulses, step_up, step_down, m.g_min, m.g_max) if m.soft_bounds
             else conductances + np.where(pulses > 0, pulses * step_up, pulses * step_down))
        written = pulses != 0
        z = np.zeros(g.shape)
        z[written] = rng.standard_normal(int(written.sum()))
        scale = np.sqrt(np.abs(pulses))
    g = np.clip(g + m.programming_noise * m.span * scale * z, m.g_min, m.g_max)
    if stuck is not None:
        g = np.where(stuck < 0, m.g_min, np.where(stuck > 0, m.g_max, g))
    return g if conductances is None else np.where(written, g, conductances)


WRITES = {
    "noisy": dict(programming_noise=0.03),
    "levels, gain, stuck": dict(levels=9, variability=0.1, stuck_at_min=0.05, stuck_at_max=0.05, programming_noise=0.02),
    "pulsed": dict(pulsed=True, pulse_step=0.01, pulse_step_spread=0.2, asymmetry=0.3, programming_noise=0.01),
    "soft bounds": dict(pulsed=True, pulse_step=0.01, soft_bounds=True, asymmetry=-0.2, programming_noise=0.01,
                        stuck_at_max=0.02),
}


#: devices per noisy pass: all at once, blocks of two rows, one row at a time (a block is at least a row)
PASSES = {"one pass": None, "2-row blocks": 60, "1-row blocks": 7}


@pytest.mark.parametrize("passes", PASSES)
@pytest.mark.parametrize("name", WRITES)
def test_device_write_kernels_equal_the_numpy_form(name, passes, monkeypatch):
    """Whole arrays or blocks of rows (how large arrays go, holding one block's normals): the same values and the
    stream consumed alike."""
    from cosim.analog.devices import DeviceArray, DeviceModel, array

    if PASSES[passes]:
        monkeypatch.setattr(array, "PASS_DEVICES", PASSES[passes])

    model = DeviceModel(g_min=1e-6, g_max=2.5e-5, **WRITES[name])
    fast = DeviceArray(model, (40, 30), np.random.default_rng(0))
    reference_rng = np.random.default_rng(0)
    DeviceArray(model, (40, 30), reference_rng)  # the same static draws (stuck devices, gains, pulse steps)
    targets = np.random.default_rng(1).uniform(0, 3e-5, (3, 40, 30))
    expected = straightforward_write(model, targets[0], reference_rng, fast.gain, fast.stuck)
    np.testing.assert_allclose(fast.program(targets[0]), expected, rtol=1e-15, atol=0)
    for target in targets[1:]:
        writes = fast.writes
        previous = fast.conductances
        target = previous + np.random.default_rng(2).normal(0, 0.02 * model.span, previous.shape)
        expected = (straightforward_write(model, target, reference_rng, fast.gain, fast.stuck, previous,
                                          fast.step_up, fast.step_down) if model.pulsed
                    else straightforward_write(model, target, reference_rng, fast.gain, fast.stuck))
        np.testing.assert_allclose(fast.update(target), expected, rtol=1e-14, atol=1e-14 * model.g_max)
        if model.pulsed:
            assert fast.writes - writes == np.abs(np.rint((target - previous) / (model.pulse_step * model.span))).sum()
    assert fast.normals.state() == reference_rng.bit_generator.state  # the stream, consumed alike


@pytest.mark.parametrize("passes", PASSES)
@pytest.mark.parametrize("age", [0.0, 3600.0])
@pytest.mark.parametrize("one_over_f", [0.0, 0.0088])
def test_noisy_read_kernel_equals_the_numpy_form(age, one_over_f, passes, monkeypatch):
    from cosim.analog.devices import DeviceArray, DeviceModel, array, drift

    if PASSES[passes]:
        monkeypatch.setattr(array, "PASS_DEVICES", PASSES[passes])

    model = DeviceModel(g_min=1e-6, g_max=2.5e-5, read_noise=0.01, read_noise_1f=one_over_f,
                        read_noise_1f_exponent=0.65, retention="power_law", retention_t0=20.0, drift_nu=0.05)
    fast = DeviceArray(model, (40, 30), np.random.default_rng(0), np.random.default_rng(9))
    fast.program(np.random.default_rng(1).uniform(0, 3e-5, (40, 30)))
    fast.set_age(age)
    reference_rng = np.random.default_rng()
    reference_rng.bit_generator.state = fast.normals.state()
    aged, g = fast.aged(), fast.conductances
    q_s = drift.one_over_f_q(g, model.g_max, one_over_f, 0.65)
    one = drift.one_over_f_read_noise_std(1.0, q_s, max(age, 20.0), model.t_read)
    std = np.sqrt(0.01**2 + one**2)
    for _ in range(2):  # the second read reuses the cached 1/f power of the state
        expected = np.maximum(aged * (1.0 + std * reference_rng.standard_normal(g.shape)), 0.0)
        np.testing.assert_allclose(fast.read(), expected, rtol=1e-14, atol=0)


def test_device_states_stay_in_the_working_dtype():
    from cosim.analog.devices import DeviceArray, DeviceModel

    model = DeviceModel(g_min=1e-6, g_max=2.5e-5, programming_noise=0.01, read_noise_1f=0.0088,
                        read_noise_1f_exponent=0.65)
    target = np.random.default_rng(1).uniform(0, 3e-5, (40, 30))
    single, double = (DeviceArray(model, (40, 30), np.random.default_rng(0)) for _ in range(2))
    held = single.program(target.astype(np.float32))
    read = single.read()
    assert held.dtype == np.float32 and read.dtype == np.float32
    np.testing.assert_allclose(held, double.program(target), rtol=1e-6)
    np.testing.assert_allclose(read, double.read(), rtol=1e-6)


# ---------------------------------------------------------------- parallel Numba kernels against the serial ones

def two_numba_threads():
    import numba

    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_parallel_optimiser_kernels_equal_the_serial_ones(kind):
    import numba

    from cosim.learning import optim_kernels

    rng = np.random.default_rng(1)
    p0, g = rng.uniform(0, 1, 5001), rng.normal(size=5001)
    outer = numba.get_num_threads()
    results = []
    for kernel in (f"{kind}_step", f"parallel_{kind}_step"):
        p, m, v = p0.copy(), np.full(5001, 0.1), np.full(5001, 0.2)
        two_numba_threads()
        if kind == "sgd":
            getattr(optim_kernels, kernel)(p, g, m, 0.05, 0.5, 0.9, True, 0.01, 0.1, 0.9)
        else:
            getattr(optim_kernels, kernel)(p, g, m, v, 0.5, 0.5, 0.9, 0.1, 0.999, 0.001, 1e-8, 1000.0, 0.9995, 0.01, True,
                                           0.1, 0.9)
        results.append((p, m, v))
    numba.set_num_threads(outer)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(200, 37), (64, 5), (3, 300)])
def test_blocked_installation_sums_do_not_depend_on_threads(shape):
    """The install kernel's row and column sums: equal to numpy's to rounding, and bitwise the same on one
    thread or several (its row blocks have their own partial sums, added in block order)."""
    import numba

    from cosim.analog.resistive import crossbar_update

    source = np.random.default_rng(2).uniform(0, 1, shape)
    outer, results = numba.get_num_threads(), []
    for kernel in (crossbar_update.serial_scaled_copy_with_sums, crossbar_update.parallel_scaled_copy_with_sums):
        two_numba_threads()
        out, rows, columns = np.empty(shape), np.zeros(shape[0]), np.zeros(shape[1])
        negative = kernel(source, 2e-5, out, rows, columns)
        results.append((out, rows, columns))
        np.testing.assert_array_equal(out, source * 2e-5)
        np.testing.assert_allclose(rows, out.sum(axis=1), rtol=1e-13)
        np.testing.assert_allclose(columns, out.sum(axis=0), rtol=1e-13)
        assert negative == 0
    numba.set_num_threads(outer)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    source[-1, -1] = source[0, 0] = -3.0
    for kernel in (crossbar_update.serial_scaled_copy_with_sums, crossbar_update.parallel_scaled_copy_with_sums):
        assert kernel(source, 1.0, np.empty(shape), np.zeros(shape[0]), np.zeros(shape[1])) == 2


def test_parallel_kernels_follow_the_solver_threads(monkeypatch):
    """Large arrays take the parallel kernels with the threads solver.threads gets, small ones never;
    Numba's thread count is restored after the block."""
    import os

    import numba

    import cosim.threads as threads

    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0,) * 3)
    big, small = np.empty(threads.PARALLEL_MIN), np.empty(threads.PARALLEL_MIN - 1)
    outer = numba.get_num_threads()
    assert not threads.parallel(big)  # outside a block: one thread
    with threads.solver_threads(2):
        assert threads.numba_threads() == 2 and threads.parallel(big) and not threads.parallel(small)
        assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
    with threads.solver_threads(1):
        assert not threads.parallel(big) and numba.get_num_threads() == 1
    assert numba.get_num_threads() == outer


@pytest.mark.parametrize("shockley", [False, True])
def test_parallel_layer_update_equals_the_serial_one(shockley):
    """Block descent's layer kernel on several threads: the same voltages and maxima, bitwise (per-sample
    maxima), with ideal or Shockley diodes and per-sample or shared rails."""
    import numba

    from cosim.analog.relaxation import kernels

    rng = np.random.default_rng(5)
    below, above = rng.normal(size=(9, 40)), rng.normal(size=(9, 40))
    source, den = rng.normal(size=(1, 40)), rng.uniform(1, 2, (9, 40))
    lo, hi = np.full((1, 40), -0.5), rng.uniform(0.2, 0.6, (9, 40))
    v0 = rng.uniform(-0.2, 0.2, (9, 40))
    outer, results = numba.get_num_threads(), []
    for kernel in (kernels.serial_layer_update, kernels.parallel_layer_update):
        two_numba_threads()
        v = v0.copy()
        maxima = kernel(below, 0.7, above, 0.3, True, source, den, lo, hi, 1e-12 if shockley else 0.0, 0.026, v)
        results.append((maxima, v))
    numba.set_num_threads(outer)
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][0][1], np.abs(results[0][1]).max(), rtol=0)


# ---------------------------------------------------------------- converters against the numpy form
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("noise_lsb", [0.0, 0.7])
def test_quantise_kernel_equals_the_numpy_form(dtype, noise_lsb):
    """Codes, saturation count, code histogram and reconstructed values, noise from the same stream."""
    from cosim.converters import quantise

    values = (np.random.default_rng(3).standard_normal(5000) * 0.6).astype(dtype)  # some beyond [-1, 1]
    lo, lsb, offset, levels = -1.0, 2.0 / 63, 0.3, 64
    reference_rng = np.random.default_rng(4)
    codes = (values.astype(np.float64) - lo) / lsb + offset  # the kernel works in float64
    if noise_lsb:
        codes = codes + noise_lsb * reference_rng.standard_normal(values.size)
    codes = np.rint(codes)
    expected_saturated = int(((codes < 0) | (codes > levels - 1)).sum())
    codes = np.clip(codes, 0, levels - 1)
    counts, out = np.zeros(levels, np.int64), np.empty_like(values)
    saturated = quantise(values, lo, lsb, offset, np.random.default_rng(4) if noise_lsb else None, noise_lsb,
                         counts, out)
    assert saturated == expected_saturated > 0
    np.testing.assert_array_equal(counts, np.bincount(codes.astype(int), minlength=levels))
    np.testing.assert_array_equal(out, (lo + codes * lsb).astype(dtype))


@pytest.mark.parametrize("width", [1, 520])
@pytest.mark.parametrize("has_above", [True, False])
def test_chunked_layer_update_equals_the_numpy_form(has_above, width):
    """Block descent's layer kernel (two passes per chunk of nodes, integer maxima) against
    clip((a below + source + kappa above) / den, lo, hi) in numpy, float64, bit for bit, with its maxima;
    a NaN node takes no part in the maxima (as in a ``dv > largest`` comparison)."""
    from cosim.analog.relaxation import kernels

    assert width == 1 or width > kernels.CHUNK  # one node, or across a chunk boundary
    rng = np.random.default_rng(6)
    shape = (3, width)
    below, above, v = rng.normal(size=shape), rng.normal(size=shape), rng.uniform(-0.2, 0.2, shape)
    source, den = rng.normal(size=(1, width)), rng.uniform(1, 2, shape)
    lo, hi = np.full((1, width), -0.5), rng.uniform(0.2, 0.6, shape)
    below[1, -1] = np.nan
    current = 0.7 * below + source + (0.3 * above if has_above else 0.0)
    expected = np.clip(current / den, lo, hi)
    state = v.copy()
    maxima = kernels.serial_layer_update(below, 0.7, above, 0.3, has_above, source, den, lo, hi, 0.0, 1.0, state)
    np.testing.assert_array_equal(state, expected)
    assert maxima == (np.nanmax(np.abs(expected - v)), np.nanmax(np.abs(expected)))


def test_transposed_crossbars_follow_every_install():
    """network.transposed(l) is W[l]^T, C-contiguous, and a reinstall (in place or not) refreshes it."""
    network = make_block(CASES[1]).network
    first = [network.transposed(l) for l in range(network.n_layers)]
    for l, t in enumerate(first):
        assert t.flags.c_contiguous and not t.flags.writeable
        np.testing.assert_array_equal(t, network.conductances[l].T)
    for reuse in (False, True):
        network.set_conductances([2.0 * w for w in network.conductances], reuse=reuse)
        for l in range(network.n_layers):
            np.testing.assert_array_equal(network.transposed(l), network.conductances[l].T)


@pytest.mark.parametrize("case", CASES[:2], ids=[c.id for c in CASES[:2]])
def test_products_of_zero_layers_skipped_on_a_cold_start(case, monkeypatch):
    """A cold start writes the products of its all-zero layers as zeros instead of GEMMs: the free
    equilibrium and the adjoint are bitwise those of the straightforward solve, in as many sweeps."""
    from cosim.analog.resistive.energy import ResistiveEnergy

    block = make_block(case, tol=1e-12)
    x = make_inputs(block.network, 4)
    error = np.random.default_rng(2).normal(size=(4, block.network.output_width))
    fast = block.solver.relax(x)
    fast_adjoint = block.solver.adjoint(fast, error)
    monkeypatch.setattr(ResistiveEnergy, "note_zero_layers", lambda self, state: None)
    plain = block.solver.relax(x)
    plain_adjoint = block.solver.adjoint(plain, error)
    assert fast.info.sweeps == plain.info.sweeps
    for a, b in zip(fast.layers + fast_adjoint, plain.layers + plain_adjoint):
        np.testing.assert_array_equal(a, b)

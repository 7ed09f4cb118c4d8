"""The BP–EP chain end to end: gradients vs implicit differentiation vs finite differences; training."""

import numpy as np
import pytest

from cosim.analog import (BCDSolver, HopfieldBlock, HopfieldNetwork, HopfieldSolver, IdealDiode, ResistiveBlock,
                          ResistiveNetwork, ShockleyDiode)
from cosim.data import load_dataset
from cosim.digital.ops import BatchNorm, GainOffset, HardTanh, Linear
from cosim.learning import gradcheck
from cosim.errors import ParameterError
from cosim.learning.blocks import AnalogBlock, DigitalBlock, EnergyBlock, NudgeSettings
from cosim.learning.chain import Chain
from cosim.learning.hopfield_block import HopfieldChainBlock
from cosim.learning.optim import Adam, constant_schedule
from cosim.learning.train import Trainer

G_MIN, G_MAX = 1e-7, 1e-4


def analog(rng, n_in, hidden, n_out, diode=IdealDiode(), dtype=np.float64, tol=1e-13):
    sizes = [2 * n_in, *hidden, n_out]
    weights = [rng.uniform(G_MIN, G_MAX, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    net = ResistiveNetwork(weights, biases=[rng.normal(0, 1e-6, n) for n in sizes[1:]],
                           lower_rails=[-0.1] * len(hidden), upper_rails=[0.1] * len(hidden),
                           diode=diode, duplicate_inputs=True, dtype=dtype)
    solver = BCDSolver(net, tol=tol, max_sweeps=20000, on_unconverged="raise")
    return AnalogBlock(ResistiveBlock(net, solver), G_MIN, G_MAX, input_scale=1.0,
                       nudge=NudgeSettings("ep", "centred", 1e-3))


def layout(name, rng, dtype=np.float64):
    """Small chains of several block layouts, as in the ff-EBM paper's experiments."""
    if name == "analog-only":
        return Chain([analog(rng, 6, [5], 4, dtype=dtype), DigitalBlock([GainOffset(4, gain=50.0, dtype=dtype)])],
                     "cross_entropy")
    if name == "digital-analog-digital":
        return Chain([DigitalBlock([Linear(6, 5, rng, dtype=dtype), HardTanh()]), analog(rng, 5, [4], 4, dtype=dtype),
                      DigitalBlock([Linear(4, 3, rng, dtype=dtype)])], "cross_entropy")
    if name == "two-analog-blocks":
        return Chain([DigitalBlock([Linear(6, 5, rng, bias=False, dtype=dtype), BatchNorm(5, dtype=dtype)]),
                      analog(rng, 5, [4, 4], 4, dtype=dtype),
                      DigitalBlock([BatchNorm(4, dtype=dtype), HardTanh()]),
                      analog(rng, 4, [3], 3, diode=ShockleyDiode(1e-12), dtype=dtype),
                      DigitalBlock([GainOffset(3, gain=30.0, learnable=True, dtype=dtype)])], "squared_error")
    raise KeyError(name)


LAYOUTS = ["analog-only", "digital-analog-digital", "two-analog-blocks"]


def batch(rng, n=5, width=6, classes=3):
    return rng.normal(0, 1, (n, width)), rng.integers(0, classes, n)


def total_loss(chain, x, y):
    return float(chain.loss(chain.forward(x, training=True), y)[0].sum())


@pytest.mark.parametrize("name", LAYOUTS)
def test_chained_gradients_match_finite_differences_and_ep_matches_id(name):
    rng = np.random.default_rng(0)
    chain = layout(name, rng)
    x, y = batch(rng)
    rows = gradcheck.compare(chain, x, y, beta=1e-4)
    assert all(r.cosine >= 0.999 for r in rows), gradcheck.format_table(rows)
    exact = gradcheck.chained_gradients(chain, x, y, "id", 1e-4, "centred")
    # central finite differences of the converged, batch-summed loss for every parameter tensor
    for param, grad, pname in zip([p for b in chain.blocks for p in b.parameters], exact, chain.parameter_names()):
        fd = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            base = param[index]
            values = []
            for step in (1e-6, -1e-6):
                param[index] = base + step
                chain.after_update()
                values.append(total_loss(chain, x, y))
            param[index] = base
            fd[index] = (values[0] - values[1]) / 2e-6
        chain.after_update()
        cosine = fd.ravel() @ grad.ravel() / (np.linalg.norm(fd) * np.linalg.norm(grad))
        assert cosine >= 0.999, pname
        np.testing.assert_allclose(grad, fd, rtol=1e-3, atol=1e-6 * np.abs(fd).max(), err_msg=pname)


def test_chain_input_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    chain = layout("two-analog-blocks", rng)
    x, y = batch(rng)
    chain.forward(x, training=True)
    _, grad_x = chain.backward(chain.last_output, y)
    b, k = 2, 3
    values = []
    for step in (1e-6, -1e-6):
        moved = x.copy()
        moved[b, k] += step
        values.append(total_loss(chain, moved, y))
    assert (values[0] - values[1]) / 2e-6 == pytest.approx(grad_x[b, k], rel=1e-4)


def test_short_training_run_beats_chance_widely():
    data = load_dataset("synthetic", n_train=600, n_test=300, n_features=20, n_classes=4, class_sep=3.0,
                        dtype=np.float32)
    rng = np.random.default_rng(0)
    chain = Chain([DigitalBlock([Linear(20, 16, rng, dtype=np.float32), BatchNorm(16, dtype=np.float32)]),
                   analog(rng, 16, [16], 4, dtype=np.float32, tol=1e-5),
                   DigitalBlock([BatchNorm(4, dtype=np.float32)])], "cross_entropy")
    optimizer = Adam(chain.parameter_groups(), lr=1e-2)
    trainer = Trainer(chain, data, optimizer, constant_schedule(1e-2), batch_size=20, test_batch_size=100,
                      rng=np.random.default_rng(1), progress=False)
    history = trainer.fit(epochs=3).metrics
    assert history["train_loss"][-1] < 0.6 * history["train_loss"][0]
    assert history["test_accuracy"][-1] > 0.8  # chance is 0.25
    assert history["unconverged_samples"][-1] == 0


def test_state_round_trip_restores_the_model():
    rng = np.random.default_rng(2)
    chain = layout("two-analog-blocks", rng)
    x, y = batch(rng)
    saved = {k: v.copy() for k, v in chain.state().items()}
    before = chain.forward(x, training=False)
    for p in chain.state().values():
        p *= 0.9
    chain.after_update()
    assert not np.allclose(chain.forward(x, training=False), before)
    chain.load_state(saved)
    np.testing.assert_allclose(chain.forward(x, training=False), before, rtol=1e-10)


def test_energy_blocks_name_their_parameters_and_check_their_input_width_alike():
    rng = np.random.default_rng(0)
    resistive = analog(rng, 3, [4], 2)
    net = HopfieldNetwork([rng.uniform(-0.5, 0.5, (3, 4)), rng.uniform(-0.5, 0.5, (4, 2))], [np.zeros(4), np.zeros(2)])
    hopfield = HopfieldChainBlock(HopfieldBlock(net, HopfieldSolver(net)), NudgeSettings("ep"), learn_biases=False)
    assert resistive.parameter_names == ["conductances.0", "conductances.1", "biases.0", "biases.1"]
    assert hopfield.parameter_names == ["weights.0", "weights.1"]
    for block in (resistive, hopfield):
        assert isinstance(block, EnergyBlock) and block.buffers == {}
        assert [g.shape for g in block.gradients] == [p.shape for p in block.parameters]
        assert not any(g.any() for g in block.gradients)
        assert block.output_shape((1, 3)) == (2,)
    with pytest.raises(ParameterError, match=r"^Hopfield block expects 3 inputs but the block before gives 4 \(shape"):
        hopfield.output_shape((4,))
    with pytest.raises(ParameterError, match=r"^analog block expects 3 inputs but the block before gives 4 \(shape"):
        resistive.output_shape((4,))

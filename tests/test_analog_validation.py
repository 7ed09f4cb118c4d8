"""Every invalid physical parameter gets a clear ParameterError."""

import re

import numpy as np
import pytest

from cosim.analog import Amplifier, BCDSolver, Nudge, ResistiveBlock, ResistiveNetwork, ShockleyDiode
from cosim.errors import ParameterError


def good():
    """Keyword arguments of a valid 4-3-2 network."""
    return dict(conductances=[np.full((4, 3), 1e-5), np.full((3, 2), 1e-5)], lower_rails=[0.0], upper_rails=[1.0])


def with_(**changes):
    kwargs = good()
    kwargs.update(changes)
    return kwargs


INVALID = [
    ("negative conductance", with_(conductances=[np.full((4, 3), -1e-5), np.full((3, 2), 1e-5)]), "negative"),
    ("shape mismatch", with_(conductances=[np.full((4, 3), 1e-5), np.full((5, 2), 1e-5)]), "has 5 rows"),
    ("1-D crossbar", with_(conductances=[np.full(4, 1e-5)]), "2-D"),
    ("no crossbar", with_(conductances=[]), "at least one crossbar"),
    ("NaN conductance", with_(conductances=[np.full((4, 3), np.nan), np.full((3, 2), 1e-5)]), "NaN"),
    ("isolated node", with_(conductances=[np.full((4, 3), 1e-5), np.array([[1e-5, 0.0]] * 3)]),
     "connected to nothing"),
    ("rails inverted", with_(lower_rails=[1.0], upper_rails=[0.0]), "lower rail above upper rail"),
    ("rails wrong length", with_(lower_rails=[np.zeros(5)]), "shape (3,)"),
    ("rails per layer count", with_(lower_rails=[0.0, 0.0]), "one entry per hidden layer"),
    ("bias wrong shape", with_(biases=[np.zeros(3), np.zeros(3)]), "biases[1]"),
    ("bias infinite", with_(biases=[np.full(3, np.inf), np.zeros(2)]), "finite"),
    ("odd duplicated inputs", with_(conductances=[np.full((3, 3), 1e-5), np.full((3, 2), 1e-5)],
                                    duplicate_inputs=True), "even number"),
    ("bad diode parameter", with_(diode=ShockleyDiode(saturation_current=-1.0)), "saturation_current"),
    ("bad diode type", with_(diode="ideal"), "IdealDiode or ShockleyDiode"),
    ("amplifier gain", with_(amplifiers=[Amplifier(0.0, 1.0), None]), "forward_gain"),
    ("amplifier count", with_(amplifiers=[None]), "one entry per crossbar"),
    ("dtype", with_(dtype=np.int32), "float32 or float64"),
]


@pytest.mark.parametrize("kwargs, match", [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_network_parameters_raise_a_clear_error(kwargs, match):
    with pytest.raises(ParameterError, match=re.escape(match)):
        ResistiveNetwork(**kwargs)


def test_invalid_inputs_and_solver_options_raise_clear_errors():
    net = ResistiveNetwork(**good())
    solver = BCDSolver(net)
    with pytest.raises(ParameterError, match=r"shape \(batch, 4\)"):
        solver.relax(np.zeros((2, 3)))
    with pytest.raises(ParameterError, match="NaN"):
        solver.relax(np.full((2, 4), np.nan))
    with pytest.raises(ParameterError, match="on_unconverged"):
        BCDSolver(net, on_unconverged="ignore")
    with pytest.raises(ParameterError, match="max_sweeps"):
        BCDSolver(net, max_sweeps=0)
    with pytest.raises(ParameterError, match="exactly one"):
        Nudge(0.1)
    with pytest.raises(ParameterError, match="smaller beta"):
        solver.relax(np.zeros((2, 4)), Nudge(-1.0, target=np.zeros((2, 2))))
    with pytest.raises(ParameterError, match="nudge target/error must have shape"):
        solver.relax(np.zeros((2, 4)), Nudge(1e-6, error=np.zeros((3, 2))))
    block = ResistiveBlock(net)
    block.forward(np.zeros((2, 4)))
    with pytest.raises(ParameterError, match="positive"):
        block.ep_gradients(0.0, error=np.zeros((2, 2)))
    with pytest.raises(ParameterError, match="unknown EP estimator"):
        block.ep_gradients(1e-6, error=np.zeros((2, 2)), estimator="sideways")

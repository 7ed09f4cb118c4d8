"""Small random resistive networks shared by the analog tests."""

from dataclasses import dataclass

import numpy as np

from cosim.analog import Amplifier, BCDSolver, IdealDiode, ResistiveBlock, ResistiveNetwork, ShockleyDiode


@dataclass(frozen=True)
class Case:
    """A network shape and its features; ``id`` names it in test reports."""

    id: str
    sizes: tuple
    diode: str = "ideal"
    amplifiers: bool = False
    duplicate_inputs: bool = True


CASES = [
    Case("ideal-1hidden", (8, 7, 3)),
    Case("ideal-3hidden", (10, 9, 8, 7, 4)),
    Case("ideal-amplified", (8, 6, 5, 3), amplifiers=True),
    Case("shockley-2hidden", (8, 6, 5, 3), diode="shockley"),
    Case("shockley-amplified", (8, 6, 5, 3), diode="shockley", amplifiers=True, duplicate_inputs=False),
]


def make_network(case: Case, seed: int = 0, dtype=np.float64) -> ResistiveNetwork:
    """Conductances 10..100 uS, rails around +-0.3 V, small bias currents: partly clamped hidden nodes."""
    rng = np.random.default_rng(seed)
    sizes = case.sizes
    weights = [rng.uniform(1e-5, 1e-4, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    hidden = sizes[1:-1]
    diode = ShockleyDiode(saturation_current=1e-12) if case.diode == "shockley" else IdealDiode()
    amplifiers = None
    if case.amplifiers:
        amplifiers = [Amplifier(rng.uniform(1.2, 2.5), rng.uniform(0.4, 1.0)) for _ in weights]
    return ResistiveNetwork(
        weights,
        biases=[rng.normal(0.0, 2e-6, n) for n in sizes[1:]],
        lower_rails=[rng.uniform(-0.35, -0.2, n) for n in hidden],
        upper_rails=[rng.uniform(0.2, 0.35, n) for n in hidden],
        diode=diode,
        amplifiers=amplifiers,
        duplicate_inputs=case.duplicate_inputs,
        dtype=dtype,
    )


def make_inputs(network: ResistiveNetwork, batch: int = 5, seed: int = 1, volts: float = 1.0) -> np.ndarray:
    """Gaussian block inputs with standard deviation ``volts``."""
    return np.random.default_rng(seed).normal(0.0, volts, (batch, network.input_width))


def make_block(case: Case, seed: int = 0, tol: float = 1e-14, dtype=np.float64) -> ResistiveBlock:
    network = make_network(case, seed, dtype)
    return ResistiveBlock(network, BCDSolver(network, tol=tol, max_sweeps=20000, on_unconverged="raise"))

"""The analog core in one page: relax a deep resistive network, nudge it, and read its gradients.

A (2*64)-256-10 network with ideal diodes to rails at -20 mV and +20 mV: solve the free equilibrium for a
batch, check Kirchhoff's law, then compare the centred-EP gradients with the exact ones from implicit
differentiation. Run: python examples/analog_core.py
"""

import time

import numpy as np

from cosim.analog import BCDSolver, ResistiveBlock, ResistiveNetwork
from cosim.analog import observables


def main() -> None:
    rng = np.random.default_rng(0)
    sizes = [128, 256, 10]  # 64 inputs duplicated as +x and -x
    conductances = [rng.uniform(1e-7, 2e-5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]  # siemens
    network = ResistiveNetwork(conductances, lower_rails=[-0.02], upper_rails=[0.02], duplicate_inputs=True)
    block = ResistiveBlock(network, BCDSolver(network, tol=1e-12))

    x = rng.uniform(-1.0, 1.0, (32, 64))  # volts
    start = time.perf_counter()
    outputs = block.forward(x)
    elapsed = time.perf_counter() - start
    info = block.free.info
    print(f"free equilibrium of a batch of {len(x)}: {info.sweeps} sweeps, residual {info.residual:.1e}, "
          f"{elapsed * 1e3:.1f} ms (includes Numba compilation on a first run)")

    hidden = block.free.layers[1]
    clamped = np.mean((hidden == network.lower_rails[0]) | (hidden == network.upper_rails[0]))
    currents = observables.element_currents(network, block.free.layers)
    print(f"hidden nodes at a diode rail: {clamped:.0%};  output KCL residual: {np.abs(currents[-1]).max():.1e} A")
    print(f"output voltages of sample 0 (V): {np.array2string(outputs[0], precision=3)}")

    error = outputs - np.eye(10)[rng.integers(0, 10, len(x))] * 0.1  # dL/dv of a squared error
    exact = block.implicit_gradients(error=error)
    print("gradient agreement, centred EP vs implicit differentiation (cosine per tensor):")
    for beta in (1e-5, 1e-6):
        ep = block.ep_gradients(beta, error=error)
        cosines = [float(a.ravel() @ b.ravel() / np.linalg.norm(a) / np.linalg.norm(b))
                   for a, b in zip([*ep.conductances, ep.inputs], [*exact.conductances, exact.inputs])]
        print(f"  beta={beta:.0e} A: W0 {cosines[0]:.6f}  W1 {cosines[1]:.6f}  inputs {cosines[2]:.6f}")


if __name__ == "__main__":
    main()

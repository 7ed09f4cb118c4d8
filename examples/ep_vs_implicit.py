"""Equilibrium propagation against implicit differentiation on a deep resistive network, as beta shrinks.

A (2*16)-24-24-24-8 network (16 inputs driven as [+x, -x], three hidden layers with diodes to rails at
-50 mV and +50 mV, a linear output layer), conductances 0.1..10 uS, hidden bias currents that spread the
hidden nodes over several hundred millivolts so that about half of the diodes conduct. For one batch the script solves
the free equilibrium once, takes the exact gradients of a squared-error loss by implicit differentiation
(the adjoint network), and then the EP estimates of the three estimators for beta from 1e-5 S down to
1e-10 S. It prints, per beta, the relative error ||g_EP - g_ID|| / ||g_ID|| of the parameter gradients
(all conductances and bias currents) and of the input gradient (read from the input-source currents),
and the smallest cosine similarity over the parameter tensors.

Expected (docs/analog.md, section 4): centred EP (+beta, -beta) has O(beta^2) bias, one-sided EP (positive: +beta and
free; negative: free and -beta) O(beta); at the smallest beta the error grows again because the two
phases differ by less than the solver's tolerance and float64 rounding allow. A second, shorter table
repeats the sweep with ideal diodes (and smaller bias currents, so that about half of the hidden nodes
are clamped): the network is then piecewise linear, so centred EP is exact to rounding once beta is small
enough that no node switches between clamped and free across the two phases; above that it is not.

Units: the loss is L = 1/2 sum (v_out - target)^2 in V^2, so dL/dv_out is in volts and the nudge current
I = -beta dL/dv_out makes beta a conductance (siemens). Compare it with the output nodes' own conductance,
printed first. Run: python examples/ep_vs_implicit.py  (a few seconds).
"""

import numpy as np

from cosim.analog import BCDSolver, IdealDiode, ResistiveBlock, ResistiveNetwork, ShockleyDiode
from cosim.analog import observables

SIZES = (32, 24, 24, 24, 8)  # 16 inputs duplicated as +x and -x
RAIL_V = 0.05
BETAS_S = (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
ESTIMATORS = ("centred", "positive", "negative")


def make_block(diode, bias_volts: float) -> ResistiveBlock:
    """The network with the given diode model, and a tight float64 solver that raises if it stalls.

    Hidden and output bias currents are uniform in +-bias_volts times each node's self-conductance (A).
    """
    rng = np.random.default_rng(0)
    conductances = [rng.uniform(1e-7, 1e-5, (a, b)) for a, b in zip(SIZES[:-1], SIZES[1:])]  # siemens
    n_layers = len(conductances)
    self_conductance = [conductances[m - 1].sum(axis=0) + (conductances[m].sum(axis=1) if m < n_layers else 0.0)
                        for m in range(1, n_layers + 1)]
    biases = [rng.uniform(-bias_volts, bias_volts, d.shape) * d for d in self_conductance]
    hidden = n_layers - 1
    network = ResistiveNetwork(conductances, biases=biases, lower_rails=[-RAIL_V] * hidden,
                               upper_rails=[RAIL_V] * hidden, diode=diode, duplicate_inputs=True)
    return ResistiveBlock(network, BCDSolver(network, tol=1e-14, max_sweeps=20000, on_unconverged="raise"))


def relative_error(estimate: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(estimate - exact) / np.linalg.norm(exact))


def min_cosine(estimate, exact) -> float:
    tensors = zip([*estimate.conductances, *estimate.biases], [*exact.conductances, *exact.biases])
    return min(float(a.ravel() @ b.ravel() / (np.linalg.norm(a) * np.linalg.norm(b))) for a, b in tensors)


def sweep(block: ResistiveBlock, betas, title: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.0, 1.0, (16, block.network.input_width))  # volts
    outputs = block.forward(x)
    target = rng.normal(0.0, 0.1, outputs.shape)  # volts
    error = outputs - target  # dL/dv_out of L = 1/2 |v_out - target|^2, volts
    exact = block.implicit_gradients(error=error)
    info = block.free.info
    print(f"\n{title}: free equilibrium in {info.sweeps} sweeps (relative residual {info.residual:.1e}); "
          f"output self-conductance {block.network.self_conductances[-1].mean():.2e} S")
    if isinstance(block.network.diode, ShockleyDiode):
        currents = observables.diode_currents(block.network, block.free.layers)
        conducting = np.mean(np.concatenate([np.abs(i).ravel() > 1e-9 for i in currents]))
        print(f"hidden diodes conducting more than 1 nA: {conducting:.0%}")
    else:
        hidden = np.concatenate([(np.abs(v) == RAIL_V).ravel() for v in block.free.layers[1:-1]])
        print(f"hidden nodes clamped at a rail: {hidden.mean():.0%}")
    head = f"{'beta (S)':>9}" + "".join(f"  {e + ' params':>16}  {e + ' inputs':>16}" for e in ESTIMATORS)
    print(head + f"  {'min cosine (centred)':>20}")
    for beta in betas:
        row, cosine = f"{beta:9.0e}", None
        for estimator in ESTIMATORS:
            ep = block.ep_gradients(beta, error=error, estimator=estimator)
            row += f"  {relative_error(ep.flat(), exact.flat()):16.2e}  {relative_error(ep.inputs, exact.inputs):16.2e}"
            if estimator == "centred":
                cosine = min_cosine(ep, exact)
        print(row + f"  {cosine:20.9f}")


def main() -> None:
    print("Relative error of EP gradients against implicit differentiation, ||g_EP - g_ID|| / ||g_ID||")
    sweep(make_block(ShockleyDiode(), 0.8), BETAS_S, "Shockley diodes (I_s = 1e-14 A, n = 1, 27 degC)")
    sweep(make_block(IdealDiode(), 0.1), (1e-4, *BETAS_S[:3]), "Ideal diodes (the same crossbars, smaller biases)")


if __name__ == "__main__":
    main()

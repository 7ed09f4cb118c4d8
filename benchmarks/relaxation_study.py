"""Study: how the relaxations of cosim.analog.relaxation compare, on random and trained energy blocks.

For every block and relaxation (``bcd`` = exact block coordinate descent / the odd-even Hopfield fixed
point, ``sync`` = the layer-synchronous Hopfield fixed point, ``rc`` = gradient flow, ``momentum`` with
its adaptive friction, with a fixed friction 0.2, and with a bifurcation schedule):

* gradient evaluations to tolerance (one evaluation = one sweep = every layer's input computed once),
  median over instances (one instance = one network and one input, relaxed alone, tol 1e-6);
* how often it converges within the cap (5000 steps);
* final energy against the best any relaxation found for the same instance: median gap and the fraction
  of instances within 1e-9 (relative) of the best;
* EP against implicit differentiation at the free equilibrium that relaxation found (tol 1e-12, centred
  EP, beta 1e-4 relative): the smallest cosine over the block's parameter tensors;
* test accuracy of a trained ff-EBM whose energy block relaxes this way, with Gaussian noise of std sigma
  added to every state at every update.

Blocks: random deep Hopfield networks 40-60-60-10 with Gaussian couplings of std g/sqrt(fan-in), g = 1 and
2 (non-convex in the box [0, 1]); the Hopfield block (256-256-128) of chip_configs/fmnist_hopfield.yaml
trained with the fixed point; random resistive networks (2*40)-60-60-10 (1e-7..1e-5 S, ideal diodes to
+-0.5 V); the first resistive block of chip_configs/default_ideal.yaml after a short training. Finally
chip_configs/fmnist_hopfield.yaml is trained for one epoch with each Hopfield relaxation.

    .venv/bin/python benchmarks/relaxation_study.py            # full run (a few minutes on 2 cores)
    .venv/bin/python benchmarks/relaxation_study.py --quick    # small smoke run (about a minute)

Prints Markdown tables and writes the figure (default docs/relaxation.png).
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from cosim.analog import BCDSolver, ConvergenceWarning, IdealDiode, ResistiveBlock, ResistiveNetwork
from cosim.analog import (GradientFlowSolver, HopfieldBlock, HopfieldEnergy, HopfieldNetwork, HopfieldSolver,
                          MomentumSolver)
from cosim.analog.resistive.observables import energy as resistive_energy
from cosim.config import load_config
from cosim.learning.train import evaluate
from cosim.runner import prepare

ROOT = Path(__file__).resolve().parents[1]
TOL, CAP, EP_TOL, EP_BETA = 1e-6, 5000, 1e-12, 1e-4
HOPFIELD_RELAXATIONS = {
    "bcd": {},
    "sync": {"synchronous": True},
    "rc": {"relaxation": "rc"},
    "momentum": {"relaxation": "momentum"},
    "momentum γ=0.2": {"relaxation": "momentum", "damping": 0.2},
    "momentum+bif.": {"relaxation": "momentum", "bifurcation_steps": 50},
}
RESISTIVE_RELAXATIONS = {
    "bcd": lambda net, **kw: BCDSolver(net, max_sweeps=CAP, **kw),
    "rc": lambda net, **kw: GradientFlowSolver(net, max_steps=CAP, **kw),
    "momentum": lambda net, **kw: MomentumSolver(net, max_steps=CAP, **kw),
    "momentum γ=0.2": lambda net, **kw: MomentumSolver(net, max_steps=CAP, damping=0.2, **kw),
    "momentum+bif.": lambda net, **kw: MomentumSolver(net, max_steps=CAP, bifurcation_steps=50, **kw),
}
NOISE_FRACTIONS = (0.0, 0.025, 0.05, 0.1, 0.2, 0.4)  # state noise sigma / the range of the states
STATE_RANGE = {"hopfield": 1.0, "resistive": 0.1}  # [0, 1]; the +-50 mV rails of default_ideal.yaml, in V
NOISE = {kind: tuple(f * span for f in NOISE_FRACTIONS) for kind, span in STATE_RANGE.items()}


@dataclass
class Block:
    """One block of the study: its kind, network(s) and the inputs of its instances."""

    name: str
    kind: str  # "hopfield" or "resistive"
    instances: list  # (network, input row (1, n_in))
    ep_case: tuple  # (network, input batch) for the EP check
    chain: object = None  # a trained chain whose block `index` is this block, for the noise accuracy
    index: int = 1
    test: tuple = ()
    results: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- blocks


def random_hopfield(gain: float, networks: int, inputs: int) -> Block:
    cases = []
    for seed in range(networks):
        rng = np.random.default_rng(seed)
        sizes = (40, 60, 60, 10)
        net = HopfieldNetwork([rng.normal(0, gain / np.sqrt(a), (a, b)) for a, b in zip(sizes[:-1], sizes[1:])],
                              [rng.normal(0, 0.2, n) for n in sizes[1:]])
        x = rng.normal(size=(inputs, 40))
        cases += [(net, x[i:i + 1]) for i in range(inputs)]
    net, _ = cases[0]
    return Block(f"Hopfield 40-60-60-10, random g={gain:g}", "hopfield", cases,
                 (net, np.vstack([x for n, x in cases if n is net])))


def random_resistive(networks: int, inputs: int) -> Block:
    cases = []
    for seed in range(networks):
        rng = np.random.default_rng(seed)
        sizes = (80, 60, 60, 10)
        weights = [rng.uniform(1e-7, 1e-5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        hidden = sizes[1:-1]
        biases = [rng.uniform(-0.8, 0.8, n) * 1e-5 * 30 for n in sizes[1:]]
        net = ResistiveNetwork(weights, biases, [-0.5] * len(hidden), [0.5] * len(hidden), IdealDiode(),
                               duplicate_inputs=True)
        x = rng.uniform(-1, 1, (inputs, 40))
        cases += [(net, x[i:i + 1]) for i in range(inputs)]
    net, _ = cases[0]
    return Block("resistive (2*40)-60-60-10, random", "resistive", cases,
                 (net, np.vstack([x for n, x in cases if n is net])))


def trained_chain(config: str, overrides: list[str]):
    trainer = prepare(load_config(ROOT / "chip_configs" / config, overrides)).trainer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        trainer.fit(trainer.history.epochs + 1)
    return trainer, time.perf_counter() - start


def trained_hopfield(trainer, inputs: int, test: int) -> Block:
    chain = trainer.chain
    block = chain.blocks[1]
    net = HopfieldNetwork([np.array(w, np.float64) for w in block.network.weights],
                          [np.array(b, np.float64) for b in block.network.biases])
    x = chain.blocks[0].forward(trainer.dataset.test_x[:inputs], training=False).astype(np.float64)
    data = trainer.dataset
    return Block("Hopfield 256-256-128, trained (fmnist_hopfield)", "hopfield",
                 [(net, x[i:i + 1]) for i in range(inputs)], (net, x[:16]), chain, 1,
                 (data.test_x[:test], data.test_y[:test]))


def trained_resistive(trainer, inputs: int, test: int) -> Block:
    chain = trainer.chain
    block = chain.blocks[1]
    net = block.network.astype(np.float64)
    x = block.input_scale * chain.blocks[0].forward(trainer.dataset.test_x[:inputs], training=False)
    data = trainer.dataset
    return Block("resistive (2*256)-256-256, trained (default_ideal)", "resistive",
                 [(net, x[i:i + 1].astype(np.float64)) for i in range(inputs)], (net, x[:16].astype(np.float64)),
                 chain, 1, (data.test_x[:test], data.test_y[:test]))


# --------------------------------------------------------------------------------------------- metrics


def hopfield_solver(net, name, tol=TOL, **extra):
    return HopfieldSolver(net, tol=tol, max_steps=CAP, **HOPFIELD_RELAXATIONS[name], **extra)


def relax_instances(block: Block) -> None:
    """Gradient evaluations, convergence and final energy of every relaxation on every instance."""
    names = HOPFIELD_RELAXATIONS if block.kind == "hopfield" else RESISTIVE_RELAXATIONS
    for name in names:
        evals, converged, energies = [], [], []
        for net, x in block.instances:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                if block.kind == "hopfield":
                    solver = hopfield_solver(net, name)
                    state = solver.relax(x)
                    e = HopfieldEnergy(net, solver.drive(x), None).energy(state.layers[1:])
                else:
                    state = RESISTIVE_RELAXATIONS[name](net, tol=TOL).relax(x)
                    e = resistive_energy(net, state.layers)
            evals.append(state.info.sweeps)
            converged.append(state.info.converged)
            energies.append(float(e[0]))
        block.results[name] = {"evals": np.array(evals), "converged": np.array(converged),
                               "energy": np.array(energies)}
    best = np.min([r["energy"] for r in block.results.values()], axis=0)
    for r in block.results.values():
        r["gap"] = r["energy"] - best
        r["at_best"] = r["gap"] <= 1e-9 * (1.0 + np.abs(best))


def cosine(a, b) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a.ravel() @ b.ravel() / (na * nb)) if na and nb else float(na == nb)


def ep_agreement(block: Block) -> None:
    """Smallest per-tensor cosine of centred EP vs implicit differentiation, at each relaxation's equilibrium."""
    net, x = block.ep_case
    error = np.random.default_rng(7).normal(size=(len(x), net.output_width))
    for name, result in block.results.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if block.kind == "hopfield":
                solved = HopfieldBlock(net, hopfield_solver(net, name, tol=EP_TOL))
                solved.forward(x)
                level = np.sqrt(np.mean(solved.free.output ** 2)) or 1.0
                exact, ep = solved.implicit_gradients(error=error), solved.ep_gradients(EP_BETA * level, error=error)
                pairs = zip([*ep.weights, *ep.biases, ep.inputs], [*exact.weights, *exact.biases, exact.inputs])
            else:
                solved = ResistiveBlock(net, RESISTIVE_RELAXATIONS[name](net, tol=EP_TOL))
                solved.forward(x)
                level = np.sqrt(np.mean(solved.free.output ** 2)) * float(np.mean(net.self_conductances[-1]))
                exact, ep = solved.implicit_gradients(error=error), solved.ep_gradients(EP_BETA * level, error=error)
                pairs = zip([*ep.conductances, *ep.biases, ep.inputs], [*exact.conductances, *exact.biases,
                                                                         exact.inputs])
        result["ep_cosine"] = min(cosine(a, b) for a, b in pairs)


def noisy_accuracy(block: Block) -> None:
    """Test accuracy of the trained chain with each relaxation and state noise in its energy block."""
    if block.chain is None:
        return
    chain, x, y = block.chain, *block.test
    analog = chain.blocks[block.index]
    original = analog.block.solver
    names = list(HOPFIELD_RELAXATIONS) if block.kind == "hopfield" else ["rc", "momentum"]
    for name in names:
        block.results[name]["accuracy"] = {}
        for sigma in NOISE[block.kind]:
            if sigma and name == "bcd" and block.kind == "resistive":
                continue
            rng = np.random.default_rng(11)
            if block.kind == "hopfield":
                analog.block.solver = HopfieldSolver(analog.network, tol=1e-4, max_steps=CAP, noise_sigma=sigma,
                                                     rng=rng, **HOPFIELD_RELAXATIONS[name])
            else:
                analog.block.solver = RESISTIVE_RELAXATIONS[name](analog.network, tol=1e-4, noise_sigma=sigma,
                                                                  rng=rng)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                block.results[name]["accuracy"][sigma] = evaluate(chain, x, y, 256)[1]
    analog.block.solver = original


# ---------------------------------------------------------------------------------------------- report


def table(blocks: list[Block]) -> str:
    lines = ["| block | relaxation | grad. evals (median) | vs rc | converged | energy gap to best (median) | "
             "at best | EP/ID cosine (min) |", "|---|---|---|---|---|---|---|---|"]
    for block in blocks:
        rc = np.median(block.results["rc"]["evals"])
        for name, r in block.results.items():
            evals = np.median(r["evals"])
            lines.append(f"| {block.name} | {name} | {evals:.0f} | {evals / rc:.2f} | "
                         f"{100 * np.mean(r['converged']):.0f}% | {np.median(r['gap']):.2e} | "
                         f"{100 * np.mean(r['at_best']):.0f}% | {r['ep_cosine']:.6f} |")
    return "\n".join(lines)


def accuracy_table(blocks: list[Block]) -> str:
    lines = []
    for block in blocks:
        if block.chain is None:
            continue
        sigmas = NOISE[block.kind]
        unit = "" if block.kind == "hopfield" else " V"
        lines += [f"\n{block.name}: test accuracy ({len(block.test[1])} test samples) with state noise sigma",
                  "", "| relaxation | " + " | ".join(f"σ={s:g}{unit}" for s in sigmas) + " |",
                  "|---|" + "---|" * len(sigmas)]
        for name, r in block.results.items():
            if "accuracy" in r:
                cells = [f"{100 * r['accuracy'][s]:.1f}%" if s in r["accuracy"] else "n/a" for s in sigmas]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(blocks: list[Block], training: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    names = list(HOPFIELD_RELAXATIONS)
    width = 0.8 / len(blocks)
    for k, block in enumerate(blocks):
        values = [np.median(block.results[n]["evals"]) if n in block.results else np.nan for n in names]
        axes[0].bar(np.arange(len(names)) + k * width, values, width, label=block.name)
    axes[0].set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=30, ha="right")
    axes[0].set_yscale("log")
    axes[0].set_ylim(5, 2000)
    axes[0].set_ylabel(f"gradient evaluations to tol {TOL:g} (median)")
    axes[0].legend(fontsize=7, loc="upper left")
    for block in blocks:
        if block.kind != "hopfield" or block.chain is not None:
            continue
        for name in ("rc", "momentum", "momentum+bif.", "bcd"):
            gap = np.sort(np.maximum(block.results[name]["gap"], 1e-12))
            axes[1].plot(gap, np.arange(1, len(gap) + 1) / len(gap), label=f"{name}, {block.name.split(',')[1]}")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("final energy - best found (floored at 1e-12)")
    axes[1].set_ylabel("fraction of instances")
    axes[1].legend(fontsize=7)
    for block in blocks:
        if block.chain is not None:
            style, kind = ("o-", "Hopfield") if block.kind == "hopfield" else ("s--", "resistive")
            for name, r in block.results.items():
                if "accuracy" in r:
                    sigmas = sorted(r["accuracy"])
                    axes[2].plot([s / STATE_RANGE[block.kind] for s in sigmas],
                                 [100 * r["accuracy"][s] for s in sigmas], style, label=f"{kind}: {name}")
    axes[2].set_xlabel("noise sigma / state range (Hopfield 1, resistive 0.1 V)")
    axes[2].set_ylabel("test accuracy (%)")
    title = ", ".join(f"{k}: {100 * v['accuracy']:.1f}%" for k, v in training.items())
    axes[2].set_title(f"trained with: {title}", fontsize=8)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def train_hopfield_chains(data_overrides: list[str]) -> dict:
    out = {}
    for kind in ("bcd", "rc", "momentum"):
        trainer, seconds = trained_chain("fmnist_hopfield.yaml",
                                         [f"model.blocks.1.relaxation.kind={kind}", *data_overrides])
        metrics = trainer.history.metrics
        out[kind] = {"accuracy": metrics["test_accuracy"][-1], "seconds": seconds,
                     "evals": trainer.chain.blocks[1].mean_free_sweeps, "trainer": trainer}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer instances and training samples")
    parser.add_argument("--figure", default=str(ROOT / "docs" / "relaxation.png"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    networks, inputs = (2, 2) if args.quick else (8, 8)
    samples, test = (1000, 200) if args.quick else (60000, 2000)
    # the quick smoke run also evaluates on a small test set; the full run on the whole one
    data = [f"data.n_train={samples}"] + ([f"data.n_test={test}"] if args.quick else [])
    start = time.perf_counter()
    with threadpool_limits(limits=args.threads, user_api="blas"):
        training = train_hopfield_chains(data)
        resistive_trainer, _ = trained_chain("default_ideal.yaml", [f"data.n_train={min(samples, 10000)}",
                                                                    *data[1:]])
        blocks = [random_hopfield(1.0, networks, inputs), random_hopfield(2.0, networks, inputs),
                  trained_hopfield(training["bcd"]["trainer"], networks * inputs, test),
                  random_resistive(networks, inputs), trained_resistive(resistive_trainer, networks * inputs, test)]
        for block in blocks:
            relax_instances(block)
            ep_agreement(block)
            noisy_accuracy(block)
    print(table(blocks))
    print(accuracy_table(blocks))
    test_set = f"{test} test samples" if args.quick else "the full test set"
    print(f"\nfmnist_hopfield.yaml, one epoch on {samples} training samples (test accuracy on {test_set}):\n")
    print("| relaxation | test accuracy | mean gradient evaluations per free phase | training time |")
    print("|---|---|---|---|")
    for kind, r in training.items():
        print(f"| {kind} | {100 * r['accuracy']:.2f}% | {r['evals']:.1f} | {r['seconds']:.0f} s |")
    figure(blocks, training, Path(args.figure))
    print(f"\nfigure: {args.figure}; {time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()

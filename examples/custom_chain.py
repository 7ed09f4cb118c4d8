"""Build a small ff-EBM chain by hand with the Python API and train it for a couple of epochs.

What `cosim run` builds from a YAML config (cosim/build.py), written out by hand without a chip model
(ideal converters and devices, no energy ledger):

    digital front end   Linear(64 -> 32, no bias) -> BatchNorm -> HardTanh        (backprop)
    analog block        (2*32)-32-10 resistive network, ideal diodes to +-50 mV   (equilibrium propagation)
    digital readout     BatchNorm on the 10 output voltages -> logits              (backprop)

trained with cross-entropy and Adam on the synthetic dataset (Gaussian clusters in 64 dimensions, 10
classes). The analog block's trainable parameters are its conductances normalised by g_max (kept inside
[g_min, g_max] by the optimiser's bounds) and its bias currents / g_max; centred EP with the relative
nudge strength beta = 0.1 (see docs/analog.md). After training, the EP gradients of the whole chain are
compared with implicit differentiation on one batch (what `cosim gradcheck` prints).

Run: python examples/custom_chain.py  (a few seconds).
"""

import numpy as np

from cosim.analog import BCDSolver, ResistiveBlock, ResistiveNetwork
from cosim.data import load_dataset
from cosim.digital.ops import BatchNorm, HardTanh, Linear
from cosim.learning import gradcheck
from cosim.learning.blocks import AnalogBlock, DigitalBlock, NudgeSettings
from cosim.learning.chain import Chain
from cosim.learning.optim import constant_schedule, make_optimizer
from cosim.learning.train import Trainer

DTYPE = np.float64
G_MIN_S, G_MAX_S = 1e-8, 1e-5  # device conductance range, siemens
FEATURES, HIDDEN, CLASSES = 32, 32, 10


def build_chain(rng: np.random.Generator) -> Chain:
    front = DigitalBlock([Linear(64, FEATURES, rng, bias=False, dtype=DTYPE), BatchNorm(FEATURES, dtype=DTYPE),
                          HardTanh()])
    sizes = [2 * FEATURES, HIDDEN, CLASSES]  # inputs duplicated as [+x, -x]
    network = ResistiveNetwork([rng.uniform(G_MIN_S, G_MAX_S, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])],
                               lower_rails=[-0.05], upper_rails=[0.05],  # volts, one entry per hidden layer
                               duplicate_inputs=True, dtype=DTYPE)
    solver = BCDSolver(network, tol=1e-9, max_sweeps=500)
    analog = AnalogBlock(ResistiveBlock(network, solver), G_MIN_S, G_MAX_S, input_scale=1.0,  # 1 V per unit
                         nudge=NudgeSettings(algorithm="ep", estimator="centred", beta=0.1))
    readout = DigitalBlock([BatchNorm(CLASSES, dtype=DTYPE)])
    return Chain([front, analog, readout], loss="cross_entropy")


def main() -> None:
    data = load_dataset("synthetic", n_train=800, n_test=400, seed=0, n_features=64, dtype=DTYPE)
    rng = np.random.default_rng(0)
    chain = build_chain(rng)
    lr = 0.01
    optimizer = make_optimizer("adam", chain.parameter_groups(), lr=lr)
    trainer = Trainer(chain, data, optimizer, constant_schedule(lr), batch_size=32, test_batch_size=200,
                      rng=np.random.default_rng(1), progress=False)
    history = trainer.fit(2, on_epoch=lambda t: print(
        f"epoch {t.history.epochs}: train loss {t.history.metrics['train_loss'][-1]:.3f}, "
        f"train accuracy {t.history.metrics['train_accuracy'][-1]:.1%}, "
        f"test accuracy {t.history.metrics['test_accuracy'][-1]:.1%}, "
        f"mean free-phase sweeps {t.history.metrics['free_sweeps'][-1]:.1f}"))
    assert history.epochs == 2

    analog = chain.analog_blocks[0]
    g = analog.network.conductances[0]
    print(f"analog conductances after training: {g.min():.2e} .. {g.max():.2e} S "
          f"(device range {G_MIN_S:.0e} .. {G_MAX_S:.0e} S)")

    rows = gradcheck.compare(chain, data.train_x[:32], data.train_y[:32], beta=0.01)
    print("\nEP (beta = 0.01) vs implicit differentiation on one batch of 32:")
    print(gradcheck.format_table(rows))


if __name__ == "__main__":
    main()

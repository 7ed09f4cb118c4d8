"""The training loop: epochs of mini-batches through a :class:`Chain`, evaluation, per-epoch metrics and a
per-step history (training loss and accuracy over windows of steps, :data:`POINTS_PER_EPOCH` per epoch).

Knows nothing of YAML or files: it takes built objects and reports each finished epoch to a callback
(which the command line uses to write results and checkpoints atomically).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import numpy as np

from cosim.data import Dataset, iterate_batches
from cosim.errors import CosimError
from cosim.learning.chain import Chain
from cosim.learning.losses import accuracy
from cosim.learning.optim import Optimizer, Schedule
from cosim.report.progress import progress
from cosim.threads import recheck as recheck_threads

METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "epoch_seconds",
           "free_sweeps", "solved_samples", "unconverged_samples", "clamped_fraction")
#: columns of the per-step history, and how many windows of steps each epoch is logged in
STEPS, POINTS_PER_EPOCH = ("step", "loss", "accuracy"), 50


@dataclass
class History:
    """Per-epoch metrics: accuracies as fractions, losses per sample, training seconds (evaluation
    excluded), mean free-phase sweeps per analog block, samples solved and samples in unconverged solves
    (every phase of every energy block, evaluation included), the fraction of hidden-node values of free
    equilibria held at a rail; test metrics are NaN for epochs that were not evaluated. ``steps``: per window
    of training steps, the step it ends at (counted from 1 over the whole run) and the window's mean loss per
    sample and accuracy."""

    metrics: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in METRICS})
    steps: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in STEPS})

    def append(self, **values: float) -> None:
        for name in METRICS:
            self.metrics[name].append(float(values[name]))

    @property
    def epochs(self) -> int:
        return len(self.metrics["train_loss"])


def clamped_fraction(blocks) -> float:
    """Fraction of the energy blocks' hidden-node values of free equilibria held at a rail; NaN where the
    blocks have no hidden nodes (one-layer Hopfield blocks: their only layer is the output)."""
    hidden = sum(b.hidden_values for b in blocks)
    return sum(b.clamped_values for b in blocks) / hidden if hidden else float("nan")


def evaluate(chain: Chain, x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float]:
    """Mean per-sample loss and accuracy of the chain in evaluation mode."""
    losses, correct = 0.0, 0.0
    for xb, yb in iterate_batches(x, y, batch_size, None):
        out = chain.forward(xb, training=False)
        losses += float(chain.loss(out, yb)[0].sum())
        correct += accuracy(out, yb) * len(yb)
    return losses / len(y), correct / len(y)


class Trainer:
    """Trains ``chain`` on ``dataset`` with ``optimizer`` under a per-step learning-rate ``schedule``.

    The parameter gradients of a batch are those of the batch-summed loss; they are divided by the
    batch size before the optimiser step (so the learning rate does not depend on the batch size).
    """

    def __init__(self, chain: Chain, dataset: Dataset, optimizer: Optimizer, schedule: Schedule,
                 batch_size: int, test_batch_size: int, rng: np.random.Generator, progress: bool = True,
                 on_batch: Callable[[int], None] | None = None, evaluate_every_epoch: bool = True,
                 outside_training: Callable[[], AbstractContextManager] = nullcontext):
        if not 1 <= batch_size <= len(dataset.train_y):
            raise CosimError(f"data.batch_size = {batch_size} exceeds the {len(dataset.train_y)} training samples: "
                             "not one full batch to train on; lower data.batch_size or raise data.n_train")
        self.chain, self.dataset = chain, dataset
        self.optimizer, self.schedule = optimizer, schedule
        self.batch_size, self.test_batch_size = batch_size, test_batch_size
        self.rng = rng
        self.progress = progress
        self.on_batch = on_batch  # called with the batch size after every training step (e.g. accounting)
        self.evaluate_every_epoch = evaluate_every_epoch
        self.outside_training = outside_training  # entered around evaluation (e.g. to pause accounting)
        self.history = History()

    @property
    def steps_per_epoch(self) -> int:
        return len(self.dataset.train_y) // self.batch_size

    def fit(self, epochs: int, on_epoch: Callable[[Trainer], None] | None = None) -> History:
        """Train until ``epochs`` epochs are done (continuing a resumed history), then return it."""
        while self.history.epochs < epochs:
            self.train_epoch(self.history.epochs, epochs)
            if on_epoch is not None:
                on_epoch(self)
        return self.history

    def train_epoch(self, epoch: int, epochs: int) -> None:
        data, chain = self.dataset, self.chain
        start = time.perf_counter()
        loss_sum = correct = seen = 0.0
        window = [0.0, 0.0, 0]  # loss sum, correct, samples since the last logged step
        log_every = max(1, self.steps_per_epoch // POINTS_PER_EPOCH)
        for block in chain.energy_blocks:
            block.reset_counters()
        batches = iterate_batches(data.train_x, data.train_y, self.batch_size, self.rng, drop_last=True)
        bar = progress(batches, total=self.steps_per_epoch, desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                       disable=not self.progress)
        for step, (xb, yb) in enumerate(bar):
            self.optimizer.set_lr(self.schedule(epoch * self.steps_per_epoch + step))
            out = chain.forward(xb, training=True)
            per_sample, _ = chain.backward(out, yb, input_gradient=False)
            self.optimizer.step(chain.gradients(), scale=1.0 / len(yb))
            chain.after_update()
            if self.on_batch is not None:
                self.on_batch(len(yb))
            recheck_threads()  # fewer BLAS threads when other jobs load the cores, more when they leave
            batch_loss, batch_correct = float(per_sample.sum()), accuracy(out, yb) * len(yb)
            loss_sum, correct, seen = loss_sum + batch_loss, correct + batch_correct, seen + len(yb)
            window = [window[0] + batch_loss, window[1] + batch_correct, window[2] + len(yb)]
            if (step + 1) % log_every == 0 or step + 1 == self.steps_per_epoch:
                self._log_steps(epoch * self.steps_per_epoch + step + 1, *window)
                window = [0.0, 0.0, 0]
            if step % 20 == 0:
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
        bar.close()
        seconds = time.perf_counter() - start
        test_loss = test_accuracy = float("nan")
        if self.evaluate_every_epoch or epoch + 1 == epochs:
            with self.outside_training():
                test_loss, test_accuracy = evaluate(chain, data.test_x, data.test_y, self.test_batch_size)
        analog = chain.energy_blocks
        self.history.append(
            train_loss=loss_sum / seen, train_accuracy=correct / seen, test_loss=test_loss,
            test_accuracy=test_accuracy, epoch_seconds=seconds,
            free_sweeps=np.mean([b.mean_free_sweeps for b in analog]) if analog else 0.0,
            solved_samples=sum(b.solved_samples for b in analog),
            unconverged_samples=sum(b.unconverged for b in analog),
            clamped_fraction=clamped_fraction(analog),
        )

    def _log_steps(self, step: int, loss_sum: float, correct: float, seen: int) -> None:
        for name, value in zip(STEPS, (step, loss_sum / seen, correct / seen)):
            self.history.steps[name].append(float(value))

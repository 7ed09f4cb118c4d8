"""The training loop: epochs of mini-batches through a :class:`Chain`, evaluation, per-epoch metrics.

Knows nothing of YAML or files: it takes built objects and reports each finished epoch to a callback
(which the command line uses to write results and checkpoints atomically).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from cosim.data import Dataset, iterate_batches
from cosim.learning.chain import Chain
from cosim.learning.losses import accuracy
from cosim.learning.optim import Optimizer, Schedule

METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "epoch_seconds",
           "free_sweeps", "unconverged_solves")


@dataclass
class History:
    """Per-epoch metrics: accuracies as fractions, losses per sample, training seconds (evaluation
    excluded), mean free-phase sweeps per analog block, unconverged solves; test metrics are NaN for
    epochs that were not evaluated."""

    metrics: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in METRICS})

    def append(self, **values: float) -> None:
        for name in METRICS:
            self.metrics[name].append(float(values[name]))

    @property
    def epochs(self) -> int:
        return len(self.metrics["train_loss"])


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
        return max(1, len(self.dataset.train_y) // self.batch_size)

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
        for block in chain.energy_blocks:
            block.reset_counters()
        batches = iterate_batches(data.train_x, data.train_y, self.batch_size, self.rng, drop_last=True)
        bar = tqdm(batches, total=self.steps_per_epoch, desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                   disable=not self.progress, leave=True, dynamic_ncols=True, mininterval=0.5)
        for step, (xb, yb) in enumerate(bar):
            self.optimizer.set_lr(self.schedule(epoch * self.steps_per_epoch + step))
            out = chain.forward(xb, training=True)
            per_sample, _ = chain.backward(out, yb, input_gradient=False)
            self.optimizer.step(chain.gradients(), scale=1.0 / len(yb))
            chain.after_update()
            if self.on_batch is not None:
                self.on_batch(len(yb))
            loss_sum += float(per_sample.sum())
            correct += accuracy(out, yb) * len(yb)
            seen += len(yb)
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
            unconverged_solves=sum(b.unconverged for b in analog),
        )

"""One training run from a config to a results directory — what `cosim run` (and later sweeps) call.

DIR/config.yaml      the resolved config (every default written out)
DIR/results.h5       metrics, summary and final parameters (rewritten atomically after every epoch)
DIR/checkpoint.h5    model, optimiser, chip, random-stream and metric state after the last finished epoch
DIR/training.png     loss and accuracy curves
DIR/energy.png, conductances.png, adc_codes.png   the chip's energy breakdown, conductance histograms before
                     and after training, and the codes its (non-ideal) ADCs produced
Data files are replaced atomically (a temporary file, then a rename); plots are simply rewritten.
A killed run restarted with ``resume=True`` continues from its last finished epoch.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cosim import plots
from cosim.learning import gradcheck
from cosim.build import build_chain, build_dataset, build_optimizer
from cosim.config import dump_config
from cosim.chip import Chip
from cosim.config.schema import Config
from cosim.data import Dataset
from cosim.errors import CosimError
from cosim.learning.chain import Chain
from cosim.learning.optim import Optimizer, Schedule
from cosim.learning.train import METRICS, Trainer
from cosim.results import (CHECKPOINT, RESULTS, atomic_write, load_checkpoint, run_parameters, save_checkpoint,
                           write_run_results)
from cosim.streams import Streams
from cosim.threads import solver_threads

CONFIG, CURVES = "config.yaml", "training.png"


@dataclass
class Session:
    """Everything one run is made of: data, the model and its chip, the optimiser and schedule, the random
    streams, and the trainer that fits them."""

    dataset: Dataset
    chain: Chain
    chip: Chip
    optimizer: Optimizer
    schedule: Schedule
    streams: Streams
    trainer: Trainer
    #: streams and chip scalars as the last test evaluation began (``epoch``: its index), so that `cosim eval`
    #: replays that evaluation exactly: evaluating draws noise and may recalibrate converters
    before_evaluation: dict = field(default_factory=dict)

    @contextmanager
    def evaluating(self):
        """Around a test evaluation: record :attr:`before_evaluation`, keep the evaluation off the ledger."""
        self.before_evaluation.update(epoch=self.trainer.history.epochs, streams=self.streams.state(),
                                      chip=self.chip.state()[0])
        with self.chip.ledger.suspended():
            yield

    def state(self) -> tuple[dict, dict]:
        """(JSON-able meta, array groups) of a checkpoint: model, optimiser, metrics, chip and streams."""
        chip_scalars, chip_arrays = self.chip.state()
        meta = {"epochs_done": self.trainer.history.epochs, "streams": self.streams.state(), "chip": chip_scalars,
                "evaluation": self.before_evaluation}
        metrics = {k: np.asarray(v) for k, v in self.trainer.history.metrics.items()}
        # model state as views: written straight to the file, no copies of large crossbars
        arrays = {"model": self.chain.state(), "optimizer": self.optimizer.state_dict(copy=False),
                  "metrics": metrics, "chip": chip_arrays}
        return meta, arrays

    def load_state(self, meta: dict, arrays: dict) -> None:
        self.chain.load_state(arrays["model"])
        self.chip.load_state(meta["chip"], arrays.get("chip", {}))
        self.optimizer.load_state_dict(arrays["optimizer"])
        self.streams.load_state(meta["streams"])
        self.before_evaluation.clear()
        self.before_evaluation.update(meta.get("evaluation", {}))
        for name in METRICS:
            self.trainer.history.metrics[name] = [float(v) for v in np.atleast_1d(arrays["metrics"][name])]


def prepare(config: Config, progress: bool = False) -> Session:
    """Dataset, chain, chip, optimiser and schedule of ``config``, with a ready-to-fit Trainer."""
    dataset = build_dataset(config)
    streams = Streams(config.seed)
    chain, chip = build_chain(config, dataset.train_x.shape[1:], dataset.n_classes, streams)
    steps = max(1, len(dataset.train_y) // config.data.batch_size)
    optimizer, schedule = build_optimizer(config, chain, steps)
    trainer = Trainer(chain, dataset, optimizer, schedule, config.data.batch_size, config.data.test_batch_size,
                      rng=streams("data/order"), progress=progress, on_batch=chip.book_step,
                      evaluate_every_epoch=config.training.eval_every_epoch)
    session = Session(dataset, chain, chip, optimizer, schedule, streams, trainer)
    trainer.outside_training = session.evaluating
    return session


def run(config: Config, out: Path, resume: bool = False, progress: bool = True):
    """Train and evaluate ``config``, writing DIR's files; returns the run's summary and its chip."""
    out = Path(out)
    config_yaml = dump_config(config)
    with solver_threads(config.solver.threads):
        session = prepare(config, progress)
        if resume and (out / CHECKPOINT).exists():
            _restore(session, out / CHECKPOINT, config_yaml)
        elif (out / CHECKPOINT).exists() and not resume:
            (out / CHECKPOINT).unlink()
        atomic_write(out / CONFIG, lambda tmp: tmp.write_text(config_yaml))
        initial = analog_conductances(session.chain)
        session.trainer.fit(config.training.epochs, on_epoch=lambda t: _save(session, out, config_yaml))
    _chip_plots(session, initial, out)
    return summarise(session), session.chip


def analog_conductances(chain) -> list[np.ndarray]:
    """Copies of every analog crossbar's conductances (S), in model order."""
    return [np.array(w) for block in chain.analog_blocks for w in block.network.conductances]


def _chip_plots(session: Session, initial: list[np.ndarray], out: Path) -> None:
    chip = session.chip
    report = chip.ledger.report()
    plots.energy_breakdown(report["per_phase_J"], [c.decode() for c in report["components"]],
                           [p.decode() for p in report["phases"]], out / "energy.png", title=out.name)
    if initial:
        plots.conductance_histograms(initial, analog_conductances(session.chain), out / "conductances.png",
                                     title="analog conductances before and after training")
    codes = {f"tile {t.id} {name}": adc.code_counts for t in chip.tiles
             for name, adc in (("output", t.output_adc), ("node difference", t.node_adcs["difference"][-1]),
                               ("node", t.node_adcs["a"][-1]), ("current", t.current_adc))
             if not adc.spec.ideal and adc.code_counts.any()}
    if codes:
        plots.code_histograms(codes, out / "adc_codes.png", title="ADC codes")


def summarise(session: Session) -> dict:
    trainer, report = session.trainer, session.chip.ledger.report()
    metrics = trainer.history.metrics
    samples = trainer.steps_per_epoch * trainer.batch_size * trainer.history.epochs
    return {
        "epochs": trainer.history.epochs,
        "final_test_accuracy": metrics["test_accuracy"][-1],
        "final_train_accuracy": metrics["train_accuracy"][-1],
        "final_train_loss": metrics["train_loss"][-1],
        "training_seconds": float(sum(metrics["epoch_seconds"])),
        "samples_per_second": samples / max(float(sum(metrics["epoch_seconds"])), 1e-9),
        "energy_per_training_sample_J": report["total_per_training_sample_J"],
        "energy_per_inference_J": report["total_per_inference_J"],
    }


def gradient_agreement(session: Session, samples: int = 64) -> dict:
    """EP (as configured: the chip's converters and noise included) against implicit differentiation on
    the first training samples, in evaluation mode; per analog tensor and their mean cosine."""
    chain, data = session.chain, session.dataset
    if not chain.energy_blocks:
        return {}
    beta = chain.energy_blocks[0].nudge.beta
    estimator = chain.energy_blocks[0].nudge.estimator
    with session.chip.ledger.suspended():
        rows = gradcheck.compare(chain, data.train_x[:samples], data.train_y[:samples], beta, estimator,
                                 training=False)
    analog = [r for r in rows if ".analog.conductances" in r.name or ".hopfield.weights" in r.name]
    return {"names": [r.name.encode() for r in analog], "cosine": [r.cosine for r in analog],
            "relative_error": [r.relative_error for r in analog], "beta": beta,
            "mean_cosine": float(np.mean([r.cosine for r in analog]))}


def _save(session: Session, out: Path, config_yaml: str) -> None:
    """After every epoch: checkpoint and results (replaced atomically) and the training curves."""
    agreement = gradient_agreement(session)  # before the checkpoint: it draws device read noise
    meta, arrays = session.state()
    save_checkpoint(out / CHECKPOINT, config_yaml, arrays, meta)
    summary = summarise(session)
    if agreement:
        summary["ep_id_cosine"] = agreement["mean_cosine"]
    write_run_results(out / RESULTS, config_yaml, arrays["metrics"], summary,
                      run_parameters(session.chain, session.chip.placements),
                      {"energy": session.chip.ledger.report(), "gradcheck": agreement})
    plots.training_curves(session.trainer.history.metrics, out / CURVES, title=f"{out.name}")


def _restore(session: Session, path: Path, config_yaml: str) -> None:
    saved_config, arrays, meta = load_checkpoint(path)
    if "streams" not in meta:
        raise CosimError(f"{path} was written by an older cosim (without the chip or named random streams); run "
                         "without --resume to start over")
    if saved_config != config_yaml:
        raise CosimError(f"{path} was written by a run with a different config; use another --out directory, "
                         "or run without --resume to start over")
    session.load_state(meta, arrays)

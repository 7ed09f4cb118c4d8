"""One training run from a config to a results directory — what `cosim run` (and later sweeps) call.

DIR/config.yaml      the resolved config (every default written out)
DIR/results.h5       metrics, summary and final parameters (rewritten atomically after every epoch)
DIR/checkpoint.h5    model, optimiser, chip, random-stream and metric state after the last finished epoch,
                     with the gradient check of that epoch and a SHA-256 digest
DIR/report.html      one self-contained page: config, health, training curves, energy, per-tile pictures
                     (cosim.report.run), written once after training
Files are replaced atomically (a temporary file, then a rename). After every epoch the checkpoint is
written first, then results.h5 from the same state (Ctrl-C is held back meanwhile). A run killed between
the two is repaired by ``resume=True``: it continues from the checkpoint's last finished epoch and rewrites
results.h5 from the checkpoint when no epoch is left to train.
"""

from __future__ import annotations

from contextlib import contextmanager
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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
from cosim.results import (CHECKPOINT, CONFIG, RESULTS, atomic_write, interrupts_deferred, load_checkpoint,
                           run_parameters, save_checkpoint, write_run_results)
from cosim.streams import Streams
from cosim.threads import solver_threads


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
    agreement: dict = field(default_factory=dict)  # the last epoch's :func:`gradient_agreement`
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
        """(JSON-able meta, array groups) of a checkpoint: model, optimiser, metrics, chip, streams and the
        last gradient check."""
        chip_scalars, chip_arrays = self.chip.state()
        meta = {"epochs_done": self.trainer.history.epochs, "streams": self.streams.state(), "chip": chip_scalars,
                "evaluation": self.before_evaluation}
        metrics = {k: np.asarray(v) for k, v in self.trainer.history.metrics.items()}
        steps = {k: np.asarray(v) for k, v in self.trainer.history.steps.items()}
        # model state as views: written straight to the file, no copies of large crossbars
        arrays = {"model": self.chain.state(), "optimizer": self.optimizer.state_dict(copy=False),
                  "metrics": metrics, "steps": steps, "chip": chip_arrays, "gradcheck": self.agreement}
        return meta, arrays

    def load_state(self, meta: dict, arrays: dict) -> None:
        self.chain.load_state(arrays["model"])
        self.chip.load_state(meta["chip"], arrays.get("chip", {}))
        self.optimizer.load_state_dict(arrays["optimizer"])
        self.streams.load_state(meta["streams"])
        self.before_evaluation.clear()
        self.before_evaluation.update(meta.get("evaluation", {}))
        history = self.trainer.history
        for name, values in arrays["metrics"].items():
            history.metrics[name] = np.atleast_1d(values).tolist()
        for name, values in arrays.get("steps", {}).items():
            history.steps[name] = np.atleast_1d(values).tolist()
        self.agreement = arrays.get("gradcheck", {})


def prepare(config: Config, progress: bool = False) -> Session:
    """Dataset, chain, chip, optimiser and schedule of ``config``, with a ready-to-fit Trainer."""
    dataset = build_dataset(config)
    streams = Streams(config.seed)
    chain, chip = build_chain(config, dataset.train_x.shape[1:], dataset.n_classes, streams)
    steps = max(1, len(dataset.train_y) // config.data.batch_size)  # the Trainer refuses a set under one batch
    optimizer, schedule = build_optimizer(config, chain, steps)
    trainer = Trainer(chain, dataset, optimizer, schedule, config.data.batch_size, config.data.test_batch_size,
                      rng=streams("data/order"), progress=progress, on_batch=chip.book_step,
                      evaluate_every_epoch=config.training.eval_every_epoch)
    session = Session(dataset, chain, chip, optimizer, schedule, streams, trainer)
    trainer.outside_training = session.evaluating
    return session


def run(config: Config, out: Path, resume: bool = False, progress: bool = True,
        warn: Callable[[str], None] | None = None):
    """Train and evaluate ``config``, writing DIR's files; returns the run's summary and its chip. ``warn``
    receives each of :func:`resolvability_warnings` at the start (default: :func:`warnings.warn`)."""
    out = Path(out)
    config_yaml = dump_config(config)
    with solver_threads(config.solver.threads):
        session = prepare(config, progress)
        if resume and (out / CHECKPOINT).exists():
            _restore(session, out / CHECKPOINT, config_yaml)
        elif (out / CHECKPOINT).exists() and not resume:
            (out / CHECKPOINT).unlink()
        for message in resolvability_warnings(session, config.training.beta):
            (warn or warnings.warn)(message)
        atomic_write(out / CONFIG, lambda tmp: tmp.write_text(config_yaml))
        initial = analog_conductances(session.chain)
        trained_before = session.trainer.history.epochs
        session.trainer.fit(config.training.epochs, on_epoch=lambda t: _save(session, out, config_yaml))
        if session.trainer.history.epochs == trained_before and trained_before:
            _write_results(session, out, config_yaml)  # a resumed, finished run: results from its checkpoint
    _report(out, session, initial)
    return summarise(session), session.chip


def _report(out: Path, session: Session, initial: list[np.ndarray]) -> Path:
    """DIR/report.html with the per-tile pictures (its modules imported here, at the end of the run)."""
    from cosim.report import tiles
    from cosim.report.run import write_run_report

    return write_run_report(out, tiles.snapshot(session.chip, session.chain, initial))


def analog_conductances(chain) -> list[np.ndarray]:
    """Copies of every analog crossbar's conductances (S), in model order."""
    return [np.array(w) for block in chain.analog_blocks for w in block.network.conductances]


def summarise(session: Session) -> dict:
    """The run's final figures (the ``summary`` attributes of results.h5, see docs/results.md)."""
    trainer, report = session.trainer, session.chip.ledger.report()
    metrics = trainer.history.metrics
    samples = trainer.steps_per_epoch * trainer.batch_size * trainer.history.epochs
    solved, unconverged = sum(metrics["solved_samples"]), sum(metrics["unconverged_samples"])
    summary = {
        "epochs": trainer.history.epochs,
        "final_test_accuracy": metrics["test_accuracy"][-1],
        "final_train_accuracy": metrics["train_accuracy"][-1],
        "final_train_loss": metrics["train_loss"][-1],
        "training_seconds": float(sum(metrics["epoch_seconds"])),
        "samples_per_second": samples / max(float(sum(metrics["epoch_seconds"])), 1e-9),
        "energy_per_training_sample_J": report["total_per_training_sample_J"],
        "energy_per_inference_J": report["total_per_inference_J"],
        "chip_area_mm2": session.chip.area()["total_mm2"],
        "unconverged_samples": int(unconverged),
        "unconverged_fraction": unconverged / max(solved, 1),
        "clamped_fraction": metrics["clamped_fraction"][-1],
    }
    if session.agreement:
        summary["ep_id_cosine"] = float(session.agreement["mean_cosine"])
        names = [bytes(n).decode() for n in session.agreement["names"]]
        for block in dict.fromkeys(name.split(".")[0] for name in names):
            cosines = [c for n, c in zip(names, session.agreement["cosine"]) if n.split(".")[0] == block]
            summary[f"ep_id_cosine.{block}"] = float(np.mean(cosines))
    updates = trainer.steps_per_epoch * trainer.history.epochs
    for tile in session.chip.tiles:
        for name, converter in tile.converters().items():
            if not converter.spec.ideal and converter.conversions:
                summary[f"clip_fraction.tile{tile.id}.{name}"] = converter.saturated / converter.conversions
        if tile.device.pulsed and updates:  # pulses after the first programming (one write per device)
            devices = sum(array.conductances.size for array in tile.devices)
            pulses = sum(array.writes for array in tile.devices) - devices
            summary[f"pulses_per_device_update.tile{tile.id}"] = pulses / (devices * updates)
    return summary


#: a broken run: more unconverged samples, a lower EP-vs-ID cosine, more clipping or fewer device pulses than this
MAX_UNCONVERGED, MIN_COSINE, MAX_CLIPPING, MIN_PULSES = 0.01, 0.9, 0.05, 0.01


def health_warnings(summary: dict) -> list[str]:
    """One line per sign of a broken run in ``summary``, naming the knob to look at."""
    lines = []
    if summary.get("unconverged_fraction", 0) > MAX_UNCONVERGED:
        lines.append(f"{100 * summary['unconverged_fraction']:.1f} % of solved samples ({summary['unconverged_samples']}) "
                     "came from unconverged solves; raise solver.max_sweeps or loosen solver.tol")
    for key, value in summary.items():
        if key.startswith("ep_id_cosine.") and value < MIN_COSINE:
            lines.append(f"the EP gradient of {key.split('.', 1)[1]} agrees poorly with the exact one (cosine "
                         f"{value:.2f} < {MIN_COSINE}); look at solver.max_sweeps and solver.tol (relaxations "
                         "stopped before they settled), training.beta, chip.tile.device.read_noise_redraw and the "
                         "node ADCs (chip.tile.node_adc, chip.tile.ep_readout)")
        if key.startswith("clip_fraction.") and value > MAX_CLIPPING:
            _, tile, converter = key.split(".", 2)
            kind = converter.split(".")[0]
            lines.append(f"{tile} {converter} clipped {100 * value:.1f} % of its conversions; widen "
                         f"chip.tile.{kind}.full_scale (range: fixed) or chip.tile.{kind}.margin (range: calibrated)")
        if key.startswith("pulses_per_device_update.") and value < MIN_PULSES:
            lines.append(f"{key.split('.', 1)[1]}'s pulsed devices took {value:.3g} pulses per device and update: the "
                         "optimiser's steps round to no pulse, so its conductances hardly learn; raise "
                         "training.optimizer.lr (or resistive_lr_scale) or lower chip.tile.device.pulse_step")
    return lines


def resolvability_warnings(session: Session, beta: float) -> list[str]:
    """Configurations under which EP's phase difference drowns, one line each (checked at the start).

    The nudge moves the outputs by about beta x their RMS voltage, and the hidden nodes by less. Read noise
    redrawn at every solve moves every node by about read_noise x its voltage between the phases EP
    compares; measured on the default chip, read_noise = beta / 100 already leaves a gradient cosine of
    0.2 (docs/sweeps.md), so it is flagged from beta / 1000. With ``ep_readout: absolute`` each phase is
    quantised on its own: an LSB above beta x half the rail span hides the phase difference."""
    lines = []
    for tile in session.chip.tiles:
        device, config = tile.config.device, tile.config
        if device.read_noise > beta / 1000 and device.read_noise_redraw == "solve":
            lines.append(f"tile {tile.id}: read noise {device.read_noise:g} redrawn at every solve moves the nodes "
                         f"between EP's phases by more than the nudge (training.beta = {beta:g}) can resolve; "
                         "use chip.tile.device.read_noise_redraw: step (slow noise) or a larger training.beta")
        adc = config.node_adc
        rails = zip(tile.network.lower_rails, tile.network.upper_rails)
        spans = [float(np.max(hi - lo)) for lo, hi in rails if np.all(np.isfinite(hi - lo))]
        if adc.ideal or config.ep_readout != "absolute" or not spans:
            continue
        span = 2 * adc.full_scale if adc.range == "fixed" else max(spans)
        lsb = span / (2 ** adc.bits - 1)
        if lsb > beta * max(spans) / 2:
            lines.append(f"tile {tile.id}: the node ADC's LSB ({lsb:.3g} V, {adc.bits} bits, absolute readout) exceeds "
                         f"the phase difference of a nudge of training.beta = {beta:g}; use chip.tile.ep_readout: "
                         "differential or more chip.tile.node_adc.bits")
    return lines


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
    """After every epoch: the checkpoint, then results.h5 from the same state (both replaced atomically,
    Ctrl-C held back in between), with the epoch's EP-vs-ID cosines."""
    session.agreement = gradient_agreement(session)  # before the checkpoint: it draws device read noise
    if session.agreement:
        session.trainer.history.metrics.setdefault("ep_id_cosine_per_tensor", []).append(session.agreement["cosine"])
    with interrupts_deferred():
        meta, arrays = session.state()
        save_checkpoint(out / CHECKPOINT, config_yaml, arrays, meta)
        _write_results(session, out, config_yaml, arrays)


def _write_results(session: Session, out: Path, config_yaml: str, arrays: dict | None = None) -> None:
    """results.h5 of the session's state (``arrays``: its :meth:`Session.state` arrays, if at hand)."""
    arrays = session.state()[1] if arrays is None else arrays
    write_run_results(out / RESULTS, config_yaml, arrays["metrics"], summarise(session),
                      run_parameters(session.chain, session.chip.tiles),
                      {"energy": session.chip.ledger.report(), "area": session.chip.area(),
                       "gradcheck": session.agreement, "steps": arrays["steps"]})


def _restore(session: Session, path: Path, config_yaml: str) -> None:
    saved_config, arrays, meta = load_checkpoint(path)
    if "streams" not in meta or any(name not in arrays["metrics"] for name in METRICS):
        raise CosimError(f"{path} was written by an older cosim (without the chip, named random streams or "
                         "today's metrics); run without --resume to start over")
    if saved_config != config_yaml:
        raise CosimError(f"{path} was written by a run with a different config; use another --out directory, "
                         "or run without --resume to start over")
    session.load_state(meta, arrays)

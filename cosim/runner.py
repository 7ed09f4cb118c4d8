"""One training run from a config to a results directory — what `cosim run` (and later sweeps) call.

DIR/config.yaml      the resolved config (every default written out)
DIR/results.h5       metrics, summary and final parameters (rewritten atomically after every epoch)
DIR/checkpoint.h5    model, optimiser, data-order and metric state after the last finished epoch
DIR/training.png     loss and accuracy curves
DIR/energy.png, conductances.png, adc_codes.png   the chip's energy breakdown, conductance histograms before
                     and after training, and the codes its (non-ideal) ADCs produced
Data files are replaced atomically (a temporary file, then a rename); plots are simply rewritten.
A killed run restarted with ``resume=True`` continues from its last finished epoch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from cosim import plots
from cosim.learning import gradcheck
from cosim.build import build_chain, build_dataset, build_optimizer
from cosim.config import dump_config
from cosim.config.schema import Config
from cosim.errors import CosimError
from cosim.learning.train import METRICS, Trainer
from cosim.results import atomic_write, load_checkpoint, save_checkpoint, write_results

RESULTS, CHECKPOINT, CONFIG, CURVES = "results.h5", "checkpoint.h5", "config.yaml", "training.png"


def prepare(config: Config, progress: bool = False) -> Trainer:
    """Dataset, chain, optimiser and schedule of ``config``, wrapped in a ready-to-fit Trainer."""
    dataset = build_dataset(config)
    rng = np.random.default_rng(config.seed)
    input_shape = dataset.train_x.shape[1:]
    chain, chip = build_chain(config, input_shape, dataset.n_classes, rng)
    steps = max(1, len(dataset.train_y) // config.data.batch_size)
    optimizer, schedule = build_optimizer(config, chain, steps)
    trainer = Trainer(chain, dataset, optimizer, schedule, config.data.batch_size, config.data.test_batch_size,
                      rng=np.random.default_rng([config.seed, 1]), progress=progress,
                      on_batch=lambda batch: chip.book_step(chain, input_shape, batch),
                      evaluate_every_epoch=config.training.eval_every_epoch,
                      outside_training=chip.ledger.suspended)
    trainer.chip = chip
    return trainer


def run(config: Config, out: Path, resume: bool = False, progress: bool = True):
    """Train and evaluate ``config``, writing DIR's files; returns the run's summary and its chip."""
    out = Path(out)
    config_yaml = dump_config(config)
    with threadpool_limits(limits=config.solver.threads, user_api="blas"):
        trainer = prepare(config, progress)
        if resume and (out / CHECKPOINT).exists():
            _restore(trainer, out / CHECKPOINT, config_yaml)
        elif (out / CHECKPOINT).exists() and not resume:
            (out / CHECKPOINT).unlink()
        atomic_write(out / CONFIG, lambda tmp: tmp.write_text(config_yaml))
        initial = analog_conductances(trainer.chain)
        trainer.fit(config.training.epochs, on_epoch=lambda t: _save(t, out, config_yaml))
    _chip_plots(trainer, initial, out)
    return summarise(trainer), trainer.chip


def analog_conductances(chain) -> list[np.ndarray]:
    """Copies of every analog crossbar's conductances (S), in model order."""
    return [np.array(w) for block in chain.analog_blocks for w in block.network.conductances]


def _chip_plots(trainer: Trainer, initial: list[np.ndarray], out: Path) -> None:
    report = trainer.chip.ledger.report()
    plots.energy_breakdown(report["per_phase_J"], [c.decode() for c in report["components"]],
                           [p.decode() for p in report["phases"]], out / "energy.png", title=out.name)
    if initial:
        plots.conductance_histograms(initial, analog_conductances(trainer.chain), out / "conductances.png",
                                     title="analog conductances before and after training")
    codes = {f"tile {t.id} {name}": adc.code_counts for t in trainer.chip.tiles
             for name, adc in (("output", t.output_adc), ("node difference", t.node_adcs["difference"][-1]),
                               ("node", t.node_adcs["a"][-1]), ("current", t.current_adc))
             if not adc.spec.ideal and adc.code_counts.any()}
    if codes:
        plots.code_histograms(codes, out / "adc_codes.png", title="ADC codes")


def summarise(trainer: Trainer) -> dict:
    metrics = trainer.history.metrics
    samples = trainer.steps_per_epoch * trainer.batch_size * trainer.history.epochs
    return {
        "epochs": trainer.history.epochs,
        "final_test_accuracy": metrics["test_accuracy"][-1],
        "final_train_accuracy": metrics["train_accuracy"][-1],
        "final_train_loss": metrics["train_loss"][-1],
        "training_seconds": float(sum(metrics["epoch_seconds"])),
        "samples_per_second": samples / max(float(sum(metrics["epoch_seconds"])), 1e-9),
        "energy_per_training_sample_J": trainer.chip.ledger.report()["total_per_training_sample_J"],
        "energy_per_inference_J": trainer.chip.ledger.report()["total_per_inference_J"],
    }


def gradient_agreement(trainer: Trainer, samples: int = 64) -> dict:
    """EP (as configured: the chip's converters and noise included) against implicit differentiation on
    the first training samples, in evaluation mode; per analog tensor and their mean cosine."""
    chain, data = trainer.chain, trainer.dataset
    if not chain.energy_blocks:
        return {}
    beta = chain.energy_blocks[0].nudge.beta
    estimator = chain.energy_blocks[0].nudge.estimator
    with trainer.chip.ledger.suspended():
        rows = gradcheck.compare(chain, data.train_x[:samples], data.train_y[:samples], beta, estimator,
                                 training=False)
    analog = [r for r in rows if ".analog.conductances" in r.name or ".hopfield.weights" in r.name]
    return {"names": [r.name.encode() for r in analog], "cosine": [r.cosine for r in analog],
            "relative_error": [r.relative_error for r in analog], "beta": beta,
            "mean_cosine": float(np.mean([r.cosine for r in analog]))}


def _save(trainer: Trainer, out: Path, config_yaml: str) -> None:
    """After every epoch: checkpoint and results (replaced atomically) and the training curves."""
    chain = trainer.chain
    agreement = gradient_agreement(trainer)  # before the checkpoint: it draws device read noise
    metrics = {k: np.asarray(v) for k, v in trainer.history.metrics.items()}
    state = chain.state()  # views: written straight to the file, no copies of large crossbars
    chip_scalars, chip_arrays = trainer.chip.state()
    meta = {"epochs_done": trainer.history.epochs, "rng": trainer.rng.bit_generator.state, "chip": chip_scalars}
    save_checkpoint(out / CHECKPOINT, config_yaml,
                    {"model": state, "optimizer": trainer.optimizer.state_dict(copy=False), "metrics": metrics,
                     "chip": chip_arrays}, meta)
    parameters = {}
    for index, block in enumerate(chain.blocks):
        if block.kind == "analog":
            net = block.network
            parameters[f"block{index}"] = {
                **{f"conductances_S.{l}": np.asarray(w) for l, w in enumerate(net.conductances)},
                **{f"bias_currents_A.{m}": np.asarray(b) for m, b in enumerate(net.biases)},
            }
        else:
            parameters[f"block{index}"] = {name: np.array(p) for name, p in zip(block.parameter_names, block.parameters)}
    summary = summarise(trainer)
    if agreement:
        summary["ep_id_cosine"] = agreement["mean_cosine"]
    write_results(out / RESULTS, config_yaml,
                  {"metrics": metrics, "summary": summary, "parameters": parameters,
                   "energy": trainer.chip.ledger.report(), "gradcheck": agreement})
    plots.training_curves(trainer.history.metrics, out / CURVES, title=f"{out.name}")


def _restore(trainer: Trainer, path: Path, config_yaml: str) -> None:
    saved_config, arrays, meta = load_checkpoint(path)
    if "chip" not in meta:
        raise CosimError(f"{path} was written by an older cosim that did not checkpoint the chip; run without "
                         "--resume to start over")
    if saved_config != config_yaml:
        raise CosimError(f"{path} was written by a run with a different config; use another --out directory, "
                         "or run without --resume to start over")
    trainer.chain.load_state(arrays["model"])
    trainer.chip.load_state(meta["chip"], arrays.get("chip", {}), [b.network for b in trainer.chain.analog_blocks])
    trainer.optimizer.load_state_dict(arrays["optimizer"])
    trainer.rng.bit_generator.state = meta["rng"]
    for name in METRICS:
        trainer.history.metrics[name] = [float(v) for v in np.atleast_1d(arrays["metrics"][name])]

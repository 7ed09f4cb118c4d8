"""Evaluate a trained chip again from its run directory — what `cosim eval` calls.

**Exact reload.** A run directory holds the resolved config and, in checkpoint.h5, everything the chip
was left with: parameters, batch-norm statistics, the devices' conductances (with their programming noise,
stuck devices and pulse history), the converters' calibrated ranges and counters, and every random stream.
Rebuilding the session from the config regenerates the static defects (stuck masks, variability gains,
pulse-step spreads: drawn from their named streams at build time) and loading the checkpoint restores the
rest. The checkpoint is written *after* the epoch's test evaluation and gradient check, which drew read
and converter noise and may have recalibrated converters; so the runner also records the streams and chip
scalars as the test evaluation began (``meta.evaluation``) and :func:`evaluation_state` replays from there:
with no overrides the recorded test loss and accuracy come out exactly.

**Non-idealities only.** ``--set`` may change only the keys of :data:`NON_IDEALITY_KEYS`, which read the
*same programmed devices* differently ("what if this chip is read with 6-bit ADCs?"). Anything else
(the model, training, the devices' programming) would need a new run and is refused with the reason. A
converter whose spec changed keeps its calibrated range when its range settings (ideal, range,
full_scale, margin) are unchanged, else starts as a new converter of its spec (a calibrated one
calibrates on the first test batch).

**Repeats.** Repeat 0 uses the run's own streams (the recorded realisation); repeat k >= 1 reseeds every
stream ``NAME`` as ``eval/repeat<k>/NAME``: fresh read noise, converter noise and relaxation noise over
the same devices and calibration.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from dataclasses import dataclass

import numpy as np

from cosim.build import CONVERTERS, converter_spec, tile_config
from cosim.config import dump_config
from cosim.config.convert import to_dict
from cosim.config.loader import config_from_dict
from cosim.config.schema import Config, ResistiveBlockConfig
from cosim.errors import CosimError
from cosim.learning.train import evaluate
from cosim.results import SavedRun, atomic_write, write_results
from cosim.runner import Session, prepare
from cosim.streams import seed_sequence
from cosim.threads import solver_threads

#: The keys ``cosim eval --set`` may change: patterns (fnmatch) of key paths relative to a tile, i.e. under
#: ``chip.tile.`` or ``chip.tiles.<i>.set.``. Each changes how the programmed devices are *read*, never what
#: they hold: converter resolution, ranges, calibration, noise and offset (every ``*_adc`` / ``*_dac``
#: bank), device read noise and when it is redrawn, and the crossbars' wires (segment, driver and sense
#: resistances, line ends, and the array size ``rows`` x ``columns`` the crossbars are partitioned over: IR
#: drop changes what the same devices deliver). Add new read-side non-idealities here.
NON_IDEALITY_KEYS = (
    *(f"{bank}.{knob}" for bank in ("*_adc", "*_dac")
      for knob in ("ideal", "bits", "range", "full_scale", "margin", "recalibrate_every", "noise_lsb",
                   "offset_lsb")),
    "device.read_noise",
    "device.read_noise_redraw",
    "wires.*",
    "rows",
    "columns",
)

#: converter settings that define its range: with these unchanged a converter keeps its calibration
RANGE_SETTINGS = ("ideal", "range", "full_scale", "margin")


def allowed_keys() -> str:
    """:data:`NON_IDEALITY_KEYS` in one short line, e.g. ``chip.tile.*_adc.{bits,range}``."""
    groups: dict[str, list[str]] = {}
    for pattern in NON_IDEALITY_KEYS:
        section, _, knob = pattern.rpartition(".")
        groups.setdefault(section, []).append(knob)
    return ", ".join(f"chip.tile.{section + '.' if section else ''}{{{','.join(knobs)}}}"
                     for section, knobs in groups.items())


def _flatten(tree, prefix: str = "") -> dict:
    """Dotted key path -> value of nested dicts (lists stay values)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for key, value in tree.items():
        flat.update(_flatten(value, f"{prefix}{key}."))
    return {k.rstrip("."): v for k, v in flat.items()}


def tile_ids(config: Config) -> list[int]:
    """The tile ids of the resistive blocks of ``config`` (``chip.mapping``, or 0, 1, ...)."""
    count = sum(isinstance(b, ResistiveBlockConfig) for b in config.model.blocks)
    return list(config.chip.mapping) if config.chip.mapping is not None else list(range(count))


def resolve_overrides(trained: Config, overrides: list[str]) -> tuple[Config, list[tuple[str, object, object]]]:
    """The evaluation config (``trained`` with ``overrides``) and its changes as (``tile<t>.<key>``, trained
    value, new value); a change outside :data:`NON_IDEALITY_KEYS` is a :class:`CosimError` saying why."""
    config = config_from_dict(to_dict(trained), overrides)
    before, after = to_dict(trained), to_dict(config)
    for tree in (before, after):
        del tree["chip"]["tile"], tree["chip"]["tiles"]
    flat_before, flat_after = _flatten(before), _flatten(after)
    changes = []
    for tile in tile_ids(trained):
        old, new = _flatten(to_dict(tile_config(trained.chip, tile))), _flatten(to_dict(tile_config(config.chip, tile)))
        changes += [(f"tile{tile}.{key}", old[key], new[key]) for key in old if old[key] != new[key]]
    refused = [key for key in flat_before if flat_before[key] != flat_after.get(key)]
    refused += [path for path, _, _ in changes
                if not any(fnmatch.fnmatchcase(path.split(".", 1)[1], p) for p in NON_IDEALITY_KEYS)]
    if refused:
        raise CosimError(f"cannot evaluate with {refused[0]} changed: eval re-reads the trained chip's programmed "
                         "devices, and this key changes the model, its training or what the devices hold (train a "
                         "new run with `cosim run --set`); eval may change only non-idealities: " + allowed_keys())
    return config, changes


def evaluation_state(run: SavedRun, session: Session, trained: Config) -> tuple[dict, dict, bool]:
    """(meta, arrays, exact) to load into ``session`` (built from the evaluation config) for evaluating:
    the checkpoint with the streams and chip scalars as the recorded test evaluation began (``exact``:
    such a record exists for the checkpoint's last epoch), adapted to converters whose spec changed and
    to devices that become non-ideal."""
    meta, arrays = dict(run.meta), {**run.arrays, "chip": dict(run.arrays["chip"])}
    before = meta.get("evaluation") or {}
    exact = before.get("epoch") == meta["epochs_done"] - 1
    if exact:
        meta.update(streams=before["streams"], chip=before["chip"])
    meta["chip"] = copy.deepcopy(meta["chip"])
    for tile, scalars in zip(session.chip.tiles, meta["chip"]["tiles"]):
        trained_tile = tile_config(trained.chip, tile.id)
        for name, converter in tile.converters().items():
            old = converter_spec(getattr(trained_tile, name.split(".")[0]))
            if old != converter.spec:
                keep = all(getattr(old, s) == getattr(converter.spec, s) for s in RANGE_SETTINGS)
                state = scalars["converters"][name]
                state.update(conversions=0, saturated=0)
                if not keep:
                    state.update(lo=converter.lo, hi=converter.hi, batches=0)
                arrays["chip"][f"tile{tile.id}.{name}.code_counts"] = np.zeros(converter.levels, dtype=np.int64)
        block = session.chain.blocks[tile.block_index]
        for l in range(len(tile.devices)):  # ideal during training: the devices held exactly theta * g_max
            key = f"tile{tile.id}.devices.{l}"
            if key not in arrays["chip"]:
                arrays["chip"][key] = arrays["model"][f"block{tile.block_index}.analog.conductances.{l}"] * block.g_max
    return meta, arrays, exact


def reseed(session: Session, prefix: str) -> None:
    """Restart every stream ``NAME`` of the session as the stream ``<prefix>/NAME``."""
    streams = session.streams
    for name in streams.names():
        streams.set_state(name, np.random.PCG64(seed_sequence(streams.seed, f"{prefix}/{name}")).state)


@dataclass
class Evaluation:
    """The outcome of :func:`evaluate_run`: per repeat the test accuracy (fraction) and loss (per sample)
    and the streams it drew from; the changes (``tile<t>.<key>``, trained, new); the recorded test metrics
    of the run's last epoch; ``exact``: repeat 0 replays the recorded evaluation's state."""

    config: Config
    overrides: list[str]
    changes: list[tuple[str, object, object]]
    accuracy: np.ndarray
    loss: np.ndarray
    streams: list[str]
    recorded_accuracy: float
    recorded_loss: float
    exact: bool

    @property
    def summary(self) -> dict:
        """Mean and standard deviation (ddof 1; 0 for one repeat) of accuracy and loss."""
        ddof = 1 if len(self.accuracy) > 1 else 0
        return {"test_accuracy_mean": float(np.mean(self.accuracy)), "test_accuracy_std": float(np.std(self.accuracy, ddof=ddof)),
                "test_loss_mean": float(np.mean(self.loss)), "test_loss_std": float(np.std(self.loss, ddof=ddof))}


@dataclass
class Restored:
    """A session rebuilt from a run with the evaluation config, and the state (:func:`evaluation_state`)
    that :meth:`reset` loads into it."""

    session: Session
    config: Config
    changes: list[tuple[str, object, object]]
    meta: dict
    arrays: dict
    exact: bool

    def reset(self) -> Session:
        self.session.load_state(self.meta, self.arrays)
        return self.session


def restore(run: SavedRun, overrides: list[str] = ()) -> Restored:
    """Rebuild the chip of ``run`` with the non-ideality ``overrides`` (``key=value``) and its exact state
    (loaded)."""
    from cosim.config import load_config

    trained = load_config(run.path / "config.yaml")
    config, changes = resolve_overrides(trained, list(overrides))
    session = prepare(config)
    restored = Restored(session, config, changes, *evaluation_state(run, session, trained))
    restored.reset()
    return restored


def evaluate_run(run: SavedRun, overrides: list[str] = (), repeats: int = 1, age_s: float | None = None,
                 compensate: bool | None = None) -> Evaluation:
    """Evaluate the restored chip of ``run`` (:func:`restore`) on the test split ``repeats`` times; with
    ``age_s``, ``age_s`` seconds after its last programming (``Chip.age``: drift or retention of the devices,
    their 1/f read noise then, and global drift compensation if ``compensate``, default each tile's
    ``device.drift_compensation``)."""
    if repeats < 1:
        raise CosimError(f"--repeats must be at least 1, got {repeats}")
    accuracy, loss, names = [], [], []
    restored = restore(run, overrides)
    config = restored.config
    with solver_threads(config.solver.threads):
        for k in range(repeats):
            session = restored.reset()
            if k:
                reseed(session, f"eval/repeat{k}")
            if age_s is not None:
                session.chip.age(age_s, compensate)
            accuracy_k, loss_k = score_test_split(session, config.data.test_batch_size)
            accuracy.append(accuracy_k)
            loss.append(loss_k)
            names.append(f"eval/repeat{k}/*" if k else "the run's own")
    metrics = run.metrics
    return Evaluation(config, list(overrides), restored.changes, np.array(accuracy), np.array(loss), names,
                      float(metrics["test_accuracy"][-1]), float(metrics["test_loss"][-1]), restored.exact)


def score_test_split(session: Session, batch_size: int) -> tuple[float, float]:
    """(accuracy, loss) of the session's chain on the test split, as the trainer evaluates (off the ledger)."""
    data = session.dataset
    with session.chip.ledger.suspended():
        loss, accuracy = evaluate(session.chain, data.test_x, data.test_y, batch_size)
    return accuracy, loss


#: units ``--time`` accepts, in seconds (a year of 365.25 days)
TIME_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "y": 365.25 * 86400.0}


def parse_times(text: str) -> list[tuple[str, float]]:
    """``1s,1h,1d,1y,10y`` -> [(label, seconds), ...]; a bare number is seconds."""
    times = []
    for label in (t.strip() for t in text.split(",")):
        match = re.fullmatch(r"(\d+(?:\.\d*)?(?:e[+-]?\d+)?)\s*(s|min|h|d|y)?", label)
        seconds = float(match.group(1)) * TIME_UNITS[match.group(2) or "s"] if match else -1.0
        if not 0 <= seconds <= 1e3 * TIME_UNITS["y"]:
            raise CosimError(f"--time {label!r}: give times since programming like 1s, 20min, 1h, 1d, 1y, 10y "
                             "(comma-separated, at most 1000 y)")
        times.append((label, seconds))
    return times


def default_name(overrides: list[str], repeats: int) -> str:
    """A file-name-safe name from the overrides (``baseline`` without), ``-r<K>`` for K > 1 repeats."""
    parts = [re.sub(r"[^A-Za-z0-9.=+-]+", "_", o.strip().removeprefix("chip.tile.")) for o in overrides]
    name = "+".join(parts) or "baseline"
    return f"{name}-r{repeats}" if repeats > 1 else name


def check_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._=+-]{1,120}", name) or name.startswith("."):
        raise CosimError(f"--name {name!r}: use letters, digits and . _ = + - only (at most 120)")
    return name


def _strings(items) -> np.ndarray:
    """Strings as an HDF5-friendly bytes array (shape (0,) when there are none)."""
    encoded = [str(item).encode() for item in items]
    return np.array(encoded, dtype="S") if encoded else np.zeros(0, dtype="S1")


def write_evaluation(evaluation: Evaluation, run_dir, name: str) -> tuple:
    """``RUN_DIR/eval-<name>.h5`` and ``.csv`` (each written atomically); returns their paths."""
    from pathlib import Path

    h5, csv = Path(run_dir) / f"eval-{name}.h5", Path(run_dir) / f"eval-{name}.csv"
    e = evaluation
    group = {
        "name": name, "repeats": len(e.accuracy), "exact": bool(e.exact),
        "recorded_test_accuracy": e.recorded_accuracy, "recorded_test_loss": e.recorded_loss, **e.summary,
        "overrides": _strings(e.overrides), "changed_keys": _strings(c[0] for c in e.changes),
        "trained_values": _strings(repr(c[1]) for c in e.changes), "eval_values": _strings(repr(c[2]) for c in e.changes),
        "test_accuracy": e.accuracy, "test_loss": e.loss, "streams": _strings(e.streams),
    }
    write_results(h5, dump_config(e.config), {"eval": group})
    lines = [f"# cosim eval of {Path(run_dir).name}: recorded test accuracy {e.recorded_accuracy!r}, "
             f"loss {e.recorded_loss!r}"]
    lines += [f"# {key}: {old!r} -> {new!r}" for key, old, new in e.changes]
    lines.append("repeat,streams,test_accuracy,test_loss")
    lines += [f"{k},{s},{float(a)!r},{float(l)!r}" for k, (s, a, l) in enumerate(zip(e.streams, e.accuracy, e.loss))]
    summary = e.summary
    lines.append(f"mean,,{summary['test_accuracy_mean']!r},{summary['test_loss_mean']!r}")
    lines.append(f"std,,{summary['test_accuracy_std']!r},{summary['test_loss_std']!r}")
    atomic_write(csv, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))
    return h5, csv


def format_evaluation(evaluation: Evaluation) -> str:
    """The console table: changes, one row per repeat, mean ± std, and the recorded figures."""
    e = evaluation
    rows = [f"  {key}: {old!r} -> {new!r}" for key, old, new in e.changes] or ["  no changes: the chip as trained"]
    rows.append(f"  {'repeat':>6}  {'streams':<18} {'accuracy':>10}  {'loss':>10}")
    rows += [f"  {k:>6}  {s:<18} {100 * a:>8.2f} %  {l:>10.5f}" for k, (s, a, l) in enumerate(zip(e.streams, e.accuracy, e.loss))]
    s = e.summary
    rows.append(f"  {'mean ± std':<26} {100 * s['test_accuracy_mean']:.2f} ± {100 * s['test_accuracy_std']:.2f} %  "
                f"{s['test_loss_mean']:.5f} ± {s['test_loss_std']:.5f}")
    rows.append(f"  recorded by the run: {100 * e.recorded_accuracy:.2f} %, loss {e.recorded_loss:.5f}"
                + ("" if e.exact else " (the checkpoint holds no record of that evaluation's noise state: "
                                      "repeat 0 is a new realisation)"))
    return "\n".join(rows)

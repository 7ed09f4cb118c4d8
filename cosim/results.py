"""Results and checkpoints on disk: HDF5 files written atomically (a temporary file, then a rename).

The one owner of a run's file layout: it writes *and* reads results.h5 and checkpoint.h5 for the runner,
sweep aggregation and spice (see docs/results.md).

results.h5 layout:
  attrs: ``config`` (the resolved YAML), ``cosim_version``, ``created`` (UTC ISO time)
  metrics/<name>: one value per epoch (accuracies as fractions)
  summary (attrs): final figures of the run
  parameters/block<i>/<name>: final parameters of ``model.blocks[i]``; an analog block's group holds
      ``conductances_S.<l>`` (siemens) and ``bias_currents_A.<m>`` (amperes) and the attribute ``tile``
      (the id of the tile it sits on); other blocks their parameters by name
  <other groups>: added by callers, e.g. ``energy``, ``gradcheck``, ``steps`` (per-step training history)
Every dataset carries ``units`` (SI, "1" for fractions and counts) and ``description`` attributes
(:func:`units_of`).
checkpoint.h5: the same root attributes and ``sha256`` (a digest of its config, meta and arrays: a corrupt
  checkpoint is refused), groups ``model`` (parameters and buffers by chain name), ``optimizer``, ``metrics``,
  ``chip``, ``gradcheck`` and ``meta/json`` (epochs done, random streams, chip scalars)

Files follow the user's umask (not the 0600 of a temporary file); no writer stores a non-finite number except
where a group's caller allows NaN as "not measured" (test metrics of epochs that were not evaluated).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from cosim import __version__
from cosim.errors import CosimError


class NonFiniteError(CosimError):
    """A run diverged: a value about to be written is NaN or infinite."""

    exit_code = 1


#: the environment variable of the fault-injection hook (tests): "STEP" or "STEP@N" ends the process with
#: exit code FAULT_EXIT at the N-th pass (default 1st) of STEP, e.g. "checkpoint.h5:renamed@2"
FAULT_ENV, FAULT_EXIT = "COSIM_FAULT", 70
_fault_passes: Counter = Counter()


def fault_point(step: str) -> None:
    """Testing hook: simulate a kill (``os._exit``) at ``step`` when COSIM_FAULT names it."""
    wanted = os.environ.get(FAULT_ENV)
    if not wanted or wanted.partition("@")[0] != step:
        return
    _fault_passes[step] += 1
    if _fault_passes[step] == int(wanted.partition("@")[2] or 1):
        os._exit(FAULT_EXIT)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file under the user's umask


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then rename tmp onto ``path``: readers never see a half-written file. The file gets
    the mode a plain ``open`` would give it (the user's umask), not the temporary's 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(name)  # unique: two writers of the same file never share a temporary
    try:
        write(tmp)
        os.chmod(tmp, _FILE_MODE)
        fault_point(f"{path.name}:written")
        os.replace(tmp, path)
        fault_point(f"{path.name}:renamed")
    finally:
        tmp.unlink(missing_ok=True)


#: unit of a name's trailing ``_<unit>`` (before an optional ``.<index>``), e.g. conductances_S.0 -> S
_SUFFIX = re.compile(r"_(J|s|S|A|V|W|F|Hz|m|nm|mm2|m2)(\.\d+)?$")
#: units and descriptions of names without a unit suffix
DESCRIPTIONS = {
    "train_loss": ("1", "mean loss per training sample"), "test_loss": ("1", "mean loss per test sample"),
    "train_accuracy": ("1", "fraction of training samples classified right"),
    "test_accuracy": ("1", "fraction of test samples classified right"),
    "final_test_accuracy": ("1", "test accuracy after the last epoch (fraction)"),
    "final_train_accuracy": ("1", "training accuracy of the last epoch (fraction)"),
    "final_train_loss": ("1", "mean training loss of the last epoch"),
    "epoch_seconds": ("s", "training time of each epoch (evaluation excluded)"),
    "training_seconds": ("s", "training time (evaluation excluded)"),
    "wall_seconds": ("s", "wall time of the point"),
    "free_sweeps": ("1", "mean solver sweeps of a free phase per analog block"),
    "unconverged_samples": ("1", "samples in solves that stopped at their sweep or step cap"),
    "unconverged_fraction": ("1", "fraction of solved samples in unconverged solves"),
    "solved_samples": ("1", "samples solved (every phase of every energy block)"),
    "clamped_fraction": ("1", "fraction of hidden-node values of free equilibria held at a rail"),
    "samples_per_second": ("1/s", "training samples per second"),
    "cosine": ("1", "cosine similarity of EP and implicit-differentiation gradients"),
    "ep_id_cosine": ("1", "mean cosine of EP and implicit-differentiation gradients over the analog tensors"),
    "relative_error": ("1", "|EP - ID| / |ID| of each analog tensor"),
    "ep_id_cosine_per_tensor": ("1", "cosine of EP and ID gradients per analog tensor (gradcheck/names), per epoch"),
    "step": ("1", "training step (batch) at the end of each logged window"),
    "loss": ("1", "mean training loss per sample over the window"),
    "accuracy": ("1", "training accuracy over the window (fraction)"),
    "seed": ("1", "random seed"), "epochs": ("1", "epochs trained"), "samples": ("1", "training samples booked"),
    "beta": ("1", "EP nudge strength, relative"),
}


def units_of(name: str) -> tuple[str, str]:
    """(units, description) of a dataset or attribute named ``name``: a known name, else its ``_<unit>``
    suffix (``energy_per_inference_J`` -> J), else ("", "")."""
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    match = _SUFFIX.search(name)
    return (match.group(1), "") if match else ("", "")


def add_dataset(group: h5py.Group, name: str, data, dims: tuple[str, ...] = (), units: str | None = None,
                description: str | None = None) -> h5py.Dataset:
    """Every dataset cosim writes goes through here: ``units`` and ``description`` attributes (by default
    :func:`units_of` the name), text as UTF-8 strings, and ``dims``: the names of its dimensions, each a
    dimension-scale dataset of ``group`` (netCDF-style, so xarray names them; a name equal to ``name``
    makes this dataset that scale)."""
    data = np.asarray(data)
    if data.dtype.kind in "SUO":
        data = np.asarray([v.decode() if isinstance(v, bytes) else str(v) for v in data.ravel()],
                          dtype=h5py.string_dtype()).reshape(data.shape)
    dataset = group.create_dataset(name, data=data)
    default_units, default_description = units_of(name)
    dataset.attrs["units"] = default_units if units is None else units
    dataset.attrs["description"] = default_description if description is None else description
    for axis, dim in enumerate(dims):
        if dim == name:
            dataset.make_scale(name)
        else:
            dataset.dims[axis].attach_scale(group[dim])
    return dataset


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) back while a group of files is written, so that an interrupt leaves them
    consistent: a SIGINT meanwhile is only recorded (whichever thread the OS delivers it to, Python runs the
    handler in the main thread) and raised as KeyboardInterrupt on leaving. A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def check_finite(tree: dict, what: str, allow_nan: frozenset = frozenset(), prefix: str = "") -> None:
    """Raise NonFiniteError naming the first NaN or infinite number in ``tree`` (``allow_nan``: slash paths
    where NaN means "not measured")."""
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            check_finite(value, what, allow_nan, f"{path}/")
            continue
        array = np.asarray(value)
        if array.dtype.kind not in "fc" or np.isfinite(array).all():
            continue
        if path in allow_nan and not np.isinf(array).any():
            continue
        raise NonFiniteError(f"refusing to write {what}: {path} is not finite (the run diverged); lower "
                             "training.optimizer.lr or training.beta, or check the chip's converter ranges "
                             "(full_scale) and input_scale")


def _write_tree(group: h5py.Group, tree: dict) -> None:
    """Nested dicts become groups; arrays and lists datasets (with units); scalars and strings attributes."""
    for key, value in tree.items():
        if isinstance(value, dict):
            _write_tree(group.require_group(key), value)
        elif isinstance(value, (np.ndarray, list, tuple)):
            add_dataset(group, key, value)
        else:
            group.attrs[key] = value


def write_results(path: Path, config_yaml: str, groups: dict,
                  write_more: Callable[[h5py.File], None] | None = None, allow_nan: frozenset | None = frozenset(),
                  seal: bool = False) -> None:
    """Write results.h5 atomically: the resolved config as the root attribute ``config`` plus ``groups``
    (and whatever ``write_more(file)`` adds); refused when ``groups`` hold a non-finite number outside
    ``allow_nan`` (None: a table whose NaNs mark missing values, e.g. failed sweep points); ``seal``: add the
    :func:`digest` of what was written as the root attribute ``sha256``."""
    if allow_nan is not None:
        check_finite(groups, Path(path).name, allow_nan)

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs["config"] = config_yaml
            f.attrs["cosim_version"] = __version__
            f.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            _write_tree(f, groups)
            if write_more is not None:
                write_more(f)
        if seal:
            sha = digest(read_results(tmp))
            with h5py.File(tmp, "a") as f:
                f.attrs[SEAL] = sha

    atomic_write(path, write)


def read_results(path: Path) -> dict:
    """A results file as nested dicts (datasets as arrays, attributes as values)."""
    path = Path(path)
    if not path.is_file():
        raise CosimError(f"results file {path} does not exist; run `cosim run CONFIG --out DIR` first")

    def read(group: h5py.Group) -> dict:
        tree = {key: value for key, value in group.attrs.items()}
        for key, item in group.items():
            tree[key] = read(item) if isinstance(item, h5py.Group) else item[()]
        return tree

    try:
        with h5py.File(path, "r") as f:
            return read(f)
    except OSError as err:
        raise CosimError(f"{path} is not a readable cosim results file ({err})") from err


#: values that may be NaN, meaning "not measured": test metrics of epochs not evaluated, and the rail fraction
#: of a model whose energy blocks have no hidden nodes
UNMEASURED = frozenset({"metrics/test_loss", "metrics/test_accuracy", "summary/final_test_accuracy",
                        "metrics/clamped_fraction", "summary/clamped_fraction"})


SEAL = "sha256"


def digest(tree: dict) -> str:
    """SHA-256 of a file's tree as :func:`read_results` returns it (every dataset and attribute by sorted
    path, with dtype and shape), its own ``sha256`` attribute left out."""
    sha = hashlib.sha256()

    def feed(node: dict, prefix: str) -> None:
        for key in sorted(node):
            value = node[key]
            if isinstance(value, dict):
                feed(value, f"{prefix}{key}/")
            elif f"{prefix}{key}" != SEAL:
                array = np.asarray(value)
                sha.update(f"{prefix}{key}|{array.dtype.str}|{array.shape}|".encode())
                sha.update(array.tobytes() if array.dtype.kind != "O" else repr(value).encode())

    feed(tree, "")
    return sha.hexdigest()


def save_checkpoint(path: Path, config_yaml: str, arrays: dict[str, dict[str, np.ndarray]], meta: dict) -> None:
    """A resumable snapshot: groups of arrays (model, optimiser, metrics) and JSON-able ``meta``, with the
    SHA-256 :func:`digest` of them all as the root attribute ``sha256``."""
    write_results(path, config_yaml, {**arrays, "meta": {"json": json.dumps(meta)}}, allow_nan=UNMEASURED,
                  seal=True)


def load_checkpoint(path: Path) -> tuple[str, dict, dict]:
    """(config YAML, array groups, meta) of a checkpoint written by :func:`save_checkpoint`; a checkpoint
    whose content does not match its digest is refused."""
    tree = read_results(path)
    try:
        intact = tree.get(SEAL) == digest(tree)
        meta, config = json.loads(tree.pop("meta")["json"]), tree.pop("config")
        arrays = {k: v for k, v in tree.items() if isinstance(v, dict)}
    except (KeyError, TypeError, ValueError):
        intact = False
    if not intact:
        raise CosimError(f"{path} is corrupt or incomplete (its content does not match its SHA-256 digest); "
                         "delete it and run without --resume to start over")
    return config, arrays, meta


# ------------------------------------------------------------------------------ the run-file layout
RESULTS, CHECKPOINT, CONFIG = "results.h5", "checkpoint.h5", "config.yaml"
#: names of an analog block's arrays in parameters/block<i> (layer l, bias layer m)
CONDUCTANCES, BIAS_CURRENTS = "conductances_S.{}", "bias_currents_A.{}"


def run_parameters(chain, tiles: list) -> dict:
    """The ``parameters`` group of a chain: per block, the values its hardware holds (analog: the devices'
    programmed conductances in S, without read noise, and bias currents in A, with the block's tile id as
    ``tile``); ``tiles``: the chip's tiles, each knowing its ``block_index``."""
    tile_of = {tile.block_index: tile for tile in tiles}
    parameters = {}
    for index, block in enumerate(chain.blocks):
        if block.kind == "analog":
            net, tile = block.network, tile_of[index]
            parameters[f"block{index}"] = {
                "tile": tile.id,
                **{CONDUCTANCES.format(l): g for l, g in enumerate(tile.held_conductances())},
                **{BIAS_CURRENTS.format(m): np.asarray(b) for m, b in enumerate(net.biases)},
            }
        else:
            parameters[f"block{index}"] = {name: np.array(p) for name, p in zip(block.parameter_names, block.parameters)}
    return parameters


def write_run_results(path: Path, config_yaml: str, metrics: dict, summary: dict, parameters: dict,
                      extra: dict) -> None:
    """results.h5 of a run: metrics, summary, parameters (:func:`run_parameters`) and ``extra`` groups."""
    write_results(path, config_yaml, {"metrics": metrics, "summary": summary, "parameters": parameters, **extra},
                  allow_nan=UNMEASURED)


def writable_dir(out: Path) -> Path:
    """Create ``out`` (and its parents) and check that files can be written into it: a one-line CosimError
    when it is a file, lies below a file or is not writable."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not out.is_dir():
            raise CosimError(f"--out {out} is a file, not a directory; choose another --out")
        handle, probe = tempfile.mkstemp(prefix=".cosim-probe.", dir=out)
        os.close(handle)
        os.unlink(probe)
    except (FileExistsError, NotADirectoryError):
        raise CosimError(f"--out {out} cannot be a directory: it or a parent of it is a file; choose another --out") from None
    except OSError as err:
        raise CosimError(f"--out {out} is not writable ({err.strerror}); choose another --out") from None
    return out


def prepare_out_dir(out: Path, resume: bool = False, force: bool = False) -> None:
    """Make ``out`` ready for a run before any work: a :func:`writable_dir`, holding another run's files only
    when they are resumed (``resume``) or may be overwritten (``force``, which deletes them)."""
    out = writable_dir(out)
    previous = [out / name for name in (RESULTS, CHECKPOINT, CONFIG) if (out / name).exists()]
    if previous and not (resume or force):
        raise CosimError(f"--out {out} holds another run ({previous[0].name}); add --resume to continue it, "
                         "--force to overwrite it, or choose another --out")
    if force and not resume:
        for path in previous:
            path.unlink()


def read_summary(path: Path) -> dict:
    """The ``summary`` attributes of a run's results.h5."""
    return read_results(path).get("summary", {})


@dataclass
class TrainedRun:
    """What a finished run left for reuse: per block index its saved parameters (the ``parameters/block<i>``
    group), and the model's state by chain name (parameters and batch-norm running statistics) from the
    checkpoint.h5 beside it, None when there is none."""

    path: Path
    parameters: dict[int, dict]
    model: dict | None

    @property
    def checkpoint(self) -> Path:
        return self.path.with_name(CHECKPOINT)


def read_trained(results_path: Path) -> TrainedRun:
    """The parameters of a run's results.h5 and the buffers of the checkpoint.h5 beside it."""
    results_path = Path(results_path)
    saved = read_results(results_path).get("parameters")
    if not isinstance(saved, dict):
        raise CosimError(f"{results_path} holds no parameters/ group; is it a `cosim run` results file?")
    parameters = {int(name[len("block"):]): group for name, group in saved.items() if name.startswith("block")}
    checkpoint = results_path.with_name(CHECKPOINT)
    model = load_checkpoint(checkpoint)[1].get("model", {}) if checkpoint.is_file() else None
    return TrainedRun(results_path, parameters, model)


@dataclass
class SavedRun:
    """A run directory as `cosim eval` and `cosim export` reuse it: the resolved config (YAML), the
    checkpoint's array groups and meta (see :func:`load_checkpoint`)."""

    path: Path
    config_yaml: str
    arrays: dict
    meta: dict

    @property
    def metrics(self) -> dict:
        """The metrics recorded up to the checkpoint (one value per epoch)."""
        return self.arrays.get("metrics", {})


def read_run(run_dir: Path) -> SavedRun:
    """The config.yaml and checkpoint.h5 of a run directory; any missing, foreign or corrupt file is a
    :class:`CosimError` naming it."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CosimError(f"{run_dir} is not a directory; give the --out directory of a `cosim run`")
    config, checkpoint = run_dir / "config.yaml", run_dir / CHECKPOINT
    if not config.is_file():
        raise CosimError(f"{run_dir} is not a cosim run directory (no config.yaml)")
    if not checkpoint.is_file():
        raise CosimError(f"{run_dir} has no {CHECKPOINT}: the run finished no epoch; train it with `cosim run`")
    try:
        config_yaml, arrays, meta = load_checkpoint(checkpoint)
        missing = {"model", "chip"} - set(arrays)
        if missing or "streams" not in meta:
            raise KeyError(", ".join(sorted(missing)) or "meta streams")
    except (KeyError, TypeError, ValueError) as err:
        raise CosimError(f"{checkpoint} is not a cosim checkpoint of this version (missing {err}); train the "
                         "run again") from None
    try:
        unchanged = config.read_text() == config_yaml
    except (OSError, UnicodeDecodeError) as err:
        raise CosimError(f"{config} is not readable ({err})") from None
    if not unchanged:
        raise CosimError(f"{config} differs from the config {checkpoint} was trained with; restore it")
    return SavedRun(run_dir, config_yaml, arrays, meta)

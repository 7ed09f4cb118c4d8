"""Results and checkpoints on disk: HDF5 files written atomically (a temporary file, then a rename).

results.h5 layout (see docs/results.md):
  attrs: ``config`` (the resolved YAML), ``cosim_version``, ``created`` (UTC ISO time)
  metrics/<name>: one value per epoch (accuracies as fractions)
  summary (attrs): final figures of the run
  parameters/<name>: final parameters (analog conductances in siemens, bias currents in amperes)
  <other groups>: added by callers, e.g. ``gradcheck``
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from cosim import __version__
from cosim.errors import CosimError


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then rename tmp onto ``path``: readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(name)  # unique: two writers of the same file never share a temporary
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_tree(group: h5py.Group, tree: dict) -> None:
    """Nested dicts become groups; arrays and lists datasets; scalars and strings attributes."""
    for key, value in tree.items():
        if isinstance(value, dict):
            _write_tree(group.require_group(key), value)
        elif isinstance(value, (np.ndarray, list, tuple)):
            group.create_dataset(key, data=np.asarray(value))
        else:
            group.attrs[key] = value


def write_results(path: Path, config_yaml: str, groups: dict) -> None:
    """Write results.h5 atomically: the resolved config as the root attribute ``config`` plus ``groups``."""

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs["config"] = config_yaml
            f.attrs["cosim_version"] = __version__
            f.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            _write_tree(f, groups)

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


def save_checkpoint(path: Path, config_yaml: str, arrays: dict[str, dict[str, np.ndarray]], meta: dict) -> None:
    """A resumable snapshot: groups of arrays (model, optimiser, metrics) and JSON-able ``meta``."""
    write_results(path, config_yaml, {**arrays, "meta": {"json": json.dumps(meta)}})


def load_checkpoint(path: Path) -> tuple[str, dict, dict]:
    """(config YAML, array groups, meta) of a checkpoint written by :func:`save_checkpoint`."""
    tree = read_results(path)
    meta = json.loads(tree.pop("meta")["json"])
    config = tree.pop("config")
    arrays = {k: v for k, v in tree.items() if isinstance(v, dict)}
    return config, arrays, meta

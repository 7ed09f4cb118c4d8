"""Fuzzing the command line's path from a config to a run's files, on every shipped config.

Each config's resolved tree is mutated in many ways — deleted keys and sections, wrong types, NaN / inf /
huge / negative / tiny numbers, empty lists, unknown enums and keys, impossible combinations, broken YAML —
and every mutant goes through what ``cosim run`` does: the config is loaded and checked; a seeded sample of
the mutants that load is built and trained for one tiny epoch in a forked child (plots off, under a
timeout). Asserted: no traceback (only CosimError, with a one-line message), no hang, and no non-finite
number in any file written. The default suite draws 300 mutants per config and trains one of them (none
of the HEAVY configs); ``-m slow`` loads them all and trains ten per config.
"""

import copy
import math
import os
import random
import signal
import time
import traceback
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from cosim.config import config_from_dict, dump_config, load_config
from cosim.errors import CosimError
from cosim.results import UNMEASURED

ROOT = Path(__file__).parents[1]
CONFIGS = sorted((ROOT / "chip_configs").glob("*.yaml")) + sorted((ROOT / "tests" / "configs").glob("*.yaml"))
BAD_VALUES = [math.nan, math.inf, -math.inf, 1e308, -1e308, 1e-300, -1, 0, 10 ** 30, 2 ** 63, "x", "", [], {},
              None, True, [1, 2], [math.nan], "bogus"]
IMPOSSIBLE = [
    {("chip", "tile", "device", "g_min_S"): 1e-3, ("chip", "tile", "device", "g_max_S"): 1e-6},
    {("data", "batch_size"): 10 ** 6},
    {("data", "n_train"): 1},
    {("chip", "mapping"): [0, 1, 2, 3, 4, 5, 6, 7, 8]},
    {("chip", "tiles"): [{"tile": 99, "set": {"node_adc.bits": 6}}]},
    {("training", "epochs"): 0},
    {("solver", "max_sweeps"): 1, ("solver", "on_unconverged"): "raise"},
]
RUN_TIMEOUT_S = 120
#: configs whose tiny run takes most of a minute: trained only by the slow variant
HEAVY = {"fmnist_drn_xl.yaml"}
#: the keys that make a run tiny: mutants that change them load but are not trained (a full-size run is
#: no hang, only slow)
SHRINK = ("delete data", "data.n_train", "data.n_test", "data.batch_size", "data.test_batch_size",
          "delete training", "training.epochs", "training =", "data =")


def shrunk(path: Path) -> dict:
    """The config's resolved tree, reduced to one tiny epoch (the base every mutant starts from)."""
    tree = yaml.safe_load(dump_config(load_config(path)))
    data = tree["data"]
    data.update(n_train=min(data.get("n_train") or 64, 64), n_test=32, batch_size=16, test_batch_size=32)
    tree["training"]["epochs"] = 1
    return tree


def nodes(tree, prefix=()):
    """Every (path, value) of a tree of dicts and lists, sections included."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, value in items:
        yield prefix + (key,), value
        yield from nodes(value, prefix + (key,))


def set_path(tree, path, value, delete=False):
    for key in path[:-1]:
        tree = tree[key]
    if delete:
        del tree[path[-1]]
    else:
        tree[path[-1]] = value


def mutants(path: Path) -> list[tuple[str, object]]:
    """(description, YAML text or tree) of every mutation of the config at ``path``."""
    base = shrunk(path)
    text = dump_config(config_from_dict(base))
    found = []
    for where, value in nodes(base):
        name = ".".join(map(str, where))
        if isinstance(where[-1], str):
            found.append((f"delete {name}", ("delete", where, None)))
        for bad in BAD_VALUES if not isinstance(value, (dict, list)) else ([], "x", None, [{}]):
            found.append((f"{name} = {bad!r}", ("set", where, bad)))
        if isinstance(value, dict):
            found.append((f"{name}.unknown = 1", ("set", where + ("unknown",), 1)))
    for combo in IMPOSSIBLE:
        found.append(("; ".join(f"{'.'.join(k)} = {v!r}" for k, v in combo.items()), ("combo", combo, None)))
    lines = text.splitlines()
    for i in range(0, len(text), max(1, len(text) // 40)):
        found.append((f"truncated at {i}", text[:i]))
    for i in range(0, len(lines), max(1, len(lines) // 15)):
        for label, line in (("tab", "\t" + lines[i]), ("NUL", lines[i] + "\0"), ("bracket", lines[i] + " ["),
                            ("colon", lines[i] + ": :"), ("duplicate", lines[i] + "\n" + lines[i])):
            found.append((f"{label} in line {i}", "\n".join(lines[:i] + [line] + lines[i + 1:])))
    return [(label, mutation if isinstance(mutation, str) else (base, *mutation)) for label, mutation in found]


def realise(mutant):
    """A mutant's YAML text, or its tree (made here, from the base and the change)."""
    if isinstance(mutant, str):
        return mutant
    base, kind, where, value = mutant
    tree = copy.deepcopy(base)
    if kind == "combo":
        for path, item in where.items():
            set_path(tree, path, item)
    else:
        set_path(tree, where, value, delete=kind == "delete")
    return tree


def load(mutant):
    """The CLI's loading step; returns the config, or None for a clean CosimError (asserted one line)."""
    mutant = realise(mutant)
    try:
        return load_config(mutant) if isinstance(mutant, str) else config_from_dict(mutant)
    except CosimError as err:
        assert "\n" not in str(err).strip(), f"a multi-line error: {err}"
        return None


def run_tiny(config, out: Path) -> tuple[str, str]:
    """Build and train ``config`` into ``out`` in a forked child, plots off: (outcome, message)."""
    report = out / "child.txt"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            from cosim import plots
            from cosim.runner import run

            for name in ("training_curves", "energy_breakdown", "conductance_histograms", "code_histograms"):
                setattr(plots, name, lambda *args, **kwargs: None)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run(config, out, progress=False, warn=lambda message: None)
            code = 0
        except CosimError as err:
            report.write_text(str(err))
            code = 2
        except BaseException:
            report.write_text(traceback.format_exc())
        finally:
            os._exit(code)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            message = report.read_text() if report.exists() else ""
            return {0: "ok", 2: "error"}.get(code, f"crash {code}"), message
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "hang", ""


def non_finite_in(out: Path) -> list[str]:
    """Paths of non-finite numbers in the run's files (NaN allowed where it means "not measured")."""
    found = []
    for path in out.glob("*.h5"):
        with h5py.File(path) as f:
            def visit(name, item):
                values = [(name, item[()])] if isinstance(item, h5py.Dataset) else []
                values += [(f"{name}/{k}", v) for k, v in item.attrs.items()]
                for where, value in values:
                    array = np.asarray(value)
                    if array.dtype.kind in "fc" and not np.isfinite(array).all():
                        if not (where in UNMEASURED and not np.isinf(array).any()):
                            found.append(f"{path.name}:{where}")
            f.visititems(visit)
    config = out / "config.yaml"
    if config.exists() and any(word in config.read_text().lower() for word in (".nan", ".inf")):
        found.append("config.yaml")
    return found


def fuzz(path: Path, tmp_path: Path, samples: int | None, runs: int) -> None:
    rng = random.Random(f"fuzz:{path.name}")
    cases = mutants(path)
    assert len(cases) >= 300, f"{path.name}: only {len(cases)} mutations"
    chosen = cases if samples is None else rng.sample(cases, samples)
    loaded = []
    for label, mutant in chosen:
        try:
            config = load(mutant)
        except AssertionError as err:
            pytest.fail(f"{path.name}, {label}: {err}")
        except Exception:
            pytest.fail(f"{path.name}, {label}: traceback\n{traceback.format_exc()}")
        if config is not None and not label.startswith(("truncated", "tab", "NUL", *SHRINK)):
            loaded.append((label, config))
    outcomes = []
    for i, (label, config) in enumerate(rng.sample(loaded, min(runs, len(loaded)))):
        out = tmp_path / f"run{i}"
        out.mkdir()
        outcome, message = run_tiny(config, out)
        assert outcome in ("ok", "error"), f"{path.name}, {label}: {outcome}\n{message}"
        assert "\n" not in message.strip(), f"{path.name}, {label}: multi-line error {message}"
        assert not non_finite_in(out), f"{path.name}, {label}: non-finite {non_finite_in(out)}"
        outcomes.append(outcome)
    print(f"{path.name}: {len(chosen)} of {len(cases)} mutants, {len(loaded)} loaded; runs: {outcomes}")


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_fuzzed_configs_fail_cleanly(path, tmp_path):
    fuzz(path, tmp_path, samples=300, runs=0 if path.name in HEAVY else 1)


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_fuzzed_configs_fail_cleanly_exhaustive(path, tmp_path):
    fuzz(path, tmp_path, samples=None, runs=10)

"""Documents of older schema versions -> the current schema, by an explicit table of renames.

A document without ``schema_version`` is read as version 1 (the files written before versions were
checked). Each step renames keys (``old.key.path -> new.key.path``) or values (``key.path: old -> key.path:
new``); ``a[]`` stands for every item of list ``a``. A document that declares the current version but
still uses an old name gets an error saying exactly what to rename.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from cosim.errors import ConfigError

from .schema import SCHEMA_VERSION, key_path

__all__ = ["RENAMES", "check_current", "migrate"]

#: schema version -> the renames from the version before it, each ``(old, new)``: key paths, or
#: ``"key path: value"`` for a renamed value of that key.
RENAMES: dict[int, tuple[tuple[str, str], ...]] = {
    2: (  # "analog" meant "resistive"; Hopfield blocks are analog energy blocks too
        ("model.blocks[].kind: analog", "model.blocks[].kind: resistive"),
        ("training.optimizer.analog_lr_scale", "training.optimizer.resistive_lr_scale"),
    ),
}


def _split(rename: str) -> tuple[list[str], str | None]:
    """``"a.b[].c: v"`` -> (["a", "b[]", "c"], "v"); a key rename has value None."""
    path, colon, value = rename.partition(": ")
    return path.split("."), value if colon else None


def _places(node: Any, segments: list[str], path: str = "") -> Iterator[tuple[dict, str, str]]:
    """(mapping, key, concrete key path) of every place in plain data ``node`` that ``segments`` names."""
    head, *rest = segments
    name = head.removesuffix("[]")
    if not isinstance(node, dict) or name not in node:
        return
    where = key_path(path, name)
    if not rest:
        yield node, name, where
    elif head.endswith("[]"):
        items = node[name] if isinstance(node[name], list) else []
        for index, item in enumerate(items):
            yield from _places(item, rest, key_path(where, index))
    else:
        yield from _places(node[name], rest, where)


def _old_uses(data: Any, old: str, new: str) -> Iterator[tuple[dict, str, str, str]]:
    """(mapping, key, key path, message) of every use of the old name of rename ``(old, new)``."""
    (segments, old_value), (new_segments, new_value) = _split(old), _split(new)
    for node, key, where in _places(data, segments):
        if old_value is None:
            yield node, key, where, f"renamed to {new_segments[-1]}"
        elif node[key] == old_value:
            yield node, key, where, f"{key}: {old_value} became {key}: {new_value}"


def migrate(data: Any) -> Any:
    """Plain config data brought to the current schema version (a renamed copy when it is older)."""
    version = data.get("schema_version", 1) if isinstance(data, dict) else SCHEMA_VERSION
    if type(version) is not int or not 1 <= version < SCHEMA_VERSION:
        return data  # current, or no version this cosim knows: validation says so
    data = copy.deepcopy(data)
    for step in range(version + 1, SCHEMA_VERSION + 1):
        for old, new in RENAMES[step]:
            new_segments, new_value = _split(new)
            for node, key, where, _ in list(_old_uses(data, old, new)):
                if new_value is not None:
                    node[key] = new_value
                elif new_segments[-1] in node:
                    raise ConfigError(f"{where}: schema version {step - 1} name of {new_segments[-1]}, "
                                      f"which is given too; keep only {new_segments[-1]}")
                else:
                    node[new_segments[-1]] = node.pop(key)
    data["schema_version"] = SCHEMA_VERSION
    return data


def check_current(data: Any) -> Any:
    """``data`` unchanged; a ConfigError naming the key if a current-version document uses an old name."""
    if not isinstance(data, dict) or data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        return data
    for step, renames in RENAMES.items():
        for old, new in renames:
            for _, _, where, change in _old_uses(data, old, new):
                raise ConfigError(f"{where}: {change} in schema version {step}; rename it (a document with "
                                  f"schema_version: {step - 1}, or none, is migrated automatically)")
    return data

"""Plain data (as parsed from YAML) <-> schema dataclasses, with validation against the schema.

:func:`from_plain` checks every value against its field's type and bounds and runs each dataclass's
``validate(path)``; every mistake raises :class:`ConfigError` naming the key path. :func:`to_dict` is the
way back. Types are read from the schema's annotations and field metadata, so a new section needs no
code here.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Union

from cosim.errors import ConfigError

from .dialect import yaml_flow
from .schema import BOUNDS, key_path

__all__ = [
    "describe_type",
    "describe_value",
    "fail",
    "from_plain",
    "resolve_tile",
    "schema_fields",
    "to_dict",
    "unwrap_optional",
]

# ----------------------------------------------------------------------------------- schema access


@functools.cache
def schema_fields(cls: type) -> dict[str, tuple[dataclasses.Field, Any]]:
    """name -> (field, resolved type hint) of a schema dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _members(tp: Any) -> list:
    return [arg for arg in typing.get_args(tp) if arg is not type(None)]


def unwrap_optional(tp: Any) -> Any:
    """``X`` for ``Optional[X]``; anything else unchanged."""
    return _members(tp)[0] if _is_union(tp) and len(_members(tp)) == 1 else tp


def _bounds_text(meta: Mapping) -> str:
    symbols = {"min": ">=", "max": "<=", "exclusive_min": ">", "exclusive_max": "<"}
    return " and ".join(f"{symbols[name]} {meta[name]}" for name in BOUNDS if name in meta)


def describe_type(tp: Any, meta: Mapping = types.MappingProxyType({})) -> str:
    """Human-readable type of a schema field: ``int >= 1``, ``list of float > 0, or null``, ..."""
    if dataclasses.is_dataclass(tp):
        return "mapping"
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(yaml_flow(choice) for choice in typing.get_args(tp))
    if _is_union(tp):
        members = _members(tp)
        if len(members) == 1:
            return f"{describe_type(members[0], meta)}, or null"
        return f"mapping with {meta['tag']}: " + ", ".join(meta["variants"])
    if typing.get_origin(tp) is list:
        return "list of " + describe_type(typing.get_args(tp)[0], meta)
    if typing.get_origin(tp) is dict:
        return "mapping of dotted key to value"
    name = {int: "int", float: "float", bool: "bool", str: "string"}[tp]
    bounds = _bounds_text(meta) if tp in (int, float) else ""
    return f"{name} {bounds}".strip()


def describe_value(value: Any) -> str:
    """A value as a message shows it: ``float 1e+308``, ``a list``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"bool {str(value).lower()}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    name = {int: "int", float: "float", str: "string"}.get(type(value), type(value).__name__)
    return f"{name} {text}"


def _hint(word: Any, valid: Iterable[str]) -> str:
    match = difflib.get_close_matches(str(word), list(valid), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


# ------------------------------------------------------------------------------------------ building


def fail(path: str, message: str) -> typing.NoReturn:
    """Raise the ConfigError ``path: message`` (``config: message`` at the top level)."""
    raise ConfigError(f"{path or 'config'}: {message}")


def _build(tp: Any, value: Any, path: str, meta: Mapping) -> Any:
    """Check ``value`` (plain YAML data) against the schema type ``tp`` and build it."""
    if dataclasses.is_dataclass(tp):
        return from_plain(tp, value, path)
    if typing.get_origin(tp) is Literal:
        return _build_choice(typing.get_args(tp), value, path)
    if _is_union(tp):
        members = _members(tp)
        if len(members) > 1:
            return _build_variant(meta["tag"], meta["variants"], value, path)
        if value is None:
            return None
        return _build(members[0], value, path, meta)
    if typing.get_origin(tp) is dict:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            fail(path, f"expected {describe_type(tp, meta)}, got {describe_value(value)}")
        return dict(value)
    if typing.get_origin(tp) is list:
        if not isinstance(value, list):
            fail(path, f"expected {describe_type(tp, meta)}, got {describe_value(value)}")
        item = typing.get_args(tp)[0]
        return [_build(item, element, key_path(path, i), meta) for i, element in enumerate(value)]
    return _build_scalar(tp, value, path, meta)


def _build_scalar(tp: type, value: Any, path: str, meta: Mapping) -> Any:
    accepted = (int, float) if tp is float else (tp,)
    if type(value) not in accepted:  # exact types: a bool is not an int, an int is a float
        fail(path, f"expected {describe_type(tp, meta)}, got {describe_value(value)}")
    if tp is float:
        try:
            value = float(value)
        except OverflowError:
            fail(path, f"{describe_value(value)} is too large for a float")
        if not math.isfinite(value):
            fail(path, f"expected a finite number, got {value}")
    if tp in (int, float):
        _check_bounds(value, path, meta)
    return value


def _check_bounds(value: float, path: str, meta: Mapping) -> None:
    tests = {
        "min": lambda bound: value >= bound,
        "max": lambda bound: value <= bound,
        "exclusive_min": lambda bound: value > bound,
        "exclusive_max": lambda bound: value < bound,
    }
    if not all(tests[name](meta[name]) for name in BOUNDS if name in meta):
        fail(path, f"must be {_bounds_text(meta)}, got {value}")


def _build_choice(choices: tuple, value: Any, path: str) -> Any:
    for choice in choices:
        if type(value) is type(choice) and value == choice:
            return choice
    listed = ", ".join(yaml_flow(choice) for choice in choices)
    hint = _hint(value, choices) if isinstance(value, str) else ""
    fail(path, f"must be one of {listed}; got {describe_value(value)}{hint}")


def _build_variant(tag: str, variants: Mapping[str, type], value: Any, path: str) -> Any:
    valid = ", ".join(variants)
    if not isinstance(value, Mapping):
        fail(path, f"expected a mapping with {tag}: one of {valid}; got {describe_value(value)}")
    if tag not in value:
        fail(path, f"missing key {tag!r}, which selects the type: one of {valid}")
    selected = value[tag]
    if not isinstance(selected, str) or selected not in variants:
        if isinstance(selected, str):
            shown, hint = repr(selected), _hint(selected, variants)
        else:
            shown, hint = describe_value(selected), ""
        fail(key_path(path, tag), f"unknown {tag} {shown}{hint}; valid {tag}s: {valid}")
    return from_plain(variants[selected], value, path)


def from_plain(cls: type, value: Any, path: str = "") -> Any:
    """The schema dataclass ``cls`` built from plain data ``value`` found at key path ``path``, validated."""
    fields = schema_fields(cls)
    if not isinstance(value, Mapping):
        keys = ", ".join(fields)
        if not path:
            fail(path, f"the top level must be a mapping with keys {keys}; got {describe_value(value)}")
        fail(path, f"expected a mapping with keys {keys}; got {describe_value(value)}")
    for key in value:
        if key not in fields:
            where = f"valid keys at {path}" if path else "valid top-level keys"
            fail(key_path(path, str(key)), f"unknown key{_hint(key, fields)}; {where}: {', '.join(fields)}")
    kwargs = {}
    for name, (field, tp) in fields.items():
        if name in value:
            kwargs[name] = _build(tp, value[name], key_path(path, name), field.metadata)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            fail(key_path(path, name), f"required key is missing ({field.metadata['doc']})")
    built = cls(**kwargs)
    if hasattr(built, "validate"):
        built.validate(path)
    return built


# ------------------------------------------------------------------------------------------ way back


def to_dict(config: Any) -> Any:
    """Plain data (dicts, lists, scalars) of a config or of any part of it, every default written out."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {field.name: to_dict(getattr(config, field.name)) for field in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(item) for item in config]
    return config


def resolve_tile(tile_defaults: Any, overrides: Iterable[tuple[str, dict]]) -> Any:
    """A tile's full config: the defaults with each ``(key path, {dotted.key: value})`` override applied.

    Overrides stay partial in the resolved config, so a later change of a default (``--set
    chip.tile.output_adc.bits=4``) reaches every tile that does not override that key itself.
    """
    cls = type(tile_defaults)
    for path, changes in overrides:
        merged = to_dict(tile_defaults)
        for dotted, value in changes.items():
            node, keys = merged, dotted.split(".")
            for key in keys[:-1]:
                if not isinstance(node.get(key), dict):
                    fail(f"{path}.{dotted}", f"unknown key; {key!r} is not a section of the tile")
                node = node[key]
            node[keys[-1]] = value
        tile_defaults = from_plain(cls, merged, path)
    return tile_defaults

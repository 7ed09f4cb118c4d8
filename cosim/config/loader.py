"""YAML text -> validated :class:`Config`, ``key=value`` overrides, and back to YAML.

Everything a user can get wrong (a missing file, YAML syntax, unknown keys, wrong types, values out of
range, impossible combinations, a malformed override) raises :class:`ConfigError` with one message that
names the full key path, e.g. ``model.blocks[1].diode.model``.

The YAML dialect is YAML 1.1 as read by PyYAML's safe loader, with three fixes: ``1e-5`` is a float
(not the string "1e-5"), only ``true``/``false`` are booleans (``on``, ``off``, ``yes`` and ``no`` stay
strings), and a key given twice in one mapping is an error instead of silently keeping the last.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import hashlib
import math
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from cosim.errors import ConfigError

from .schema import BOUNDS, Config, key_path

__all__ = [
    "apply_overrides",
    "config_from_dict",
    "config_hash",
    "describe_type",
    "dump_config",
    "load_config",
    "schema_fields",
    "to_dict",
    "unwrap_optional",
    "validate_config",
    "yaml_flow",
]

_CONFIG_SUFFIXES = (".yaml", ".yml")
_HASH_CHARS = 16

# ------------------------------------------------------------------------------------- YAML dialect

_BOOL_TAG = "tag:yaml.org,2002:bool"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


def _resolvers() -> dict:
    table: dict = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [(tag, regex) for tag, regex in entries if tag not in (_BOOL_TAG, _FLOAT_TAG)]
        if kept:
            table[first] = kept
    for tag, regex, firsts in ((_BOOL_TAG, _BOOL_RE, "tTfF"), (_FLOAT_TAG, _FLOAT_RE, "-+0123456789.")):
        for first in firsts:
            table.setdefault(first, []).append((tag, regex))
    return table


class _Loader(yaml.SafeLoader):
    """Safe loader with the dialect fixes above."""


class _Dumper(yaml.SafeDumper):
    """Safe dumper that quotes exactly the strings :class:`_Loader` would read as something else."""


_Loader.yaml_implicit_resolvers = _Dumper.yaml_implicit_resolvers = _resolvers()


def _construct_mapping(loader: _Loader, node: yaml.MappingNode):
    seen: set[str] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key_node.value!r} is given twice in this mapping", key_node.start_mark
                )
            seen.add(key_node.value)
    yield from loader.construct_yaml_map(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def _represent_list(dumper: _Dumper, data: list) -> yaml.SequenceNode:
    """Lists of scalars on one line (``hidden: [256, 128]``), lists of mappings as blocks."""
    flat = not any(isinstance(item, (list, dict)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)

# Everything yaml.load raises on hostile text: syntax errors; PyYAML's constructors fed explicit tags
# they do not check (`!!float abc` ValueError, `!!float ''` IndexError, `!!bool maybe` KeyError);
# impossible timestamps (2001-13-45); values nested too deeply for the recursive composer.
_PARSE_ERRORS = (yaml.YAMLError, ValueError, TypeError, LookupError, AttributeError, OverflowError, RecursionError)


def _parse_yaml(text: str, origin: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{origin}: YAML syntax error{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{origin}: the YAML is nested too deeply") from None
    except _PARSE_ERRORS as exc:
        raise ConfigError(f"{origin}: invalid YAML: {type(exc).__name__}: {exc}") from None


def yaml_flow(value: Any) -> str:
    """``value`` as one line of YAML in this dialect (``[256]``, ``null``, ``1.0e-05``, ``fashion-mnist``)."""
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=1_000_000)
    return text.removesuffix("\n...\n").strip()


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


def _describe_value(value: Any) -> str:
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


def _fail(path: str, message: str) -> typing.NoReturn:
    raise ConfigError(f"{path or 'config'}: {message}")


def _build(tp: Any, value: Any, path: str, meta: Mapping) -> Any:
    """Check ``value`` (plain YAML data) against the schema type ``tp`` and build it."""
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, value, path)
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
            _fail(path, f"expected {describe_type(tp, meta)}, got {_describe_value(value)}")
        return dict(value)
    if typing.get_origin(tp) is list:
        if not isinstance(value, list):
            _fail(path, f"expected {describe_type(tp, meta)}, got {_describe_value(value)}")
        item = typing.get_args(tp)[0]
        return [_build(item, element, key_path(path, i), meta) for i, element in enumerate(value)]
    return _build_scalar(tp, value, path, meta)


def _build_scalar(tp: type, value: Any, path: str, meta: Mapping) -> Any:
    accepted = (int, float) if tp is float else (tp,)
    if type(value) not in accepted:  # exact types: a bool is not an int, an int is a float
        _fail(path, f"expected {describe_type(tp, meta)}, got {_describe_value(value)}")
    if tp is float:
        try:
            value = float(value)
        except OverflowError:
            _fail(path, f"{_describe_value(value)} is too large for a float")
        if not math.isfinite(value):
            _fail(path, f"expected a finite number, got {value}")
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
        _fail(path, f"must be {_bounds_text(meta)}, got {value}")


def _build_choice(choices: tuple, value: Any, path: str) -> Any:
    for choice in choices:
        if type(value) is type(choice) and value == choice:
            return choice
    listed = ", ".join(yaml_flow(choice) for choice in choices)
    hint = _hint(value, choices) if isinstance(value, str) else ""
    _fail(path, f"must be one of {listed}; got {_describe_value(value)}{hint}")


def _build_variant(tag: str, variants: Mapping[str, type], value: Any, path: str) -> Any:
    valid = ", ".join(variants)
    if not isinstance(value, Mapping):
        _fail(path, f"expected a mapping with {tag}: one of {valid}; got {_describe_value(value)}")
    if tag not in value:
        _fail(path, f"missing key {tag!r}, which selects the type: one of {valid}")
    selected = value[tag]
    if not isinstance(selected, str) or selected not in variants:
        if isinstance(selected, str):
            shown, hint = repr(selected), _hint(selected, variants)
        else:
            shown, hint = _describe_value(selected), ""
        _fail(key_path(path, tag), f"unknown {tag} {shown}{hint}; valid {tag}s: {valid}")
    return _build_dataclass(variants[selected], value, path)


def _build_dataclass(cls: type, value: Any, path: str) -> Any:
    fields = schema_fields(cls)
    if not isinstance(value, Mapping):
        keys = ", ".join(fields)
        if not path:
            _fail(path, f"the top level must be a mapping with keys {keys}; got {_describe_value(value)}")
        _fail(path, f"expected a mapping with keys {keys}; got {_describe_value(value)}")
    for key in value:
        if key not in fields:
            where = f"valid keys at {path}" if path else "valid top-level keys"
            _fail(key_path(path, str(key)), f"unknown key{_hint(key, fields)}; {where}: {', '.join(fields)}")
    kwargs = {}
    for name, (field, tp) in fields.items():
        if name in value:
            kwargs[name] = _build(tp, value[name], key_path(path, name), field.metadata)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            _fail(key_path(path, name), f"required key is missing ({field.metadata['doc']})")
    built = cls(**kwargs)
    if hasattr(built, "validate"):
        built.validate(path)
    return built


# ------------------------------------------------------------------------------------------ overrides

_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*|[0-9]+")
_OVERRIDE_FORM = "key=value, e.g. training.beta=0.2 or model.blocks.0.hidden=[128, 64]"


def _parse_override(override: Any) -> tuple[list[str | int], Any]:
    if not isinstance(override, str):
        raise ConfigError(f"override {override!r}: expected a string of the form {_OVERRIDE_FORM}")
    key, equals, text = override.partition("=")
    segments = key.strip().split(".")
    if not equals or not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise ConfigError(f"override {override!r} is not of the form {_OVERRIDE_FORM}")
    value = _parse_yaml(text, f"override {override!r}")
    return [int(segment) if segment.isdigit() else segment for segment in segments], value


def _default_plain(cls: Any, key: str) -> Any:
    """The plain default of field ``key`` of dataclass ``cls``; ``{}`` when there is none to copy."""
    cls = unwrap_optional(cls)
    entry = schema_fields(cls).get(key) if dataclasses.is_dataclass(cls) else None
    if entry is None:
        return {}
    field = entry[0]
    if field.default_factory is not dataclasses.MISSING:
        return to_dict(field.default_factory())
    if field.default is dataclasses.MISSING or field.default is None:
        return {}
    return field.default


def _child_schema(tp: Any, meta: Mapping, node: Any, segment: str | int) -> tuple[Any, Mapping]:
    """Schema type and metadata of ``node[segment]``, or ``(None, {})`` once off the schema."""
    tp = unwrap_optional(tp)
    if dataclasses.is_dataclass(tp) and isinstance(segment, str) and segment in schema_fields(tp):
        field, child = schema_fields(tp)[segment]
        return child, field.metadata
    if typing.get_origin(tp) is list and isinstance(segment, int):
        if "tag" in meta:
            selected = node[segment].get(meta["tag"]) if isinstance(node[segment], Mapping) else None
            return meta["variants"].get(selected) if isinstance(selected, str) else None, {}
        return typing.get_args(tp)[0], meta
    return None, {}


def _apply_override(root: dict, override: str) -> None:
    segments, value = _parse_override(override)
    node: Any = root
    tp: Any = Config
    meta: Mapping = {}
    for depth, segment in enumerate(segments):
        where = ".".join(map(str, segments[:depth])) or "the top level"
        last = depth == len(segments) - 1
        if isinstance(node, dict):
            segment = str(segment)
            if not last and node.get(segment) is None:
                node[segment] = _default_plain(tp, segment)
        elif isinstance(node, list):
            if not isinstance(segment, int):
                raise ConfigError(
                    f"override {override!r}: {where} is a list; address its items by index, e.g. {where}.0"
                )
            if segment > len(node):
                raise ConfigError(
                    f"override {override!r}: index {segment} is out of range; {where} has {len(node)} item(s) "
                    f"(index {len(node)} appends one)"
                )
            if segment == len(node):
                node.append({})
        else:
            raise ConfigError(f"override {override!r}: {where} is {_describe_value(node)}, which has no keys")
        if last:
            node[segment] = value
        else:
            tp, meta = _child_schema(tp, meta, node, segment)
            node = node[segment]


def apply_overrides(data: Any, overrides: Iterable[str]) -> dict:
    """A copy of the plain config ``data`` with each ``dotted.key=value`` override applied in order.

    List items are addressed by index (``model.blocks.1.hidden=[64]``; the index one past the end
    appends). Keys the data does not have yet start from the schema's defaults, so overriding one key
    of a defaulted list (``model.blocks.0.outputs=2``) keeps the rest of it.
    """
    if isinstance(overrides, (str, bytes)) or not isinstance(overrides, Iterable):
        raise ConfigError(f"overrides must be a list of strings of the form {_OVERRIDE_FORM}; got {overrides!r}")
    try:
        root = {} if data is None else copy.deepcopy(data)
    except RecursionError:
        raise ConfigError("config: the data is nested too deeply") from None
    if not isinstance(root, dict):
        _build_dataclass(Config, root, "")  # raises: the top level must be a mapping
    for override in overrides:
        _apply_override(root, override)
    return root


# ------------------------------------------------------------------------------------------ public API


def config_from_dict(data: Any, overrides: Iterable[str] = ()) -> Config:
    """Validate plain data (as parsed from YAML; ``None`` means all defaults) and build a :class:`Config`."""
    return _build_dataclass(Config, apply_overrides(data, overrides), "")


def _read_source(source: Any) -> tuple[str, str]:
    """(text, origin for messages) of a path or of YAML text."""
    if isinstance(source, str) and ("\n" in source or not _looks_like_path(source)):
        return source, "config"
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(f"expected a config file path or YAML text, got {_describe_value(source)}")
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None


def _looks_like_path(text: str) -> bool:
    return text.endswith(_CONFIG_SUFFIXES) or os.path.exists(text)


def load_config(source: str | os.PathLike, overrides: Iterable[str] = ()) -> Config:
    """Load a config from a file path or from YAML text, apply ``dotted.key=value`` overrides, validate.

    ``source`` is a path if it is a :class:`os.PathLike`, or a one-line string that ends in ``.yaml`` /
    ``.yml`` or names an existing file; any other string is YAML text (empty text: all defaults).
    """
    text, origin = _read_source(source)
    data = _parse_yaml(text, origin)
    if isinstance(data, str) and origin == "config" and ":" not in text:
        raise ConfigError(f"config: no such file {text.strip()!r} (and as YAML text it is not a mapping)")
    try:
        return config_from_dict(data, overrides)
    except ConfigError as exc:
        if origin == "config":
            raise
        raise ConfigError(f"{origin}: {exc}") from None


def to_dict(config: Any) -> Any:
    """Plain data (dicts, lists, scalars) of a config or of any part of it, every default written out."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {field.name: to_dict(getattr(config, field.name)) for field in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(item) for item in config]
    return config


def dump_config(config: Config) -> str:
    """The fully resolved config as YAML (every default, ``schema_version`` included); loads back equal."""
    return yaml.dump(to_dict(config), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1_000_000)


def config_hash(config: Config) -> str:
    """A short content hash of the resolved config (sha256 of :func:`dump_config`), stable across runs."""
    return hashlib.sha256(dump_config(config).encode("utf-8")).hexdigest()[:_HASH_CHARS]


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
                    _fail(f"{path}.{dotted}", f"unknown key; {key!r} is not a section of the tile")
                node = node[key]
            node[keys[-1]] = value
        tile_defaults = _build_dataclass(cls, merged, path)
    return tile_defaults


def validate_config(config: Config) -> Config:
    """Check a config built in Python as if it had been loaded; returns the normalised copy (ints -> floats)."""
    return config_from_dict(to_dict(config))

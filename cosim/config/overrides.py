"""``dotted.key=value`` overrides (``--set`` on the command line) applied to plain config data."""

from __future__ import annotations

import copy
import dataclasses
import re
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from cosim.errors import ConfigError

from .convert import describe_value, from_plain, schema_fields, to_dict, unwrap_optional
from .dialect import parse_yaml
from .schema import Config

__all__ = ["apply_overrides"]

_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*|[0-9]+")
_OVERRIDE_FORM = "key=value, e.g. training.beta=0.2 or model.blocks.0.hidden=[128, 64]"


def _parse_override(override: Any) -> tuple[list[str | int], Any]:
    if not isinstance(override, str):
        raise ConfigError(f"override {override!r}: expected a string of the form {_OVERRIDE_FORM}")
    key, equals, text = override.partition("=")
    segments = key.strip().split(".")
    if not equals or not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise ConfigError(f"override {override!r} is not of the form {_OVERRIDE_FORM}")
    value = parse_yaml(text, f"override {override!r}")
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
            raise ConfigError(f"override {override!r}: {where} is {describe_value(node)}, which has no keys")
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
        from_plain(Config, root)  # raises: the top level must be a mapping
    for override in overrides:
        _apply_override(root, override)
    return root

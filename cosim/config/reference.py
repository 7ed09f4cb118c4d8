"""Generate the Markdown config reference from the schema.

    python -m cosim.config.reference > docs/config-reference.md

One table per dataclass (key path, type, default, unit, description), in the order a reader meets them
in a config file; the members of each tagged union get their own tables, headed by their tag.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from typing import Any

from .convert import describe_type, schema_fields, to_dict, unwrap_optional
from .dialect import yaml_flow
from .loader import dump_config
from .presets import PRESETS
from .schema import Config

_INTRO = """\
# Configuration reference

<!-- Generated from cosim/config/schema.py by `python -m cosim.config.reference > docs/config-reference.md`.
     Do not edit by hand: tests/test_config.py fails when this file and the schema disagree. -->

A cosim config is one YAML file. Every key is optional unless its default says *required*; the defaults
below are the only ones (the schema in `cosim/config/schema.py` is their single source of truth). Units
are SI unless a key's name or unit column says otherwise. Unknown keys, values of the wrong type or out
of range, and impossible combinations (e.g. `lower_rail_V >= upper_rail_V`) are errors that name the key
path, e.g. `model.blocks[1].diode.model`.

Key paths: `a.b` is key `b` inside mapping `a`; `a[]` stands for every item of list `a`. Lists of
mappings of several types (`model.blocks`, selected by `kind:`; `ops`, selected by `op:`) have one table
per type.

Overrides (`--set` on the command line, `overrides=` in `load_config`) take `dotted.key=value`, the value
in YAML, list items by index: `training.beta=0.2`, `model.blocks.0.hidden=[128, 64]`,
`data.path=null`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default_text(field: dataclasses.Field, tp: Any, meta: typing.Mapping) -> str:
    if field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
        if dataclasses.is_dataclass(value):
            return "(section)"
        if "tag" in meta:
            tags = [f"{{{meta['tag']}: {getattr(item, meta['tag'])}}}" for item in value]
            return f"`[{', '.join(tags)}]`, with that type's defaults"
        return f"`{yaml_flow(to_dict(value))}`"
    if field.default is dataclasses.MISSING:
        return "*required*"
    return f"`{yaml_flow(field.default)}`"


def _description(meta: typing.Mapping) -> str:
    doc = meta["doc"]
    if "tag" in meta:
        doc += f" Each item's `{meta['tag']}:` selects its type: " + ", ".join(f"`{tag}`" for tag in meta["variants"])
        doc += " (tables below)."
    return doc


def _children(tp: Any, meta: typing.Mapping, path: str) -> Iterator[tuple[type, str, str]]:
    """(dataclass, key path, heading suffix) of the tables nested under a field."""
    tp = unwrap_optional(tp)
    if "tag" in meta:
        for tag, cls in meta["variants"].items():
            yield cls, f"{path}[]", f" with {meta['tag']}: {tag}"
    elif dataclasses.is_dataclass(tp):
        yield tp, path, ""
    elif typing.get_origin(tp) is list and dataclasses.is_dataclass(typing.get_args(tp)[0]):
        yield typing.get_args(tp)[0], f"{path}[]", ""


def _tables(cls: type, path: str, heading: str) -> Iterator[str]:
    title = f"`{path}`{heading}" if path else "Top level"
    yield f"## {title}\n"
    yield (cls.__doc__ or "").strip().split("\n\n")[0] + f" (`{cls.__name__}`)\n"
    yield "| key | type | default | unit | description |"
    yield "| --- | --- | --- | --- | --- |"
    nested = []
    for name, (field, tp) in schema_fields(cls).items():
        meta = field.metadata
        key = f"{path}.{name}" if path else name
        cells = (f"`{key}`", describe_type(tp, meta), _default_text(field, tp, meta), meta["unit"], _description(meta))
        yield "| " + " | ".join(_cell(cell) for cell in cells) + " |"
        nested.extend(_children(tp, meta, key))
    yield ""
    for child in nested:
        yield from _tables(*child)


def _presets() -> Iterator[str]:
    """The device presets: every value with its source (read in the source, or an estimate that says why)."""
    yield "## Device presets (`chip.tile.device.preset`)\n"
    yield ("Each value fills the device key when the config does not set it (values and sources: "
           "`cosim/config/presets.yaml`; comparison: docs/devices.md). Every value was read in its source "
           "(or derived from numbers read there, the derivation stated) unless the source begins *estimate*.\n")
    yield "| preset | key | value | source |"
    yield "| --- | --- | --- | --- |"
    for name, entries in PRESETS.items():
        for key, entry in entries.items():
            cells = (name, f"`{key}`", yaml_flow(entry.value), entry.source)
            yield "| " + " | ".join(_cell(cell) for cell in cells) + " |"
    yield ""


def render() -> str:
    """The whole reference as Markdown."""
    lines = [_INTRO, *_tables(Config, "", ""), *_presets(), "## All defaults\n", "```yaml",
             dump_config(Config()).rstrip(), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")

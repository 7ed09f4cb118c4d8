"""The YAML dialect of cosim configs: reading text into plain data and writing plain data back.

YAML 1.1 as read by PyYAML's safe loader, with three fixes: ``1e-5`` is a float (not the string
"1e-5"), only ``true``/``false`` are booleans (``on``, ``off``, ``yes`` and ``no`` stay strings), and a
key given twice in one mapping is an error instead of silently keeping the last. Every failure to read
is one line of :class:`ConfigError` naming where the text came from.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from cosim.errors import ConfigError

__all__ = ["dump_yaml", "parse_yaml", "yaml_flow"]

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


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def parse_yaml(text: str, origin: str) -> Any:
    """Plain data (dicts, lists, scalars) of YAML ``text``; ``origin`` names the text in messages."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{origin}: YAML syntax error{where}: {_one_line(problem)}") from None
    except yaml.reader.ReaderError as exc:  # a control character such as NUL: no mark, a two-line text
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise ConfigError(f"{origin}: invalid YAML: control character {char} at character {exc.position + 1} "
                          "is not allowed") from None
    except RecursionError:
        raise ConfigError(f"{origin}: the YAML is nested too deeply") from None
    except _PARSE_ERRORS as exc:
        raise ConfigError(f"{origin}: invalid YAML: {type(exc).__name__}: {_one_line(exc)}") from None


def yaml_flow(value: Any) -> str:
    """``value`` as one line of YAML in this dialect (``[256]``, ``null``, ``1.0e-05``, ``fashion-mnist``)."""
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=1_000_000)
    return text.removesuffix("\n...\n").strip()


def dump_yaml(data: Any) -> str:
    """Plain data as block-style YAML in this dialect, keys in their given order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1_000_000)

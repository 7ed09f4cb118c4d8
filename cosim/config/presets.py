"""Device presets with published parameters (PCM, filamentary HfOx ReRAM, ECRAM), and their resolution.

The values and their sources are data, in ``presets.yaml`` beside this module: one entry per ``chip.tile.device``
key (SI units, as the key says), one cell per preset, each either read in the cited source (or derived from
numbers read there, the derivation stated) or an estimate that says why. ``PRESETS[name][key]`` is a
:class:`Sourced` value. :func:`apply_presets` resolves ``device: {preset: NAME}`` in plain config data before
validation: the preset fills every key the mapping does not set.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cosim.errors import ConfigError


@dataclass(frozen=True)
class Sourced:
    """One preset value and where it comes from (``checked``: read in the source, or derived from numbers read
    there with the derivation stated; otherwise the source begins "estimate:" and says why)."""

    value: Any
    source: str
    checked: bool = False


def _load(path: Path) -> dict[str, dict[str, Sourced]]:
    data = yaml.safe_load(path.read_text())
    references = {name: text.format(**data["references"]) for name, text in data["references"].items()}
    presets: dict[str, dict[str, Sourced]] = {name: {} for name in data["presets"]}
    for key, cells in data["keys"].items():
        for name, (value, kind, source) in cells.items():
            text = source.format(**references)
            presets[name][key] = Sourced(value, text if kind == "read" else f"estimate: {text}", kind == "read")
    return presets


#: preset name -> device key -> value and source, from presets.yaml
PRESETS: dict[str, dict[str, Sourced]] = _load(Path(__file__).with_name("presets.yaml"))


def preset(name: str) -> dict[str, Any]:
    """The plain values of preset ``name`` (a config-ready mapping of device keys)."""
    try:
        return {key: entry.value for key, entry in PRESETS[name].items()}
    except KeyError:
        raise ConfigError(f"unknown device preset {name!r}; known: {', '.join(PRESETS)}") from None


PRESET_KEY = "chip.tile.device.preset"


def with_preset_overrides(data: Any, overrides) -> tuple[Any, list[str]]:
    """Apply the ``chip.tile.device.preset=NAME`` overrides to plain data first, creating only the sections
    on the way (an ordinary override fills a missing section with every default, which would leave a
    preset nothing to fill); returns the data and the other overrides, to be applied after the presets."""
    if not isinstance(overrides, (list, tuple)):
        return data, overrides  # apply_overrides says what is wrong with them
    presets = [o.partition("=")[2].strip() for o in overrides if _names_preset(o)]
    if not presets or not isinstance(data, (dict, type(None))):
        return data, overrides
    data = copy.deepcopy(data) or {}
    node = data
    for section in PRESET_KEY.split(".")[:-1]:
        if node.get(section) is None:
            node[section] = {}
        elif not isinstance(node[section], dict):
            return data, overrides  # not a mapping: apply_overrides names the problem
        node = node[section]
    node["preset"] = presets[-1]
    return data, [o for o in overrides if not _names_preset(o)]


def _names_preset(override: Any) -> bool:
    return isinstance(override, str) and override.partition("=")[0].strip() == PRESET_KEY


def apply_presets(data: Any) -> Any:
    """Plain config data with every ``device: {preset: NAME}`` filled in (keys set next to it win): the tile
    defaults (``chip.tile.device``) and each tile override whose ``set`` names ``device.preset``."""
    chip = data.get("chip") if isinstance(data, dict) else None
    if not isinstance(chip, dict):
        return data
    data = copy.deepcopy(data)
    chip = data["chip"]
    device = chip["tile"].get("device") if isinstance(chip.get("tile"), dict) else None
    if isinstance(device, dict) and device.get("preset") is not None:
        chip["tile"]["device"] = _filled(device, device["preset"], "chip.tile.device.preset")
    for index, override in enumerate(chip["tiles"] if isinstance(chip.get("tiles"), list) else []):
        changes = override.get("set") if isinstance(override, dict) else None
        if isinstance(changes, dict) and changes.get("device.preset") is not None:
            filled = _filled({k[len("device."):]: v for k, v in changes.items() if k.startswith("device.")},
                             changes["device.preset"], f"chip.tiles[{index}].set.device.preset")
            changes.update({f"device.{k}": v for k, v in filled.items()})
    return data


def _filled(device: dict, name: Any, path: str) -> dict:
    if not isinstance(name, str) or name not in PRESETS:
        raise ConfigError(f"{path}: unknown device preset {name!r}; known: {', '.join(PRESETS)}")
    return {**preset(name), **device}

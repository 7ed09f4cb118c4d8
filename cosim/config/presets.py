"""Device presets with published parameters (PCM, filamentary HfOx ReRAM, ECRAM), and their resolution.

``PRESETS[name][key]`` is a :class:`Sourced` value whose key is a ``chip.tile.device`` key (SI units, as the key
says). ``checked=True``: the value was read in the cited source (or derived from numbers read there, the
derivation stated); ``checked=False``: an assumption or an order-of-magnitude reading still to be checked
against the source named (docs/devices.md lists them). :func:`apply_presets` resolves ``device: {preset:
NAME}`` in plain config data before validation: the preset fills every key the mapping does not set.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from cosim.errors import ConfigError


@dataclass(frozen=True)
class Sourced:
    """One preset value and where it comes from."""

    value: Any
    source: str
    checked: bool = False


AIHW_PCM = ("aihwkit docs 'Inference and PCM statistical model' (fits of Nandakumar et al., ICECS 2019 and Joshi "
            "et al., Nat. Commun. 11, 2473 (2020))")
AIHW_WAN = ("aihwkit ReRamWan2022NoiseModel (fits of Wan et al., Nature 608, 504 (2022), HfOx 1T1R), coefficients "
            "for g_max = 40 uS")
NANDA18 = "Nandakumar et al., J. Appl. Phys. 124, 152135 (2018), PCM SET-pulse response"
GONG18 = "Gong et al., Nat. Commun. 9, 2102 (2018), Figs. 2-5 (HfOx ReRAM and PCM pulse trains)"
NVMX = "NVMExplorer cell file nvmexplorer_RRAM.cell (hwcomponents-neurosim 1.0.43)"
OPENLOOP = ("'Open-loop analog programmable electrochemical memory array', Nat. Commun. 14 (2023), "
            "doi:10.1038/s41467-023-41958-4 (W/YSZ/WOx ECRAM)")
TANG18 = "Tang et al., IEDM 2018, ECRAM (WO3/LiPON)"
KIM22 = "Kim et al., arXiv:2210.06658 (2022): conventional ECRAM retention 'a few hours'"
SINGLE = ("cosim maps a weight to one device (not aihwkit's differential pair, whose unused device sits at 0 S); a "
          "nonzero g_min keeps every node connected")
NONE = "not reported by the sources above; off"

PRESETS: dict[str, dict[str, Sourced]] = {
    "pcm": {
        "g_min_S": Sourced(1e-6, f"assumption: {SINGLE}"),
        "g_max_S": Sourced(25e-6, f"{AIHW_PCM}: example PCMLikeNoiseModel(g_max=25.0) uS", checked=True),
        "levels": Sourced(None, f"{AIHW_PCM}: closed-loop write-read-verify to continuous targets", checked=True),
        "programming_noise": Sourced(0.034, f"{AIHW_PCM}: sigma_prog = max(-1.1731 g^2 + 1.965 g + 0.2635, 0) uS, "
                                     "mean over g in [0, 1] = 0.855 uS, / 25 uS", checked=True),
        "read_noise": Sourced(0.0, "the read noise of PCM is the 1/f law (read_noise_1f)", checked=True),
        "read_noise_redraw": Sourced("step", "1/f noise is slow: EP's phases, microseconds apart, share most of it "
                                     "(the band above 1/(10 us) holds ~17 % of the variance integrated from 1/20 s)"),
        "read_noise_1f": Sourced(0.0088, f"{AIHW_PCM}: Q_s = min(0.0088 / g_T^0.65, 0.2)", checked=True),
        "read_noise_1f_exponent": Sourced(0.65, f"{AIHW_PCM}: Q_s = min(0.0088 / g_T^0.65, 0.2)", checked=True),
        "read_noise_t_read_s": Sourced(250e-9, f"{AIHW_PCM}: t_read = 250 ns", checked=True),
        "variability": Sourced(0.0, f"{AIHW_PCM}: the verify loop absorbs it (the spread is in sigma_prog)"),
        "stuck_at_min": Sourced(0.0, NONE),
        "stuck_at_max": Sourced(0.0, NONE),
        "update": Sourced("exact", f"{AIHW_PCM}: iterative write-read-verify (the mode the noise fits describe; "
                          "set update: pulsed for the pulse keys below)", checked=True),
        "pulse_step": Sourced(0.04, f"{NANDA18}: first SET increments of order 1 uS, / 25 uS"),
        "pulse_step_spread": Sourced(0.3, f"{GONG18}, Fig. 5: device-to-device part of the PCM pulse variability"),
        "asymmetry": Sourced(0.0, "differential pair: depression is SET on the partner device (symmetric)"),
        "soft_bounds": Sourced(True, f"{NANDA18}: SET increment shrinks as G approaches saturation"),
        "cell_area_F2": Sourced(9.0, "NVSim PCRAM cell (Lee et al., ISCA 2009) as shipped with "
                                "hwcomponents-neurosim; a selector-less cross-point cell"),
        "write_energy_J": Sourced(1e-11, "order of magnitude of a PCM SET pulse (~100 uA, ~1 V, ~100 ns)"),
        "retention": Sourced("power_law", f"{AIHW_PCM}: g_drift(t) = g_prog (t/t_c)^-nu", checked=True),
        "retention_t0_s": Sourced(20.0, f"{AIHW_PCM}: PCMLikeNoiseModel t_0 = 20 s (first reading time)",
                                  checked=True),
        "drift_nu": Sourced(0.049, f"{AIHW_PCM}: lower clip of mu_nu (high-G states); used when not "
                            "state-dependent", checked=True),
        "drift_nu_spread": Sourced(0.008, f"{AIHW_PCM}: lower clip of sigma_nu", checked=True),
        "drift_nu_state_dependent": Sourced(True, f"{AIHW_PCM}: mu_nu, sigma_nu as functions of log(g_T)",
                                            checked=True),
    },
    "reram_hfox": {
        "g_min_S": Sourced(1e-6, f"assumption: {SINGLE}"),
        "g_max_S": Sourced(40e-6, f"{AIHW_WAN}", checked=True),
        "levels": Sourced(None, f"{AIHW_WAN}: write-verify to analog targets", checked=True),
        "programming_noise": Sourced(0.043, f"{AIHW_WAN}: 1 s polynomial [0.348, 16.030, -43.853, 45.393, -16.815] "
                                     "uS in g_T/g_max, mean over g_T in [0, 1] = 1.73 uS, / 40 uS", checked=True),
        "read_noise": Sourced(0.01, f"{AIHW_WAN}: 'short-term read noise (about 1%)'", checked=True),
        "read_noise_redraw": Sourced("step", "filamentary read noise is mostly 1/f and random telegraph noise, "
                                     "slow next to EP's phases, which share it"),
        "read_noise_1f": Sourced(0.0, f"{AIHW_WAN}: 'No separate data is available for read noise (1/f)'",
                                 checked=True),
        "variability": Sourced(0.0, f"{AIHW_WAN}: write-verify absorbs it (the spread is in programming_noise)"),
        "stuck_at_min": Sourced(0.0, NONE),
        "stuck_at_max": Sourced(0.0, NONE),
        "update": Sourced("exact", f"{AIHW_WAN}: write-verify (set update: pulsed for the pulse keys below, "
                          f"{GONG18})", checked=True),
        "pulse_step": Sourced(0.02, f"{GONG18}: ~50 pulses span the window"),
        "pulse_step_spread": Sourced(0.3, f"{GONG18}: device-to-device part of the step variability"),
        "asymmetry": Sourced(-0.5, f"{GONG18}: RESET (down) steps larger than SET (up) steps"),
        "soft_bounds": Sourced(True, f"{GONG18}: conductance saturates along a pulse train"),
        "cell_area_F2": Sourced(53.0, f"{NVMX}: 1T1R cell"),
        "write_energy_J": Sourced(0.6e-12, f"{NVMX}: SetEnergy = ResetEnergy = 0.6 pJ", checked=True),
        "retention": Sourced("log_relaxation", f"{AIHW_WAN}: the spread around the target grows from 1 s to 1 day; "
                             "no mean drift ('ReRAM does not show drift in the usual sense')", checked=True),
        "retention_t0_s": Sourced(1.0, f"{AIHW_WAN}: first fitted time 1 s", checked=True),
        "relaxation_mean": Sourced(0.0, f"{AIHW_WAN}: no mean shift", checked=True),
        "relaxation_spread": Sourced(0.015, f"{AIHW_WAN}: rms spread 1.78 uS at 1 s, 3.37 uS at 1 day; the excess "
                                     "sqrt(3.37^2 - 1.78^2) = 2.86 uS over log10(86401) = 4.94 decades, / 39 uS. "
                                     "The 2-day fit equals the 1-day one: the log law overestimates later spread",
                                     checked=True),
    },
    "ecram": {
        "g_min_S": Sourced(0.4e-6, f"{OPENLOOP}: window (ii) 0.4-1.0 uS", checked=True),
        "g_max_S": Sourced(1.0e-6, f"{OPENLOOP}: window (ii) 0.4-1.0 uS", checked=True),
        "levels": Sourced(None, f"{OPENLOOP}: 256 monotonic states shown (Fig. 2c); quasi-continuous"),
        "programming_noise": Sourced(0.0005, f"{TANG18}: cycle-to-cycle noise below half a step"),
        "read_noise": Sourced(0.002, f"{TANG18}: 1000 distinguishable states need read noise well below a step"),
        "read_noise_redraw": Sourced("step", "assumption: slow (1/f) channel noise, shared by EP's phases"),
        "read_noise_1f": Sourced(0.0, NONE),
        "variability": Sourced(0.05, f"{OPENLOOP}, Fig. 2b: 10 devices overlap over 5 cycles (small spread)"),
        "stuck_at_min": Sourced(0.0, NONE),
        "stuck_at_max": Sourced(0.0, NONE),
        "update": Sourced("pulsed", f"{OPENLOOP}: +-5 V, 100 ms gate pulses", checked=True),
        "pulse_step": Sourced(0.01, f"{OPENLOOP}, Fig. 2a: 100 up / 100 down pulses per cycle span the window",
                              checked=True),
        "pulse_step_spread": Sourced(0.1, f"{OPENLOOP}: small device-to-device step spread"),
        "asymmetry": Sourced(0.0, f"{OPENLOOP}, Figs. 1c, 2a: linear and symmetric update", checked=True),
        "soft_bounds": Sourced(False, f"{OPENLOOP}: linear update", checked=True),
        "cell_area_F2": Sourced(53.0, "assumption: a 3-terminal cell needs at least a 1T1R footprint"),
        "write_energy_J": Sourced(1e-13, f"{TANG18}: sub-pJ gate pulses (order of magnitude)"),
        "retention": Sourced("exponential", KIM22),
        "retention_tau_s": Sourced(1e4, f"{KIM22}: 'retention beyond a few hours' is the open challenge (the "
                                   f"W/YSZ/WOx cell of {OPENLOOP} retains longer, Fig. 2d)"),
        "retention_equilibrium": Sourced(0.5, "assumption: open-circuit state mid-window"),
    },
}


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

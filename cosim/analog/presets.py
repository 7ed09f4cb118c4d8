"""Device presets with published parameters: phase-change memory, filamentary HfOx ReRAM and ECRAM.

Plain data: ``PRESETS[name][key]`` is a :class:`Sourced` value whose key is a device config key (today's
``chip.tile.device`` keys plus the time keys of :mod:`cosim.analog.drift` and ``soft_bounds``). Every number
names its source; ``checked`` is True only where the value was read in the cited source itself, False where it
is an order-of-magnitude reading that still needs checking against the figure named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sourced:
    """One preset value (SI units, as the config key says) and where it comes from."""

    value: Any
    source: str
    checked: bool = False


JOSHI = "Joshi et al., Nat. Commun. 11, 2473 (2020), Methods (PCM model)"
AIHW_PCM = "aihwkit docs, 'Inference and PCM statistical model' / PCMLikeNoiseModel (fits of Joshi 2020)"
NANDA18 = "Nandakumar et al., J. Appl. Phys. 124, 152135 (2018), PCM SET-pulse response"
GONG18 = "Gong et al., Nat. Commun. 9, 2102 (2018), Figs. 2-5 (HfOx ReRAM and PCM pulse trains)"
WAN22 = "Wan et al., Nature 608, 504 (2022) (NeuRRAM, HfOx 1T1R)"
AIHW_WAN = "aihwkit docs, ReRamWan2022NoiseModel ('short-term read noise (about 1%)')"
ZHAO17 = "Zhao et al., IEDM 2017, statistical retention of filamentary analog RRAM (spread ~ log t)"
NVMX = "NVMExplorer cell file nvmexplorer_RRAM.cell (hwcomponents-neurosim 1.0.43)"
TANG18 = "Tang et al., IEDM 2018, ECRAM (WO3/LiPON): 1000 states, symmetric near-linear update"
KIM22 = "Kim et al., arXiv:2210.06658 (2022): conventional ECRAM retention 'a few hours'"
NONE = "not reported by the sources above; off"

PRESETS: dict[str, dict[str, Sourced]] = {
    "pcm": {
        "g_min_S": Sourced(0.0, f"{JOSHI}: each device of a differential pair maps to [0, G_max]"),
        "g_max_S": Sourced(25e-6, f"{JOSHI}: G_max = 25 uS"),
        "levels": Sourced(None, f"{JOSHI}: iterative program-and-verify, continuous targets"),
        "programming_noise": Sourced(0.034, f"{AIHW_PCM}: mean over G_T of max(-1.1731 g^2 + 1.965 g + 0.2635, 0)"
                                     " uS = 0.86 uS, / 25 uS"),
        "read_noise": Sourced(0.0, "replaced by the 1/f law read_noise_1f (time-dependent)"),
        "read_noise_1f": Sourced(0.0088, f"{AIHW_PCM}: Q_s = 0.0088 at G_T = G_max (x g^-0.65 below it)"),
        "read_noise_t_read_s": Sourced(250e-9, f"{AIHW_PCM}: t_read = 2.5e-7 s", checked=True),
        "variability": Sourced(0.0, f"{JOSHI}: absorbed by program-and-verify (spread is in programming_noise)"),
        "stuck_at_min": Sourced(0.0, NONE),
        "stuck_at_max": Sourced(0.0, NONE),
        "update": Sourced("pulsed", f"{NANDA18}: gradual SET by partial crystallisation"),
        "pulse_step": Sourced(0.04, f"{NANDA18}: first SET increments of order 1 uS, / 25 uS"),
        "pulse_step_spread": Sourced(0.3, f"{GONG18}, Fig. 5: device-to-device part ~1/3 of PCM pulse variability"),
        "asymmetry": Sourced(0.0, "differential pair: depression is SET on the partner device (symmetric)"),
        "soft_bounds": Sourced(True, f"{NANDA18}: SET increment shrinks as G approaches saturation"),
        "write_energy_J": Sourced(1e-11, "order of magnitude of a PCM SET pulse (~100 uA, ~1 V, ~100 ns)"),
        "retention": Sourced("power_law", f"{JOSHI}: G(t) = G(t0) (t/t0)^-nu"),
        "drift_nu": Sourced(0.049, f"{AIHW_PCM}: lower clip of mean nu (high-G states)"),
        "drift_nu_spread": Sourced(0.008, f"{AIHW_PCM}: lower clip of std nu (high-G states)"),
        "drift_nu_state_dependent": Sourced(True, f"{AIHW_PCM}: mean/std of nu as functions of ln(G_T/G_max)"),
        "drift_t0_s": Sourced(20.0, f"{AIHW_PCM}: t_0 = 20 s", checked=True),
    },
    "reram_hfox": {
        "g_min_S": Sourced(1e-6, f"{WAN22}: lowest programmed state of order 1 uS"),
        "g_max_S": Sourced(40e-6, f"{WAN22}: conductance window of order 40 uS"),
        "levels": Sourced(None, f"{WAN22}: write-verify to analog targets"),
        "programming_noise": Sourced(0.03, f"{WAN22}: post-verify spread of order 1 uS over the window"),
        "read_noise": Sourced(0.01, AIHW_WAN, checked=True),
        "read_noise_1f": Sourced(0.0, "no separate 1/f data (aihwkit ReRamWan2022 docs)", checked=True),
        "read_noise_t_read_s": Sourced(250e-9, "unused (read_noise_1f = 0)"),
        "variability": Sourced(0.1, f"{GONG18}: device-to-device spread of the pulse response"),
        "stuck_at_min": Sourced(0.0, NONE),
        "stuck_at_max": Sourced(0.0, NONE),
        "update": Sourced("pulsed", f"{GONG18}: identical-pulse trains"),
        "pulse_step": Sourced(0.02, f"{GONG18}: ~50 pulses span the window"),
        "pulse_step_spread": Sourced(0.3, f"{GONG18}: device-to-device part of the step variability"),
        "asymmetry": Sourced(-0.5, f"{GONG18}: RESET (down) steps larger than SET (up) steps"),
        "soft_bounds": Sourced(True, f"{GONG18}: conductance saturates along a pulse train"),
        "write_energy_J": Sourced(0.6e-12, f"{NVMX}: SetEnergy = ResetEnergy = 0.6 pJ", checked=True),
        "retention": Sourced("log_relaxation", ZHAO17),
        "relaxation_mean": Sourced(-0.005, f"{ZHAO17}: small net loss per decade (fraction of span)"),
        "relaxation_spread": Sourced(0.01, f"{ZHAO17}: spread growth per decade (fraction of span)"),
        "relaxation_t0_s": Sourced(1.0, f"{ZHAO17}: first read ~1 s after programming"),
    },
    "ecram": {
        "g_min_S": Sourced(1e-7, f"{TANG18}: channel conductance of order 0.1-1 uS"),
        "g_max_S": Sourced(1e-6, f"{TANG18}: channel conductance of order 0.1-1 uS"),
        "levels": Sourced(None, f"{TANG18}: quasi-continuous (1000 states)"),
        "programming_noise": Sourced(0.0005, f"{TANG18}: cycle-to-cycle noise below half a step"),
        "read_noise": Sourced(0.002, f"{TANG18}: 1000 distinguishable states need read noise well below a step"),
        "read_noise_1f": Sourced(0.0, NONE),
        "read_noise_t_read_s": Sourced(250e-9, "unused (read_noise_1f = 0)"),
        "variability": Sourced(0.05, f"{TANG18}: small device-to-device spread"),
        "stuck_at_min": Sourced(0.0, NONE),
        "stuck_at_max": Sourced(0.0, NONE),
        "update": Sourced("pulsed", f"{TANG18}: gate-current pulses"),
        "pulse_step": Sourced(0.001, f"{TANG18}: 1000 states across the window"),
        "pulse_step_spread": Sourced(0.1, f"{TANG18}: small device-to-device step spread"),
        "asymmetry": Sourced(0.05, f"{TANG18}: near-symmetric up/down"),
        "soft_bounds": Sourced(False, f"{TANG18}: near-linear update"),
        "write_energy_J": Sourced(1e-13, f"{TANG18}: sub-pJ gate pulses (order of magnitude)"),
        "retention": Sourced("exponential", KIM22),
        "retention_tau_s": Sourced(1e4, f"{KIM22}: 'retention beyond a few hours' is the open challenge"),
        "retention_equilibrium": Sourced(0.5, "open-circuit state assumed mid-window (fraction of span)"),
    },
}


def preset(name: str) -> dict[str, Any]:
    """The plain values of preset ``name`` (a config-ready mapping of device keys)."""
    try:
        return {key: entry.value for key, entry in PRESETS[name].items()}
    except KeyError:
        raise KeyError(f"unknown device preset {name!r}; known: {', '.join(PRESETS)}") from None

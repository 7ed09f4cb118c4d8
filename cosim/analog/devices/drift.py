"""Devices over time: conductance drift and retention, time-dependent read noise, global drift compensation.

Pure physics: numpy in, numpy out, SI units (siemens, seconds), every random draw from an explicit
``numpy.random.Generator``. Time ``t`` is measured from the end of programming. Three retention laws:

* **power-law drift** (phase-change memory): ``G(t) = G(t0) (t/t0)^-nu`` for ``t > t0``, ``nu`` drawn per
  device, optionally from the state-dependent fits of Nandakumar et al. 2019 / Joshi et al. 2020;
* **log-time relaxation** (filamentary HfOx ReRAM): each device wanders by ``span (mu + sigma xi) log10(1 + t/t0)``
  with one ``xi ~ N(0, 1)`` per device, so the spread of the programmed states grows with the logarithm of time;
* **exponential relaxation** (ECRAM): the ion-intercalated state self-discharges towards an equilibrium
  conductance, ``G(t) = G_eq + (G(0) - G_eq) exp(-t/tau)``.

Sources
-------
* Joshi, V. et al., "Accurate deep neural network inference using computational phase-change memory",
  Nat. Commun. 11, 2473 (2020), Methods ("PCM model") and Fig. 2; Nandakumar, S. R. et al., "Phase-change memory
  models for deep learning training and inference", ICECS 2019. The fitted functions below are those papers'
  fits as documented on aihwkit's "Inference and PCM statistical model" page (t_read = 250 ns, t0 = 20 s there).
* Zhao, M. et al., "Investigation of statistical retention of filamentary analog RRAM for neuromorphic computing",
  IEDM 2017: the conductance distribution of HfOx analog states broadens linearly in log(t).
* Kim, D. et al., "Nonvolatile electrochemical random-access memory under short circuit", arXiv:2210.06658 (2022):
  conventional ECRAM loses its state by self-discharge within hours (their phase-separated cell: > 10 y at 85 C).
"""

from __future__ import annotations

import numpy as np

PCM_T0_S = 20.0          # first read after programming, reference of the drift fit (Joshi 2020; aihwkit docs)
PCM_T_READ_S = 250e-9    # read duration of the 1/f noise integral (Joshi 2020; aihwkit docs)
PCM_G_MAX_S = 25e-6      # G_max of the fits (Joshi 2020, Methods)
PCM_Q_MAX = 0.2          # cap of the 1/f amplitude Q_s (Joshi 2020; aihwkit docs)


def _relative(g_target: np.ndarray, g_max: float) -> np.ndarray:
    """Target conductance as a fraction of ``g_max``, kept away from 0 for the logarithmic fits."""
    return np.clip(np.abs(g_target) / g_max, 1e-7, None)


def pcm_nu_statistics(g_target: np.ndarray, g_max: float = PCM_G_MAX_S) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the PCM drift exponent for a target state (Joshi 2020 Fig. 2c fit, Nandakumar 2019).

    ``mean = clip(-0.0155 ln(g) + 0.0244, 0.049, 0.1)``, ``std = clip(-0.0125 ln(g) - 0.0059, 0.008, 0.045)``,
    ``g = G_T / G_max``: low-conductance (more amorphous) states drift faster and spread more.
    """
    log_g = np.log(_relative(g_target, g_max))
    return np.clip(-0.0155 * log_g + 0.0244, 0.049, 0.1), np.clip(-0.0125 * log_g - 0.0059, 0.008, 0.045)


def pcm_programming_noise_std(g_target: np.ndarray, g_max: float = PCM_G_MAX_S) -> np.ndarray:
    """Std (S) of the conductance error left by iterative programming (Joshi 2020, Methods, quadratic fit).

    ``sigma = max(-1.1731 g^2 + 1.9650 g + 0.2635, 0)`` uS with ``g = G_T / G_max``, scaled by ``G_max / 25 uS``.
    """
    g = np.abs(g_target) / g_max
    return np.maximum(-1.1731 * g**2 + 1.9650 * g + 0.2635, 0.0) * 1e-6 * (g_max / PCM_G_MAX_S)


def draw_nu(shape, mean, spread, rng: np.random.Generator) -> np.ndarray:
    """Per-device drift exponents ``max(mean + spread N(0, 1), 0)`` (scalars or arrays of ``shape``)."""
    return np.maximum(mean + spread * rng.standard_normal(shape), 0.0)


def power_law_drift(g_prog: np.ndarray, nu: np.ndarray, t: float, t0: float) -> np.ndarray:
    """``G(t) = G(t0) (t/t0)^-nu`` (S); no drift is modelled before the first read at ``t0``."""
    return g_prog * (max(t, t0) / t0) ** (-nu)


def one_over_f_q(g_target: np.ndarray, g_max: float, q_at_g_max: float, exponent: float,
                 q_max: float = PCM_Q_MAX) -> np.ndarray:
    """The 1/f noise amplitude ``Q_s = min(q (G_T/G_max)^-exponent, q_max)`` of each device (Joshi 2020:
    ``q = 0.0088``, ``exponent = 0.65``, ``q_max = 0.2``; ``exponent = 0``: state-independent)."""
    return np.minimum(q_at_g_max / _relative(g_target, g_max) ** exponent, q_max)


def one_over_f_read_noise_std(g_now: np.ndarray, q_s, t: float, t_read: float) -> np.ndarray:
    """Std (S) of one read ``t`` seconds after programming: 1/f noise integrated over the read bandwidth.

    Integrating ``S_G / G^2 = Q / f`` from ``1/t`` to ``1/(2 t_read)`` gives ``sigma = G(t) Q_s sqrt(ln((t +
    t_read) / (2 t_read)))`` (Joshi 2020, Methods; Nandakumar 2019): the older the state, the more
    low-frequency noise a read integrates.
    """
    return np.abs(g_now) * q_s * np.sqrt(np.log((t + t_read) / (2 * t_read)))


def log_relaxation(g_prog: np.ndarray, xi: np.ndarray, t: float, t0: float, mean: float, spread: float,
                   span: float) -> np.ndarray:
    """Filamentary-ReRAM retention: ``G(t) = G(0) + span (mean + spread xi) log10(1 + t/t0)`` (S).

    ``xi`` is one fixed standard normal per device (drawn once, at programming), so each device follows one
    trajectory and the ensemble spread grows as ``span spread log10(1 + t/t0)`` (Zhao et al., IEDM 2017).
    ``mean < 0`` is a net loss of conductance (filament dissolution). Clip to the range afterwards.
    """
    return g_prog + span * (mean + spread * xi) * np.log10(1.0 + t / t0)


def exponential_relaxation(g_prog: np.ndarray, t: float, tau: float, g_eq: float | np.ndarray) -> np.ndarray:
    """ECRAM retention: the state self-discharges towards ``g_eq``, ``G(t) = g_eq + (G(0) - g_eq) e^(-t/tau)``."""
    return g_eq + (g_prog - g_eq) * np.exp(-t / tau)


def reference_read(conductances: np.ndarray, reference_input: np.ndarray) -> float:
    """The calibration quantity of global drift compensation: ``sum_j |sum_i x_i G_ij|`` for a fixed input."""
    return float(np.abs(reference_input @ conductances).sum())


def global_drift_scale(reference_at_programming: float, reference_now: float) -> float:
    """Per-tile scalar ``alpha = ref(t0) / ref(t)`` that multiplies the tile's outputs (global drift compensation).

    After programming, the tile is read once with a fixed reference input (all ones, say) and the sum of the
    absolute outputs is stored; at inference time the same read is repeated and the ratio rescales every output.
    This removes the mean drift of the whole tile (Le Gallo et al., IEEE Trans. Electron Devices 65, 4304 (2018); Joshi 2020, Methods),
    not the device-to-device spread of ``nu``. **Cost, per calibration**: one extra crossbar read of the tile
    (``rows`` DAC conversions, ``columns`` ADC conversions, one analog solve), ``columns`` digital additions for
    the sum and one division; the ledger should book it as one extra forward read of that tile per calibration.
    """
    return reference_at_programming / reference_now if reference_now > 0 else 1.0

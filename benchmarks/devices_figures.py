"""Figures of docs/devices.md: the pulsed update response and the conductance over time of every device preset.

    python benchmarks/devices_figures.py            # writes docs/devices_update.png and docs/devices_drift.png
    python benchmarks/devices_figures.py --quick    # fewer devices and time points (smoke run)
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cosim.analog.devices import drift  # noqa: E402
from cosim.config.presets import PRESETS, preset  # noqa: E402
from cosim.analog.devices.soft_bounds import soft_bounds_update  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def pulse_train(p: dict, pulses: int) -> np.ndarray:
    """Conductance (S) along ``pulses`` up pulses then as many down pulses, from g_min (nominal device)."""
    span = p["g_max_S"] - p["g_min_S"]
    up, down = (p["pulse_step"] * span * (1 + s * p["asymmetry"] / 2) for s in (1, -1))
    g, trace = np.array([p["g_min_S"]]), []
    for sign in [1] * pulses + [-1] * pulses:
        if p["soft_bounds"]:
            g = soft_bounds_update(g, np.array([sign]), up, down, p["g_min_S"], p["g_max_S"])
        else:
            g = np.clip(g + (up if sign > 0 else -down), p["g_min_S"], p["g_max_S"])
        trace.append(g[0])
    return np.array(trace)


def over_time(p: dict, times: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Mean conductance (S) over time of ``n`` devices programmed at mid-range, by the preset's retention law."""
    span = p["g_max_S"] - p["g_min_S"]
    g0 = np.full(n, p["g_min_S"] + 0.5 * span)
    law = p["retention"]
    if law == "power_law":
        mean, spread = drift.pcm_nu_statistics(g0, p["g_max_S"]) if p["drift_nu_state_dependent"] else (
            p["drift_nu"], p["drift_nu_spread"])
        nu = drift.draw_nu(n, mean, spread, rng)
        return np.array([drift.power_law_drift(g0, nu, t, p["drift_t0_s"]).mean() for t in times])
    if law == "log_relaxation":
        xi = rng.standard_normal(n)
        return np.array([np.clip(drift.log_relaxation(g0, xi, t, p["relaxation_t0_s"], p["relaxation_mean"],
                                                      p["relaxation_spread"], span),
                                 p["g_min_S"], p["g_max_S"]).mean() for t in times])
    g_eq = p["g_min_S"] + p["retention_equilibrium"] * span
    g_high = np.full(n, p["g_max_S"])
    return np.array([drift.exponential_relaxation(g_high, t, p["retention_tau_s"], g_eq).mean() for t in times])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="directory of the PNGs")
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer devices and time points")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    times = np.logspace(0, np.log10(3.15e8), 12 if args.quick else 60)  # 1 s ... 10 years
    fig_u, ax_u = plt.subplots(figsize=(6, 4))
    fig_d, ax_d = plt.subplots(figsize=(6, 4))
    for name in PRESETS:
        p = preset(name)
        trace = pulse_train(p, 200 if args.quick else 1200)
        ax_u.plot(trace / p["g_max_S"], label=name)
        mean = over_time(p, times, 200 if args.quick else 5000, rng)
        ax_d.semilogx(times, mean / mean[0], label=f"{name} ({p['retention']})")
        print(f"{name}: G(10 y)/G(1 s) = {mean[-1] / mean[0]:.3f}, saturates at "
              f"{trace.max() / p['g_max_S']:.3f} G_max")
    ax_u.set(xlabel="pulse number (up, then down)", ylabel="G / G_max", title="Pulsed update response")
    ax_d.set(xlabel="time since programming (s)", ylabel="mean G(t) / G(1 s)", title="Retention, 1 s to 10 years")
    for fig, ax, name in ((fig_u, ax_u, "devices_update.png"), (fig_d, ax_d, "devices_drift.png")):
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out / name, dpi=120)
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()

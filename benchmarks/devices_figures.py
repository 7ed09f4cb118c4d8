"""Figures of docs/devices.md: the pulsed update response and the conductance over time of every device preset.

    python benchmarks/devices_figures.py            # writes docs/devices_update.png and docs/devices_drift.png
    python benchmarks/devices_figures.py --quick    # fewer devices and time points (smoke run)
"""

import argparse
import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cosim.analog.devices import DeviceArray  # noqa: E402
from cosim.build import device_model  # noqa: E402
from cosim.config import load_config  # noqa: E402
from cosim.config.presets import PRESETS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def model_of(name: str, **changes):
    """The DeviceModel the chip builds for preset ``name`` (through the config layer), with ``changes``."""
    return dataclasses.replace(device_model(load_config("", [f"chip.tile.device.preset={name}"]).chip.tile.device),
                               **changes)


def pulse_train(name: str, pulses: int) -> tuple[np.ndarray, float]:
    """Conductance (S) of a nominal device along ``pulses`` up pulses then as many down, from g_min; and g_max."""
    m = model_of(name, pulsed=True, programming_noise=0.0, variability=0.0, pulse_step_spread=0.0)
    devices = DeviceArray(m, (1, 1), np.random.default_rng(0))
    devices.program(np.full((1, 1), m.g_min))
    step, trace = m.pulse_step * m.span, []
    for sign in [1] * pulses + [-1] * pulses:
        trace.append(devices.update(devices.conductances + sign * step)[0, 0])
    return np.array(trace), m.g_max


def over_time(name: str, times: np.ndarray, n: int) -> np.ndarray:
    """Mean conductance (S) over time of ``n`` devices programmed at 3/4 of the range, by the preset's law."""
    m = model_of(name, programming_noise=0.0, variability=0.0)
    devices = DeviceArray(m, (n, 1), np.random.default_rng(0))
    devices.program(np.full((n, 1), m.g_min + 0.75 * m.span))
    means = []
    for t in times:
        devices.set_age(t)
        means.append(devices.aged().mean())
    return np.array(means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="directory of the PNGs")
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer devices and time points")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    times = np.logspace(0, np.log10(3.15e8), 12 if args.quick else 60)  # 1 s ... 10 years
    fig_u, ax_u = plt.subplots(figsize=(6, 4))
    fig_d, ax_d = plt.subplots(figsize=(6, 4))
    for name in PRESETS:
        trace, g_max = pulse_train(name, 200 if args.quick else 1200)
        ax_u.plot(trace / g_max, label=name)
        mean = over_time(name, times, 200 if args.quick else 5000)
        ax_d.semilogx(times, mean / mean[0], label=f"{name} ({PRESETS[name]['retention'].value})")
        print(f"{name}: G(10 y)/G(1 s) = {mean[-1] / mean[0]:.3f}, saturates at {trace.max() / g_max:.3f} G_max")
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

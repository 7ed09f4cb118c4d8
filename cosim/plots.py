"""PNG figures of runs: training curves and per-tensor gradient agreement."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402


def training_curves(metrics: dict[str, list[float]], path: Path, title: str = "") -> None:
    """Loss and accuracy per epoch, train and test, side by side."""
    epochs = np.arange(1, len(metrics["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    for split in ("train", "test"):
        ax_loss.plot(epochs, metrics[f"{split}_loss"], "o-", label=split)
        ax_acc.plot(epochs, 100 * np.asarray(metrics[f"{split}_accuracy"]), "o-", label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss per sample")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def gradient_agreement(names: list[str], cosines: list[float], relative_errors: list[float], path: Path,
                       title: str = "") -> None:
    """Per parameter tensor: cosine similarity and relative error of EP against implicit differentiation."""
    y = np.arange(len(names))
    fig, (ax_cos, ax_err) = plt.subplots(1, 2, figsize=(10, 0.35 * len(names) + 1.5), sharey=True)
    ax_cos.barh(y, cosines, color="tab:blue")
    ax_cos.set(xlabel="cosine(EP, ID)", xlim=(min(0.0, min(cosines)), 1.0))
    ax_err.barh(y, relative_errors, color="tab:orange")
    ax_err.set(xlabel="relative error |EP - ID| / |ID|", xscale="log")
    ax_cos.set_yticks(y, names, fontsize=8)
    ax_cos.invert_yaxis()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def energy_breakdown(per_phase: np.ndarray, components: list[str], phases: list[str], path: Path,
                     title: str = "") -> None:
    """Stacked bars: energy per training sample of each phase, split by component (joules)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    bottom = np.zeros(len(phases))
    for component, row in zip(components, per_phase):
        if row.any():
            ax.bar(phases, row, bottom=bottom, label=component)
            bottom += row
    ax.set(ylabel="energy per training sample (J)", title=title)
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def conductance_histograms(before: list[np.ndarray], after: list[np.ndarray], path: Path, title: str = "") -> None:
    """Distribution of every analog crossbar's conductances before and after training (siemens)."""
    fig, axes = plt.subplots(1, len(before), figsize=(4 * len(before), 3.2), squeeze=False)
    for ax, g0, g1, index in zip(axes[0], before, after, range(len(before))):
        bins = np.linspace(min(g0.min(), g1.min()), max(g0.max(), g1.max()), 60)
        ax.hist(g0.ravel(), bins=bins, alpha=0.6, label="before")
        ax.hist(g1.ravel(), bins=bins, alpha=0.6, label="after")
        ax.set(xlabel="conductance (S)", ylabel="devices", title=f"crossbar {index}")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def code_histograms(histograms: dict[str, np.ndarray], path: Path, title: str = "") -> None:
    """ADC output codes seen during the run, one panel per converter bank."""
    fig, axes = plt.subplots(1, len(histograms), figsize=(4 * len(histograms), 3.2), squeeze=False)
    for ax, (name, counts) in zip(axes[0], histograms.items()):
        ax.bar(np.arange(len(counts)), counts, width=1.0)
        ax.set(xlabel="code", ylabel="conversions", title=name, yscale="log")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

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

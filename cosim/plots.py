"""PNG figure of `cosim gradcheck`: per-tensor gradient agreement (a run's pictures are in its report.html,
cosim.report)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402


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

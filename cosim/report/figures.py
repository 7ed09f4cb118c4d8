"""Matplotlib helpers for reports: SI-prefixed values, figures of fixed size with panel grids that wrap,
and figures embedded as base64 PNG (no files, no network).

Every figure here has a fixed size in inches whatever it shows (tiles, banks, crossbars): more panels
wrap into more rows of the same grid, or are summarised, never widen the page.
"""

from __future__ import annotations

import base64
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.ticker import EngFormatter  # noqa: E402

WIDTH_IN, DPI = 9.0, 100  # every report figure is 900 px wide
PREFIXES = ((1e0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a"))


def si(value: float, unit: str, digits: int = 3) -> str:
    """``value`` in ``unit`` with an SI prefix: si(2.3e-8, "J") -> "23 nJ"; units "1" and "" stay bare."""
    if unit in ("", "1") or not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
        return f"{value:.{digits}g}" if isinstance(value, (float, np.floating)) else str(value)
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), *PREFIXES):
        if abs(value) >= factor:
            scaled = value / factor  # 1 <= |scaled| < 1000: no exponent, at least ``digits`` significant digits
            return f"{scaled:.{max(digits - len(str(int(abs(scaled)))), 0)}f} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}"


def si_axis(axis, unit: str) -> None:
    """Tick labels of a matplotlib axis (ax.xaxis / ax.yaxis) with SI prefixes: 10 nJ, 1 µJ."""
    axis.set_major_formatter(EngFormatter(unit=unit, places=0))


def grid(panels: int, columns: int = 4, height: float = 2.4, **kwargs):
    """A figure WIDTH_IN wide with ``panels`` axes in rows of ``columns`` (wrapping), each row ``height``
    inches; unused cells hidden. Returns (figure, flat list of the used axes)."""
    columns = max(1, min(columns, panels))
    rows = math.ceil(panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH_IN, height * rows + 0.4), squeeze=False, **kwargs)
    flat = list(axes.ravel())
    for ax in flat[panels:]:
        ax.set_visible(False)
    return fig, flat[:panels]


def histogram(ax, counts: np.ndarray, edges: np.ndarray, **kwargs) -> None:
    """Pre-binned counts as a step outline (one artist, however many bins)."""
    ax.stairs(counts, edges, **kwargs)


def png(fig) -> str:
    """The figure as a base64 PNG (closing it)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def log_floor(values: np.ndarray) -> float:
    """A lower limit for a log axis: a decade under the smallest positive value (1 when there is none)."""
    positive = np.asarray(values, dtype=float)
    positive = positive[positive > 0]
    return 10 ** math.floor(math.log10(positive.min()) - 1) if positive.size else 1.0

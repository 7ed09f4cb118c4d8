"""Matplotlib helpers for the sweep report: SI-prefixed axes, figures of fixed size with panel grids that
wrap, and figures embedded as base64 PNG (no files, no network). A run's report draws without matplotlib
(:mod:`cosim.report.svg`).

Every figure here has a fixed size in inches whatever it shows (tiles, banks, crossbars): more panels
wrap into more rows of the same grid, or are summarised, never widen the page.
"""

from __future__ import annotations

import base64
import io
import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, NullFormatter

from cosim.report.units import POWERS, prefix_of

WIDTH_IN, DPI = 9.0, 100  # every report figure is 900 px wide
#: fixed figure margins (inches): room for tick labels and a y label on the left, a two-line title above
MARGIN_IN = {"left": 0.75, "right": 0.25, "top": 0.55, "bottom": 0.55, "between_columns": 0.85, "between_rows": 1.0}


class SIFormatter(Formatter):
    """Tick labels with SI prefixes: on a log axis each tick its own (1 µJ, 100 nJ), on a linear one a common
    prefix with the decimals the tick spacing needs (828.0 nJ, 828.2 nJ, 828.4 nJ)."""

    def __init__(self, unit: str, power: int = 1):
        self.unit, self.power, self.factor, self.prefix, self.decimals = unit, power, 1.0, "", None

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        locs = np.asarray([x for x in locs if x != 0 and np.isfinite(x)], dtype=float)
        if self.axis is None or self.axis.get_scale() == "log" or locs.size < 2:
            self.decimals = None
            return
        self.factor, self.prefix = prefix_of(np.abs(locs).max(), self.power)
        step = np.diff(np.sort(locs)).min() / self.factor
        self.decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0

    def __call__(self, value: float, position=None) -> str:
        unit = f"{self.unit}{POWERS[self.power]}"
        if value == 0:
            return "0"
        if self.decimals is None:
            factor, prefix = prefix_of(value, self.power)
            return f"{value / factor:.3g} {prefix}{unit}"
        return f"{value / self.factor:.{self.decimals}f} {self.prefix}{unit}"


def si_axis(axis, unit: str, power: int = 1) -> None:
    """Tick labels of a matplotlib axis (ax.xaxis / ax.yaxis, a colour bar's) with SI prefixes."""
    axis.set_major_formatter(SIFormatter(unit, power))
    axis.set_minor_formatter(NullFormatter())


def grid(panels: int, columns: int = 4, height: float = 2.4, layout: str | None = None):
    """A figure WIDTH_IN wide with ``panels`` axes in rows of ``columns`` (wrapping), each row ``height``
    inches, and fixed margins unless a ``layout`` engine is named. Returns (figure, list of the axes).

    Made without pyplot (no global figure registry to close) and with titles at a fixed height: matplotlib
    otherwise measures every tick label to place each title, a fifth of a panel's drawing time."""
    columns = max(1, min(columns, panels))
    rows = math.ceil(panels / columns)
    total = height * rows + 0.4
    fig = Figure(figsize=(WIDTH_IN, total), dpi=DPI, layout=layout)
    if layout is None:  # fixed margins: tight_layout would draw every figure twice (half the report's time)
        fig.subplots_adjust(left=MARGIN_IN["left"] / WIDTH_IN, right=1 - MARGIN_IN["right"] / WIDTH_IN,
                            bottom=MARGIN_IN["bottom"] / total, top=1 - MARGIN_IN["top"] / total,
                            wspace=MARGIN_IN["between_columns"] / ((WIDTH_IN - 1.0) / columns - MARGIN_IN["between_columns"]),
                            hspace=MARGIN_IN["between_rows"] / (height - MARGIN_IN["between_rows"]))
    with matplotlib.rc_context({"axes.titley": 1.0}):
        return fig, [fig.add_subplot(rows, columns, i + 1) for i in range(panels)]


def png(fig) -> str:
    """The figure as a base64 PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")

"""Plot panels as inline SVG, drawn by the browser: the run report's histograms, curves, bars and heat maps.

A :class:`Panel` collects what it shows (stair histograms, lines, markers, horizontal bars, dashed vertical
lines, an image with a colour bar) and writes one ``<svg>`` with its axes: ticks at 1, 2, 2.5 or 5 x 10^k
(linear) or at the decades (log), the axis labels with their units, a title and a legend. Panels are laid
out by :meth:`cosim.report.html.Page.panels`. Text stays text: crisp at any zoom, searchable, and no
rasterising time (a matplotlib panel took 30-60 ms to draw; one of these takes well under 1 ms).
"""

from __future__ import annotations

import itertools
import math
from html import escape

import numpy as np

from cosim.report import colours

COLOURS = {"blue": "#1f77b4", "orange": "#ff7f0e", "green": "#2ca02c", "red": "#d62728", "grey": "#7f7f7f",
           "purple": "#9467bd", "brown": "#8c564b", "pink": "#e377c2", "olive": "#bcbd22", "cyan": "#17becf"}
CYCLE = list(COLOURS.values())  # line colours in order (matplotlib's tab10)
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_ids = itertools.count()


def nice_ticks(low: float, high: float, most: int = 6, integer: bool = False) -> tuple[np.ndarray, float]:
    """Ticks inside [low, high] at a step of 1, 2, 2.5 or 5 x 10^k (whole numbers only when ``integer``)
    giving at most ``most`` of them; the step."""
    if not high > low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(most - 1, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    steps = [m * magnitude for m in (1, 2, 2.5, 5, 10) if not integer or (m * magnitude) % 1 == 0]
    step = next((s for s in steps if s >= raw * (1 - 1e-9)), max(1.0, 10 * magnitude) if integer else 10 * magnitude)
    start = math.ceil(low / step - 1e-9) * step
    return np.arange(start, high + step * 1e-6, step), step


def tick_text(value: float, step: float) -> str:
    """A linear tick's label with the decimals its step needs, and a real minus sign."""
    exponent = math.floor(math.log10(step) + 1e-9)
    decimals = max(0, -exponent + (1 if abs(step / 10.0**exponent - 2.5) < 1e-6 else 0))  # 2.5, 0.25: one more
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text.replace("-", "−")


def decade_text(exponent: int, mantissa: int = 1) -> str:
    power = "10" + str(exponent).translate(SUPERSCRIPT)
    return power if mantissa == 1 else f"{mantissa}×{power}"


def log_marks(low: float, high: float) -> list[tuple[float, str]]:
    """Ticks of a log axis from ``low`` to ``high``: its decades (every other one beyond 7), and 2 and 5 x
    10^k as well when fewer than two decades fall inside, every digit when that still gives under two, and
    round numbers on a span under a factor of 2."""
    exponents = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for mantissas in ((1,), (1, 2, 5), tuple(range(1, 10))):
        marks = [(m * 10.0**e, e, m) for e in exponents for m in mantissas if low <= m * 10.0**e * (1 + 1e-9) and
                 m * 10.0**e <= high * (1 + 1e-9)]
        if len(marks) >= 2:
            break
    else:  # under a factor of 2: round numbers, as on a linear axis
        ticks, step = nice_ticks(low, high, 4)
        return [(t, tick_text(t, step)) for t in ticks if t > 0]
    every = 2 if len(marks) > 7 and mantissas == (1,) else 1
    return [(value, decade_text(e, m)) for i, (value, e, m) in enumerate(marks) if i % every == 0]


class Panel:
    """One plot of ``width`` x ``height`` px (the viewBox; it scales with its grid cell)."""

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "", ylog: bool = False,
                 width: int = 215, height: int = 185, title_colour: str = "black", left: int = 50):
        self.title, self.xlabel, self.ylabel, self.ylog = title, xlabel, ylabel, ylog
        self.width, self.height, self.title_colour = width, height, title_colour
        self.left, self.right, self.bottom = left, 10, 36
        self.top = 12 + 13 * len(title.splitlines()) if title else 10
        self.items: list[tuple] = []  # (kind, data...)
        self.x_range: list[float] = []
        self.y_range: list[float] = []
        self.y_floor: float | None = None  # log scale: the lowest value shown
        self.y_names: list[str] | None = None
        self.x_integer = False  # whole-number ticks on x (epochs)
        self.image_spec = None
        self.legend: list[tuple[str, str, bool]] = []  # (label, colour, filled)

    # what the panel shows
    def stairs(self, counts, edges, colour: str = COLOURS["blue"], fill: bool = False, label: str = "",
               opacity: float = 1.0) -> None:
        counts, edges = np.asarray(counts, float), np.asarray(edges, float)
        self.items.append(("stairs", counts, edges, colour, fill, opacity))
        self._extend(edges, counts, zero=True)
        if label:
            self.legend.append((label, colour, fill))

    def line(self, x, y, colour: str = COLOURS["blue"], label: str = "", markers: bool = False) -> None:
        x, y = np.asarray(x, float), np.asarray(y, float)
        self.items.append(("line", x, y, colour, markers))
        self._extend(x, y)
        if label:
            self.legend.append((label, colour, markers))

    def vline(self, x: float, colour: str = COLOURS["red"]) -> None:
        self.items.append(("vline", float(x), colour))
        self.x_range += [float(x)]

    def hbars(self, values, names: list[str], colour: str = COLOURS["blue"]) -> None:
        """Horizontal bars, one per name (top to bottom), each labelled with its value."""
        values = np.asarray(values, float)
        self.items.append(("hbars", values, colour))
        self.y_names = list(names)
        self._extend(values, [])
        self.x_range += [0.0]

    def image(self, pixels: np.ndarray, rows: int, columns: int, scale: tuple[float, float], unit: str,
              name: str = "viridis") -> None:
        """An (h, w, 3) uint8 picture of a ``rows`` x ``columns`` array (row 0 at the top), and a colour bar
        from ``scale[0]`` to ``scale[1]`` (in ``unit``) of the colour map ``name``."""
        self.image_spec = (colours.png(pixels), rows, columns, scale, unit, name)
        self.right = 48

    def _extend(self, x, y, zero: bool = False) -> None:
        finite = lambda a: [float(v) for v in np.ravel(a) if np.isfinite(v)]  # noqa: E731
        self.x_range += finite(x)
        y = finite(y)
        if self.ylog:
            y = [v for v in y if v > 0]
        self.y_range += y + ([] if self.ylog or not zero else [0.0])

    # geometry
    def _limits(self) -> tuple[float, float, float, float]:
        x0, x1 = (min(self.x_range), max(self.x_range)) if self.x_range else (0.0, 1.0)
        pad = 0.03 * (x1 - x0 or 1.0)
        x0, x1 = x0 - pad, x1 + pad
        if self.ylog:  # the data with 5 % margins in log space, or from the floor when one is set
            low, high = (math.log10(min(self.y_range)), math.log10(max(self.y_range))) if self.y_range else (0.0, 1.0)
            pad = 0.05 * max(high - low, 0.5)
            return x0, x1, self.y_floor or 10.0 ** (low - pad), 10.0 ** (high + pad)
        y0, y1 = (min(self.y_range), max(self.y_range)) if self.y_range else (0.0, 1.0)
        pad = 0.05 * (y1 - y0 or 1.0)
        return x0, x1, (y0 - pad if y0 < 0 or y0 > 0 else 0.0), y1 + pad

    def svg(self) -> str:
        if self.image_spec is not None:
            return self._svg_image()
        x0, x1, y0, y1 = self._limits()
        self._fit_left(self._y_marks(y0, y1))
        pw, ph = self.width - self.left - self.right, self.height - self.top - self.bottom
        fy = (lambda v: math.log10(v)) if self.ylog else (lambda v: v)

        def X(v):
            return self.left + (v - x0) / (x1 - x0) * pw

        def Y(v):
            if self.ylog:
                v = max(v, y0)
            return self.top + ph - (fy(v) - fy(y0)) / (fy(y1) - fy(y0)) * ph

        out, points = [self._axes_box(pw, ph)], []
        for item in self.items:
            kind = item[0]
            if kind == "stairs":
                _, counts, edges, colour, fill, opacity = item
                base = Y(y0 if self.ylog else 0.0)
                d = [f"M{X(edges[0]):.1f},{base:.1f}"]
                for c, e in zip(counts, edges[1:]):
                    d.append(f"V{Y(c):.1f}H{X(e):.1f}")
                d.append(f"V{base:.1f}")
                points += [(X(e), Y(c)) for c, e in zip(counts, edges[1:])]
                style = (f"fill:{colour};fill-opacity:{opacity};stroke:none" if fill
                         else f"fill:none;stroke:{colour};stroke-width:1")
                out.append(f"<path d='{''.join(d)}' style='{style}'/>")
            elif kind == "line":
                _, x, y, colour, markers = item
                keep = np.isfinite(x) & np.isfinite(y)
                points += [(X(a), Y(b)) for a, b in zip(x[keep], y[keep])]
                path = " ".join(f"{X(a):.1f},{Y(b):.1f}" for a, b in zip(x[keep], y[keep]))
                if markers:
                    out += [f"<circle cx='{X(a):.1f}' cy='{Y(b):.1f}' r='3.5' fill='{colour}'/>"
                            for a, b in zip(x[keep], y[keep])]
                else:
                    out.append(f"<polyline points='{path}' style='fill:none;stroke:{colour};stroke-width:1.5'/>")
            elif kind == "vline":
                _, x, colour = item
                out.append(f"<line x1='{X(x):.1f}' x2='{X(x):.1f}' y1='{self.top}' y2='{self.top + ph}' "
                           f"style='stroke:{colour};stroke-width:1;stroke-dasharray:4,3'/>")
            elif kind == "hbars":
                _, values, colour = item
                slot = ph / len(values)
                for i, v in enumerate(values):
                    y = self.top + slot * (i + 0.15)
                    if not np.isfinite(v):
                        out.append(self._text(X(0.0) + 3, y + 0.35 * slot + 3, "n/a", 9, "start"))
                        continue
                    a, b = sorted((X(0.0), X(v)))
                    out.append(f"<rect x='{a:.1f}' y='{y:.1f}' width='{b - a:.1f}' height='{0.7 * slot:.1f}' "
                               f"fill='{colour}'/>")
                    at = b + 3 if v >= 0 else X(0.0) + 3  # right of the bar, or of zero: clear of the names
                    out.append(self._text(at, y + 0.35 * slot + 3, f"{v:.4f}", 9, "start"))
        out += self._x_ticks(x0, x1, X, ph)
        out += self._y_ticks(y0, y1, Y, pw) if self.y_names is None else self._y_names(ph)
        out += self._labels(pw, ph) + self._legend(pw, points)
        return self._wrap(out)

    def _svg_image(self) -> str:
        data, rows, columns, (low, high), unit, name = self.image_spec
        self._fit_left(self._y_marks(-0.5, rows - 0.5))
        pw, ph = self.width - self.left - self.right, self.height - self.top - self.bottom
        out = [f"<image href='data:image/png;base64,{data}' x='{self.left}' y='{self.top}' width='{pw}' "
               f"height='{ph}' preserveAspectRatio='none' style='image-rendering:pixelated'/>", self._axes_box(pw, ph)]
        out += self._x_ticks(-0.5, columns - 0.5, lambda v: self.left + (v + 0.5) / columns * pw, ph)
        out += self._y_ticks(-0.5, rows - 0.5, lambda v: self.top + (v + 0.5) / rows * ph, pw)
        gradient = f"g{next(_ids)}"
        stops = "".join(f"<stop offset='{k / 16:.4f}' stop-color='{colours.css(1 - k / 16, name)}'/>" for k in range(17))
        bar_x = self.left + pw + 6
        out.append(f"<defs><linearGradient id='{gradient}' x1='0' x2='0' y1='0' y2='1'>{stops}</linearGradient></defs>")
        out.append(f"<rect x='{bar_x}' y='{self.top}' width='9' height='{ph}' fill='url(#{gradient})' "
                   "style='stroke:#444;stroke-width:0.6'/>")
        ticks, step = nice_ticks(low, high, 5)
        for t in ticks:
            y = self.top + ph - (t - low) / ((high - low) or 1.0) * ph
            out.append(f"<line x1='{bar_x + 9}' x2='{bar_x + 12}' y1='{y:.1f}' y2='{y:.1f}' style='stroke:#444'/>")
            out.append(self._text(bar_x + 14, y + 3, tick_text(t, step), 8, "start"))
        out.append(self._text(bar_x + 4.5, self.top - 4, unit, 8))
        out += self._labels(pw, ph)
        return self._wrap(out)

    # pieces
    def _wrap(self, parts: list[str]) -> str:
        return (f"<svg class=plot viewBox='0 0 {self.width} {self.height}' "
                f"font-family='DejaVu Sans, Verdana, sans-serif'>{''.join(parts)}</svg>")

    def _text(self, x: float, y: float, text: str, size: float, anchor: str = "middle", extra: str = "") -> str:
        return (f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}'{extra}>"
                f"{escape(text)}</text>")

    def _axes_box(self, pw: float, ph: float) -> str:
        return (f"<rect x='{self.left}' y='{self.top}' width='{pw}' height='{ph}' "
                "style='fill:none;stroke:#222;stroke-width:0.8'/>")

    def _x_ticks(self, x0, x1, X, ph) -> list[str]:
        ticks, step = nice_ticks(x0, x1, max(4, int((self.width - self.left - self.right) / 60)), self.x_integer)
        base = self.top + ph
        return [f"<line x1='{X(t):.1f}' x2='{X(t):.1f}' y1='{base}' y2='{base + 3}' style='stroke:#222'/>"
                + self._text(X(t), base + 14, tick_text(t, step), 10) for t in ticks]

    def _y_marks(self, y0: float, y1: float) -> list[tuple[float, str]]:
        if self.ylog:
            return log_marks(y0, y1)
        ticks, step = nice_ticks(min(y0, y1), max(y0, y1), 6)
        return [(t, tick_text(t, step)) for t in ticks]

    def _fit_left(self, marks: list[tuple[float, str]]) -> None:
        """Widen the left margin so that the longest y tick label clears the y label."""
        if self.y_names is None and marks:
            self.left = max(self.left, int(26 + 6 * max(len(text) for _, text in marks)))

    def _y_ticks(self, y0, y1, Y, pw) -> list[str]:
        marks = self._y_marks(y0, y1)
        return [f"<line x1='{self.left - 3}' x2='{self.left}' y1='{Y(v):.1f}' y2='{Y(v):.1f}' style='stroke:#222'/>"
                + self._text(self.left - 5, Y(v) + 3.5, text, 10, "end") for v, text in marks]

    def _y_names(self, ph: float) -> list[str]:
        slot = ph / len(self.y_names)
        return [self._text(self.left - 5, self.top + slot * (i + 0.5) + 3, name, 8, "end")
                for i, name in enumerate(self.y_names)]

    def _labels(self, pw: float, ph: float) -> list[str]:
        out = [self._text(self.left + pw / 2, self.height - 5, self.xlabel, 11)] if self.xlabel else []
        if self.ylabel:
            y = self.top + ph / 2
            out.append(self._text(12, y, self.ylabel, 11, extra=f" transform='rotate(-90 12 {y:.1f})'"))
        for i, line in enumerate(self.title.splitlines()):
            out.append(self._text(self.left + pw / 2, 12 + 13 * i, line, 11,
                                  extra=f" fill='{self.title_colour}'"))
        return out

    def _legend(self, pw: float, points: list[tuple[float, float]]) -> list[str]:
        """The legend in the corner of the plot that covers the fewest drawn points (px)."""
        if not self.legend:
            return []
        width, height = 20 + 5.6 * max(len(label) for label, _, _ in self.legend), 5 + 12 * len(self.legend)
        ph = self.height - self.top - self.bottom
        corners = [(self.left + pw - width - 4, self.top + 4), (self.left + 4, self.top + 4),
                   (self.left + pw - width - 4, self.top + ph - height - 4), (self.left + 4, self.top + ph - height - 4)]
        xy = np.asarray(points, float).reshape(-1, 2)
        x, y = min(corners, key=lambda c: int(np.count_nonzero((xy[:, 0] >= c[0]) & (xy[:, 0] <= c[0] + width)
                                                               & (xy[:, 1] >= c[1]) & (xy[:, 1] <= c[1] + height))))
        out = [f"<rect x='{x:.1f}' y='{y:.1f}' width='{width:.1f}' height='{height}' "
               "style='fill:white;fill-opacity:0.85;stroke:#bbb;stroke-width:0.6'/>"]
        for i, (label, colour, filled) in enumerate(self.legend):
            row = y + 10 + 12 * i
            out.append(f"<circle cx='{x + 8:.1f}' cy='{row - 3:.1f}' r='3' fill='{colour}'/>" if filled else
                       f"<line x1='{x + 3:.1f}' x2='{x + 13:.1f}' y1='{row - 3:.1f}' y2='{row - 3:.1f}' "
                       f"style='stroke:{colour};stroke-width:1.5'/>")
            out.append(self._text(x + 16, row, label, 9, "start"))
        return out

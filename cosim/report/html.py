"""A self-contained HTML page: sections of text, tables, heat tables (coloured cells), panels side by side
(inline SVG plots, :mod:`cosim.report.svg`) and embedded PNG figures, styled for the screen and for printing
to PDF (figures never split across pages), with no external resources.

A small script in the page decodes every embedded image again (``<img>`` and SVG ``<image>``) and records
how many there are and how many failed in ``<body data-images-total=N data-images-broken=M>`` — the test
reads it back from the browser's DOM.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from cosim.results import atomic_write

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 960px; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 12.5px; }
td, th { border: 1px solid #ddd; padding: 2px 7px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
table.text td { text-align: left; } table.numbers td { white-space: nowrap; }
figure { margin: 0.6em 0; break-inside: avoid; page-break-inside: avoid; }
figure img { width: 100%; max-width: 900px; height: auto; }
figcaption { font-size: 12px; color: #555; }
.health { background: #fff8e1; border: 1px solid #f0c36d; padding: 0.3em 1em; }
.bad { color: #b00020; font-weight: bold; } .muted { color: #777; }
pre { background: #f7f7f7; padding: 0.5em; font-size: 12px; white-space: pre-wrap; }
.panels { display: grid; gap: 0.6em 1.2em; align-items: start; }
.panels svg.plot { width: 100%; height: auto; display: block; }
.panels h4 { font-size: 12px; font-weight: normal; text-align: center; margin: 0 0 2px; }
table.heat { font-size: 10px; margin: 0 auto; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
table.heat td, table.heat th { border: 1px solid #fff; padding: 3px 4px; text-align: center; white-space: nowrap; }
table.heat th { background: none; font-weight: normal; color: #444; }
table.heat td:first-child, table.heat th:first-child { text-align: right; }
table.heat tr:first-child th { white-space: normal; vertical-align: bottom; }
.scale { position: relative; margin: 0.4em auto 1.6em; width: 60%; height: 12px; border: 1px solid #999;
         print-color-adjust: exact; -webkit-print-color-adjust: exact; }
.scale span { position: absolute; top: 14px; transform: translateX(-50%); font-size: 10px; white-space: nowrap; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
"""
CHECK = """
window.addEventListener('load', function () {
  var sources = [], broken = 0, left;
  for (var i = 0; i < document.images.length; i++) sources.push(document.images[i].src);
  var pictures = document.querySelectorAll('svg image');
  for (var j = 0; j < pictures.length; j++) sources.push(pictures[j].getAttribute('href'));
  left = sources.length;
  function done() {
    document.body.setAttribute('data-images-total', sources.length);
    document.body.setAttribute('data-images-broken', broken);
  }
  if (!left) done();
  sources.forEach(function (source) {
    var image = new Image();
    image.onload = function () { if (image.naturalWidth === 0) broken++; if (--left === 0) done(); };
    image.onerror = function () { broken++; if (--left === 0) done(); };
    image.src = source;
  });
});
"""


class Page:
    """An HTML page built section by section; :meth:`write` saves it atomically."""

    def __init__(self, title: str, subtitle: str = ""):
        self.title = title
        self.parts = [f"<h1>{escape(title)}</h1>"] + ([f"<p class=muted>{escape(subtitle)}</p>"] if subtitle else [])

    def section(self, heading: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{escape(heading)}</h{level}>")

    def text(self, text: str, css: str = "") -> None:
        self.parts.append(f"<p{f' class={css}' if css else ''}>{escape(text)}</p>")

    def pre(self, text: str) -> None:
        self.parts.append(f"<pre>{escape(text)}</pre>")

    def table(self, headings: list[str], rows: list[list], css: str = "", marked: set[int] = frozenset()) -> None:
        """A table of text cells; rows whose index is in ``marked`` are shown in red."""
        head = "".join(f"<th>{escape(str(h))}</th>" for h in headings)
        body = "".join(f"<tr{' class=bad' if i in marked else ''}>" + "".join(f"<td>{escape(str(c))}</td>" for c in row)
                       + "</tr>" for i, row in enumerate(rows))
        self.parts.append(f"<table{f' class={css}' if css else ''}><tr>{head}</tr>{body}</table>")

    def figure(self, png_base64: str, caption: str = "", alt: str = "") -> None:
        self.parts.append(f"<figure><img alt=\"{escape(alt or caption)}\" src=\"data:image/png;base64,{png_base64}\">"
                          + (f"<figcaption>{escape(caption)}</figcaption>" if caption else "") + "</figure>")

    def panels(self, panels: list[str], caption: str = "", columns: int = 2, after: str = "") -> None:
        """Pieces of HTML (e.g. :func:`heat_table`) side by side in rows of ``columns``, then ``after`` (e.g.
        :func:`colour_scale`) and the caption, kept together like a figure."""
        self.parts.append(f"<figure><div class=panels style='grid-template-columns: repeat({columns}, 1fr)'>"
                          + "".join(f"<div>{p}</div>" for p in panels) + f"</div>{after}"
                          + (f"<figcaption>{escape(caption)}</figcaption>" if caption else "") + "</figure>")

    def open_box(self, css: str) -> None:
        self.parts.append(f"<div class={css}>")

    def close_box(self) -> None:
        self.parts.append("</div>")

    def html(self) -> str:
        return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
                f"<meta name=viewport content='width=device-width'><title>{escape(self.title)}</title>"
                f"<style>{STYLE}</style><script>{CHECK}</script></head><body>\n" + "\n".join(self.parts)
                + "\n</body></html>\n")

    def write(self, path: Path) -> Path:
        text = self.html()
        atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return Path(path)


def _breakable(text: str) -> str:
    """Escaped ``text`` that may wrap after its underscores (long identifiers as column headings)."""
    return escape(text).replace("_", "_<wbr>")


def heat_table(title: str, rows: list[str], columns: list[str], cells: list[list[tuple[str, str, str] | None]]) -> str:
    """A table of coloured cells: ``cells[i][j]`` is (text, background, text colour) as CSS colours, or None
    for a blank cell; ``rows`` and ``columns`` name them."""
    head = "<tr><th></th>" + "".join(f"<th>{_breakable(c)}</th>" for c in columns) + "</tr>"
    body = "".join(
        f"<tr><th>{_breakable(name)}</th>" + "".join(
            "<td></td>" if cell is None else f"<td style='background:{cell[1]};color:{cell[2]}'>{escape(cell[0])}</td>"
            for cell in row) + "</tr>"
        for name, row in zip(rows, cells))
    return f"<h4>{escape(title)}</h4><table class=heat>{head}{body}</table>"


def colour_scale(colours: list[str], ticks: list[tuple[float, str]], label: str) -> str:
    """A horizontal colour bar: ``colours`` evenly spaced from left to right, ``ticks`` as (position in
    [0, 1], text) below it, then ``label``."""
    stops = ", ".join(colours)
    marks = "".join(f"<span style='left:{100 * x:.1f}%'>{escape(text)}</span>" for x, text in ticks)
    return (f"<div class=scale style='background: linear-gradient(to right, {stops})'>{marks}</div>"
            f"<p class=muted style='text-align:center;font-size:11px;margin:0'>{escape(label)}</p>")

"""A self-contained HTML page: sections of text, tables and embedded PNG figures, styled for the screen
and for printing to PDF (figures never split across pages), with no external resources.

A small script in the page records, once every image has loaded, how many decoded (naturalWidth > 0)
in ``<body data-images-total=N data-images-broken=M>`` — the test reads it back from the browser's DOM.
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
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
"""
CHECK = """
window.addEventListener('load', function () {
  var images = document.images, broken = 0;
  for (var i = 0; i < images.length; i++) { if (!images[i].complete || images[i].naturalWidth === 0) broken++; }
  document.body.setAttribute('data-images-total', images.length);
  document.body.setAttribute('data-images-broken', broken);
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

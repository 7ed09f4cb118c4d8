"""The report pictures of docs/, from a run's or a sweep's report.html (headless Chromium, see
cosim/report/browser.py):

    python scripts/doc_figures.py run runs/default
        docs/report_run.png (top of the page) and docs/report_run_energy.png (its energy, latency and area)
    python scripts/doc_figures.py sweep runs/sweep_adc_noise_short docs/sweep_adc_noise --page docs/report_sweep.png
        the page's figures as docs/sweep_adc_noise_<section>.png (accuracy, cosine, energy, pareto) and, with
        --page, a picture of the top of the page

The commands that make the run and the sweep are in docs/results.md and docs/sweeps.md.
"""

from __future__ import annotations

import argparse
import base64
import re
import tempfile
from pathlib import Path

from cosim.report.browser import screenshot

DOCS = Path(__file__).resolve().parents[1] / "docs"
SECTIONS = {"Accuracy": "accuracy", "EP against implicit differentiation": "cosine", "Energy": "energy",
            "Pareto front": "pareto"}


def section_page(report: Path, heading: str, out: Path) -> Path:
    """A copy of ``report`` with only its section ``heading`` (up to the next one) in the body."""
    html = report.read_text(encoding="utf-8")
    head, body = html.split("<body>", 1)
    start = body.index(f"<h2>{heading}")
    end = body.find("<h2>", start + 1)
    out.write_text(f"{head}<body>\n{body[start:end if end > 0 else None]}\n</body></html>\n", encoding="utf-8")
    return out


def section_figures(report: Path) -> dict[str, list[bytes]]:
    """The PNG figures of every section of ``report``, by the section's heading."""
    found: dict[str, list[bytes]] = {}
    for part in report.read_text(encoding="utf-8").split("<h2>")[1:]:
        heading = part.split("</h2>", 1)[0]
        found[heading] = [base64.b64decode(b) for b in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", part)]
    return found


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("run", "sweep"))
    parser.add_argument("directory", type=Path, help="the run's or the sweep's directory (holding report.html)")
    parser.add_argument("prefix", nargs="?", type=Path, help="sweep: where its figures go, e.g. docs/sweep_adc_noise")
    parser.add_argument("--page", type=Path, help="sweep: a picture of the top of its page, e.g. docs/report_sweep.png")
    args = parser.parse_args(argv)
    report = args.directory / "report.html"
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        if args.kind == "run":
            screenshot(report, DOCS / "report_run.png", scratch / "profile", height=1600)
            energy = section_page(report, "Energy, latency and area", scratch / "energy.html")
            screenshot(energy, DOCS / "report_run_energy.png", scratch / "profile", height=1900)
            return
        if args.page is not None:
            screenshot(report, args.page, scratch / "profile", height=1600)
        for heading, images in section_figures(report).items():
            name = next((name for start, name in SECTIONS.items() if heading.startswith(start)), None)
            if name is not None and images:
                path = Path(f"{args.prefix}_{name}.png")
                path.write_bytes(images[0])
                print(path)


if __name__ == "__main__":
    main()

"""Reports: one self-contained HTML page per run (DIR/report.html) and per sweep, and console progress.

Modules: html (the page builder), units (numbers as text with SI prefixes), svg (plot panels drawn by the
browser: a run's figures), colours (colour maps, log scale and PNGs without matplotlib), figures (matplotlib
helpers for the sweep page: SI axes, PNG embedding, fixed-size grids), run (a run's page; a sweep's is
cosim.sweep.report), budget (its energy, latency and area per location x component x phase, as heat
tables), tiles (per-tile pictures), browser (headless Chromium: the report test, docs' screenshots),
progress (tqdm on a terminal, plain lines in logs).
Nothing here is imported by this package's ``__init__``; a run and its report never load matplotlib.
"""

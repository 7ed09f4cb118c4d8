"""Reports: one self-contained HTML page per run (DIR/report.html) and per sweep, and console progress.

Modules: html (the page builder), units (numbers as text with SI prefixes), figures (matplotlib helpers:
SI axes, heat maps, PNG embedding, fixed-size grids), run (a run's page; a sweep's is cosim.sweep.report),
budget (its energy, latency and area per location x component x phase), tiles (per-tile pictures),
browser (headless Chromium: the report test, docs' screenshots), progress (tqdm on a terminal, plain lines
in logs).
Nothing here is imported by this package's ``__init__``, so the training loop can use ``progress``
without loading matplotlib.
"""

"""Reports: one self-contained HTML page per run (DIR/report.html) and per sweep, and console progress.

Modules: html (the page builder), figures (matplotlib helpers: SI units, PNG embedding, fixed-size grids),
run (a run's page; a sweep's is cosim.sweep.report), tiles (per-tile pictures), progress (tqdm on a terminal, plain lines in logs).
Nothing here is imported by this package's ``__init__``, so the training loop can use ``progress``
without loading matplotlib.
"""

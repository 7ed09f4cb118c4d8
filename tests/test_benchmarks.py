"""Every benchmark script still runs: ``benchmarks/NAME.py --quick`` exits 0 in a fresh interpreter.

Benchmarks print ratios and write tables; none of their timings is asserted here (machines differ by 5x in
speed). A script that writes files is pointed at a temporary directory so docs/ is never touched. A new
script is picked up by the glob; if it writes anywhere but stdout, give it its arguments in ``EXTRA_ARGS``.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))  # _*.py: shared code
ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1", "NUMBA_THREADING_LAYER": "workqueue", "MPLBACKEND": "Agg"}
#: seconds per quick run (a cold Numba cache and a loaded 2-core machine included)
TIMEOUT_S = 300
#: the longest quick runs (18-52 s each on the 2-core machine at load average 3): -m slow, for a short default suite
SLOW = {"conv.py", "splitting.py", "ir_drop_study.py"}


def extra_args(name: str, tmp: Path) -> list[str]:
    """Arguments that keep a script's outputs out of the repository (and its data small)."""
    return {
        "design_space_figures.py": ["--sweep", str(tmp / "design_space"), "--figure", str(tmp / "pareto.png")],
        "devices_figures.py": ["--out", str(tmp)],
        "ir_drop_figures.py": ["--out", str(tmp)],
        "ir_drop_study.py": ["--out", str(tmp / "ir_drop_study")],
        "relaxation_study.py": ["--figure", str(tmp / "relaxation.png")],
        "splitting.py": ["--out", str(tmp / "splitting"), "--n-train", "600", "--n-test", "300",
                         "--set", "data.dataset=synthetic"],
    }.get(name, [])


def test_every_benchmark_has_a_quick_mode():
    for script in BENCHMARKS:
        assert "--quick" in script.read_text(encoding="utf-8"), f"{script.name} has no --quick smoke mode"


@pytest.mark.parametrize("script", [pytest.param(s, marks=pytest.mark.slow) if s.name in SLOW else s
                                    for s in BENCHMARKS], ids=[s.stem for s in BENCHMARKS])
def test_benchmark_quick_run(script, tmp_path):
    command = [sys.executable, str(script), "--quick", *extra_args(script.name, tmp_path)]
    done = subprocess.run(command, cwd=tmp_path, env={**os.environ, **ENVIRONMENT}, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"{script.name} --quick printed nothing"

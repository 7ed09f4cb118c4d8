"""The examples and the documented API stay runnable.

* Every script in ``examples/`` runs to completion (exit code 0) in a fresh interpreter within a time limit.
* Every fenced ```python block of the docs listed in ``RUNNABLE_DOCS`` is executed, in order and in one
  namespace per document (a block may use what an earlier block of the same page defined), so the docs
  cannot drift from the API. Snippets that are not meant to run use another fence (```text, ```bash,
  ```yaml) or none.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
#: documents whose ```python blocks are executed
RUNNABLE_DOCS = [ROOT / "docs" / "analog.md"]
#: seconds per example script (each should take well under 20 s; the margin covers a cold Numba cache)
TIMEOUT_S = 120

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, code) of every fenced ```python block of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _FENCE.finditer(text)]


def _environment() -> dict:
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # no oversubscription on small machines
    env.setdefault("NUMBA_THREADING_LAYER", "workqueue")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def test_there_are_examples_to_run():
    names = {p.name for p in EXAMPLES}
    assert {"ep_vs_implicit.py", "custom_chain.py"} <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path):
    try:
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=_environment(), capture_output=True,
                                text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script.name} ran longer than {TIMEOUT_S} s")
    assert result.returncode == 0, f"{script.name} exited with {result.returncode}:\n{result.stderr[-4000:]}"
    assert result.stdout.strip(), f"{script.name} printed nothing"


def test_markdown_fences_are_found():
    blocks = python_blocks(RUNNABLE_DOCS[0])
    assert len(blocks) >= 3, "docs/analog.md should carry a runnable API tour"


@pytest.mark.parametrize("doc", RUNNABLE_DOCS, ids=[p.name for p in RUNNABLE_DOCS])
def test_python_blocks_of_the_docs_run(doc: Path, capsys):
    namespace = {"__name__": f"docs.{doc.stem}"}
    for line, code in python_blocks(doc):
        try:
            exec(compile(code, f"{doc.relative_to(ROOT)}:{line}", "exec"), namespace)
        except Exception as err:  # name the block in the failure
            pytest.fail(f"{doc.name}: the python block at line {line} failed: {type(err).__name__}: {err}")

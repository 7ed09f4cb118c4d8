#!/usr/bin/env bash
# Best effort: a side environment (.venv-hwc) with the Accelergy component models (hwcomponents-adc,
# hwcomponents-neurosim), which need Python >= 3.12, so that the tests cross-check cosim's cost tables against
# them (tests/test_costs.py). cosim itself never imports them. Without a Python >= 3.12 or without PyPI the
# step is skipped and those tests skip with the reason.
set -uo pipefail
target=${1:-.venv-hwc}
[ -x "$target/bin/python" ] && exit 0
python=""
for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
        python=$candidate
        break
    fi
done
if [ -z "$python" ]; then
    echo "no Python >= 3.12 found: the hwcomponents cross-checks of the cost tables will be skipped"
    exit 0
fi
if ! { "$python" -m venv "$target.tmp" && "$target.tmp/bin/python" -m pip install -q hwcomponents-adc \
        hwcomponents-neurosim pyyaml; }; then
    rm -rf "$target.tmp"
    echo "installing hwcomponents failed: the cross-checks of the cost tables will be skipped"
    exit 0
fi
mv "$target.tmp" "$target"

"""Regenerate cosim's ADC table from the Accelergy ADC model; cross-check it and the presets' cell areas.

Run with a Python >= 3.12 environment that has the Accelergy component models, e.g.:

    python3.12 -m venv /tmp/hwc-venv
    /tmp/hwc-venv/bin/pip install hwcomponents-adc hwcomponents-neurosim pyyaml
    /tmp/hwc-venv/bin/python scripts/hwcomponents_tables.py            # rewrite cosim/chip/adc_survey.json
    /tmp/hwc-venv/bin/python scripts/hwcomponents_tables.py --check    # compare only; exit 1 on a mismatch

(`make test` builds such an environment in .venv-hwc when it finds a Python >= 3.12, and tests/test_costs.py
runs the check.) The ADC model of hwcomponents-adc is a regression over the Murmann ADC survey (energy per
conversion and area against resolution, sample rate and technology node); the cell areas (F^2) of the device
presets (cosim/config/presets.yaml) cite the NVSim/NVMExplorer cell files that hwcomponents-neurosim ships.
"""

import argparse
import json
import re
import sys
from importlib.metadata import version
from pathlib import Path

import hwcomponents_neurosim
import yaml
from hwcomponents_adc import ADC

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "cosim" / "chip" / "adc_survey.json"
PRESETS = ROOT / "cosim" / "config" / "presets.yaml"
CELLS = Path(hwcomponents_neurosim.__file__).parent / "cells"
RTOL = 1e-6
NODE_M = 32e-9
BITS = [4, 6, 8, 10, 12]
RATES = [1e6, 1e7, 1e8, 1e9]


def survey() -> dict:
    rows = []
    for bits in BITS:
        for rate in RATES:
            adc = ADC(n_bits=bits, tech_node=NODE_M, throughput=rate)
            rows.append({"bits": bits, "rate_Hz": rate, "energy_J": adc.get_energy(), "area_m2": adc.area})
    return {"source": f"hwcomponents-adc {version('hwcomponents-adc')} (regression over the Murmann ADC survey)",
            "node_nm": NODE_M * 1e9, "rows": rows}


def check_adc(fresh: dict) -> list[str]:
    """Mismatches between the stored ADC table and the model, one line each."""
    stored = {(r["bits"], r["rate_Hz"]): r for r in json.loads(TABLE.read_text())["rows"]}
    lines = []
    for row in fresh["rows"]:
        old = stored[(row["bits"], row["rate_Hz"])]
        for key in ("energy_J", "area_m2"):
            if abs(row[key] / old[key] - 1) > RTOL:
                lines.append(f"ADC {row['bits']} bit {row['rate_Hz']:.0e} Hz: {key} {row[key]:.4g} in the model, "
                             f"{old[key]:.4g} in {TABLE.name}")
    return lines


def check_cell_areas() -> list[str]:
    """Mismatches between the presets' cell_area_F2 read from a .cell file and that file, one line each."""
    lines = []
    for preset, (value, status, source) in yaml.safe_load(PRESETS.read_text())["keys"]["cell_area_F2"].items():
        cell = re.search(r"(\w+\.cell)", source)
        if status != "read" or cell is None:
            continue
        text = (CELLS / cell.group(1)).read_text()
        area = float(re.search(r"-CellArea \(F\^2\):\s*([\d.]+)", text).group(1))
        if area != value:
            lines.append(f"preset {preset}: cell_area_F2 {value}, {cell.group(1)} says {area}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored table, write nothing")
    args = parser.parse_args()
    fresh = survey()
    if args.check:
        mismatches = check_adc(fresh) + check_cell_areas()
        print("\n".join(mismatches) if mismatches else "every cross-checked number agrees")
        sys.exit(1 if mismatches else 0)
    TABLE.write_text(json.dumps(fresh, indent=1) + "\n")
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()

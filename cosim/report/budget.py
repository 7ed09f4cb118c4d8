"""The energy, latency and area section of a run's report: per location (``tile<id>``, ``block<index>``,
``chip``: global buffer and I/O) x component x phase, per training sample and per inference, with SI
prefixes and log colour scales on which the analog picojoules stay visible beside the digital microjoules.

Energy and latency come from results.h5 ``energy`` (the ledger, :mod:`cosim.chip.ledger`), area from
``area`` (:mod:`cosim.chip.area`): a tile's ``buffer`` is the ledger's ``tile_buffer``, the chip's global
buffer and I/O sit at location ``chip``; area parts the ledger does not know get their own column.
"""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

from cosim.chip.ledger import CHIP, INFERENCE_PHASES
from cosim.report.colours import LogScale, css
from cosim.report.html import Page, colour_scale, heat_table
from cosim.report.units import si

#: area parts (cosim.chip.area) under the name of the ledger component of the same hardware
AREA_AS = {"buffer": "tile_buffer", "global_buffer_m2": "global_buffer", "io_m2": "io"}
MAX_PANELS = 12  # per-location maps shown (the locations with the most energy); every location is in the table


@dataclass
class Budget:
    """Per training sample: energy (J) and latency (s) per (location, component, phase); area (m^2) per
    (location, component); ``samples``: the training samples the ledger averaged over."""

    locations: list[str]
    components: list[str]
    phases: list[str]
    energy: np.ndarray
    latency: np.ndarray
    area: np.ndarray
    samples: int

    @property
    def inference(self) -> np.ndarray:
        """Energy per inference (J), (locations, components): the phases of a forward pass."""
        return self.energy[:, :, [i for i, p in enumerate(self.phases) if p in INFERENCE_PHASES]].sum(axis=2)


def read_budget(f: h5py.File) -> Budget | None:
    """The budget of an open results.h5 (None without an ``energy`` group)."""
    if "energy" not in f:
        return None
    energy = f["energy"]
    locations, components, phases = ([v.decode() for v in energy[name][()]]
                                     for name in ("locations", "components", "phases"))
    parts = _area_parts(f["area"]) if "area" in f else {}
    more_locations = [l for l in dict.fromkeys(l for l, _ in parts) if l not in locations]
    more_components = [c for c in dict.fromkeys(c for _, c in parts) if c not in components]
    locations, components = locations + more_locations, components + more_components
    pad = ((0, len(more_locations)), (0, len(more_components)), (0, 0))
    joules, seconds = (np.pad(energy[name][()], pad) for name in ("per_location_J", "latency_per_location_s"))
    area = np.zeros(joules.shape[:2])
    for (location, component), m2 in parts.items():
        area[locations.index(location), components.index(component)] = m2
    return Budget(locations, components, phases, joules, seconds, area, int(energy.attrs.get("samples", 0)))


def _area_parts(group: h5py.Group) -> dict[tuple[str, str], float]:
    """Area (m^2) by (location, ledger component) from results.h5 ``area``: its ``tile<id>`` groups and the
    chip's global buffer and I/O."""
    parts = {}
    for name, item in group.items():
        if isinstance(item, h5py.Group) and "total" in item.attrs:
            parts.update({(name, AREA_AS.get(k, k)): float(v) for k, v in item.attrs.items() if k != "total"})
    for name in ("global_buffer_m2", "io_m2"):
        if name in group.attrs:
            parts[CHIP, AREA_AS[name]] = float(group.attrs[name])
    return parts


def section(page: Page, budget: Budget) -> None:
    """Energy, latency and area: totals, a location x component overview, per-location component x phase
    maps of energy and latency, and the full table."""
    b = budget
    page.section("Energy, latency and area")
    inference_phases = [i for i, p in enumerate(b.phases) if p in INFERENCE_PHASES]
    page.text(f"per training sample {si(b.energy.sum(), 'J')} and {si(b.latency.sum(), 's')}; per inference "
              f"{si(b.inference.sum(), 'J')} and {si(b.latency[:, :, inference_phases].sum(), 's')}; chip area "
              f"{si(b.area.sum(), 'm', power=2)} (ledger averaged over {b.samples} training samples; latency: the "
              "sum of every action's time, as if nothing overlapped)")
    page.panels(_overview(b), "per location (tile, or chip: global buffer and I/O) and component: energy per "
                              "training sample and per inference, latency per training sample, area; log colour "
                              "scales, each cell labelled with its value")
    ranked = sorted(range(len(b.locations)), key=lambda i: -b.energy[i].sum())[:MAX_PANELS]
    shown = sorted(ranked)
    note = "" if len(shown) == len(b.locations) else f" (the {len(shown)} locations with the most energy)"
    for values, unit, what in ((b.energy, "J", "energy"), (b.latency, "s", "latency")):
        tables, scale = _per_phase(b, values, unit, shown)
        page.panels(tables, f"{what} per training sample by component and phase at each location{note}; one log "
                            "colour scale", after=scale)
    page.text("Every location and component: energy per training sample in each phase and in all, energy per "
              "inference, latency per training sample and area (blank: nothing)")
    page.table(*_table(b), css="numbers")


def _used(b: Budget) -> tuple[list[int], list[int]]:
    """Indices of the components and phases with anything in them."""
    components = [c for c in range(len(b.components))
                  if b.energy[:, c].any() or b.latency[:, c].any() or b.area[:, c].any()]
    phases = [p for p in range(len(b.phases)) if b.energy[:, :, p].any() or b.latency[:, :, p].any()]
    return components, phases


def _location(name: str) -> str:
    kind = name.rstrip("0123456789")
    return f"{kind} {name[len(kind):]}" if kind != name else name


def _overview(b: Budget) -> list[str]:
    """Heat tables location x component: energy per training sample and per inference, latency, area."""
    components, _ = _used(b)
    names = [b.components[c] for c in components]
    rows = [_location(n) for n in b.locations]
    panels = [(b.energy.sum(axis=2), "J", 1, "energy per training sample"),
              (b.inference, "J", 1, "energy per inference"),
              (b.latency.sum(axis=2), "s", 1, "latency per training sample"),
              (b.area, "m", 2, "area")]
    tables = []
    for values, unit, power, title in panels:
        values = values[:, components]
        tables.append(heat_table(f"{title}: {si(float(values.sum()), unit, 3, power)}", rows, names,
                                 _cells(values, unit, LogScale.of(values), power)))
    return tables


def _per_phase(b: Budget, values: np.ndarray, unit: str, shown: list[int]) -> tuple[list[str], str]:
    """Heat tables component x phase, one per shown location, on one log scale; and that scale."""
    components, phases = _used(b)
    table = values[np.ix_(shown, components, phases)]
    scale = LogScale.of(table)
    tables = [heat_table(f"{_location(b.locations[location])}: {si(float(cells.sum()), unit)}",
                         [b.components[c] for c in components], [b.phases[p] for p in phases],
                         _cells(cells, unit, scale))
              for location, cells in zip(shown, table)]
    return tables, colour_scale(*_scale_bar(scale, unit), "per training sample (log scale)")


def _colour(fraction: float) -> str:
    """The heat tables' colour at ``fraction`` of their scale: magma, reversed (light is little)."""
    return css(fraction, "magma", reverse=True)


def _cells(values: np.ndarray, unit: str, scale: LogScale, power: int = 1) -> list[list[tuple[str, str, str] | None]]:
    """``values`` (rows x columns, in ``unit``) as cells of :func:`cosim.report.html.heat_table`: each positive
    value labelled with its SI prefix on its colour of the log ``scale`` (white text on the dark end); zeros
    blank."""
    fractions = scale(values)
    return [[(si(float(v), unit, 2, power), _colour(x), "white" if x > 0.6 else "black") if v > 0 else None
             for v, x in zip(row, fraction_row)] for row, fraction_row in zip(values, fractions)]


def _scale_bar(scale: LogScale, unit: str) -> tuple[list[str], list[tuple[float, str]]]:
    """Colours along ``scale`` and its ticks (position in [0, 1], SI text): every decade, or its two ends
    when it spans less than two."""
    decades = scale.decades()
    ticks = decades if len(decades) >= 2 else [scale.low, scale.high]
    return [_colour(x) for x in np.linspace(0.0, 1.0, 11)], [(float(scale(v)), si(v, unit, 1)) for v in ticks]


def _table(b: Budget) -> tuple[list[str], list[list[str]]]:
    """Headings and rows: every (location, component) with anything in it, each location's total, then
    every component summed over the locations and the chip's total; zeros left blank."""
    components, phases = _used(b)
    headings = ["location", "component", *(b.phases[p] for p in phases), "per training sample", "per inference",
                "latency", "area"]

    def text(value: float, unit: str, power: int = 1) -> str:
        return si(float(value), unit, power=power) if value else ""

    def row(location: str, component: str, energy: np.ndarray, inference, latency, area) -> list[str]:
        return [location, component, *(text(energy[p], "J") for p in phases), text(energy.sum(), "J"),
                text(inference, "J"), text(latency, "s"), text(area, "m", 2)]

    rows = []
    groups = [(_location(name), b.energy[i], b.inference[i], b.latency[i].sum(axis=1), b.area[i])
              for i, name in enumerate(b.locations)]
    groups.append(("all", b.energy.sum(axis=0), b.inference.sum(axis=0), b.latency.sum(axis=(0, 2)),
                   b.area.sum(axis=0)))
    for name, energy, inference, latency, area in groups:
        rows += [row(name, b.components[c], energy[c], inference[c], latency[c], area[c]) for c in components
                 if energy[c].any() or latency[c] or area[c]]
        rows.append(row(name, "total", energy.sum(axis=0), inference.sum(), latency.sum(), area.sum()))
    return headings, rows

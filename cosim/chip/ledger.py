"""The energy and latency ledger (Accelergy style): actions are counted where they happen and costed by
per-action energies from the chip config; the analog crossbars add their physical energy (dissipated
power x settling time; ``crossbar`` is the devices, ``wires`` the I^2 R of word and bit lines).

Energy (J) and latency (s) are kept per (location, component, phase), summed over the training samples
seen; reports divide by the sample count. A location is where the action happened: a tile (``tile<id>``,
its analog arrays, converters, buffer and digital processor), a block costed on its own (``block<index>``),
or the chip outside its tiles (``chip``: global buffer, I/O). Components book through the view
:meth:`Ledger.at` of their location.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from contextlib import contextmanager

import numpy as np

from cosim.errors import CosimError

#: phases of one training step, in order, then the reference reads of drift compensation (at evaluation)
PHASES = ("free", "plus", "minus", "digital_forward", "digital_backward", "update", "calibration")
#: where energy goes
COMPONENTS = ("dac", "adc", "crossbar", "digital", "tile_buffer", "global_buffer", "io", "programming", "wires")
#: phases of an inference (a forward pass alone)
INFERENCE_PHASES = ("free", "digital_forward")
#: phases of training (all but calibration)
TRAINING_PHASES = PHASES[:-1]
#: the location of what happens outside the tiles (global buffer, I/O)
CHIP = "chip"


class Ledger:
    """Energy and latency per (location, component, phase), accumulated over ``samples`` training samples."""

    def __init__(self):
        self.entries: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])  # [J, s]
        self.samples = 0

    def add(self, component: str, phase: str, joules: float, seconds: float = 0.0, location: str = CHIP) -> None:
        if component not in COMPONENTS or phase not in PHASES:
            raise KeyError(f"unknown ledger entry ({component}, {phase})")
        entry = self.entries[location, component, phase]
        entry[0] += float(joules)
        entry[1] += float(seconds)

    def at(self, location: str) -> "LedgerAt":
        """The view through which the components of ``location`` book (``add`` without a location)."""
        return LedgerAt(self, location)

    @property
    def energy(self) -> dict[tuple[str, str], float]:
        """Energy (J) per (component, phase), summed over the locations."""
        totals: dict[tuple[str, str], float] = defaultdict(float)
        for (_, component, phase), (joules, _) in self.entries.items():
            totals[component, phase] += joules
        return totals

    @property
    def latency(self) -> dict[str, float]:
        """Latency (s) per phase, summed over the locations and components."""
        totals: dict[str, float] = defaultdict(float)
        for (_, _, phase), (_, seconds) in self.entries.items():
            totals[phase] += seconds
        return totals

    def locations(self) -> list[str]:
        """Every location booked so far: tiles by id, then blocks by index, then ``chip``."""
        def order(name: str) -> tuple:
            kind = name.rstrip("0123456789")
            return ({"tile": 0, "block": 1, CHIP: 2}.get(kind, 3), kind, int(name[len(kind):] or 0))
        return sorted({location for location, _, _ in self.entries}, key=order)

    @contextmanager
    def suspended(self):
        """Leave the ledger as it was after the block (for diagnostics that are not part of training)."""
        saved = copy.deepcopy((self.entries, self.samples))
        try:
            yield
        finally:
            self.entries, self.samples = saved

    def state(self) -> dict:
        """JSON-able state, for checkpoints."""
        return {"entries": [[*key, joules, seconds] for key, (joules, seconds) in self.entries.items()],
                "samples": self.samples}

    def load_state(self, state: dict) -> None:
        if "entries" not in state:
            raise CosimError("the checkpoint was written by an older cosim (an energy ledger without locations); "
                             "run without --resume to start over")
        self.reset()
        for location, component, phase, joules, seconds in state["entries"]:
            self.entries[location, component, phase] = [joules, seconds]
        self.samples = state["samples"]

    def reset(self) -> None:
        self.entries.clear()
        self.samples = 0

    def per_location(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(locations, energy J, latency s) per training sample, arrays (locations, components, phases)."""
        locations = self.locations()
        energy = np.zeros((len(locations), len(COMPONENTS), len(PHASES)))
        latency = np.zeros_like(energy)
        for (location, component, phase), (joules, seconds) in self.entries.items():
            at = locations.index(location), COMPONENTS.index(component), PHASES.index(phase)
            energy[at], latency[at] = joules, seconds
        return locations, energy / max(self.samples, 1), latency / max(self.samples, 1)

    def table(self) -> np.ndarray:
        """Energy per training sample, (components, phases) in joules."""
        table = np.zeros((len(COMPONENTS), len(PHASES)))
        for (component, phase), joules in self.energy.items():
            table[COMPONENTS.index(component), PHASES.index(phase)] = joules
        return table / max(self.samples, 1)

    def latency_per_sample(self) -> np.ndarray:
        """Latency of each phase per training sample (seconds), in PHASES order."""
        return np.array([self.latency[p] for p in PHASES]) / max(self.samples, 1)

    def report(self) -> dict:
        """The ledger as results.h5 stores it (group ``energy``)."""
        table = self.table()
        locations, per_location_J, per_location_s = self.per_location()
        inference = [PHASES.index(p) for p in INFERENCE_PHASES]
        training = [PHASES.index(p) for p in TRAINING_PHASES]
        return {
            "components": [c.encode() for c in COMPONENTS],
            "phases": [p.encode() for p in PHASES],
            "per_phase_J": table,
            "per_component_J": {c: float(v) for c, v in zip(COMPONENTS, table.sum(axis=1))},
            "latency_per_phase_s": self.latency_per_sample(),
            "total_per_training_sample_J": float(table[:, training].sum()),
            "total_per_inference_J": float(table[:, inference].sum()),
            "latency_per_training_sample_s": float(self.latency_per_sample()[training].sum()),
            "latency_per_inference_s": float(self.latency_per_sample()[inference].sum()),
            "locations": [location.encode() for location in locations],
            "per_location_J": per_location_J,
            "latency_per_location_s": per_location_s,
            "samples": self.samples,
            "calibration_J": sum(j for (_, p), j in self.energy.items() if p == "calibration"),  # in total
        }

    def format(self) -> str:
        """A human-readable breakdown: components x phases (per training sample)."""
        table = self.table()
        head = f"{'energy per training sample':<27}" + "".join(f"{p:>17}" for p in PHASES) + f"{'total':>12}"
        lines = [head]
        for c, row in zip(COMPONENTS, table):
            lines.append(f"{c:<27}" + "".join(f"{_si(v, 'J'):>17}" for v in row) + f"{_si(row.sum(), 'J'):>12}")
        lines.append(f"{'total':<27}" + "".join(f"{_si(v, 'J'):>17}" for v in table.sum(axis=0))
                     + f"{_si(table.sum(), 'J'):>12}")
        lines.append(f"{'latency':<27}" + "".join(f"{_si(v, 's'):>17}" for v in self.latency_per_sample())
                     + f"{_si(self.latency_per_sample().sum(), 's'):>12}")
        report = self.report()
        lines.append(f"per inference: {_si(report['total_per_inference_J'], 'J')}, "
                     f"{_si(report['latency_per_inference_s'], 's')}")
        return "\n".join(lines)


class LedgerAt:
    """A :class:`Ledger` seen from one location: what a tile (or a block costed on its own) books into."""

    def __init__(self, ledger: Ledger, location: str):
        self.ledger, self.location = ledger, location

    def add(self, component: str, phase: str, joules: float, seconds: float = 0.0) -> None:
        self.ledger.add(component, phase, joules, seconds, self.location)


def _si(value: float, unit: str) -> str:
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.2e} {unit}"

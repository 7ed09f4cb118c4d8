"""The energy and latency ledger (Accelergy style): actions are counted where they happen and costed by
per-action energies from the chip config; the analog crossbars add their physical energy (dissipated
power x settling time; ``crossbar`` is the devices, ``wires`` the I^2 R of word and bit lines).

Energy is kept per (component, phase) in joules and latency per phase in seconds, both summed over the
training samples seen; reports divide by the sample count.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from contextlib import contextmanager

import numpy as np

#: phases of one training step, in order, then the reference reads of drift compensation (at evaluation)
PHASES = ("free", "plus", "minus", "digital_forward", "digital_backward", "update", "calibration")
#: where energy goes
COMPONENTS = ("dac", "adc", "crossbar", "digital", "tile_buffer", "global_buffer", "io", "programming", "wires")
#: phases of an inference (a forward pass alone)
INFERENCE_PHASES = ("free", "digital_forward")
#: phases of training (all but calibration)
TRAINING_PHASES = PHASES[:-1]


class Ledger:
    """Energy per (component, phase) and latency per phase, accumulated over ``samples`` training samples."""

    def __init__(self):
        self.energy: dict[tuple[str, str], float] = defaultdict(float)
        self.latency: dict[str, float] = defaultdict(float)
        self.samples = 0

    def add(self, component: str, phase: str, joules: float, seconds: float = 0.0) -> None:
        if component not in COMPONENTS or phase not in PHASES:
            raise KeyError(f"unknown ledger entry ({component}, {phase})")
        self.energy[component, phase] += float(joules)
        self.latency[phase] += float(seconds)

    @contextmanager
    def suspended(self):
        """Leave the ledger as it was after the block (for diagnostics that are not part of training)."""
        saved = copy.deepcopy((self.energy, self.latency, self.samples))
        try:
            yield
        finally:
            self.energy, self.latency, self.samples = saved

    def state(self) -> dict:
        """JSON-able state, for checkpoints."""
        return {"energy": [[c, p, j] for (c, p), j in self.energy.items()], "latency": dict(self.latency),
                "samples": self.samples}

    def load_state(self, state: dict) -> None:
        self.reset()
        for component, phase, joules in state["energy"]:
            self.energy[component, phase] = joules
        self.latency.update(state["latency"])
        self.samples = state["samples"]

    def reset(self) -> None:
        self.energy.clear()
        self.latency.clear()
        self.samples = 0

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


def _si(value: float, unit: str) -> str:
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.2e} {unit}"

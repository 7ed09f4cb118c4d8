"""Programmable conductance devices (RRAM, PCM, ...) behind a crossbar, with their non-idealities.

A :class:`DeviceArray` holds the true conductances of one crossbar (siemens) and applies:

* range ``[g_min, g_max]`` and, optionally, a finite number of programmable levels;
* programming (write) noise: Gaussian, std ``programming_noise * (g_max - g_min)``, on every write;
* read noise: multiplicative Gaussian, std ``read_noise`` (fraction of g), redrawn at every read (solve);
* device-to-device variability: a static per-device gain ``1 + variability * N(0, 1)`` on what it holds;
* stuck-at faults: exact fractions of devices stuck at ``g_min`` and at ``g_max``;
* pulsed updates: a write changes g by whole pulses of a nominal step ``pulse_step * (g_max - g_min)``;
  each device's real up and down steps differ from the nominal by ``pulse_step_spread`` (device to device)
  and by ``asymmetry`` (up steps ``1 + asymmetry/2`` times, down steps ``1 - asymmetry/2`` times nominal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog.device_kernels import noisy_read, settle
from cosim.errors import ParameterError


@dataclass(frozen=True)
class DeviceModel:
    """Conductance device parameters (see the module docstring); conductances in siemens."""

    g_min: float = 1e-8
    g_max: float = 1e-5
    levels: int | None = None
    programming_noise: float = 0.0
    read_noise: float = 0.0
    variability: float = 0.0
    stuck_at_min: float = 0.0
    stuck_at_max: float = 0.0
    pulsed: bool = False
    pulse_step: float = 0.001
    pulse_step_spread: float = 0.0
    asymmetry: float = 0.0

    def __post_init__(self):
        if not 0 <= self.g_min < self.g_max:
            raise ParameterError(f"device needs 0 <= g_min < g_max, got {self.g_min}, {self.g_max}")
        if self.levels is not None and self.levels < 2:
            raise ParameterError(f"device levels must be >= 2 (or None for continuous), got {self.levels}")
        for name in ("programming_noise", "read_noise", "variability", "pulse_step_spread"):
            if getattr(self, name) < 0:
                raise ParameterError(f"device {name} must be >= 0, got {getattr(self, name)}")
        if not (0 <= self.stuck_at_min and 0 <= self.stuck_at_max and self.stuck_at_min + self.stuck_at_max <= 1):
            raise ParameterError("device stuck-at fractions must be >= 0 and sum to at most 1")
        if not 0 < self.pulse_step <= 1 or not -2 < self.asymmetry < 2:
            raise ParameterError("device pulse_step must be in (0, 1] and asymmetry in (-2, 2)")

    @property
    def span(self) -> float:
        return self.g_max - self.g_min

    @property
    def is_ideal(self) -> bool:
        """True when writes are exact and reads noiseless (the device is then a plain conductance)."""
        return (self.levels is None and not self.programming_noise and not self.read_noise
                and not self.variability and not self.stuck_at_min and not self.stuck_at_max and not self.pulsed)


class DeviceArray:
    """The devices of one crossbar of shape ``shape``: their static defects and true conductances."""

    def __init__(self, model: DeviceModel, shape: tuple[int, int], rng: np.random.Generator):
        self.model, self.shape, self.rng = model, tuple(shape), rng
        size = int(np.prod(shape))
        self.stuck = None  # -1: stuck at g_min, +1: at g_max (only allocated when some devices are stuck)
        n_min, n_max = round(model.stuck_at_min * size), round(model.stuck_at_max * size)
        if n_min or n_max:
            order = rng.permutation(size)
            self.stuck = np.zeros(size, dtype=np.int8)
            self.stuck[order[:n_min]] = -1
            self.stuck[order[n_min:n_min + n_max]] = 1
            self.stuck = self.stuck.reshape(shape)
        self.gain = np.maximum(1.0 + model.variability * rng.standard_normal(shape), 0.0) \
            if model.variability else None
        self.step_up = self.step_down = None
        if model.pulsed:
            step = model.pulse_step * model.span
            spread = np.maximum(1.0 + model.pulse_step_spread * rng.standard_normal(shape), 0.0) \
                if model.pulse_step_spread else 1.0
            self.step_up = step * (1.0 + model.asymmetry / 2) * spread
            self.step_down = step * (1.0 - model.asymmetry / 2) * spread
        self.writes = 0  # device writes (one per device per programming, or one per pulse)
        self.conductances: np.ndarray | None = None

    def program(self, target: np.ndarray) -> np.ndarray:
        """Write ``target`` (S) into every device from scratch; returns and keeps the true conductances."""
        m = self.model
        if m.levels is not None:
            g = np.clip(target, m.g_min, m.g_max)
            target = m.g_min + np.rint((g - m.g_min) / m.span * (m.levels - 1)) / (m.levels - 1) * m.span
        self.writes += target.size
        return self._settle(target, clip_target=True, gain=self.gain)

    def update(self, target: np.ndarray) -> np.ndarray:
        """Move every device towards ``target`` (S): exact rewrite, or whole pulses when pulsed."""
        if self.conductances is None or not self.model.pulsed:
            return self.program(target)
        nominal = self.model.pulse_step * self.model.span
        pulses = np.rint((target - self.conductances) / nominal)
        self.writes += int(np.abs(pulses).sum())
        change = np.where(pulses > 0, pulses * self.step_up, pulses * self.step_down)
        return self._settle(self.conductances + change, np.sqrt(np.abs(pulses)))

    def read(self) -> np.ndarray:
        """The conductances one solve sees: the true ones with fresh read noise."""
        if not self.model.read_noise:
            return self.conductances
        return noisy_read(self.conductances, self.rng, self.model.read_noise, np.empty(self.shape))

    def _settle(self, g: np.ndarray, noise_scale=None, clip_target=False, gain=None) -> np.ndarray:
        """Apply the gain, add programming noise (scaled per device), clip to the range, pin stuck devices, in
        one pass (:func:`~cosim.analog.device_kernels.settle`); keep the result."""
        m = self.model
        rng = self.rng if m.programming_noise else None
        self.conductances = settle(np.ascontiguousarray(g), clip_target, gain, rng, m.programming_noise * m.span,
                                   noise_scale, m.g_min, m.g_max, self.stuck, np.empty(self.shape))
        return self.conductances

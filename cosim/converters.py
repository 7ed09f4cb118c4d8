"""Analog-to-digital and digital-to-analog converters.

A converter maps a real value to one of ``2**bits - 1`` uniformly spaced, sign-symmetric levels
(mid-tread: zero is a level) spanning ``[-full_scale, +full_scale]``; values beyond the range saturate.
Before quantisation it adds an offset and Gaussian noise, both given in LSBs. An ideal converter passes
values through unchanged (it still counts its conversions, for the energy ledger).

The full scale is either fixed (in the quantity's unit: V for voltages, A for currents) or calibrated
from data: on its first batch the converter sets its range to ``margin`` times the largest magnitude it
sees, then keeps it — like a one-time range calibration of a tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError


@dataclass(frozen=True)
class ConverterSpec:
    """ideal: pass-through; bits: resolution; range: "fixed" or "calibrated"; full_scale: the fixed range
    (unit of the converted quantity); margin: calibrated range / largest magnitude seen; noise_lsb and
    offset_lsb: input-referred noise (std) and offset, in LSBs."""

    ideal: bool = True
    bits: int = 8
    range: str = "calibrated"
    full_scale: float = 1.0
    margin: float = 1.0
    noise_lsb: float = 0.0
    offset_lsb: float = 0.0

    def __post_init__(self):
        if not 2 <= self.bits <= 24:
            raise ParameterError(f"converter bits must be in 2..24, got {self.bits}")
        if self.range not in ("fixed", "calibrated"):
            raise ParameterError(f"converter range must be 'fixed' or 'calibrated', got {self.range!r}")
        if not (self.full_scale > 0 and self.margin > 0 and self.noise_lsb >= 0):
            raise ParameterError("converter full_scale and margin must be positive and noise_lsb >= 0")


class Converter:
    """One converter (or a bank of identical ones) with its calibration and its counters."""

    def __init__(self, spec: ConverterSpec, rng: np.random.Generator):
        self.spec = spec
        self.rng = rng
        self.full_scale = spec.full_scale if spec.range == "fixed" else None
        self.conversions = 0
        self.saturated = 0
        self.code_counts = np.zeros(2 ** spec.bits - 1, dtype=np.int64)

    @property
    def levels(self) -> int:
        return 2 ** self.spec.bits - 1

    @property
    def lsb(self) -> float:
        """Quantisation step (unit of the quantity); needs a range (fixed, or calibrated by a first call)."""
        if self.full_scale is None:
            raise RuntimeError("calibrated converter used before its first batch")
        return self.full_scale / (self.levels // 2)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Convert an array; returns the reconstructed values in the input's dtype."""
        values = np.asarray(values)
        self.conversions += values.size
        if self.spec.ideal:
            return values
        if self.full_scale is None:
            largest = float(np.max(np.abs(values))) if values.size else 0.0
            self.full_scale = self.spec.margin * largest if largest > 0 else self.spec.full_scale
        lsb, half = self.lsb, self.levels // 2
        noisy = values / lsb + self.spec.offset_lsb
        if self.spec.noise_lsb:
            noisy = noisy + self.rng.normal(0.0, self.spec.noise_lsb, values.shape)
        codes = np.rint(noisy)
        self.saturated += int(np.count_nonzero(np.abs(codes) > half))
        codes = np.clip(codes, -half, half)
        self.code_counts += np.bincount((codes + half).astype(np.int64).ravel(), minlength=self.levels)
        return (codes * lsb).astype(values.dtype, copy=False)

"""Analog-to-digital and digital-to-analog converters.

A converter maps a real value to one of a set of uniformly spaced levels spanning ``[lo, hi]``; values
beyond the range saturate. Before quantisation it adds an offset and Gaussian noise, both given in LSBs.
An ideal converter passes values through unchanged (it still counts its conversions, for the energy
ledger).

The range is either fixed — ``[-full_scale, +full_scale]`` with ``2**bits - 1`` sign-symmetric levels
(mid-tread: zero is a level), in the quantity's unit (V for voltages, A for currents) — or calibrated
from data: on its first batch the converter sets ``[lo, hi]`` to the smallest and largest values it
sees, widened about their centre by ``margin``, with ``2**bits`` levels — a range (reference and offset)
calibration of the tile — and redoes it every ``recalibrate_every`` batches (0: never), so that the range
follows signals that grow or shrink as the network learns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from cosim.errors import ParameterError


@dataclass(frozen=True)
class ConverterSpec:
    """ideal: pass-through; bits: resolution; range: "fixed" or "calibrated"; full_scale: the fixed range
    (unit of the converted quantity); margin: calibrated range / range of the calibration batch; noise_lsb
    and offset_lsb: input-referred noise (std) and offset, in LSBs; recalibrate_every: batches between
    calibrations (0: only the first). Defaults are the schema's."""

    ideal: bool = True
    bits: int = 8
    range: str = "calibrated"
    full_scale: float = 1.0
    margin: float = 1.0
    noise_lsb: float = 0.0
    offset_lsb: float = 0.0
    recalibrate_every: int = 10

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
        self.lo = self.hi = None
        if spec.range == "fixed":
            self.lo, self.hi = -spec.full_scale, spec.full_scale
        self.levels = 2 ** spec.bits - (1 if spec.range == "fixed" else 0)
        self.conversions = 0
        self.batches = 0
        self.saturated = 0
        self.code_counts = np.zeros(self.levels, dtype=np.int64)

    @property
    def lsb(self) -> float:
        """Quantisation step (unit of the quantity); needs a range (fixed, or calibrated by a first call)."""
        if self.lo is None:
            raise RuntimeError("calibrated converter used before its first batch")
        return (self.hi - self.lo) / (self.levels - 1)

    def calibrate(self, values: np.ndarray) -> None:
        """Set the range from data: [min, max] widened about its centre by the spec's margin."""
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        centre, half = (low + high) / 2, (high - low) / 2 * self.spec.margin
        if half <= 0:  # constant data: any range that holds it
            half = abs(centre) or self.spec.full_scale
        self.lo, self.hi = centre - half, centre + half

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Convert an array; returns the reconstructed values in the input's dtype."""
        values = np.asarray(values)
        self.conversions += values.size
        self.batches += 1
        if self.spec.ideal:
            return values
        every = self.spec.recalibrate_every
        if self.lo is None or (self.spec.range == "calibrated" and every and self.batches % every == 0):
            self.calibrate(values)
        flat = np.ascontiguousarray(values).reshape(-1)
        out = np.empty_like(flat, dtype=values.dtype if values.dtype.kind == "f" else np.float64)
        self.saturated += quantise(flat, self.lo, self.lsb, self.spec.offset_lsb,
                                   self.rng if self.spec.noise_lsb else None, self.spec.noise_lsb, self.code_counts, out)
        return out.reshape(values.shape)

    def state(self) -> tuple[dict, dict]:
        """(JSON-able scalars, arrays) that let a resumed run continue exactly: range and counters."""
        scalars = {"lo": self.lo, "hi": self.hi, "conversions": self.conversions, "batches": self.batches,
                   "saturated": self.saturated}
        return scalars, {"code_counts": self.code_counts.copy()}

    def load_state(self, scalars: dict, arrays: dict) -> None:
        self.lo, self.hi = scalars["lo"], scalars["hi"]
        self.conversions, self.batches, self.saturated = scalars["conversions"], scalars["batches"], scalars["saturated"]
        self.code_counts[...] = arrays["code_counts"]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def quantise(values, lo, lsb, offset_lsb, rng, noise_lsb, code_counts, out):
    """One pass of conversions: code = rint((v - lo) / lsb + offset_lsb + noise_lsb z), z standard Gaussian
    from ``rng`` (None: no noise), saturated to [0, levels - 1] and counted in ``code_counts`` (levels =
    its length); out = lo + code * lsb. Returns how many values saturated. The raw codes go through ``out``
    (exact: at most 24 bits), so that the noiseless first loop vectorises."""
    top = float(code_counts.size - 1)
    for i in range(values.size):
        code = (values[i] - lo) / lsb + offset_lsb
        if rng is not None:
            code += noise_lsb * rng.standard_normal()
        out[i] = np.rint(code)
    saturated = 0
    for i in range(values.size):
        code = float(out[i])
        if code < 0 or code > top:
            saturated += 1
            code = min(max(code, 0.0), top)
        code_counts[int(code)] += 1
        out[i] = lo + code * lsb
    return saturated

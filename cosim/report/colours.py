"""Colour scales of the run report without matplotlib: viridis and magma as CSS colours and RGB arrays, a log
scale, and arrays as PNG images (zlib only).

The colour maps are matplotlib's (viridis, magma), sampled at 17 evenly spaced points and interpolated
linearly between them: within 5 of 255 in every channel of the originals (tested).
"""

from __future__ import annotations

import base64
import math
import struct
import zlib

import numpy as np

#: matplotlib's colour maps at 0, 1/16, ..., 1 (matplotlib.colormaps[name](k / 16), as #rrggbb)
MAPS = {
    "viridis": "440154 48186a 472d7b 424086 3b528b 33638d 2c728e 26828e 21918c 1fa088 28ae80 3fbc73 5ec962 84d44b "
               "addc30 d8e219 fde725",
    "magma": "000004 0a0822 1d1147 36106b 51127c 6a1c81 832681 9c2e7f b73779 d0416f e75263 f56b5c fc8961 fea772 "
             "fec488 fde2a3 fcfdbf",
}
_TABLES = {name: np.array([[int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in anchors.split()], dtype=float)
           for name, anchors in MAPS.items()}


def rgb(fractions, name: str = "viridis", reverse: bool = False) -> np.ndarray:
    """Colours (..., 3) uint8 of ``fractions`` in [0, 1] (clipped; NaN: white) on the colour map ``name``."""
    table = _TABLES[name][::-1] if reverse else _TABLES[name]
    x = np.clip(np.nan_to_num(np.asarray(fractions, dtype=float), nan=0.0), 0.0, 1.0) * (len(table) - 1)
    low = np.minimum(x.astype(int), len(table) - 2)
    out = table[low] + (x - low)[..., None] * (table[low + 1] - table[low])
    out[np.isnan(np.asarray(fractions, dtype=float))] = 255.0
    return np.rint(out).astype(np.uint8)


def css(fraction: float, name: str = "viridis", reverse: bool = False) -> str:
    """One colour of the map as #rrggbb."""
    r, g, b = rgb(fraction, name, reverse)
    return f"#{r:02x}{g:02x}{b:02x}"


class LogScale:
    """A log colour scale from ``low`` to ``high`` (> 0): values map to [0, 1], clipped."""

    def __init__(self, low: float, high: float):
        self.low, self.high = float(low), float(high)

    @classmethod
    def of(cls, *arrays) -> LogScale:
        """Over the positive values of ``arrays``, at most 6 decades below the largest."""
        positive = np.concatenate([np.ravel(a) for a in arrays])
        positive = positive[positive > 0]
        top = float(positive.max()) if positive.size else 1.0
        return cls(max(float(positive.min()) if positive.size else top / 10, top * 1e-6), top)

    def __call__(self, values) -> np.ndarray:
        span = math.log10(self.high / self.low) or 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.clip(np.log10(np.asarray(values, dtype=float) / self.low) / span, 0.0, 1.0)

    def decades(self) -> list[float]:
        """The powers of ten within the scale."""
        return [10.0**k for k in range(math.ceil(math.log10(self.low) - 1e-9), math.floor(math.log10(self.high) + 1e-9) + 1)]


def png(pixels: np.ndarray) -> str:
    """An (h, w, 3) RGB or (h, w, 4) RGBA uint8 array as a base64 PNG."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width, channels = pixels.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), pixels.reshape(height, -1)], axis=1)  # filter 0

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, {3: 2, 4: 6}[channels], 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + chunk(b"IEND", b""))
    return base64.b64encode(data).decode("ascii")

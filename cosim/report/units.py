"""Numbers as text with SI prefixes and units, for tables, captions and the console (no matplotlib here).

    si(2.3e-8, "J")             -> "23.0 nJ"
    si(1.2e-6, "m", power=2)    -> "1.20 mm²"    (the prefix applies to the metre: 1 mm² = 1e-6 m²)
    si_pm(6.8e-6, 2e-8, "J")    -> "6.80 ± 0.02 µJ"
    quantity(1.2, "mm2")        -> "1.20 mm²"    (units as results files spell them)
"""

from __future__ import annotations

import math

import numpy as np

PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1e0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"),
            (1e-15, "f"), (1e-18, "a"))
POWERS = {1: "", 2: "²", 3: "³"}
#: area units as names and attributes spell them -> their size in m^2
AREAS = {"m^2": 1.0, "m2": 1.0, "m²": 1.0, "mm^2": 1e-6, "mm2": 1e-6, "mm²": 1e-6, "um^2": 1e-12, "um2": 1e-12,
         "µm²": 1e-12}


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def prefix_of(value: float, power: int = 1) -> tuple[float, str]:
    """(factor, prefix) for ``value`` in a unit raised to ``power``: the largest factor**power <= |value|, or
    for a squared or cubed unit the next larger one where that leaves 1e4 or more (0.76 mm², not 756274 µm²)."""
    for k, (factor, prefix) in enumerate(PREFIXES):
        if abs(value) >= factor**power:
            if power > 1 and k > 0 and abs(value) >= 1e4 * factor**power:
                factor, prefix = PREFIXES[k - 1]
            return factor**power, prefix
    return PREFIXES[-1][0] ** power, PREFIXES[-1][1]


def _decimals(scaled: float, digits: int) -> int:
    """Decimals that show ``digits`` significant digits of a number 0.001 <= |scaled| < 10000."""
    return max(digits - 1 - math.floor(math.log10(abs(scaled))), 0)


def si(value, unit: str, digits: int = 3, power: int = 1) -> str:
    """``value`` (in ``unit`` to the ``power``) with an SI prefix and at least ``digits`` significant digits;
    units "1" and "" stay bare, non-numbers are returned as text."""
    if not _is_number(value) or not math.isfinite(value) or unit in ("", "1"):
        return f"{value:.{digits}g}" if isinstance(value, (float, np.floating)) else str(value)
    unit = unit + POWERS[power]
    if value == 0:
        return f"0 {unit}"
    factor, prefix = prefix_of(value, power)
    scaled = value / factor
    return f"{scaled:.{_decimals(scaled, digits)}f} {prefix}{unit}"


def si_pm(mean: float, std: float, unit: str, digits: int = 3, power: int = 1) -> str:
    """Mean ± std with one SI prefix, the std to the mean's decimals: "6.80 ± 0.02 µJ"."""
    if not math.isfinite(mean) or mean == 0 or unit in ("", "1"):
        return f"{si(mean, unit, digits, power)} ± {si(std, unit, digits, power)}"
    factor, prefix = prefix_of(mean, power)
    decimals = _decimals(mean / factor, digits)
    return f"{mean / factor:.{decimals}f} ± {std / factor:.{decimals}f} {prefix}{unit}{POWERS[power]}"


def quantity(value, unit: str, digits: int = 3) -> str:
    """:func:`si` of a value in ``unit`` as results files spell it: areas ("m^2", "mm2", ...) with the
    prefix on the metre, anything else as :func:`si` does."""
    if unit in AREAS and _is_number(value):
        return si(value * AREAS[unit], "m", digits, power=2)
    return si(value, unit, digits)

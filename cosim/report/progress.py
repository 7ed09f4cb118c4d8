"""Progress of long loops: a tqdm bar on a terminal, plain periodic lines in logs.

When stderr (where both go) is not a terminal, a bar's redraws would fill a log with hundreds of partial
lines; :class:`Lines` writes one line instead when another 10 % is done or 10 s have passed (never more
than one a second), and a last one at the end, each with the rate and the estimated time left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from tqdm import tqdm

EVERY_S, EVERY_FRACTION, MIN_GAP_S = 10.0, 0.1, 1.0


class Lines:
    """The part of tqdm's interface the loops use (iterate, update, set_postfix, close), as log lines."""

    def __init__(self, iterable: Iterable | None = None, total: int | None = None, desc: str = "",
                 unit: str = "it", initial: int = 0, stream=None):
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n = self.start_n = self.last_n = initial
        self.stream = stream or sys.stderr
        self.start = self.last = time.monotonic()
        self.postfix = ""
        self.closed = False

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        fraction = (self.n - self.last_n) / self.total if self.total else 0.0
        if now - self.last >= MIN_GAP_S and (now - self.last >= EVERY_S or fraction >= EVERY_FRACTION):
            self._line(now)

    def set_postfix(self, values: dict | None = None, **kwargs) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in {**(values or {}), **kwargs}.items())

    def close(self) -> None:
        if not self.closed and self.n > self.last_n:
            self._line(time.monotonic())
        self.closed = True

    def _line(self, now: float) -> None:
        elapsed = now - self.start
        rate = (self.n - self.start_n) / elapsed if elapsed > 0 else 0.0
        done = f"{self.n}/{self.total} ({100 * self.n / self.total:.0f} %)" if self.total else f"{self.n}"
        eta = tqdm.format_interval((self.total - self.n) / rate) if self.total and rate > 0 else "?"
        text = (f"{self.desc}: {done} {self.unit}, {rate:.3g} {self.unit}/s, elapsed "
                f"{tqdm.format_interval(elapsed)}, left {eta}" + (f", {self.postfix}" if self.postfix else ""))
        print(text, file=self.stream, flush=True)
        self.last, self.last_n = now, self.n


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str = "", unit: str = "it",
             initial: int = 0, disable: bool = False):
    """A tqdm bar when stderr is a terminal, :class:`Lines` otherwise; ``disable``: neither (a silent bar)."""
    if disable or sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, disable=disable,
                    dynamic_ncols=True, mininterval=0.5)
    return Lines(iterable, total, desc, unit, initial)

"""The standard normals of one random stream, drawn ahead on the device worker.

A :class:`NormalStream` hands out the normals of a ``numpy.random.Generator`` in exactly the order
``generator.standard_normal`` gives them, so a result never depends on whether they were drawn ahead: while
the :mod:`cosim.worker` runs in the background, the next block of each stream (the size of the last request) is
drawn there by a Numba kernel without the GIL; otherwise blocks are drawn on demand. The worker only touches
the generator; the stream's bookkeeping stays on the calling thread.

Once a stream has handed out a normal, its generator belongs to it: the generator runs ahead of what was
consumed, and :meth:`NormalStream.state` gives the generator state at the consumption point (what a
checkpoint must record); :meth:`NormalStream.restart` drops what was drawn ahead.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future

import numba
import numpy as np

from cosim import worker

#: blocks drawn ahead per stream: a device array takes one block per write and one per read, and prepares a
#: read right after a write, so the read's block must have been started a step before
AHEAD = 2
#: larger blocks (normals) are drawn on demand only: ahead, they would hold 2 x 8 bytes per device
AHEAD_MAX = 1 << 24


@numba.njit(cache=True, nogil=True)
def _fill(generator, out):
    """``out[:] = generator.standard_normal(out.size)``: numpy's numbers in numpy's order, without the GIL."""
    for i in range(out.size):
        out[i] = generator.standard_normal()


class NormalStream:
    """The standard normals of ``generator`` from its state at the first :meth:`peek` on."""

    def __init__(self, generator: np.random.Generator):
        self.generator = generator
        self._head = np.empty(0)  # drawn, in order; from ``_pos`` on not yet consumed
        self._pos = 0
        self._marks: list[tuple[int, dict, int]] = []  # (offset in _head, generator state, normals after it)
        self._ahead: deque[Future] = deque()  # blocks being drawn, in order, after ``_head``
        self._block = 0  # the size of the blocks drawn ahead: the last request
        self._taken = 0  # normals consumed since the last restart
        self._restarts = 0
        self._peeked = 0  # normals the last peek gave, until advance consumes some of them
        self._pid = os.getpid()

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` normals (float64, read-only), consumed."""
        out = self.peek(n)
        self.advance(n)
        return out

    def peek(self, n: int) -> np.ndarray:
        """The next ``n`` normals (float64, read-only), not consumed: :meth:`advance` consumes them."""
        if os.getpid() != self._pid:
            self._settle_after_fork()
        self._block = self._peeked = n
        while len(self._head) - self._pos < n:
            self._append(*(self._ahead.popleft().result() if self._ahead
                           else self._draw(n - (len(self._head) - self._pos))))
        view = self._head[self._pos:self._pos + n]
        view.flags.writeable = False
        return view

    def advance(self, k: int) -> None:
        """Consume the first ``k`` normals of the last :meth:`peek`; while drawing ahead is allowed, keep
        ``AHEAD`` blocks of the last request's size (at most ``AHEAD_MAX`` normals) drawn or being drawn."""
        if not 0 <= k <= self._peeked:
            raise ValueError(f"cannot consume {k} normals: the last peek gave {self._peeked}")
        self._pos, self._peeked, self._taken = self._pos + k, 0, self._taken + k
        while worker.background() and len(self._ahead) < AHEAD and 0 < self._block <= AHEAD_MAX:
            self._ahead.append(worker.submit(self._draw, self._block))

    def position(self) -> tuple[int, int]:
        """Where the stream stands: equal positions give the same next normals (a :meth:`restart` or a
        consumption moves it)."""
        return self._restarts, self._taken

    def state(self) -> dict:
        """The generator state after the normals consumed so far: where ``generator`` would be had every
        normal been drawn on demand (what a checkpoint records)."""
        self._wait()
        if not self._marks:
            return self.generator.bit_generator.state
        offset, start, skip = next(m for m in reversed(self._marks) if m[0] <= self._pos)
        replay = np.random.Generator(type(self.generator.bit_generator)())
        replay.bit_generator.state = start
        _fill(replay, np.empty(skip + self._pos - offset))
        return replay.bit_generator.state

    def restart(self, state: dict | None = None) -> None:
        """Drop what was drawn ahead; the stream goes on from ``state`` (default: the consumption point)."""
        state = self.state() if state is None else state
        self._wait()
        self.generator.bit_generator.state = state
        self._head, self._pos, self._marks = np.empty(0), 0, []
        self._restarts, self._taken = self._restarts + 1, 0

    # ------------------------------------------------------------------ internals
    def _draw(self, n: int) -> tuple[dict, np.ndarray]:
        """The generator state before, and the next ``n`` normals of the generator."""
        state, out = self.generator.bit_generator.state, np.empty(n)
        _fill(self.generator, out)
        return state, out

    def _append(self, state: dict, block: np.ndarray) -> None:
        """Put ``block``, drawn from ``state`` on, behind what is left unconsumed of ``_head``."""
        left = len(self._head) - self._pos
        if left:  # the mark the consumption point lies behind stays, moved to the start of what is left
            offset, start, skip = next(m for m in reversed(self._marks) if m[0] <= self._pos)
            self._marks = [(0, start, skip + self._pos - offset), (left, state, 0)]
            self._head = np.concatenate([self._head[self._pos:], block])
        else:
            self._marks, self._head = [(0, state, 0)], block
        self._pos = 0

    def _wait(self) -> None:
        """Take in every block drawn ahead, so that the generator is idle."""
        while self._ahead:
            self._append(*self._ahead.popleft().result())

    def _settle_after_fork(self) -> None:
        """Blocks drawn ahead in the parent never arrive in a forked child: continuing would skip numbers."""
        self._pid = os.getpid()
        if self._ahead:
            raise RuntimeError("a device noise stream was drawing ahead when the process forked; fork before "
                               "training, or call cosim.worker.set_background(False) first")

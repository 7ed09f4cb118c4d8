"""The device worker: one thread that does the devices' per-step preparation beside the main thread.

Device noise is the chip model's largest per-step cost: one Gaussian per device at every read and every
write (about 0.65 million per step on the default chip), drawing them costs twenty times the arithmetic that
uses them, and the 1/f read-noise amplitude of every device is recomputed after every write. None of it
depends on the step's solves, so while :func:`set_background` allows it, that work runs here, first in
first out, while the main thread solves (:class:`~cosim.analog.devices.normals.NormalStream` draws the next block of each stream;
:class:`~cosim.analog.devices.DeviceArray` prepares its next read's amplitudes). The results never depend on where the work
ran. Whether to allow it is :mod:`cosim.threads`' choice: only with a core to spare (on a busy machine the
main thread would wait for a descheduled worker).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

_background = False
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def set_background(enabled: bool) -> None:
    """Allow (or stop) running work on the worker thread; what it computes is the same either way."""
    global _background
    _background = bool(enabled)


def background() -> bool:
    """Whether work submitted now runs on the worker thread."""
    return _background


def submit(fn, *args) -> Future:
    """``fn(*args)`` on the worker thread while :func:`background` (first in first out), else right here;
    either way a future of its result."""
    if not _background:
        done: Future = Future()
        done.set_result(fn(*args))
        return done
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cosim-devices")
        return _executor.submit(fn, *args)


def _forget_executor() -> None:
    """After a fork, the child has no worker thread: start a new one on demand."""
    global _executor, _lock
    _executor, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor)

"""The device worker: one thread that does the devices' per-step preparation beside the main thread.

Device noise is the chip model's largest per-step cost: one Gaussian per device at every read and every
write (about 0.65 million per step on the default chip), drawing them costs twenty times the arithmetic that
uses them, and the 1/f read-noise amplitude of every device is recomputed after every write. None of it
depends on the step's solves, so while :func:`set_background` allows it, that work runs here while the main
thread solves: :class:`~cosim.analog.devices.DeviceArray` prepares its next read (urgent: the next forward
pass waits for it), :class:`~cosim.analog.devices.normals.NormalStream` draws the next blocks of normals
(later). The results never depend on where the work ran. Whether to allow it is :mod:`cosim.threads`'
choice: only with a core to spare (on a busy machine the main thread would wait for a descheduled worker).
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import threading
from concurrent.futures import Future

_background = False
_jobs: queue.PriorityQueue | None = None  # (priority, order, future, fn, args); served by one thread
_thread: threading.Thread | None = None
_order = itertools.count()
_lock = threading.Lock()
URGENT, LATER = 0, 1  # priorities: what the main thread will wait for next, and drawing ahead


def set_background(enabled: bool) -> None:
    """Allow (or stop) running work on the worker thread; what it computes is the same either way."""
    global _background
    _background = bool(enabled)


def background() -> bool:
    """Whether work submitted now runs on the worker thread."""
    return _background


def submit(fn, *args, urgent: bool = False) -> Future:
    """``fn(*args)`` on the worker thread while :func:`background`, else right here; either way a future of
    its result. The worker takes ``urgent`` work first, and work of one priority first in, first out."""
    future: Future = Future()
    if not _background:
        future.set_result(fn(*args))
        return future
    _queue().put((URGENT if urgent else LATER, next(_order), future, fn, args))
    return future


def _queue() -> queue.PriorityQueue:
    global _jobs, _thread
    with _lock:
        if _jobs is None:
            _jobs = queue.PriorityQueue()
            _thread = threading.Thread(target=_serve, args=(_jobs,), name="cosim-devices", daemon=True)
            _thread.start()
        return _jobs


def _serve(jobs: queue.PriorityQueue) -> None:
    while True:
        _, _, future, fn, args = jobs.get()
        if future is None:  # stop
            return
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to whoever waits for the result
                future.set_exception(exc)


@atexit.register
def _stop() -> None:
    """At exit: let the worker finish the job in hand, then stop (jobs still waiting are dropped)."""
    if _jobs is not None and _thread is not None:
        _jobs.put((-1, next(_order), None, None, None))
        _thread.join(timeout=10)


def _forget_worker() -> None:
    """After a fork, the child has no worker thread: start a new one on demand."""
    global _jobs, _thread, _lock
    _jobs, _thread, _lock = None, None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)

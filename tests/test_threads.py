"""The BLAS thread count a run gets: solver.threads, capped at the cores the process may use and at the idle ones."""

import os
import time

import numpy  # noqa: F401  (loads the BLAS library threadpoolctl limits)

from threadpoolctl import threadpool_info

from cosim.threads import available_cores, blas_threads, solver_threads


def test_threads_are_capped_at_the_available_cores(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # an idle machine
    cores = available_cores()
    assert cores == len(os.sched_getaffinity(0))
    assert blas_threads(1) == 1 and blas_threads(cores + 7) == cores and blas_threads(0) == 1


def test_solver_threads_limits_blas_inside_the_block():
    with solver_threads(1):
        assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {1}


def blas_limit():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_threads_are_capped_at_the_idle_cores(monkeypatch):
    import cosim.threads as threads

    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    for load, idle in [(0.0, 4), (0.75, 3), (1.2, 3), (3.9, 0), (9.0, 0)]:
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert threads.idle_cores() == idle
        assert threads.blas_threads(8) == max(1, idle) and threads.blas_threads(2) == min(2, max(1, idle))
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 2.0, 2.0))
    assert threads.idle_cores(own_busy=2.0) == 4  # this process's own load is not the others'


def test_recheck_follows_the_load_of_other_processes(monkeypatch):
    import cosim.threads as threads

    if len(blas_limit()) != 1:
        return  # no BLAS library to limit
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    load = [0.0]
    monkeypatch.setattr(os, "getloadavg", lambda: (load[0],) * 3)
    with threads.solver_threads(2) as chosen:
        assert chosen.threads == 2 and blas_limit() == {2}
        load[0] = 6.0
        threads.recheck()
        assert chosen.threads == 2  # not due yet
        chosen.recheck_s = 0.0
        time.sleep(0.01)
        threads.recheck()
        assert chosen.threads == 1 and blas_limit() == {1}
    assert threads._active is None

"""The thread count a run gets: solver.threads, capped at the cores the process may use and at the idle ones;
BLAS itself stays at one thread, large products are split by cosim.threads.matmul."""

import os
import time

import numpy as np  # (also loads the BLAS library threadpoolctl limits)
import pytest

from threadpoolctl import threadpool_info

from cosim.threads import available_cores, run_threads, running_others, solver_threads


@pytest.fixture(autouse=True)
def load_average_only(monkeypatch):
    """The tests below set the load average; what runs right now on this machine stays out of them."""
    import cosim.threads as threads

    monkeypatch.setattr(threads, "running_others", lambda: None)


def test_threads_are_capped_at_the_available_cores(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # an idle machine
    cores = available_cores()
    assert cores == len(os.sched_getaffinity(0))
    assert run_threads(1) == 1 and run_threads(cores + 7) == cores and run_threads(0) == 1


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
        assert threads.run_threads(8) == max(1, idle) and threads.run_threads(2) == min(2, max(1, idle))
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 2.0, 2.0))
    assert threads.idle_cores(own_busy=2.0) == 4  # this process's own load is not the others'


def fake_process(monkeypatch, threads, age_s, cpu_s):
    """This process as started ``age_s`` seconds ago, busy for ``cpu_s`` CPU seconds since."""
    monkeypatch.setattr(threads, "process_age_s", lambda: age_s)
    monkeypatch.setattr(os, "times", lambda: os.times_result((cpu_s, 0.0, 0.0, 0.0, age_s)))


def test_own_load_is_the_share_of_the_load_average_this_process_makes(monkeypatch):
    import cosim.threads as threads

    assert 0.0 < threads.process_age_s() < 1e6  # the real one, on Linux
    fake_process(monkeypatch, threads, 600.0, 600.0)  # busy on one core for ten minutes: the full core
    assert abs(threads.own_load() - 1.0) < 1e-4
    fake_process(monkeypatch, threads, 60.0, 60.0)  # one minute: the average has taken 1 - 1/e of it
    assert abs(threads.own_load() - (1.0 - np.exp(-1.0))) < 1e-12
    fake_process(monkeypatch, threads, 0.0, 0.0)  # age unknown
    assert threads.own_load() == 0.0


def test_a_run_on_an_idle_machine_gets_its_threads_though_it_made_the_load(monkeypatch):
    """The load average counts the run itself: at start-up its own busy core is not others' load."""
    import cosim.threads as threads

    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    fake_process(monkeypatch, threads, 45.0, 44.0)  # a benchmark busy since it started, 45 s ago
    for load, chosen in [(0.6, 2), (1.2, 1), (2.6, 1)]:  # idle; the other core half busy; both busy
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert threads.SolverThreads(2).threads == chosen
    fake_process(monkeypatch, threads, 45.0, 0.5)  # an idle process: all the load is others'
    monkeypatch.setattr(os, "getloadavg", lambda: (0.8, 0.8, 0.8))
    assert threads.SolverThreads(2).threads == 1


def test_recheck_follows_the_load_of_other_processes(monkeypatch):
    import cosim.threads as threads

    if len(blas_limit()) != 1:
        return  # no BLAS library to limit
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    load = [0.0]
    monkeypatch.setattr(os, "getloadavg", lambda: (load[0],) * 3)
    with threads.solver_threads(2) as chosen:
        assert chosen.threads == 2 and threads.numba_threads() == 2 and blas_limit() == {1}
        load[0] = 6.0
        threads.recheck()
        assert chosen.threads == 2  # not due yet
        chosen.recheck_s = 0.0
        time.sleep(0.01)
        threads.recheck()
        assert chosen.threads == 1 and threads.numba_threads() == 1 and blas_limit() == {1}
    assert threads._active is None


def test_the_device_worker_runs_only_on_a_core_the_solver_leaves_idle(monkeypatch):
    """Default chip (1 solver thread) on 2 idle cores: the worker runs; when others load the machine it
    stops at the next re-check, and the block leaves the worker as it found it."""
    import cosim.threads as threads
    from cosim import worker

    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    fake_process(monkeypatch, threads, 45.0, 0.5)
    load = [0.0]
    monkeypatch.setattr(os, "getloadavg", lambda: (load[0],) * 3)
    assert not threads.SolverThreads(2).device_worker  # both cores go to the solver
    with threads.solver_threads(1) as chosen:
        assert chosen.device_worker and worker.background()
        load[0], chosen.recheck_s = 3.0, 0.0
        time.sleep(0.01)
        threads.recheck()
        assert not chosen.device_worker and not worker.background()
    assert not worker.background()


@pytest.mark.parametrize("shape", [(3000, 70, 90), (40, 80, 6000), (4, 9, 5), (32, 900, 10)])
def test_split_matmul_equals_the_whole_product(shape):
    """matmul on 2 and 3 threads, split along rows or columns (or not at all, below its size), gives
    numpy's product of the same float64 operands (to rounding; OpenBLAS: bitwise), into ``out`` or a new array."""
    import cosim.threads as threads

    m, k, n = shape
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    whole = a @ b
    for count in (2, 3):
        forced = threads.SolverThreads(count)
        forced.threads = count
        with forced, pytest.MonkeyPatch.context() as patch:
            patch.setattr(threads, "MATMUL_PARALLEL_MIN", 1000)
            np.testing.assert_allclose(threads.matmul(a, b), whole, rtol=1e-13, atol=1e-13)
            out = np.full((m, n), np.nan)
            assert threads.matmul(a, b, out=out) is out
            np.testing.assert_allclose(out, whole, rtol=1e-13, atol=1e-13)
            single = threads.matmul(a.astype(np.float32), b.astype(np.float32))
            assert single.dtype == np.float32
            np.testing.assert_allclose(single, whole, rtol=1e-4, atol=1e-4 * np.abs(whole).max())


def test_jobs_that_ended_in_the_last_minute_do_not_hold_back_a_run(monkeypatch):
    """The 1-minute average lags: when nothing else runs now, the run is not held back by it; when others
    run, the smaller of the two measures still sees them."""
    import cosim.threads as threads

    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    fake_process(monkeypatch, threads, 45.0, 0.5)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 0.9, 0.9))  # a benchmark that just finished
    monkeypatch.setattr(threads, "running_others", lambda: 0.0)
    assert threads.SolverThreads(2).threads == 2 and threads.SolverThreads(1).device_worker
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    monkeypatch.setattr(threads, "running_others", lambda: 2.0)
    assert threads.SolverThreads(2).threads == 1 and not threads.SolverThreads(1).device_worker


def test_running_others_sees_a_busy_process_and_not_this_ones_threads():
    import subprocess
    import sys
    import threading

    if not os.path.exists("/proc/loadavg"):
        pytest.skip("needs Linux /proc")
    real = running_others  # imported before the fixture replaced it
    spinning = threading.Event()

    def spin():
        while not spinning.is_set():
            pass
    own = threading.Thread(target=spin)
    own.start()
    try:
        quiet = real(samples=20)
    finally:
        spinning.set()
        own.join()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        loaded = real(samples=20)
    finally:
        busy.kill()
        busy.wait()
    assert loaded >= quiet + 0.5  # the other process counts; this process's spinning thread did not

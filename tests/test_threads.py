"""The BLAS thread count a run gets: solver.threads, capped at the cores the process may use."""

import os

import numpy  # noqa: F401  (loads the BLAS library threadpoolctl limits)

from threadpoolctl import threadpool_info

from cosim.threads import available_cores, blas_threads, solver_threads


def test_threads_are_capped_at_the_available_cores():
    cores = available_cores()
    assert cores == len(os.sched_getaffinity(0))
    assert blas_threads(1) == 1 and blas_threads(cores + 7) == cores and blas_threads(0) == 1


def test_solver_threads_limits_blas_inside_the_block():
    with solver_threads(1):
        assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {1}

"""Installing new crossbar conductances in one pass (a Numba kernel).

Every weight update replaces every conductance of a network, then needs each node's self-conductance
(row and column sums) and a validity check. Done with numpy that is five passes and two temporaries
over arrays that can hold tens of millions of devices; this kernel does it in one, branch-free so that
it vectorises (a 1568 x 32768 float32 crossbar: 21 ms on one core, a bare numpy scaled copy 15 ms; the
earlier form, one loop with a running minimum, did not vectorise: 51 ms). Rows go in blocks of ``ROWS_PER_BLOCK``, each with its own partial column sums, added in
block order afterwards: the blocks may run on several threads (``parallel_scaled_copy_with_sums``) and
the sums do not depend on how many (:func:`cosim.threads.parallel` chooses; the parallel build is compiled
on first use, not cached: Numba's cache does not tell two builds of one function apart).
"""

import numba
import numpy as np
from numba import prange

from cosim.threads import parallel

ROWS_PER_BLOCK = 64
FLAGS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract", "arcp", "nsz"})
PARALLEL = {**FLAGS, "cache": False, "parallel": True}  # not cached: see the module docstring


def _scaled_copy_with_sums(source, scale, out, row_sums, column_sums):
    """out = scale * source, with its row and column sums accumulated (float64) into the given zeroed
    vectors; returns how many values written are negative. A NaN or infinity shows in the sums.

    Each row is written, then summed from what the crossbar holds (after rounding to its dtype) while it is
    still in cache; the two inner loops vectorise (a negative count, not a running minimum, for that)."""
    rows, columns = source.shape
    blocks = (rows + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK
    partial = np.zeros((blocks, columns))
    negative = np.zeros(blocks, np.int64)
    for b in prange(blocks):
        sums, count = partial[b], 0
        for i in range(b * ROWS_PER_BLOCK, min(rows, (b + 1) * ROWS_PER_BLOCK)):
            written, read = out[i], source[i]
            for j in range(columns):
                written[j] = read[j] * scale
            total = 0.0
            for j in range(columns):
                stored = written[j]
                total += stored
                sums[j] += stored
                count += stored < 0
            row_sums[i] = total
        negative[b] = count
    for b in range(blocks):
        for j in range(columns):
            column_sums[j] += partial[b, j]
    return negative.sum()


serial_scaled_copy_with_sums = numba.njit(**FLAGS)(_scaled_copy_with_sums)
parallel_scaled_copy_with_sums = numba.njit(**PARALLEL)(_scaled_copy_with_sums)


def scaled_copy_with_sums(source, scale, out, row_sums, column_sums) -> int:
    """The kernel above on the threads :func:`cosim.threads.parallel` allows for ``out``."""
    kernel = parallel_scaled_copy_with_sums if parallel(out) else serial_scaled_copy_with_sums
    return kernel(source, scale, out, row_sums, column_sums)

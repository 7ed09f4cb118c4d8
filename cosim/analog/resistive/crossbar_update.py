"""Installing new crossbar conductances in one pass (a Numba kernel).

Every weight update replaces every conductance of a network, then needs each node's self-conductance
(row and column sums) and a validity check. Done with numpy that is five passes and two temporaries
over arrays that can hold tens of millions of devices; this kernel does it in one, branch-free so that
it vectorises.
"""

import numba


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract", "arcp", "nsz"})
def scaled_copy_with_sums(source, scale, out, row_sums, column_sums):
    """out = scale * source, with its row and column sums accumulated (float64) into the given zeroed
    vectors; returns the smallest value written. A NaN or infinity shows in the sums."""
    lowest = 0.0
    rows, columns = source.shape
    for i in range(rows):
        total = 0.0
        for j in range(columns):
            out[i, j] = source[i, j] * scale
            stored = out[i, j]  # sum what the crossbar holds, after rounding to its dtype
            total += stored
            column_sums[j] += stored
            lowest = min(lowest, stored)
        row_sums[i] = total
    return lowest

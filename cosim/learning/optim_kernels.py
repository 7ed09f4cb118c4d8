"""Numba kernels of the optimisers: one pass over a parameter array per step.

Each kernel scales the gradient, applies weight decay, updates the state buffers and the parameter, and
clips it into its bounds, element by element; numpy would make about ten passes (and temporaries) for
the same step, which dominates a training step once crossbars hold millions of conductances.
Arrays are flat views of contiguous arrays; scalars come in the parameters' dtype, so the arithmetic runs in
it, as PyTorch's optimisers do: on float32 parameters 2.7x faster than in float64, whose square root and
division bound the Adam kernel (0.13 ms -> 0.05 ms per 131 072 parameters here); float64 parameters keep
float64 arithmetic. Every element is independent, so each kernel also comes compiled for several threads
(``parallel_*``, Numba ``prange``): the same numbers, for arrays of millions of conductances on idle cores
(:func:`cosim.threads.parallel`). The parallel builds are
compiled on first use and not cached: Numba's cache does not tell two builds of one function apart.
"""

import numba
import numpy as np
from numba import prange

FLAGS = dict(cache=True, nogil=True, error_model="numpy", fastmath={'reassoc', 'contract', 'arcp', 'nsz'})
PARALLEL = {**FLAGS, "cache": False, "parallel": True}  # not cached: see the module docstring


def sgd_step(p, g, momentum_buf, lr, scale, momentum, nesterov, weight_decay, lo, hi):
    """p <- p - lr (g' + mu m) [nesterov] or p - lr m, with m <- mu m + g', g' = scale g + wd p; then clip."""
    use_momentum = momentum_buf.size > 0
    for i in prange(p.size):
        grad = scale * g[i] + weight_decay * p[i]
        if use_momentum:
            m = momentum * momentum_buf[i] + grad
            momentum_buf[i] = m
            grad = grad + momentum * m if nesterov else m
        x = p[i] - lr * grad
        p[i] = min(max(x, lo), hi)


def adam_step(p, g, exp_avg, exp_avg_sq, step_size, scale, beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
              bias2, shrink, weight_decay, decoupled, lo, hi):
    """Adam with decoupled decay (``p <- p shrink``, shrink = 1 - lr wd) or L2 decay (``g' = g + wd p``); the
    step size is lr / (1 - beta1^t), ``bias2`` = 1 / (1 - beta2^t) (the bias corrections)."""
    for i in prange(p.size):
        grad = scale * g[i]
        x = p[i]
        if decoupled:
            x = x * shrink
        else:
            grad = grad + weight_decay * x
        m = beta1 * exp_avg[i] + one_minus_beta1 * grad
        v = beta2 * exp_avg_sq[i] + one_minus_beta2 * grad * grad
        exp_avg[i] = m
        exp_avg_sq[i] = v
        x = x - step_size * m / (np.sqrt(v * bias2) + eps)
        p[i] = min(max(x, lo), hi)


parallel_sgd_step = numba.njit(**PARALLEL)(sgd_step)
parallel_adam_step = numba.njit(**PARALLEL)(adam_step)
sgd_step = numba.njit(**FLAGS)(sgd_step)
adam_step = numba.njit(**FLAGS)(adam_step)

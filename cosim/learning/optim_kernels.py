"""Numba kernels of the optimisers: one pass over a parameter array per step.

Each kernel scales the gradient, applies weight decay, updates the state buffers and the parameter, and
clips it into its bounds, element by element; numpy would make about ten passes (and temporaries) for
the same step, which dominates a training step once crossbars hold millions of conductances.
Arrays are flat views of contiguous arrays; scalars are float64. Every element is independent, so each
kernel also comes compiled for several threads (``parallel_*``, Numba ``prange``): the same numbers, for
arrays of millions of conductances on idle cores (:func:`cosim.threads.parallel`). The parallel builds are
compiled on first use and not cached: Numba's cache does not tell two builds of one function apart.
"""

import math

import numba
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


def adam_step(p, g, exp_avg, exp_avg_sq, lr, scale, beta1, beta2, eps, bias1, bias2, weight_decay, decoupled,
              lo, hi):
    """Adam (bias corrections bias1 = 1/(1 - beta1^t), bias2 = 1/(1 - beta2^t)) with decoupled or L2 decay."""
    for i in prange(p.size):
        grad = scale * g[i]
        x = p[i]
        if decoupled:
            x = x * (1.0 - lr * weight_decay)
        else:
            grad = grad + weight_decay * x
        m = beta1 * exp_avg[i] + (1.0 - beta1) * grad
        v = beta2 * exp_avg_sq[i] + (1.0 - beta2) * grad * grad
        exp_avg[i] = m
        exp_avg_sq[i] = v
        x = x - lr * bias1 * m / (math.sqrt(v * bias2) + eps)
        p[i] = min(max(x, lo), hi)


parallel_sgd_step = numba.njit(**PARALLEL)(sgd_step)
parallel_adam_step = numba.njit(**PARALLEL)(adam_step)
sgd_step = numba.njit(**FLAGS)(sgd_step)
adam_step = numba.njit(**FLAGS)(adam_step)

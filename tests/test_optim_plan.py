"""The optimiser works out its per-parameter plan once; steps after a state restore still use the live
buffers, exactly as a fresh optimiser restored from the same state does."""

import numpy as np

from cosim.learning.optim import Adam


def test_steps_after_a_restore_match_a_fresh_optimiser():
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(6, 4)), rng.uniform(0.1, 1.0, size=(5,))]
    groups = [{"params": [params[0]]}, {"params": [params[1]], "bounds": (0.1, 1.0)}]
    grads = [[rng.normal(size=(6, 4))], [rng.normal(size=(5,))]]
    first = Adam(groups, lr=0.01)
    first.step(grads)  # the plan is made here
    saved, kept = first.state_dict(), [p.copy() for p in params]
    first.step(grads)
    first.load_state_dict(saved)
    for p, k in zip(params, kept):
        p[...] = k
    first.step(grads)
    after_restore = [p.copy() for p in params]

    fresh_params = [k.copy() for k in kept]
    fresh = Adam([{"params": [fresh_params[0]]}, {"params": [fresh_params[1]], "bounds": (0.1, 1.0)}], lr=0.01)
    fresh.load_state_dict(saved)
    fresh.step(grads)
    for a, b in zip(after_restore, fresh_params):
        np.testing.assert_array_equal(a, b)

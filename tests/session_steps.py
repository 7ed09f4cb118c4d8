"""A few training steps of a prepared session (:func:`cosim.runner.prepare`), for the chip and device tests."""


def steps(session, n=3):
    """n optimiser steps on the first n batches of 16; returns every parameter afterwards."""
    x, y = session.dataset.train_x, session.dataset.train_y
    for i in range(n):
        xb, yb = x[16 * i:16 * (i + 1)], y[16 * i:16 * (i + 1)]
        session.chain.backward(session.chain.forward(xb, training=True), yb)
        session.optimizer.step([[g / len(yb) for g in group] for group in session.chain.gradients()])
        session.chain.after_update()
        session.trainer.on_batch(len(yb))
    return [p.copy() for b in session.chain.blocks for p in b.parameters]

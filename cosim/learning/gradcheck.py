"""Static gradient analysis: EP-chained gradients against implicit differentiation, per parameter tensor.

On one batch the chain relaxes once; its backward pass then runs twice from the same free equilibria —
once with every analog block on implicit differentiation (exact), once on EP — and every parameter
tensor, analog and digital, is compared by cosine similarity and relative error.

One rule flags a row whose score is not meaningful, the same in the table, gradcheck.h5 and the plot
(:func:`flags`): its exact gradient is structurally zero (e.g. a bias followed by batch-norm), or it was
computed from an equilibrium whose solve did not converge.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cosim.learning.blocks import NudgeSettings
from cosim.learning.chain import Chain


@dataclass(frozen=True)
class TensorAgreement:
    """EP vs ID for one parameter tensor."""

    name: str
    cosine: float
    relative_error: float
    norm_ep: float
    norm_id: float
    unconverged: bool = False  # some solve behind this tensor's gradients missed its tolerance


def chained_gradients(chain: Chain, x: np.ndarray, y: np.ndarray, algorithm: str, beta: float,
                      estimator: str, copy: bool = True) -> list[np.ndarray]:
    """Parameter gradients of the last forward pass's loss with every energy block on ``algorithm``
    (copies, in the parameters' dtype; ``copy=False`` returns the blocks' own buffers)."""
    for block in chain.energy_blocks:
        block.nudge = NudgeSettings(algorithm, estimator, beta)
    chain.backward(chain.last_output, y)
    return [np.array(g) if copy else g for group in chain.gradients() for g in group]


def compare(chain: Chain, x: np.ndarray, y: np.ndarray, beta: float, estimator: str = "centred",
            training: bool = True) -> list[TensorAgreement]:
    """Per-tensor agreement of EP (strength ``beta``) with ID on the batch (x, y)."""
    saved = [block.nudge for block in chain.energy_blocks]
    for block in chain.energy_blocks:
        block.reset_counters()
    chain.forward(x, training=training)
    try:
        exact = chained_gradients(chain, x, y, "id", beta, estimator)
        ep = chained_gradients(chain, x, y, "ep", beta, estimator, copy=False)
    finally:
        for block, nudge in zip(chain.energy_blocks, saved):
            block.nudge = nudge
    # the error flows backwards: an unconverged block taints its own gradients and those of every block before it
    tainted, taint = [], False
    for block in reversed(chain.blocks):
        taint = taint or bool(getattr(block, "unconverged", 0))
        tainted += [taint] * len(block.parameter_names)
    rows = [agreement(name, g_ep, g_id) for name, g_ep, g_id in zip(chain.parameter_names(), ep, exact)]
    return [replace(row, unconverged=bad) for row, bad in zip(rows, reversed(tainted))]


def agreement(name: str, g_ep: np.ndarray, g_id: np.ndarray, chunk: int = 1 << 20) -> TensorAgreement:
    """Cosine and relative error of two gradients, accumulated in float64 chunk by chunk (no
    crossbar-sized temporaries)."""
    a, b = g_ep.reshape(-1), g_id.reshape(-1)
    dot = norm_a = norm_b = distance = 0.0
    for start in range(0, a.size, chunk):
        ca, cb = a[start:start + chunk].astype(np.float64), b[start:start + chunk].astype(np.float64)
        dot += float(ca @ cb)
        norm_a += float(ca @ ca)
        norm_b += float(cb @ cb)
        distance += float((ca - cb) @ (ca - cb))
    n_ep, n_id = np.sqrt(norm_a), np.sqrt(norm_b)
    cosine = dot / (n_ep * n_id) if n_ep and n_id else float(n_ep == n_id)
    error = np.sqrt(distance) / n_id if n_id else n_ep
    return TensorAgreement(name, float(cosine), float(error), float(n_ep), float(n_id))


#: a tensor whose exact gradient norm is below this fraction of the largest one has a structurally zero
#: gradient (e.g. a bias followed by batch-norm): its cosine compares rounding and solver-tolerance noise
NEGLIGIBLE = 1e-6
ZERO, UNCONVERGED = "exact gradient ~0: cosine not meaningful", "from an unconverged solve"


def flags(rows: list[TensorAgreement]) -> list[str]:
    """Per row, why its cosine is not to be trusted ("" when it is): the one rule of table, h5 and plot."""
    largest = max((r.norm_id for r in rows), default=0.0)
    return ["; ".join(note for note, bad in ((ZERO, r.norm_id <= NEGLIGIBLE * largest), (UNCONVERGED, r.unconverged))
                      if bad) for r in rows]


def format_table(rows: list[TensorAgreement]) -> str:
    width = max(len(r.name) for r in rows)
    lines = [f"{'parameter tensor':<{width}}  {'cosine':>10}  {'rel. error':>10}  {'|EP|':>10}  {'|ID|':>10}"]
    for r, flag in zip(rows, flags(rows)):
        lines.append(f"{r.name:<{width}}  {r.cosine:10.6f}  {r.relative_error:10.2e}  {r.norm_ep:10.3e}  "
                     f"{r.norm_id:10.3e}{f'  ({flag})' if flag else ''}")
    return "\n".join(lines)

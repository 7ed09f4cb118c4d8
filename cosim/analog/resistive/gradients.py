"""Gradients of a loss with respect to a resistive network's parameters and inputs.

Two ways, with one result type:

* **Equilibrium propagation** — read from two nudged equilibria a, b (nudge strengths beta_a != beta_b)::

      dL/dW[l]_ij ~ c_l * sum_b [ (A v_i - v_j)_a^2 - (A v_i - v_j)_b^2 ] / (2 (beta_a - beta_b))
      dL/db_m     ~ -s_m * sum_b (v_a - v_b) / (beta_a - beta_b)
      dL/dx       ~  s_0 * (I_a - I_b) / (beta_a - beta_b)          (I: currents the input sources deliver)

  The conductance rule needs only local voltage drops (the 1/2 dV^2 rule). It is evaluated as
  (dV_a - dV_b)(dV_a + dV_b) with two GEMMs and row/column sums, never a batch x N x M tensor.
  Which two equilibria an estimator compares: :mod:`cosim.analog.core.estimators`.

* **Implicit differentiation** — exact, from the free equilibrium v and the adjoint lambda
  (H lambda = dL/dv)::

      dL/dW[l]_ij = -c_l * sum_b (A v_i - v_j)(A lambda_i - lambda_j)
      dL/db_m     =  s_m * sum_b lambda_m
      dL/dx       =  c_0 A_0 * lambda_1 W[0]^T

Parameter gradients are of the loss summed over the batch; input gradients are per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog.core import EnergyGradients, Equilibrium
from cosim.analog.resistive.network import ResistiveNetwork
from cosim.analog.resistive.observables import source_currents
from cosim.errors import ParameterError
from cosim.threads import matmul


@dataclass
class Reading:
    """What is measured of one of the two equilibria an EP estimate compares: every node voltage (V) and
    the input-source currents (A). Only the difference between the two readings' currents is used, so
    they may share any common offset (a differential current readout measures just the difference).
    """

    layers: list[np.ndarray]
    source_currents: np.ndarray | None  # None: not read (no input gradient wanted)
    beta: float


def source_current_pair(network: ResistiveNetwork, a: Equilibrium, b: Equilibrium) -> tuple[np.ndarray, np.ndarray]:
    """Input-source currents of two equilibria, up to a common offset (A).

    When both solves saw the same crossbars only the layer-1 voltages differ, and the difference takes
    one GEMM: I_a - I_b = -kappa_0 (v1_a - v1_b) W[0]^T, taken as (W[0] (v1_a - v1_b)^T)^T (BLAS is about 1.5x
    faster with the crossbar untransposed; same result); otherwise each phase's currents are computed.
    """
    if a.conductances is not None and a.conductances is b.conductances:
        amp = network.amplifiers[0]
        difference = -amp.backward_gain * matmul(a.conductances[0], (a.layers[1] - b.layers[1]).T).T
        return difference, np.zeros_like(difference)
    return source_currents(network, a.layers, a.conductances), source_currents(network, b.layers, b.conductances)


def exact_readings(network: ResistiveNetwork, a: Equilibrium, b: Equilibrium,
                   currents: bool = True) -> tuple[Reading, Reading]:
    """The readings of ideal instruments: the solved voltages and (if ``currents``) the source currents."""
    currents_a, currents_b = source_current_pair(network, a, b) if currents else (None, None)
    return Reading(a.layers, currents_a, a.beta), Reading(b.layers, currents_b, b.beta)


class BlockGradients(EnergyGradients):
    """dL/dW[l] (per siemens), dL/db_m (per ampere), and dL/dx per sample (per volt)."""

    @property
    def conductances(self) -> list[np.ndarray]:
        """dL/dW[l]: the couplings are the crossbar conductances."""
        return self.couplings


def crossbar_bilinear(a: float, d_lo, s_lo, d_hi, s_hi, factor: float = 1.0, out=None) -> np.ndarray:
    """factor * sum_b (a d_lo[b,i] - d_hi[b,j]) (a s_lo[b,i] - s_hi[b,j]) for every (i, j), as ONE GEMM.

    Expanded, the sum is -a s_lo^T d_hi - a d_lo^T s_hi + a^2 rows_i + cols_j; the row and column terms
    ride in the same product as extra columns of ones, so the crossbar-sized result is written once, into
    ``out`` when given (reused across steps: no fresh pages, no extra passes). ``d_lo=None`` stands for
    zeros (the input layer, whose voltages do not change between phases). The left factor is stacked from
    the (batch, n_lo) voltages and handed to BLAS transposed: no transposing copy of it (a 32768 x 66 one
    took 8.0 ms, 5.6 ms stacked, at load 4.6). The product goes through :func:`cosim.threads.matmul`.
    """
    c = -a * factor
    cols = factor * np.einsum("bj,bj->j", d_hi, s_hi)
    ones_lo, ones_hi = np.ones((1, s_lo.shape[1]), s_lo.dtype), np.ones((1, d_hi.shape[1]), d_hi.dtype)
    if d_lo is None:
        left = np.vstack([c * s_lo, ones_lo])
        right = np.vstack([d_hi, cols[None, :]])
    else:
        rows = (a * a * factor) * np.einsum("bi,bi->i", d_lo, s_lo)
        left = np.vstack([c * s_lo, c * d_lo, rows[None, :], ones_lo])
        right = np.vstack([d_hi, s_hi, ones_hi, cols[None, :]])
    left, right = left.astype(s_lo.dtype, copy=False), right.astype(s_lo.dtype, copy=False)
    return matmul(left.T, right, out=out)


def ep_gradients(network: ResistiveNetwork, reading_a: Reading, reading_b: Reading,
                 conductance_unit: float = 1.0, out=None) -> BlockGradients:
    """EP estimate from readings of two equilibria of the same batch with different nudge strengths.

    Conductance gradients are per ``conductance_unit`` siemens (dL/d(g / unit) = unit dL/dg), written into
    the arrays of ``out`` (one per crossbar) when given.
    """
    scale = reading_a.beta - reading_b.beta
    if scale == 0:
        raise ParameterError("EP needs two equilibria with different nudge strengths beta")
    gap, node = network.gap_weights, network.node_weights
    diff = [None] + [va - vb for va, vb in zip(reading_a.layers[1:], reading_b.layers[1:])]  # inputs: no change
    total = [va + vb for va, vb in zip(reading_a.layers, reading_b.layers)]
    conductances = [
        crossbar_bilinear(network.amplifiers[l].forward_gain, diff[l], total[l], diff[l + 1], total[l + 1],
                          conductance_unit * gap[l] / (2.0 * scale), None if out is None else out[l])
        for l in range(network.n_layers)
    ]
    biases = [-node[m] * diff[m].sum(axis=0) / scale for m in range(1, network.n_layers + 1)]
    inputs = None
    if reading_a.source_currents is not None:
        currents = reading_a.source_currents - reading_b.source_currents
        inputs = network.fold_input_gradient(node[0] * currents / scale)
    return BlockGradients(conductances, biases, inputs)


def implicit_gradients(network: ResistiveNetwork, free: Equilibrium, adjoint: list[np.ndarray],
                       conductance_unit: float = 1.0) -> BlockGradients:
    """Exact gradients from the free equilibrium and the adjoint solution lambda (see module docstring);
    conductance gradients per ``conductance_unit`` siemens."""
    gap, node = network.gap_weights, network.node_weights
    v, lam = free.layers, [None, *adjoint[1:]]  # lambda is zero at the input sources
    conductances = [
        crossbar_bilinear(network.amplifiers[l].forward_gain, lam[l], v[l], lam[l + 1], v[l + 1],
                          -conductance_unit * gap[l])
        for l in range(network.n_layers)
    ]
    biases = [node[m] * lam[m].sum(axis=0) for m in range(1, network.n_layers + 1)]
    amp0 = network.amplifiers[0]
    inputs = network.fold_input_gradient(gap[0] * amp0.forward_gain * matmul(lam[1], network.conductances[0].T))
    return BlockGradients(conductances, biases, inputs)

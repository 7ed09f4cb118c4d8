"""Gradients of a loss with respect to a Hopfield network's weights, biases and inputs.

EP reads ``dE/dW[l] = -s_l^T s_{l+1}``, ``dE/db_m = -s_m``, ``dE/dx = -s_1 W[0]^T`` at two nudged
equilibria; implicit differentiation solves ``H lambda = dL/ds`` on the unclamped states (conjugate
gradients, :mod:`cosim.analog.hopfield.solve`) and gives ``dL/dW[l] = lambda_l^T s_{l+1} + s_l^T lambda_{l+1}``,
``dL/db_m = sum lambda_m``, ``dL/dx = lambda_1 W[0]^T``. Parameter gradients are of the loss summed over
the batch; input gradients are per sample. Every product goes through the network's coupling operators
(``couple``, ``couple_transpose``, ``coupling_gradient``, ``bias_gradient``), so the same code serves the
convolutional networks of :mod:`cosim.analog.hopfield.conv_network`.
"""

from __future__ import annotations

import numpy as np

from cosim.analog.core import EnergyGradients, Equilibrium
from cosim.analog.hopfield.network import HopfieldNetwork
from cosim.errors import ParameterError


class HopfieldGradients(EnergyGradients):
    """dL/dW[l], dL/db_m (of the batch-summed loss) and dL/dx per sample."""

    @property
    def weights(self) -> list[np.ndarray]:
        """dL/dW[l]: the couplings are the weights."""
        return self.couplings


def hopfield_ep_gradients(network: HopfieldNetwork, state_a: Equilibrium, state_b: Equilibrium) -> HopfieldGradients:
    """EP estimate [dE/dtheta(a) - dE/dtheta(b)] / (beta_a - beta_b) from two nudged equilibria."""
    scale = state_a.beta - state_b.beta
    if scale == 0:
        raise ParameterError("EP needs two equilibria with different nudge strengths beta")
    a, b = state_a.layers, state_b.layers
    pair = network.coupling_gradient
    weights = [-(pair(l, a[l], a[l + 1]) - pair(l, b[l], b[l + 1])) / scale for l in range(network.n_layers)]
    biases = [-network.bias_gradient(m, a[m] - b[m]) / scale for m in range(1, network.n_layers + 1)]
    inputs = -network.couple_transpose(0, a[1] - b[1]) / scale
    return HopfieldGradients(weights, biases, inputs)


def hopfield_implicit_gradients(network: HopfieldNetwork, free: Equilibrium, adjoint) -> HopfieldGradients:
    """Exact gradients from the free equilibrium s and the adjoint lambda (see the module docstring)."""
    s, lam = free.layers, adjoint
    pair = network.coupling_gradient
    weights = [pair(l, lam[l], s[l + 1]) + pair(l, s[l], lam[l + 1]) for l in range(network.n_layers)]
    biases = [network.bias_gradient(m, lam[m]) for m in range(1, network.n_layers + 1)]
    inputs = network.couple_transpose(0, lam[1])
    return HopfieldGradients(weights, biases, inputs)

"""Gradients of a loss with respect to a wired network's conductances, biases and inputs.

The device ``W[l]_ik`` sees the voltage ``u_ik - y_ik`` between its own word- and bit-line nodes, so both
rules stay local to the device, as in hardware:

* EP (two nudged equilibria a, b with beta_a != beta_b)::

      dL/dW[l]_ik ~ c_l sum_b [(u - y)_a^2 - (u - y)_b^2]_ik / (2 (beta_a - beta_b))
      dL/db_m     ~ -s_m sum_b (v_a - v_b) / (beta_a - beta_b)
      dL/dx       ~  s_0 (I_a - I_b) / (beta_a - beta_b)      (I: current each input source delivers)

* implicit differentiation (free equilibrium, adjoint lambda on every node)::

      dL/dW[l]_ik = -c_l sum_b (u - y)_ik (lambda_u - lambda_y)_ik
      dL/db_m     =  s_m sum_b lambda_m
      dL/dx_i     =  c_0 A_0 sum_k W[0]_ik (lambda_y - lambda_u)_ik   (the adjoint current into input i)

Wire-free networks (plain :class:`Equilibrium`) are handed to :mod:`cosim.analog.resistive.gradients` unchanged.
On a chip the bias and input terms come from the tile's readings (node and current ADCs); the conductance
term is each device's own local rule.
"""

from __future__ import annotations

import numpy as np

from cosim.analog.resistive.gradients import (BlockGradients, Reading, ep_gradients, exact_readings,
                                              implicit_gradients)
from cosim.analog.resistive.wires.layout import WiredNetwork
from cosim.analog.resistive.wires.solve import WiredEquilibrium
from cosim.errors import ParameterError


def wired_source_currents(wired: WiredNetwork, equilibrium: WiredEquilibrium) -> np.ndarray:
    """Current each input source delivers, (B, n_0) amperes: kappa_0 times what its word line passes to the
    devices (the current through the driver, by Kirchhoff's law on the line)."""
    net = wired.network
    w = equilibrium.conductances[0]
    device = equilibrium.word_lines[0] - equilibrium.bit_lines[0]
    return net.amplifiers[0].backward_gain * np.einsum("bik,ik->bi", device, w)


def wired_readings(wired: WiredNetwork, a: WiredEquilibrium, b: WiredEquilibrium) -> tuple[Reading, Reading]:
    """The readings of ideal instruments on a wired network: solved node voltages and source currents."""
    return (Reading(a.layers, wired_source_currents(wired, a), a.beta),
            Reading(b.layers, wired_source_currents(wired, b), b.beta))


def wired_ep_gradients(wired: WiredNetwork, a: WiredEquilibrium, b: WiredEquilibrium, readings=None,
                       conductance_unit: float = 1.0) -> BlockGradients:
    """EP estimate from two equilibria of the same batch with different nudge strengths; bias and input
    terms from ``readings`` (default: exact), conductances per ``conductance_unit`` siemens."""
    net = wired.network
    if not isinstance(a, WiredEquilibrium):
        return ep_gradients(net, *(readings or exact_readings(net, a, b)), conductance_unit)
    reading_a, reading_b = readings or wired_readings(wired, a, b)
    scale = a.beta - b.beta
    if scale == 0:
        raise ParameterError("EP needs two equilibria with different nudge strengths beta")
    gap, node = net.gap_weights, net.node_weights
    conductances = []
    for l in range(net.n_layers):
        drop_a = a.word_lines[l] - a.bit_lines[l]
        drop_b = b.word_lines[l] - b.bit_lines[l]
        product = np.einsum("bik,bik->ik", drop_a - drop_b, drop_a + drop_b)
        conductances.append(conductance_unit * gap[l] / (2.0 * scale) * product)
    layers_a, layers_b = reading_a.layers, reading_b.layers
    biases = [-node[m] * (layers_a[m] - layers_b[m]).sum(axis=0) / scale for m in range(1, net.n_layers + 1)]
    currents = reading_a.source_currents - reading_b.source_currents
    return BlockGradients(conductances, biases, net.fold_input_gradient(node[0] * currents / scale))


def wired_implicit_gradients(wired: WiredNetwork, free: WiredEquilibrium, adjoint,
                             conductance_unit: float = 1.0) -> BlockGradients:
    """Exact gradients from the free equilibrium and ``adjoint = WiredSolver.adjoint(...)`` (conductances per
    ``conductance_unit`` siemens)."""
    net = wired.network
    lam, lam_words, lam_bits = adjoint
    if not isinstance(free, WiredEquilibrium):
        return implicit_gradients(net, free, lam, conductance_unit)
    gap, node = net.gap_weights, net.node_weights
    conductances = [
        -conductance_unit * gap[l] * np.einsum("bik,bik->ik", free.word_lines[l] - free.bit_lines[l], lam_words[l] - lam_bits[l])
        for l in range(net.n_layers)
    ]
    biases = [node[m] * lam[m].sum(axis=0) for m in range(1, net.n_layers + 1)]
    amp0 = net.amplifiers[0]
    currents = np.einsum("bik,ik->bi", lam_bits[0] - lam_words[0], free.conductances[0])
    return BlockGradients(conductances, biases, net.fold_input_gradient(gap[0] * amp0.forward_gain * currents))


class WiredRules:
    """The :class:`~cosim.analog.resistive.block.GradientRules` of a wired network (a ResistiveBlock's ``rules``)."""

    def __init__(self, wired: WiredNetwork):
        self.wired = wired

    def ep(self, network, reading_a, reading_b, a, b, conductance_unit, out) -> BlockGradients:
        return wired_ep_gradients(self.wired, a, b, (reading_a, reading_b), conductance_unit)

    def implicit(self, network, free, adjoint, conductance_unit) -> BlockGradients:
        return wired_implicit_gradients(self.wired, free, adjoint, conductance_unit)

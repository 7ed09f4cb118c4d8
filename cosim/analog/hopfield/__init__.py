"""The Hopfield wing: deep Hopfield networks (the energy blocks of the ff-EBM paper), file for file like
the resistive wing: network, energy, solve (with the adjoint), gradients, block; and convolutional networks
(conv, conv_network): the same energy with the couplings as convolution operators."""

from cosim.analog.hopfield.block import HopfieldBlock
from cosim.analog.hopfield.conv import ConvCoupling, DenseCoupling
from cosim.analog.hopfield.conv_network import ConvHopfieldNetwork, ConvLayer, DenseLayer
from cosim.analog.hopfield.energy import HopfieldDrive, HopfieldEnergy
from cosim.analog.hopfield.gradients import HopfieldGradients, hopfield_ep_gradients, hopfield_implicit_gradients
from cosim.analog.hopfield.network import HopfieldNetwork
from cosim.analog.hopfield.solve import HopfieldSolver

__all__ = [
    "ConvCoupling", "ConvHopfieldNetwork", "ConvLayer", "DenseCoupling", "DenseLayer", "HopfieldBlock",
    "HopfieldDrive", "HopfieldEnergy", "HopfieldGradients", "HopfieldNetwork", "HopfieldSolver",
    "hopfield_ep_gradients", "hopfield_implicit_gradients",
]

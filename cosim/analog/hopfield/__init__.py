"""The Hopfield wing: deep Hopfield networks (the energy blocks of the ff-EBM paper), file for file like
the resistive wing: network, energy, solve (with the adjoint), gradients, block."""

from cosim.analog.hopfield.block import HopfieldBlock
from cosim.analog.hopfield.energy import HopfieldDrive, HopfieldEnergy
from cosim.analog.hopfield.gradients import HopfieldGradients, hopfield_ep_gradients, hopfield_implicit_gradients
from cosim.analog.hopfield.network import HopfieldNetwork
from cosim.analog.hopfield.solve import HopfieldSolver

__all__ = [
    "HopfieldBlock", "HopfieldDrive", "HopfieldEnergy", "HopfieldGradients", "HopfieldNetwork", "HopfieldSolver",
    "hopfield_ep_gradients", "hopfield_implicit_gradients",
]

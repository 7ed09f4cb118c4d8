"""cosim: a mixed-signal co-simulator for chips that train feedforward-tied energy-based models.

Analog tiles (nonlinear resistive networks) are solved by fast exact block coordinate descent and
trained with equilibrium propagation; digital blocks are trained by backpropagation.
"""

__version__ = "0.1.0"

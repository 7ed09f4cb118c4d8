"""What every relaxation strategy shares: tolerance, cap, state noise and the noisy stopping rule."""

from __future__ import annotations

import numpy as np

from cosim.analog.core import check_cap, checked_tol
from cosim.analog.relaxation.monitors import NOISE_FLOOR, Plateau
from cosim.errors import ParameterError

_TINY = 1e-300


class Relaxation:
    """Base of the strategies: ``run(energy, state, free) -> SolveInfo`` relaxes ``state`` in place.

    tol: relative to the energy's reference scale (None: the dtype's default, resolved at run time);
    cap: the largest number of sweeps or steps (the keyword ``cap_name``); noise_sigma: standard
    deviation of Gaussian noise added to every state at every update, drawn from ``rng``.
    """

    #: the relaxation's name in configs (``relaxation.kind``)
    kind = ""
    #: the name of its cap in its keyword arguments and messages
    cap_name = ""
    #: how to get a relaxation that stopped at its cap to converge
    remedy = ""
    #: whether it copes with stiff energies (Shockley diodes); explicit time steps do not
    handles_stiff = False

    def __init__(self, tol: float | None, cap: int, noise_sigma: float, rng):
        self.tol = None if tol is None else checked_tol(tol, np.float64)
        self.cap = check_cap(cap, self.cap_name)
        if not noise_sigma >= 0:
            raise ParameterError(f"noise_sigma must be >= 0, got {noise_sigma!r}")
        if noise_sigma > 0 and not isinstance(rng, np.random.Generator):
            raise ParameterError("noise_sigma > 0 needs rng=numpy.random.Generator (seeded from the config)")
        self.noise_sigma, self.rng = float(noise_sigma), rng

    def tolerance(self, dtype) -> float:
        """The tolerance in force for states of ``dtype``."""
        return checked_tol(self.tol, dtype)

    def stopping_rule(self, reference: float) -> Plateau | None:
        """A fresh plateau detector for a noisy run (residuals relative to ``reference``), None without noise."""
        return Plateau(NOISE_FLOOR * self.noise_sigma / max(reference, _TINY)) if self.noise_sigma > 0 else None

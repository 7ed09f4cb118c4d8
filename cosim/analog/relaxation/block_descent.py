"""Exact block coordinate descent over the layers of an energy (odd layers, then even layers).

Nodes within a layer do not touch each other, so with its two neighbouring layers held fixed a layer's
energy is separable per node and the energy's ``minimise_layer`` finds its exact minimiser (a divide and
a clip, or a scalar monotone equation). Updating all odd layers, then all even layers, is exact block
minimisation (red-black Gauss-Seidel): the energy never increases, and a strictly convex energy reaches
its unique minimum. ``synchronous=True`` updates every layer at once from the previous state instead
(the layer-synchronous fixed point, which may oscillate).
"""

from __future__ import annotations

import numpy as np

from cosim.analog.core import SolveInfo
from cosim.analog.relaxation.base import Relaxation
from cosim.analog.relaxation.energy import BoxEnergy

_TINY = 1e-300
#: default cap on sweeps per relaxation (the schema's ``solver.max_sweeps``)
MAX_SWEEPS = 100


class BlockDescent(Relaxation):
    """Sweeps of exact layer minimisations until the largest change of a sweep, relative to the energy's
    reference scale, is <= tol.

    max_sweeps: the cap; synchronous: all layers at once (see the module docstring); noise_sigma: the
    standard deviation of Gaussian noise added to every layer's minimiser (state units), from ``rng``.
    """

    kind = "bcd"
    cap_name = "max_sweeps"
    remedy = "raise max_sweeps or loosen tol"
    handles_stiff = True

    def __init__(self, tol: float | None = None, max_sweeps: int = MAX_SWEEPS, synchronous: bool = False,
                 noise_sigma: float = 0.0, rng: np.random.Generator | None = None):
        super().__init__(tol, max_sweeps, noise_sigma, rng)
        self.synchronous = bool(synchronous)

    def groups(self, n_layers: int) -> list[list[int]]:
        """The layers updated together: odd then even, or all at once."""
        if self.synchronous:
            return [list(range(1, n_layers + 1))]
        return [list(range(1, n_layers + 1, 2)), list(range(2, n_layers + 1, 2))]

    def run(self, energy: BoxEnergy, state: list[np.ndarray], free: bool = True) -> SolveInfo:
        """Relax ``state`` (inside the box: a cold start clipped, or an equilibrium) in place; ``free`` is unused."""
        tol = self.tol if self.tol is not None else self.tolerance(energy.dtype)
        groups = self.groups(len(state))
        sigma, rng = self.noise_sigma, self.rng
        plateau = self.stopping_rule(energy.reference(state)) if sigma > 0 else None
        layer_inputs, minimise = energy.layer_inputs, energy.minimise_layer
        residual = np.inf
        for sweep in range(1, self.cap + 1):
            max_ds = max_s = 0.0
            for group in groups:
                if sigma > 0 or self.synchronous:  # read every input of the group before any update
                    inputs = [layer_inputs(m, state) for m in group]
                    for m, drive in zip(group, inputs):
                        noise = rng.standard_normal(state[m - 1].shape).astype(energy.dtype) if sigma > 0 else None
                        ds, s = minimise(m, state, drive, sigma, noise)
                        max_ds, max_s = max(max_ds, ds), max(max_s, s)
                else:  # the layers of a group do not touch: each may be read right before its update
                    for m in group:
                        ds, s = minimise(m, state, layer_inputs(m, state))
                        if ds > max_ds:
                            max_ds = ds
                        if s > max_s:
                            max_s = s
            residual = max_ds / max(energy.reference(state, max_s), _TINY)
            if residual <= tol or (plateau is not None and plateau.settled(residual)):
                return SolveInfo(sweep, residual, True)
        return SolveInfo(self.cap, residual, False)

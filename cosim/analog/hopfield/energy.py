"""The energy of a deep Hopfield network for one batch and phase (see :mod:`cosim.analog.hopfield.network`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.analog.core import Nudge
from cosim.analog.hopfield.network import HopfieldNetwork
from cosim.analog.relaxation import LayerTerms, kernels
from cosim.errors import ParameterError


@dataclass(frozen=True)
class HopfieldDrive:
    """The clamped input ``x`` and its drive ``x W[0]`` into layer 1, shared by the phases of one batch."""

    inputs: np.ndarray
    product: np.ndarray
    weights: tuple  # the weights it was computed with, to detect a change


class HopfieldEnergy:
    """The (nudged) energy of one batch and phase as a :class:`~cosim.analog.relaxation.BoxEnergy`.

    Metric 1 (unit time constants), box [0, 1], residuals absolute (reference scale 1). A layer's exact
    minimiser, its neighbours held, is ``clip(dPhi/ds_m / den_m, 0, 1)`` (den: 1, or 1 + beta at a
    target-nudged output).
    """

    def __init__(self, network: HopfieldNetwork, drive: HopfieldDrive, nudge: Nudge | None):
        self.network, self.drive, self.nudge = network, drive, nudge
        self.dtype, batch = network.dtype, drive.inputs.shape[0]
        self.terms = []
        for m in range(1, network.n_layers + 1):
            n = network.sizes[m]
            source = network.bias_field(m)[None, :]
            den = np.ones((1, n), dtype=self.dtype)
            if m == network.n_layers and nudge is not None:
                source, den = nudge.apply(source, den, batch, self.dtype)
                if not (den > 0).all():
                    raise ParameterError(f"nudge beta={nudge.beta} makes the output curvature 1 + beta <= 0; "
                                         "use a smaller beta")
            self.terms.append(LayerTerms(source, den, np.zeros((1, n), self.dtype), np.ones((1, n), self.dtype)))
        self.lower = [t.lo for t in self.terms]
        self.upper = [t.hi for t in self.terms]
        self.hessian_diagonal = [t.den for t in self.terms]
        self.metric = [np.ones_like(t.den) for t in self.terms]
        self.centre = [np.full_like(t.den, 0.5) for t in self.terms]
        self.curvature_key = (network.weights, 0.0 if nudge is None else float(nudge.conductance))

    def below(self, state: list[np.ndarray], m: int) -> np.ndarray:
        """s_{m-1} W[m-1]: the drive of layer m from the layer below (the input for m = 1)."""
        return self.drive.product if m == 1 else self.network.couple(m - 1, state[m - 2])

    def above(self, state: list[np.ndarray], m: int) -> np.ndarray | None:
        """s_{m+1} W[m]^T, or None for the output layer."""
        return self.network.couple_transpose(m, state[m]) if m < self.network.n_layers else None

    def layer_inputs(self, m: int, state) -> tuple[np.ndarray, np.ndarray | None]:
        return self.below(state, m), self.above(state, m)

    def minimise_layer(self, m: int, state, inputs, noise_sigma: float = 0.0, noise=None) -> tuple[float, float]:
        """s_m <- clip(dPhi/ds_m / den_m, 0, 1) (:func:`kernels.layer_update` with unit gains, no diodes);
        noise: clip(x / den + sigma xi) = clip((x + sigma den xi) / den). Returns (max |ds|, max |s|)."""
        below, above = inputs
        t = self.terms[m - 1]
        source = t.source if noise is None else t.source + noise_sigma * t.den * noise
        has_above = above is not None
        return kernels.layer_update(below, 1.0, above if has_above else below, 1.0, has_above, source, t.den,
                                    t.lo, t.hi, 0.0, 1.0, state[m - 1])

    def _gradient(self, state, first, sources) -> list[np.ndarray]:
        out = []
        for m, t in enumerate(self.terms, start=1):
            g = t.den * state[m - 1]
            g -= first if m == 1 else self.network.couple(m - 1, state[m - 2])
            if m < self.network.n_layers:
                g -= self.network.couple_transpose(m, state[m])
            if sources:
                g -= t.source
            out.append(g)
        return out

    def gradient(self, state, out) -> None:
        for o, g in zip(out, self._gradient(state, self.drive.product, True)):
            o[...] = g

    def hessian_vector(self, vector) -> list[np.ndarray]:
        zero = np.zeros((vector[0].shape[0], self.network.sizes[1]), dtype=vector[0].dtype)
        return self._gradient(vector, zero, False)

    def energy(self, state) -> np.ndarray:
        """E per sample, (B,); nudged phases add beta delta.s_L or beta/2 |s_L|^2 - beta y.s_L."""
        e = np.zeros(state[0].shape[0])
        for m, (s, t) in enumerate(zip(state, self.terms), start=1):
            e += 0.5 * np.einsum("bn,bn->b", t.den * s, s)
            e -= np.einsum("bn,bn->b", self.below(state, m), s)
            e -= np.einsum("bn,bn->b", np.broadcast_to(t.source, s.shape), s)
        return e

    def reference(self, state, largest: float | None = None) -> float:
        """Residuals are absolute: the box is [0, 1] whatever the state."""
        return 1.0

"""The gradients every energy-block family returns: of a loss with respect to the block's couplings (the
weights between layers, e.g. crossbar conductances), its biases, and its inputs. Parameter gradients are of
the loss summed over the batch; input gradients are per sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EnergyGradients:
    """dL/dW[l] for every coupling matrix, dL/db_m for every bias vector, and dL/dx per sample."""

    couplings: list[np.ndarray]
    biases: list[np.ndarray]
    inputs: np.ndarray

    def flat(self) -> np.ndarray:
        """Every parameter gradient in one vector (couplings, then biases)."""
        return np.concatenate([g.ravel() for g in (*self.couplings, *self.biases)])

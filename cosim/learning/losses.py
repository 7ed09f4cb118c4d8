"""Readout losses: per-sample values and their gradients with respect to the outputs.

Every loss returns ``(per_sample_loss (B,), grad)`` where ``grad`` has the outputs' shape and is the
derivative of each sample's own loss, *not* divided by the batch size: EP nudges each sample's outputs with
its own loss gradient, so a block's gradient is that of the batch-summed loss, and an optimiser that wants a mean divides once, where it averages.
Floating inputs keep their dtype (float32 stays float32); integer inputs are computed in float64.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cosim.errors import ParameterError

LossFn = Callable[..., tuple[np.ndarray, np.ndarray]]


def _float_array(x, name: str) -> np.ndarray:
    """``x`` as a floating array of at least (B, C) shape, keeping float32/float64."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if x.ndim < 2:
        raise ParameterError(f"{name} must be (batch, classes, ...), got shape {x.shape}")
    return x


def _check_labels(labels, n_classes: int, batch: int | None = None) -> np.ndarray:
    """Integer class labels of shape (batch,) (any length when ``batch`` is None) in ``[0, n_classes)``."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ParameterError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.ndim != 1 or (batch is not None and labels.shape[0] != batch):
        raise ParameterError(f"labels must have shape ({batch or 'batch'},) to match the outputs, got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ParameterError(f"labels must lie in [0, {n_classes}), got values from {labels.min()} to {labels.max()}")
    return labels


def one_hot(labels, n_classes: int, dtype=np.float64, scale: float = 1.0) -> np.ndarray:
    """(B, n_classes) array with ``scale`` at each sample's label and 0 elsewhere."""
    labels = _check_labels(labels, n_classes)
    out = np.zeros((labels.size, n_classes), dtype=dtype)
    out[np.arange(labels.size), labels] = scale
    return out


def softmax_cross_entropy(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy of softmax(logits) (B, C) against integer labels (B,); grad = softmax - onehot.

    Computed through log-sum-exp after subtracting each row's maximum, so logits of any finite size give
    finite losses and gradients.
    """
    logits = _float_array(logits, "logits")
    if logits.ndim != 2:
        raise ParameterError(f"logits must be (batch, classes), got shape {logits.shape}")
    batch, n_classes = logits.shape
    labels = _check_labels(labels, n_classes, batch)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_prob = shifted - log_norm
    rows = np.arange(batch)
    loss = -log_prob[rows, labels]
    grad = np.exp(log_prob)
    grad[rows, labels] -= 1
    return loss, grad


def squared_error(outputs, targets, target_scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample ½‖y − t‖² summed over all non-batch axes; grad = y − t.

    ``targets`` is either an array of the outputs' shape, or integer labels (B,) for (B, C) outputs, which
    become one-hot targets of height ``target_scale`` (default 1). A ``target_scale`` with explicit targets
    is refused rather than ignored.
    """
    outputs = _float_array(outputs, "outputs")
    targets = np.asarray(targets)
    if np.issubdtype(targets.dtype, np.integer) and outputs.ndim == 2 and targets.ndim == 1:
        labels = _check_labels(targets, outputs.shape[1], outputs.shape[0])
        scale = 1.0 if target_scale is None else target_scale
        targets = one_hot(labels, outputs.shape[1], dtype=outputs.dtype, scale=scale)
    elif target_scale is not None:
        raise ParameterError("target_scale applies to integer labels only; scale explicit targets yourself")
    elif targets.shape != outputs.shape:
        raise ParameterError(f"targets must have the outputs' shape {outputs.shape}, got {targets.shape}")
    grad = outputs - targets.astype(outputs.dtype, copy=False)
    loss = 0.5 * np.square(grad).reshape(grad.shape[0], -1).sum(axis=1)
    return loss, grad


LOSSES: dict[str, LossFn] = {
    "cross_entropy": softmax_cross_entropy,
    "squared_error": squared_error,
}


def get_loss(name: str) -> LossFn:
    """The loss registered as ``name`` in :data:`LOSSES`."""
    if name not in LOSSES:
        raise ParameterError(f"unknown loss {name!r}; valid losses: {', '.join(sorted(LOSSES))}")
    return LOSSES[name]


def accuracy(outputs, labels) -> float:
    """Fraction of samples whose largest output (B, C) is at the sample's integer label."""
    outputs = _float_array(outputs, "outputs")
    if outputs.ndim != 2:
        raise ParameterError(f"outputs must be (batch, classes), got shape {outputs.shape}")
    labels = _check_labels(labels, outputs.shape[1], outputs.shape[0])
    if labels.size == 0:
        raise ParameterError("accuracy of an empty batch is undefined")
    return float(np.mean(outputs.argmax(axis=1) == labels))

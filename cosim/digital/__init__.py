"""Digital feedforward ops with forward, backward, shape inference and MAC/byte counts (numpy only)."""

from cosim.digital.base import Op, OpCost
from cosim.digital.conv import AvgPool2d, Conv2d, MaxPool2d
from cosim.digital.ops import (
    OPS,
    BatchNorm,
    Flatten,
    GainOffset,
    HardTanh,
    Identity,
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
    make_op,
)

__all__ = [
    "OPS",
    "AvgPool2d",
    "BatchNorm",
    "Conv2d",
    "Flatten",
    "GainOffset",
    "HardTanh",
    "Identity",
    "Linear",
    "MaxPool2d",
    "Op",
    "OpCost",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "make_op",
]

"""What the chain's parts promise each other, as :class:`typing.Protocol` classes.

* :class:`ChainBlock`: what :class:`~cosim.learning.chain.Chain` (and the chip's planning) needs of a block
  — digital, resistive or Hopfield;
* :class:`TileHardware`: what an analog block needs of the hardware around its network — the ideal
  :class:`~cosim.learning.blocks.IdealHardware` or the chip's :class:`~cosim.chip.tile.Tile`.

:func:`missing_members` checks a class against a protocol by member names and method signatures, so that
implementations cannot drift apart silently (tests/test_chip.py).
"""

from __future__ import annotations

import inspect
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class ChainBlock(Protocol):
    """One block of the chain; ``kind`` is "digital", "analog" (resistive, on a tile) or "hopfield"."""

    kind: str

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray: ...

    def backward(self, grad: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """Fill the parameter gradients of the batch-summed loss; return dL/dx for the block before (None
        when ``input_gradient`` is false and the block could skip it: nothing is before it)."""

    @property
    def parameter_names(self) -> list[str]: ...

    @property
    def parameters(self) -> list[np.ndarray]:
        """Arrays the optimiser updates in place."""

    @property
    def gradients(self) -> list[np.ndarray]: ...

    @property
    def bounds(self) -> list[tuple[float, float] | None] | None: ...

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """Non-learned state kept by checkpoints, by name."""

    def after_update(self) -> None:
        """Push the updated parameters into the hardware (devices, networks)."""

    def install(self) -> None:
        """Put restored parameters into the hardware without writing devices."""

    def output_shape(self, input_shape: tuple) -> tuple: ...


@runtime_checkable
class TileHardware(Protocol):
    """The hardware side of an analog block: converters on the data path and the devices."""

    #: True when a fresh (noisy) read of the devices is installed into the network before every free solve,
    #: so what a weight update would install is never solved with
    reads_before_solve: bool

    def drive_inputs(self, volts: np.ndarray) -> np.ndarray:
        """The input DACs: block input voltages (V) as the sources realise them."""

    def read_outputs(self, volts: np.ndarray) -> np.ndarray:
        """The output ADCs: output node voltages (V) as the next block gets them."""

    def drive_nudge(self, error: np.ndarray, phases: tuple[str, ...]) -> np.ndarray:
        """The nudge DACs: the error signal as it drives each nudged phase."""

    def program(self, theta: list[np.ndarray], g_max: float) -> list[np.ndarray] | None:
        """Write targets theta * g_max (S); the conductances held, or None when they are exactly theta * g_max."""

    def book_gradient_arithmetic(self, macs: int) -> None:
        """Account the digital multiply-accumulates behind the weight gradients."""


def missing_members(cls: type, protocol: type) -> list[str]:
    """Members of ``protocol`` that ``cls`` lacks, or whose parameters differ (names, in order)."""
    problems = []
    members = set(getattr(protocol, "__annotations__", {})) | {
        name for name, value in vars(protocol).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))}
    for name in sorted(members):
        if not hasattr(cls, name):
            problems.append(f"{cls.__name__} has no {name}")
            continue
        wanted, have = vars(protocol).get(name), getattr(cls, name)
        if callable(wanted) and _parameters(wanted) != _parameters(have):
            problems.append(f"{cls.__name__}.{name}{_parameters(have)} differs from {protocol.__name__}."
                            f"{name}{_parameters(wanted)}")
    return problems


def _parameters(function) -> tuple[str, ...]:
    return tuple(inspect.signature(function).parameters) if callable(function) else ()

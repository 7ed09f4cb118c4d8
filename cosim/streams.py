"""Named random streams: the one owner of every random number generator of a run.

Each component draws from its own :class:`numpy.random.Generator`, derived from the config seed and a
stable name (``"tile3/devices/0"``, ``"tile3/output_adc"``, ``"data/order"``, ``"init/block2"``,
``"relaxation/block1"``) through :class:`numpy.random.SeedSequence`. A component's draws therefore depend
only on the seed and its name: switching on one noise source (say converter noise) leaves the draws of
every other source unchanged, and sweep points that differ in one knob share their other noise
realisations (common random numbers).

A stream that only gives standard normals (a crossbar's device noise) may be taken as a
:class:`~cosim.analog.devices.normals.NormalStream` (:meth:`Streams.normals`), which draws ahead on a worker
thread; the states recorded and restored here are always those at the point of consumption.
"""

from __future__ import annotations

import hashlib

import numpy as np

from cosim.analog.devices.normals import NormalStream


def seed_sequence(seed: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` under ``seed``: entropy (seed, 128-bit hash of the name)."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:16], "little")
    return np.random.SeedSequence([seed, digest])


class Streams:
    """The named generators of one run, created on first use; their states go into checkpoints."""

    def __init__(self, seed: int):
        self.seed = seed
        self._generators: dict[str, np.random.Generator] = {}
        self._normals: dict[str, NormalStream] = {}

    def __call__(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (the same object on every call)."""
        if name not in self._generators:
            self._generators[name] = np.random.Generator(np.random.PCG64(seed_sequence(self.seed, name)))
        return self._generators[name]

    def normals(self, name: str) -> NormalStream:
        """The standard normals of stream ``name`` (the same object on every call); the stream's generator
        may still draw before the first normal is taken, not after."""
        if name not in self._normals:
            self._normals[name] = NormalStream(self(name))
        return self._normals[name]

    def scoped(self, prefix: str) -> Scope:
        """The streams under ``prefix/`` (e.g. one tile's), by their names below it."""
        return Scope(self, prefix)

    def names(self) -> list[str]:
        return sorted(self._generators)

    def state(self) -> dict:
        """JSON-able bit-generator state of every stream, by name (normal streams: at their consumption point)."""
        return {name: self._normals[name].state() if name in self._normals else generator.bit_generator.state
                for name, generator in sorted(self._generators.items())}

    def set_state(self, name: str, bit_state: dict) -> None:
        """Restart stream ``name`` from ``bit_state`` (created as needed)."""
        if name in self._normals:
            self._normals[name].restart(bit_state)
        else:
            self(name).bit_generator.state = bit_state

    def load_state(self, state: dict) -> None:
        """Restore a :meth:`state` (streams are created as needed)."""
        for name, bit_state in state.items():
            self.set_state(name, bit_state)


class Scope:
    """The streams of :class:`Streams` under one prefix: ``scope(name)`` is the generator of ``prefix/name``."""

    def __init__(self, streams: Streams, prefix: str):
        self.streams, self.prefix = streams, prefix

    def __call__(self, name: str) -> np.random.Generator:
        return self.streams(f"{self.prefix}/{name}")

    def normals(self, name: str) -> NormalStream:
        return self.streams.normals(f"{self.prefix}/{name}")

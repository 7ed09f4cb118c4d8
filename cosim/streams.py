"""Named random streams: the one owner of every random number generator of a run.

Each component draws from its own :class:`numpy.random.Generator`, derived from the config seed and a
stable name (``"tile3/devices/0"``, ``"tile3/output_adc"``, ``"data/order"``, ``"init/block2"``,
``"relaxation/block1"``) through :class:`numpy.random.SeedSequence`. A component's draws therefore depend
only on the seed and its name: switching on one noise source (say converter noise) leaves the draws of
every other source unchanged, and sweep points that differ in one knob share their other noise
realisations (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def seed_sequence(seed: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` under ``seed``: entropy (seed, 128-bit hash of the name)."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:16], "little")
    return np.random.SeedSequence([seed, digest])


class Streams:
    """The named generators of one run, created on first use; their states go into checkpoints."""

    def __init__(self, seed: int):
        self.seed = seed
        self._generators: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (the same object on every call)."""
        if name not in self._generators:
            self._generators[name] = np.random.Generator(np.random.PCG64(seed_sequence(self.seed, name)))
        return self._generators[name]

    def scoped(self, prefix: str):
        """A function name -> generator of the streams under ``prefix/`` (e.g. one tile's)."""
        return lambda name: self(f"{prefix}/{name}")

    def names(self) -> list[str]:
        return sorted(self._generators)

    def state(self) -> dict:
        """JSON-able bit-generator state of every stream, by name."""
        return {name: generator.bit_generator.state for name, generator in sorted(self._generators.items())}

    def load_state(self, state: dict) -> None:
        """Restore a :meth:`state` (streams are created as needed)."""
        for name, bit_state in state.items():
            self(name).bit_generator.state = bit_state

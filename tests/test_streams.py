"""Named random streams: every noise source draws from its own stream, so switching one on leaves every
other source's draws unchanged (common random numbers across sweep points)."""

from pathlib import Path

import numpy as np

from cosim.config import load_config
from cosim.runner import prepare
from cosim.streams import Streams

TINY = Path(__file__).parent / "configs" / "tiny.yaml"
DEVICE_NOISE = ["chip.tile.device.programming_noise=0.02", "chip.tile.device.read_noise=0.02",
                "chip.tile.device.variability=0.1"]
CONVERTER_NOISE = [f"chip.tile.{kind}.{key}" for kind in ("output_adc", "node_adc", "current_adc")
                   for key in ("ideal=false", "noise_lsb=0.5")]


def test_a_stream_depends_only_on_the_seed_and_its_name():
    a, b = Streams(7), Streams(7)
    b("tile0/output_adc").random(100)  # another stream's use changes nothing
    np.testing.assert_array_equal(a("tile0/devices/0").random(5), b("tile0/devices/0").random(5))
    assert not np.array_equal(Streams(7)("tile0/devices/0").random(5), Streams(7)("tile0/devices/1").random(5))
    assert not np.array_equal(Streams(7)("data/order").random(5), Streams(8)("data/order").random(5))


def test_enabling_converter_noise_leaves_device_and_other_draws_unchanged():
    """Regression: devices and converters of a tile shared one generator."""
    quiet = prepare(load_config(TINY, DEVICE_NOISE))
    noisy = prepare(load_config(TINY, DEVICE_NOISE + CONVERTER_NOISE))
    for q, n in zip(quiet.chip.tiles[0].devices, noisy.chip.tiles[0].devices):
        np.testing.assert_array_equal(q.conductances, n.conductances)  # programming noise and variability
        np.testing.assert_array_equal(q.gain, n.gain)
    tile = noisy.chip.tiles[0]
    tile.output_adc(np.linspace(-1, 1, 50))  # converter noise drawn ...
    for name in set(quiet.streams.names()) - {"tile0/output_adc"}:  # ... and no other stream moved
        assert quiet.streams(name).bit_generator.state == noisy.streams(name).bit_generator.state, name
    np.testing.assert_array_equal(quiet.chip.tiles[0].devices[0].read(), tile.devices[0].read())


def test_every_component_has_its_own_named_stream():
    session = prepare(load_config(TINY, DEVICE_NOISE))
    names = session.streams.names()
    assert {"data/order", "init/block0", "init/block1", "relaxation/block1", "tile0/devices/0",
            "tile0/devices/1", "tile0/output_adc", "tile0/node_adc/difference/1"} <= set(names)
    tile = session.chip.tiles[0]
    generators = [d.rng for d in tile.devices] + [c.rng for c in tile.converters().values()]
    assert len({id(g) for g in generators}) == len(generators)

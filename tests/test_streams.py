"""Named random streams: every noise source draws from its own stream, so switching one on leaves every
other source's draws unchanged (common random numbers across sweep points)."""

from pathlib import Path

import numpy as np
import pytest

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
    generators = [d.normals.generator for d in tile.devices] + [c.rng for c in tile.converters().values()]
    assert len({id(g) for g in generators}) == len(generators)


# ---------------------------------------------------------------- normals drawn ahead
REQUESTS = [(100, 100), (100, 37), (50, 50), (200, 3), (10, 10), (64, 0), (300, 300)]  # (peek n, consume k)


@pytest.mark.parametrize("background", [False, True])
def test_normal_stream_gives_the_generators_numbers_in_order(background):
    """Drawn ahead or not, the normals handed out are the generator's own, in order, and the state recorded
    is that at the consumption point (what drawing them on demand would have left)."""
    from cosim import worker
    from cosim.analog.devices import normals

    stream, reference = normals.NormalStream(np.random.default_rng(5)), np.random.default_rng(5)
    worker.set_background(background)
    try:
        for n, k in REQUESTS:
            given = stream.peek(n)[:k].copy()
            stream.advance(k)
            np.testing.assert_array_equal(given, reference.standard_normal(k))
            assert stream.state() == reference.bit_generator.state
        with pytest.raises(ValueError, match="cannot consume"):
            stream.advance(stream.peek(5).size + 1)
        stream.restart()  # what was drawn ahead is dropped; the stream goes on from the consumption point
        np.testing.assert_array_equal(stream.take(7), reference.standard_normal(7))
        stream.restart(np.random.default_rng(9).bit_generator.state)
        np.testing.assert_array_equal(stream.take(3), np.random.default_rng(9).standard_normal(3))
    finally:
        worker.set_background(False)


@pytest.mark.parametrize("pass_devices", [None, 7], ids=["whole arrays", "row by row"])
def test_training_draws_the_same_device_noise_drawn_ahead_or_not(pass_devices, monkeypatch):
    """Two steps of a noisy chip: the same conductances and the same recorded stream states either way, whether
    the devices are written and read whole or row by row (as large arrays are)."""
    from cosim import worker
    from cosim.analog.devices import array

    if pass_devices:
        monkeypatch.setattr(array, "PASS_DEVICES", pass_devices)

    outcomes = []
    for background in (False, True):
        worker.set_background(background)
        try:
            session = prepare(load_config(TINY, DEVICE_NOISE))
            x, y = session.dataset.train_x[:8], session.dataset.train_y[:8]
            for _ in range(2):
                out = session.chain.forward(x, training=True)
                session.chain.backward(out, y, input_gradient=False)
                session.optimizer.step(session.chain.gradients(), scale=1.0 / len(y))
                session.chain.after_update()
            outcomes.append(([d.conductances.copy() for d in session.chip.tiles[0].devices], session.streams.state()))
        finally:
            worker.set_background(False)
    for a, b in zip(outcomes[0][0], outcomes[1][0]):
        np.testing.assert_array_equal(a, b)
    assert outcomes[0][1] == outcomes[1][1]


def test_the_device_worker_runs_work_beside_the_main_thread_only_when_allowed():
    import threading

    from cosim import worker

    assert worker.submit(threading.current_thread).result() is threading.main_thread()
    worker.set_background(True)
    try:
        assert worker.submit(threading.current_thread).result().name.startswith("cosim-devices")
    finally:
        worker.set_background(False)


def test_huge_blocks_are_not_drawn_ahead(monkeypatch):
    """Memory: a block of more than AHEAD_MAX normals is drawn on demand only (the same numbers)."""
    from cosim import worker
    from cosim.analog.devices import normals

    monkeypatch.setattr(normals, "AHEAD_MAX", 100)
    stream, reference = normals.NormalStream(np.random.default_rng(2)), np.random.default_rng(2)
    worker.set_background(True)
    try:
        np.testing.assert_array_equal(stream.take(101), reference.standard_normal(101))
        assert not stream._ahead
        np.testing.assert_array_equal(stream.take(50), reference.standard_normal(50))
        assert len(stream._ahead) == normals.AHEAD
    finally:
        worker.set_background(False)

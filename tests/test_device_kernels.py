"""The one-pass device kernels against the straightforward numpy formulas, in float64."""

import numpy as np
import pytest

from cosim.analog.device_kernels import noisy_read, settle, standard_normal
from cosim.analog.devices import DeviceArray, DeviceModel

G_MIN, G_MAX = 1e-6, 2.5e-5


def straightforward_settle(target, clip_target, gain, noise, sigma, stuck):
    g = np.clip(target, G_MIN, G_MAX) if clip_target else target
    if gain is not None:
        g = g * gain
    if noise is not None:
        g = g + sigma * noise
    g = np.clip(g, G_MIN, G_MAX)
    if stuck is not None:
        g = np.where(stuck < 0, G_MIN, np.where(stuck > 0, G_MAX, g))
    return g


@pytest.mark.parametrize("clip_target", [True, False])
@pytest.mark.parametrize("defects", [True, False])
def test_settle_matches_numpy(clip_target, defects):
    rng = np.random.default_rng(0)
    shape = (37, 23)
    target = rng.uniform(-1e-6, 3e-5, shape)  # some beyond the range on both sides
    gain = rng.uniform(0.8, 1.2, shape) if defects else None
    noise = rng.standard_normal(shape) if defects else None
    stuck = rng.integers(-1, 2, shape).astype(np.int8) if defects else None
    sigma = 0.01 * (G_MAX - G_MIN)
    got = settle(target, clip_target, gain, noise, sigma, G_MIN, G_MAX, stuck, np.empty(shape))
    np.testing.assert_allclose(got, straightforward_settle(target, clip_target, gain, noise, sigma, stuck),
                               rtol=1e-15, atol=0)


def test_noisy_read_matches_numpy():
    rng = np.random.default_rng(1)
    g, noise = rng.uniform(G_MIN, G_MAX, (40, 30)), 30 * rng.standard_normal((40, 30))  # some reads floored at 0
    got = noisy_read(g, noise, 0.05, np.empty_like(g))
    np.testing.assert_allclose(got, np.maximum(g * (1 + 0.05 * noise), 0.0), rtol=1e-15, atol=0)
    assert (got == 0).any()


def test_noise_is_float32_drawn_into_a_reused_buffer():
    rng = np.random.default_rng(2)
    buffer = standard_normal(rng, None, (5, 4))
    assert buffer.dtype == np.float32 and standard_normal(rng, buffer, (5, 4)) is buffer
    model = DeviceModel(g_min=G_MIN, g_max=G_MAX, programming_noise=0.01, read_noise=0.01, variability=0.05,
                        stuck_at_min=0.1, stuck_at_max=0.1)
    devices = DeviceArray(model, (50, 40), np.random.default_rng(3))
    held = devices.program(np.full((50, 40), 1e-5, np.float32))
    assert held.dtype == np.float64 and np.mean(held == G_MIN) == pytest.approx(0.1)
    noise = devices._noise
    devices.read(), devices.update(np.full((50, 40), 2e-5))
    assert devices._noise is noise

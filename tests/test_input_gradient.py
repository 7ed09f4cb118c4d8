"""Training skips dL/dinput of the chain's first block (a digital product, or an analog block's source-current
read and GEMM); the parameter gradients are those of the full backward pass, in float64."""

from pathlib import Path

import numpy as np
import pytest

from cosim.config.loader import load_config
from cosim.runner import prepare

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["model.dtype=float64", "data.dataset=synthetic", "data.n_train=64", "data.n_test=32"]
CASES = {  # digital first (linear front end), on the noisy default chip; analog first, on an ideal chip
    "digital first": ("default.yaml", ["model.blocks.0.ops.0.out_features=32", "model.blocks.1.hidden=[16]",
                                       "model.blocks.1.outputs=16", "model.blocks.3.hidden=[16]"]),
    "analog first": ("fmnist_drn.yaml", ["model.blocks.0.hidden=[24]"]),
}


def gradients(name: str, input_gradient: bool):
    """The chain's parameter gradients, dL/dinput and the chip's report after one forward and backward."""
    config_file, overrides = CASES[name]
    session = prepare(load_config(ROOT / "chip_configs" / config_file, SMALL + overrides))
    chain, data = session.chain, session.dataset
    out = chain.forward(data.train_x[:32], training=True)
    _, grad_x = chain.backward(out, data.train_y[:32], input_gradient=input_gradient)
    return [g.copy() for block in chain.blocks for g in block.gradients], grad_x, session.chip.ledger.report()


@pytest.mark.parametrize("name", CASES)
def test_skipping_the_input_gradient_keeps_the_parameter_gradients(name):
    full, grad_x, report_full = gradients(name, True)
    skipped, none, report_skipped = gradients(name, False)
    assert grad_x is not None and grad_x.dtype == np.float64 and none is None
    assert len(full) == len(skipped)
    for a, b in zip(full, skipped):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=0)
    components = [c.decode() for c in report_full["components"]]
    assert report_skipped["components"] == report_full["components"]
    if name == "analog first":  # the first tile's current ADCs read nothing (the only tile: no ADC energy left)
        adc = components.index("adc")
        assert report_skipped["per_phase_J"][adc].sum() < report_full["per_phase_J"][adc].sum()

"""Every shipped config loads and builds; the default chip and its ideal twin differ only in the chip."""

from pathlib import Path

import pytest

from cosim.config import load_config, to_dict
from cosim.data import load_dataset
from cosim.errors import DatasetNotFoundError
from cosim.runner import prepare

CONFIGS = sorted((Path(__file__).parents[1] / "chip_configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_config_loads_and_builds(path):
    config = load_config(path)
    try:
        load_dataset(config.data.dataset, path=config.data.path, n_train=1, n_test=1)
    except DatasetNotFoundError:
        pytest.skip(f"{config.data.dataset} is not installed here")
    session = prepare(load_config(path, ["data.n_train=64", "data.n_test=64"]))
    assert session.chain.blocks


def test_default_chip_and_its_ideal_twin_differ_only_in_the_chip_non_idealities():
    root = Path(__file__).parents[1] / "chip_configs"
    real, ideal = (to_dict(load_config(root / name)) for name in ("default.yaml", "default_ideal.yaml"))
    real_tile, ideal_tile = real.pop("chip")["tile"], ideal.pop("chip")["tile"]
    assert real == ideal
    for key in ("input_dac", "nudge_dac", "output_adc", "node_adc", "current_adc"):
        assert real_tile[key]["ideal"] is False and real_tile[key]["bits"] == 8
        assert ideal_tile[key]["ideal"] is True
    for key in ("g_min_S", "g_max_S"):
        assert real_tile["device"][key] == ideal_tile["device"][key]
    assert real_tile["device"]["read_noise"] > 0 and ideal_tile["device"]["read_noise"] == 0

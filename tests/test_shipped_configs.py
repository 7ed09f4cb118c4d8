"""Every shipped config loads and builds (the path of `cosim run` up to training), with its dataset or, where
that is absent, with synthetic data of the dataset's shape; the default chip and its ideal twin differ only
in the chip."""

import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from cosim.config import load_config, to_dict
from cosim.data import DATASETS, load_dataset, make_synthetic
from cosim.errors import DatasetNotFoundError
from cosim.runner import prepare

ROOT = Path(__file__).parents[1]
CONFIGS = sorted((ROOT / "chip_configs").glob("*.yaml")) + sorted((ROOT / "tests" / "configs").glob("*.yaml"))
SMALL = ["data.n_train=64", "data.n_test=64"]


@dataclass(frozen=True)
class LookAlike:
    """A stand-in for a file dataset: Gaussian clusters with its sample shape and number of classes."""

    input_shape: tuple[int, ...]
    n_classes: int
    options: tuple[str, ...] = ()

    def load(self, name, path, n_train, n_test, seed):
        splits = make_synthetic(n_train or 64, n_test or 64, n_features=math.prod(self.input_shape),
                                n_classes=self.n_classes, seed=seed)
        return splits, self.n_classes, self.input_shape


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_config_builds_on_data_of_its_datasets_shape(path, monkeypatch):
    batch = load_config(path).data.batch_size  # at least one full batch to train on
    config = load_config(path, [f"data.n_train={max(64, batch)}", "data.n_test=64"])
    source = DATASETS[config.data.dataset]
    if hasattr(source, "input_shape"):  # a file dataset: its files need not be here
        monkeypatch.setitem(DATASETS, config.data.dataset, LookAlike(source.input_shape, source.n_classes))
    trainer = prepare(config)
    assert len(trainer.chain.blocks) == len(config.model.blocks)
    assert trainer.dataset.input_shape == getattr(source, "input_shape", trainer.dataset.input_shape)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_config_builds_on_its_dataset(path):
    config = load_config(path)
    try:
        load_dataset(config.data.dataset, path=config.data.path, n_train=1, n_test=1)
    except DatasetNotFoundError:
        pytest.skip(f"{config.data.dataset} is not installed here")
    session = prepare(load_config(path, SMALL))
    assert session.chain.blocks


def test_default_chip_and_its_ideal_twin_differ_only_in_the_chip_non_idealities():
    root = ROOT / "chip_configs"
    real, ideal = (to_dict(load_config(root / name)) for name in ("default.yaml", "default_ideal.yaml"))
    real_tile, ideal_tile = real.pop("chip")["tile"], ideal.pop("chip")["tile"]
    assert real == ideal
    for key in ("input_dac", "nudge_dac", "output_adc", "node_adc", "current_adc"):
        assert real_tile[key]["ideal"] is False and real_tile[key]["bits"] == 8
        assert ideal_tile[key]["ideal"] is True
    for key in ("g_min_S", "g_max_S"):
        assert real_tile["device"][key] == ideal_tile["device"][key]
    assert real_tile["device"]["read_noise_1f"] > 0 and ideal_tile["device"]["read_noise_1f"] == 0  # pcm preset
    assert real_tile["device"]["preset"] == "pcm" and ideal_tile["device"]["read_noise"] == 0

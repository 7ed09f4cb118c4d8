"""Dataset loading: IDX and CIFAR-10 readers, lookup order, errors, subsampling, normalisation, batching."""

import fractions
import gzip
import math
import warnings
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from cosim import array_cache, data
from cosim.data import iterate_batches, load_dataset, one_hot, read_cifar10_batches, read_idx
from cosim.errors import CosimError, DatasetNotFoundError

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}
FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, IDX_CODES[array.dtype.type], array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(directory: Path, n_train: int, n_test: int, seed: int = 0, gz: bool = True) -> None:
    """A tiny MNIST-like dataset: images (n, 28, 28) uint8 and labels 0..9."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        for kind, array in (
            ("images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
            ("labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8)),
        ):
            raw = idx_bytes(array)
            name = f"{prefix}-{kind}"
            (directory / (f"{name}.gz" if gz else name)).write_bytes(gzip.compress(raw) if gz else raw)


@pytest.fixture(autouse=True)
def no_outside_data(monkeypatch, tmp_path):
    """Tests see no $COSIM_DATA and an empty system dataset directory unless they set them."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "SYSTEM_DATA_DIR", tmp_path / "system")
    monkeypatch.setattr(data, "USER_CACHE", tmp_path / "user-cache")


@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, dtype, gz):
    array = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    raw = idx_bytes(array)
    path = tmp_path / "file.idx"  # no .gz suffix either way: compression is found by magic bytes
    path.write_bytes(gzip.compress(raw) if gz else raw)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda raw: raw[:-1],  # truncated data
        lambda raw: raw + b"\0",  # trailing bytes
        lambda raw: raw[:6],  # truncated header
        lambda raw: b"",
        lambda raw: b"\1" + raw[1:],  # bad magic
        lambda raw: raw[:2] + b"\x07" + raw[3:],  # unknown dtype code
        lambda raw: raw[:3] + b"\0" + raw[4:],  # zero dimensions
        lambda raw: gzip.compress(raw)[:-10],  # truncated gzip stream
        lambda raw: gzip.compress(raw)[:-8] + b"\xff" * 8,  # bad gzip checksum
    ],
)
def test_corrupt_idx_raises_naming_file(tmp_path, corrupt):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(corrupt(idx_bytes(np.zeros((4, 28, 28), np.uint8))))
    with pytest.raises(CosimError, match="broken-idx3-ubyte"):
        read_idx(path)


def test_mnist_labels_must_match_images(tmp_path):
    write_mnist(tmp_path, 6, 4)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(5, np.uint8))))
    with pytest.raises(CosimError, match="train-labels-idx1-ubyte"):
        load_dataset("mnist", path=tmp_path)


def write_cifar(directory: Path, n: int = 3) -> None:
    """Six batches of ``n`` images; pixel values and labels encode the batch index and position."""
    directory.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for b, name in enumerate(names):
        pixels = (np.arange(n * 3072) + b).reshape(n, 3072) % 251
        labels = [(b + i) % 10 for i in range(n)]
        (directory / name).write_bytes(pickle.dumps({b"data": pixels.astype(np.uint8), b"labels": labels}))


def test_cifar10_batches_shapes_and_order(tmp_path):
    write_cifar(tmp_path)
    train_x, train_y, test_x, test_y = read_cifar10_batches(tmp_path)
    assert train_x.shape == (15, 3, 32, 32) and test_x.shape == (3, 3, 32, 32)
    assert train_y.tolist() == [(b + i) % 10 for b in range(5) for i in range(3)]
    assert test_y.tolist() == [5, 6, 7]
    first = (np.arange(3072) % 251).astype(np.uint8)
    np.testing.assert_array_equal(train_x[0, 1], first[1024:2048].reshape(32, 32))  # channel-major rows
    np.testing.assert_array_equal(train_x[3].ravel(), (first.astype(int) + 1) % 251)  # batch 2 follows batch 1


@pytest.mark.parametrize("subdir", ["cifar-10-batches-py", ""])
def test_cifar10_found_in_subdirectory_or_directory(tmp_path, subdir):
    write_cifar(tmp_path / "c10" / subdir if subdir else tmp_path / "c10")
    dataset = load_dataset("cifar10", path=tmp_path / "c10", normalize="unit", flatten=False)
    assert dataset.train_x.shape == (15, 3, 32, 32) and dataset.input_shape == (3, 32, 32)


def test_cifar10_refuses_foreign_pickles(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": fractions.Fraction(1, 3), b"labels": []}))
    with pytest.raises(CosimError, match="test_batch"):
        read_cifar10_batches(tmp_path)


def test_lookup_order(tmp_path, monkeypatch):
    write_mnist(tmp_path / "system" / "mnist", 3, 2)
    assert len(load_dataset("mnist").train_x) == 3
    write_mnist(tmp_path / "env" / "mnist", 4, 2, gz=False)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    assert len(load_dataset("mnist").train_x) == 4
    write_mnist(tmp_path / "explicit", 5, 2)
    assert len(load_dataset("mnist", path=tmp_path / "explicit").train_x) == 5
    with pytest.raises(DatasetNotFoundError, match="empty \\(given path\\): does not exist. To get it"):
        load_dataset("mnist", path=tmp_path / "empty")  # a given path is the only place looked


def test_missing_dataset_message(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    (tmp_path / "env" / "fashion-mnist").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("fashion-mnist")
    message = str(info.value)
    for place in (tmp_path / "env" / "fashion-mnist", tmp_path / "system" / "fashion-mnist"):
        assert str(place) in message
    assert "'fashion-mnist'" in message and "sudo apt-get install dataset-fashion-mnist" in message
    assert "lacks train-images-idx3-ubyte" in message and "$COSIM_DATA" in message
    assert isinstance(info.value, FileNotFoundError)


def test_missing_mnist_says_where_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist")
    for hint in ("http://yann.lecun.com/exdb/mnist/", "t10k-labels-idx1-ubyte", "$COSIM_DATA is not set"):
        assert hint in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"name": "mnst"}, "cifar10, fashion-mnist, imagenet32, kmnist, mnist, synthetic"),
        ({"name": "synthetic", "normalize": "zscore"}, "none, standard, unit"),
        ({"name": "mnist", "n_features": 10}, "does not take n_features"),
        ({"name": "synthetic", "path": "/data"}, "reads no files"),
        ({"name": "synthetic", "n_classes": 1}, "n_classes >= 2"),
    ],
)
def test_bad_requests_name_the_valid_choices(kwargs, pattern):
    with pytest.raises(CosimError, match=pattern):
        load_dataset(**kwargs)


def test_subsampling_is_seeded(tmp_path):
    write_mnist(tmp_path, 60, 30)

    def pick(seed):
        dataset = load_dataset("mnist", path=tmp_path, n_train=20, n_test=10, seed=seed, normalize="none")
        return dataset.train_x, dataset.test_x

    assert all(np.array_equal(a, b) for a, b in zip(pick(1), pick(1)))
    assert not any(np.array_equal(a, b) for a, b in zip(pick(1), pick(2)))
    assert pick(1)[0].shape == (20, 784)
    with pytest.raises(CosimError, match="asked for 61 samples of the mnist training split, which has 60"):
        load_dataset("mnist", path=tmp_path, n_train=61)


def test_normalisation(tmp_path):
    write_mnist(tmp_path, 40, 20, gz=False)
    raw = load_dataset("mnist", path=tmp_path, normalize="none", dtype=np.float64)
    std = load_dataset("mnist", path=tmp_path, normalize="standard", dtype=np.float64)
    unit = load_dataset("mnist", path=tmp_path, normalize="unit")
    assert raw.train_x.max() > 250 and raw.train_y.dtype == np.int64
    assert (std.shift, std.scale) == pytest.approx((raw.train_x.mean(), raw.train_x.std()))
    assert std.train_x.mean() == pytest.approx(0, abs=1e-12) and std.train_x.std() == pytest.approx(1)
    np.testing.assert_allclose(std.test_x, (raw.test_x - std.shift) / std.scale)  # training statistics only
    assert unit.train_x.dtype == np.float32 and (unit.shift, unit.scale) == (0.0, 255.0)
    np.testing.assert_allclose(unit.test_x, raw.test_x / 255, rtol=1e-6)


def test_batches_cover_each_sample_once():
    x, y = np.arange(23)[:, None] * np.ones(3), np.arange(23)
    rng = np.random.default_rng(0)
    epochs = [list(iterate_batches(x, y, 5, rng)) for _ in range(2)]
    for batches in epochs:
        assert [len(yb) for _, yb in batches] == [5, 5, 5, 5, 3]
        seen = np.concatenate([yb for _, yb in batches])
        assert sorted(seen) == list(range(23)) and not np.array_equal(seen, y)
        assert all(np.array_equal(xb[:, 0], yb) for xb, yb in batches)
    assert not np.array_equal(*(np.concatenate([yb for _, yb in b]) for b in epochs))
    in_order = np.concatenate([yb for _, yb in iterate_batches(x, y, 5, None)])
    np.testing.assert_array_equal(in_order, y)
    assert [len(yb) for _, yb in iterate_batches(x, y, 5, None, drop_last=True)] == [5, 5, 5, 5]


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3, np.float64), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(CosimError):
        one_hot(np.array([3]), 3)


def test_synthetic_is_seeded_and_learnable():
    dataset, again, other = (load_dataset("synthetic", seed=seed) for seed in (3, 3, 4))
    np.testing.assert_array_equal(dataset.test_x, again.test_x)
    assert not np.array_equal(dataset.train_x, other.train_x)
    assert dataset.train_x.shape == (2000, 784) and dataset.test_x.shape == (500, 784)
    assert dataset.n_classes == 10 and dataset.input_shape == (784,)
    features = np.c_[dataset.train_x, np.ones(2000)]
    weights = np.linalg.lstsq(features, one_hot(dataset.train_y, 10), rcond=None)[0]
    predicted = np.argmax(np.c_[dataset.test_x, np.ones(500)] @ weights, axis=1)
    assert np.mean(predicted == dataset.test_y) > 0.8


def test_synthetic_options():
    dataset = load_dataset("synthetic", n_train=12, n_test=6, n_features=5, n_classes=3, normalize="unit")
    assert dataset.train_x.shape == (12, 5) and dataset.n_classes == 3
    assert sorted(np.bincount(dataset.train_y)) == [4, 4, 4]
    assert dataset.train_x.min() == 0 and dataset.train_x.max() == pytest.approx(1)


@pytest.mark.skipif(not FASHION.is_dir(), reason="needs `sudo apt-get install dataset-fashion-mnist`")
def test_real_fashion_mnist(monkeypatch):
    monkeypatch.setattr(data, "SYSTEM_DATA_DIR", FASHION.parent)
    dataset = load_dataset("fashion-mnist")
    assert dataset.train_x.shape == (60000, 784) and dataset.test_x.shape == (10000, 784)
    assert set(np.unique(dataset.train_y)) == set(range(10)) == set(np.unique(dataset.test_y))
    assert dataset.input_shape == (1, 28, 28) and dataset.n_classes == 10


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "kmnist"])
def test_idx_datasets_from_cosim_data(tmp_path, monkeypatch, name):
    write_mnist(tmp_path / "env" / name, 7, 3)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    dataset = load_dataset(name, flatten=False)
    assert dataset.train_x.shape == (7, 1, 28, 28) and dataset.test_y.tolist() == [0, 1, 2] and dataset.name == name


def _refuse_to_parse(monkeypatch):
    """Make reading the IDX files fail: what loads afterwards came from the cache."""
    monkeypatch.setattr(data, "read_idx", lambda path: pytest.fail(f"parsed {path} instead of using the cache"))


def test_a_second_load_maps_the_cache_and_gives_the_same_arrays(tmp_path, monkeypatch):
    write_mnist(tmp_path / "d", 30, 10)
    first = load_dataset("mnist", path=tmp_path / "d", n_train=20)
    assert (tmp_path / "d" / data.CACHE_NAME).is_file()  # beside the data
    _refuse_to_parse(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = load_dataset("mnist", path=tmp_path / "d", n_train=20)
    for name in ("train_x", "train_y", "test_x", "test_y"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert (first.shift, first.scale) == (second.shift, second.scale)


def test_changed_files_are_read_afresh(tmp_path):
    write_mnist(tmp_path, 12, 4, seed=0)
    before = load_dataset("mnist", path=tmp_path, normalize="none").train_x
    write_mnist(tmp_path, 12, 4, seed=1)  # same sizes, other pixels
    after = load_dataset("mnist", path=tmp_path, normalize="none").train_x
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, load_dataset("mnist", path=tmp_path, normalize="none").train_x)


@pytest.mark.parametrize("damage", [
    lambda raw: raw[:-100],  # truncated
    lambda raw: raw[:-100] + bytes(b ^ 0xFF for b in raw[-100:]),  # flipped bytes in the labels
    lambda raw: b"garbage",
    lambda raw: raw[:8] + b"\xff" * 8 + raw[16:],  # header length overwritten
    lambda raw: b"",
])
def test_a_corrupt_cache_is_rebuilt_with_a_warning(tmp_path, damage):
    write_mnist(tmp_path, 12, 4)
    expected = load_dataset("mnist", path=tmp_path).train_x
    cache = tmp_path / data.CACHE_NAME
    cache.write_bytes(damage(cache.read_bytes()))
    with pytest.warns(data.DataCacheWarning, match=f"{data.CACHE_NAME} is unusable.*rebuilding it"):
        np.testing.assert_array_equal(load_dataset("mnist", path=tmp_path).train_x, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rebuilt: the next load is quiet
        np.testing.assert_array_equal(load_dataset("mnist", path=tmp_path).train_x, expected)


def test_a_cache_that_cannot_be_written_leaves_the_load_as_it_was(tmp_path, monkeypatch):
    write_mnist(tmp_path / "d", 12, 4)
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setattr(data, "cache_path", lambda directory: tmp_path / "file" / "cache")
    with pytest.warns(data.DataCacheWarning, match="cannot write the dataset cache"):
        assert load_dataset("mnist", path=tmp_path / "d").train_x.shape == (12, 784)


def test_system_datasets_are_cached_in_the_users_cache(tmp_path):
    write_mnist(tmp_path / "system" / "mnist", 12, 4)
    load_dataset("mnist")
    assert not (tmp_path / "system" / "mnist" / data.CACHE_NAME).exists()  # nothing written beside system data
    assert len(list((tmp_path / "user-cache").iterdir())) == 1


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64, np.int64])
def test_array_cache_round_trip_and_key(tmp_path, dtype):
    arrays = {"a": (np.arange(3 * 5 * 7) - 9).astype(dtype).reshape(3, 5, 7), "empty": np.zeros((0, 4), dtype),
              "scalar": np.asarray(7, dtype), "big_endian": np.arange(5, dtype=">i4")}
    array_cache.write(tmp_path / "c", [["f", 1, 2]], arrays)
    back = array_cache.read(tmp_path / "c", [["f", 1, 2]])
    for name, array in arrays.items():
        assert back[name].dtype.isnative and not back[name].flags.writeable
        np.testing.assert_array_equal(back[name], array)
    assert array_cache.read(tmp_path / "c", [["f", 1, 3]]) is None  # another key: stale, not corrupt


def test_standardisation_of_pixels_is_exact():
    pixels = np.random.default_rng(0).integers(0, 256, (1000, 28, 28), dtype=np.uint8)
    shift, scale = data._standard(pixels)
    exact = fractions.Fraction(int(pixels.sum(dtype=np.int64)), pixels.size)
    assert shift == float(exact)
    variance = fractions.Fraction(int((pixels.astype(np.int64) ** 2).sum()), pixels.size) - exact**2
    assert scale == math.sqrt(variance)
    assert math.isclose(scale, pixels.std(dtype=np.float64), rel_tol=1e-15)  # numpy's float64 two-pass figure

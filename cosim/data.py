"""Datasets: IDX files (MNIST family), CIFAR-10 python batches, ImageNet32 batches and a synthetic set; normalisation, batching.

A file dataset is read from an explicit ``path`` when one is given (and only there); otherwise from
``$COSIM_DATA/<name>/``, then ``/usr/share/datasets/<name>/``. Every file may be gzipped (recognised by
its magic bytes, not its name).

Decoded file datasets are cached (:mod:`cosim.array_cache`): the first load writes the raw arrays to
``.cosim-cache`` beside the files (for system datasets, or where that directory is not writable, to
``~/.cache/cosim/datasets/``), later loads map that file instead of unzipping and parsing (Fashion-MNIST:
40-70 ms instead of 0.3-1 s). The cache is keyed by the source files' names, sizes and SHA-256s, so
changed files are read afresh; a corrupt cache is rebuilt with a :class:`DataCacheWarning`; one that
cannot be written leaves the load as it was, with the same warning.
"""

from __future__ import annotations

import fractions
import gzip
import hashlib
import io
import math
import os
import pickle
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cosim import array_cache
from cosim.errors import CosimError, DatasetNotFoundError

ENV_VAR = "COSIM_DATA"
SYSTEM_DATA_DIR = Path("/usr/share/datasets")

_GZIP_MAGIC = b"\x1f\x8b"
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR10_TEST = "test_batch"
_CIFAR10_SUBDIR = "cifar-10-batches-py"
_SYNTHETIC_CLASSES = 10
_IMAGENET32_TRAIN = tuple(f"train_data_batch_{i}" for i in range(1, 11))
_IMAGENET32_TEST = "val_data"
CACHE_NAME = ".cosim-cache"
USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cosim" / "datasets"


class DataCacheWarning(UserWarning):
    """The decoded-dataset cache was corrupt (and is rebuilt) or could not be written."""


class Splits(NamedTuple):
    """Raw training and test arrays of a dataset, samples along the first axis."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


@dataclass
class Dataset:
    """A loaded dataset: ``x = (raw - shift) / scale``, labels int64 in ``[0, n_classes)``."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    n_classes: int
    name: str
    input_shape: tuple[int, ...]  # one sample's shape before flattening, e.g. (1, 28, 28)
    shift: float
    scale: float


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic bytes."""
    try:
        raw = Path(path).read_bytes()
        return gzip.decompress(raw) if raw.startswith(_GZIP_MAGIC) else raw
    except (OSError, EOFError, zlib.error) as exc:
        raise CosimError(f"cannot read {path}: {exc}") from exc


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (plain or gzipped) into a native-endian array; a malformed file raises CosimError."""
    data = _read_bytes(path)
    if len(data) < 4 or data[:2] != b"\0\0":
        raise CosimError(f"{path} is not an IDX file: its first bytes are {data[:4].hex() or 'missing'}")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise CosimError(f"{path}: unknown IDX type code 0x{code:02x} (valid: {', '.join(map(hex, _IDX_DTYPES))})")
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise CosimError(f"{path}: IDX header declares {ndim} dimensions but the file has {len(data)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = header + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise CosimError(
            f"{path}: IDX shape {shape} of {dtype.name} needs {expected} bytes but the file has {len(data)} "
            f"({'truncated' if len(data) < expected else 'trailing bytes'})"
        )
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _file(directory: Path, stem: str) -> Path:
    """``directory/stem`` or else ``directory/stem.gz`` (or ``.npz``) if only that exists."""
    other = [directory / f"{stem}{ext}" for ext in (".gz", ".npz") if (directory / f"{stem}{ext}").is_file()]
    return other[0] if other and not (directory / stem).is_file() else directory / stem


def read_idx_dataset(directory: str | Path) -> Splits:
    """The four MNIST-family IDX files (each plain or ``.gz``) in ``directory``."""
    directory = Path(directory)
    paths = [_file(directory, stem) for stem in _IDX_FILES]
    arrays = [read_idx(p) for p in paths]
    for i in (0, 2):
        images, labels = arrays[i], arrays[i + 1]
        if labels.ndim != 1 or len(labels) != len(images):
            raise CosimError(f"{paths[i + 1]} holds labels of shape {labels.shape} for {len(images)} images")
    return Splits(*arrays)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what CIFAR-10 batches contain (numpy arrays, lists, bytes); never runs other code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _images_32(path: Path, images, labels) -> tuple[np.ndarray, np.ndarray]:
    """Rows (N, 3072) and labels of a batch file as images (N, 3, 32, 32) uint8 and int64 labels."""
    images, labels = np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int64)
    if images.ndim != 2 or images.shape[1] != 3 * 32 * 32 or labels.shape != (len(images),):
        raise CosimError(f"{path}: data {images.shape} and labels {labels.shape} do not match (N, 3072) and (N,)")
    return images.reshape(-1, 3, 32, 32), labels


def _read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels of one CIFAR-10 batch file."""
    try:
        batch = _BatchUnpickler(io.BytesIO(_read_bytes(path)), encoding="bytes").load()
        return _images_32(path, batch[b"data"], batch[b"labels"])
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as exc:
        raise CosimError(f"{path} is not a CIFAR-10 python batch: {exc!r}") from exc


def read_cifar10_batches(directory: str | Path) -> Splits:
    """CIFAR-10 "python version" batches in ``directory`` (``data_batch_1..5``, ``test_batch``), as (N, 3, 32, 32)."""
    directory = Path(directory)
    read = [_read_cifar10_batch(_file(directory, stem)) for stem in _CIFAR10_TRAIN]
    test_x, test_y = _read_cifar10_batch(_file(directory, _CIFAR10_TEST))
    return Splits(np.concatenate([x for x, _ in read]), np.concatenate([y for _, y in read]), test_x, test_y)


def _read_imagenet32_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8, labels 0..999: a pickled dict or .npz of data (N, 3072), labels 1..1000."""
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as batch:
                return _images_32(path, batch["data"], batch["labels"] - 1)
        batch = _BatchUnpickler(io.BytesIO(_read_bytes(path)), encoding="latin1").load()
        return _images_32(path, batch["data"], np.asarray(batch["labels"]) - 1)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as exc:
        raise CosimError(f"{path} is not an ImageNet32 batch: {exc!r}") from exc


def read_imagenet32_batches(directory: str | Path) -> Splits:
    """Downsampled ImageNet 32x32 (``train_data_batch_1..10``, ``val_data``: the test split) in ``directory``."""
    read = [_read_imagenet32_batch(_file(Path(directory), stem)) for stem in (*_IMAGENET32_TRAIN, _IMAGENET32_TEST)]
    return Splits(*(np.concatenate([r[i] for r in read[:-1]]) for i in (0, 1)), *read[-1])


def make_synthetic(
    n_train: int,
    n_test: int,
    n_features: int = 784,
    n_classes: int = _SYNTHETIC_CLASSES,
    class_sep: float = 6.0,
    seed: int = 0,
) -> Splits:
    """Gaussian clusters: centres of norm about ``class_sep``, unit-variance noise, balanced labels."""
    if min(n_train, n_test, n_features) < 1 or n_classes < 2:
        raise CosimError(
            f"synthetic dataset needs n_train, n_test, n_features >= 1 and n_classes >= 2; got "
            f"n_train={n_train}, n_test={n_test}, n_features={n_features}, n_classes={n_classes}"
        )
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, class_sep / math.sqrt(n_features), (n_classes, n_features))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.permutation(np.arange(n) % n_classes)
        return centres[labels] + rng.standard_normal((n, n_features)), labels

    return Splits(*draw(n_train), *draw(n_test))


@dataclass(frozen=True)
class _FileSource:
    """A dataset read from files: which files, where inside a place, how to read them, how to get them."""

    files: tuple[str, ...]
    read: Callable[[Path], Splits]
    input_shape: tuple[int, ...]
    how_to_get: str
    subdirs: tuple[str, ...] = ("",)
    n_classes: int = 10
    options: tuple[str, ...] = ()

    def load(self, name: str, path, n_train, n_test, seed: int) -> tuple[Splits, int, tuple[int, ...]]:
        """The located files' splits, subsampled with independent seeded streams; n_classes; input shape."""
        raw = self.read_cached(self.locate(name, path))
        rng_train, rng_test = np.random.default_rng(seed).spawn(2)
        splits = Splits(
            *_subsample(raw.train_x, raw.train_y, n_train, rng_train, f"{name} training"),
            *_subsample(raw.test_x, raw.test_y, n_test, rng_test, f"{name} test"),
        )
        return splits, self.n_classes, self.input_shape

    def read_cached(self, directory: Path) -> Splits:
        """The splits of the files in ``directory``, through the cache described in the module docstring."""
        files = [_file(directory, stem) for stem in self.files]
        key = [[f.name, *_size_and_digest(f)] for f in files]
        cache = cache_path(directory)
        try:
            arrays = array_cache.read(cache, key) if cache.is_file() else None
            if arrays is not None:
                return Splits(**arrays)
        except (OSError, array_cache.CorruptCache, TypeError) as exc:
            warnings.warn(f"dataset cache {cache} is unusable ({exc}); rebuilding it from {directory}",
                          DataCacheWarning, stacklevel=2)
        splits = self.read(directory)
        try:
            array_cache.write(cache, key, splits._asdict())
        except OSError as exc:
            warnings.warn(f"cannot write the dataset cache {cache} ({exc}); {directory} is read from its files "
                          "every time", DataCacheWarning, stacklevel=2)
        return splits

    def missing(self, directory: Path) -> list[str]:
        """The required files absent from ``directory`` (all of them when it does not exist)."""
        return [stem for stem in self.files if not _file(directory, stem).is_file()]

    def locate(self, name: str, path) -> Path:
        """The first place holding every file, or DatasetNotFoundError naming each place looked."""
        tried = []
        for label, place in _places(name, path):
            for directory in (place / sub if sub else place for sub in self.subdirs):
                absent = self.missing(directory)
                if not absent:
                    return directory
                why = "does not exist" if not directory.is_dir() else f"lacks {', '.join(absent)}"
                tried.append(f"{directory} ({label}): {why}")
        env_note = "" if os.environ.get(ENV_VAR) else f" (${ENV_VAR} is not set)"
        raise DatasetNotFoundError(
            f"dataset {name!r} not found; looked in{env_note}: " + "; ".join(tried) + ". "
            f"To get it: {self.how_to_get}. The directory must hold {', '.join(self.files)} (each may be "
            f"gzipped); put it at ${ENV_VAR}/{name}/ with ${ENV_VAR} set, or give its directory as the dataset path."
        )


@dataclass(frozen=True)
class _SyntheticSource:
    """The generated dataset: no files; ``options`` are passed to :func:`make_synthetic`."""

    n_train: int = 2000
    n_test: int = 500
    options: tuple[str, ...] = ("n_features", "n_classes", "class_sep")

    def load(self, name: str, path, n_train, n_test, seed: int, **options) -> tuple[Splits, int, tuple[int, ...]]:
        """Freshly generated splits of the requested sizes; n_classes; input shape."""
        if path is not None:
            raise CosimError(f"dataset {name!r} is generated and reads no files; remove its path ({path})")
        n_train = self.n_train if n_train is None else n_train
        splits = make_synthetic(n_train, self.n_test if n_test is None else n_test, seed=seed, **options)
        return splits, options.get("n_classes", _SYNTHETIC_CLASSES), splits.train_x.shape[1:]


def _size_and_digest(path: Path) -> tuple[int, str]:
    """A file's size (bytes) and SHA-256 (Fashion-MNIST's 30 MB: about 30 ms). Not a CRC-32: a gzip file of
    incompressible data stores it raw followed by its CRC, and every such file of one length has the same."""
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
        return f.tell(), digest


def cache_path(directory: Path) -> Path:
    """Where the decoded arrays of ``directory`` are cached: beside its files when it is writable and not a
    system dataset (nothing is written under /usr), else in the user's cache under a name made from its
    absolute path."""
    directory = directory.resolve()
    if os.access(directory, os.W_OK) and not directory.is_relative_to(SYSTEM_DATA_DIR.resolve()):
        return directory / CACHE_NAME
    return USER_CACHE / hashlib.sha256(str(directory).encode()).hexdigest()[:24]


def _places(name: str, path) -> list[tuple[str, Path]]:
    """Where a file dataset is looked for, in order, each with how it was chosen; a given path is the only one."""
    if path is not None:
        return [("given path", Path(path))]
    env = [(f"${ENV_VAR}/{name}", Path(os.environ[ENV_VAR]) / name)] if os.environ.get(ENV_VAR) else []
    return env + [("system datasets", SYSTEM_DATA_DIR / name)]


DATASETS = {
    "mnist": _FileSource(
        _IDX_FILES, read_idx_dataset, (1, 28, 28),
        "download the four .gz files from http://yann.lecun.com/exdb/mnist/ "
        "(mirror: https://ossci-datasets.s3.amazonaws.com/mnist/)",
    ),
    "fashion-mnist": _FileSource(
        _IDX_FILES, read_idx_dataset, (1, 28, 28),
        "run `sudo apt-get install dataset-fashion-mnist` (installs /usr/share/datasets/fashion-mnist/), or "
        "download the four .gz files from https://github.com/zalandoresearch/fashion-mnist",
    ),
    "kmnist": _FileSource(
        _IDX_FILES, read_idx_dataset, (1, 28, 28),
        "download the four .gz files from http://codh.rois.ac.jp/kmnist/dataset/kmnist/ "
        "(see https://github.com/rois-codh/kmnist)",
    ),
    "cifar10": _FileSource(
        (*_CIFAR10_TRAIN, _CIFAR10_TEST), read_cifar10_batches, (3, 32, 32),
        "download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and unpack it into the dataset "
        f"directory (it creates {_CIFAR10_SUBDIR}/, which is also searched)",
        subdirs=(_CIFAR10_SUBDIR, ""),
    ),
    "imagenet32": _FileSource(
        (*_IMAGENET32_TRAIN, _IMAGENET32_TEST), read_imagenet32_batches, (3, 32, 32),
        "unpack Imagenet32_train.zip and Imagenet32_val.zip (or the _npz ones) from https://image-net.org/"
        "download-images (Downsampled ImageNet 32x32) into the dataset directory", n_classes=1000,
    ),
    "synthetic": _SyntheticSource(),
}


def _subsample(x: np.ndarray, y: np.ndarray, n: int | None, rng: np.random.Generator, split: str):
    """``n`` samples drawn without replacement (all, in order, when ``n`` is None or all of them: sorted,
    every draw of all is the same, and ``rng`` serves nothing else)."""
    if n is None or n == len(x):
        return x, y
    if not 1 <= n <= len(x):
        raise CosimError(f"asked for {n} samples of the {split} split, which has {len(x)} (use 1..{len(x)})")
    idx = np.sort(rng.choice(len(x), n, replace=False))
    return x[idx], y[idx]


def _range(train: np.ndarray) -> tuple[float, float]:
    """Shift and scale mapping the pixel range onto [0, 1]: the dtype's range for integers, else the data's."""
    info = np.iinfo(train.dtype) if train.dtype.kind in "iu" else None
    lo, hi = (info.min, info.max) if info else (train.min(), train.max())
    return float(lo), float(hi) - float(lo)


def _standard(train: np.ndarray) -> tuple[float, float]:
    """Shift and scale giving the training split zero mean and unit standard deviation (one scalar pair).

    Integers of up to 16 bits (pixels): from exact integer sums of x and x^2 (in int64, while they cannot
    overflow), with no float64 copy of the set (Fashion-MNIST: 50 ms instead of 0.1-1 s); the correctly
    rounded results, which numpy's float64 two-pass figures equal or miss by an ulp."""
    info = np.iinfo(train.dtype) if train.dtype.kind in "iu" and train.dtype.itemsize <= 2 else None
    if info is not None and train.size * max(-int(info.min), int(info.max)) ** 2 < 2**63:
        flat = train.reshape(-1)
        n, s1 = flat.size, int(flat.sum(dtype=np.int64))
        s2 = int(np.einsum("i,i->", flat, flat, dtype=np.int64, casting="unsafe"))
        return s1 / n, math.sqrt(fractions.Fraction(n * s2 - s1 * s1, n * n))
    return float(train.mean(dtype=np.float64)), float(train.std(dtype=np.float64))


NORMALIZATIONS: dict[str, Callable[[np.ndarray], tuple[float, float]]] = {
    "standard": _standard,
    "unit": _range,
    "none": lambda train: (0.0, 1.0),
}


def _check_name(kind: str, name: str, valid) -> None:
    if name not in valid:
        raise CosimError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(valid))}")


def load_dataset(
    name: str,
    path: str | Path | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    normalize: str = "standard",
    flatten: bool = True,
    dtype=np.float32,
    **options,
) -> Dataset:
    """Load, subsample (seeded), normalise and optionally flatten a known dataset (see ``DATASETS``).

    ``options`` go to generated datasets (synthetic: n_features, n_classes, class_sep).
    """
    _check_name("dataset", name, DATASETS)
    _check_name("normalization", normalize, NORMALIZATIONS)
    source = DATASETS[name]
    unknown = sorted(set(options) - set(source.options))
    if unknown:
        raise CosimError(
            f"dataset {name!r} does not take {', '.join(unknown)}; "
            f"it takes: {', '.join(source.options) or 'no options'}"
        )
    raw, n_classes, input_shape = source.load(name, path, n_train, n_test, seed, **options)
    shift, scale = NORMALIZATIONS[normalize](raw.train_x)
    if scale <= 0:
        raise CosimError(f"cannot normalise {name!r} with {normalize!r}: the training images are constant")

    def prepare(x: np.ndarray, y: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
        if math.prod(x.shape[1:]) != math.prod(input_shape):
            raise CosimError(f"{name} {split} samples have shape {x.shape[1:]}, expected {input_shape}")
        if y.size and not 0 <= y.min() <= y.max() < n_classes:
            raise CosimError(f"{name} {split} labels span {y.min()}..{y.max()}, expected 0..{n_classes - 1}")
        x = x.astype(dtype)
        x -= shift
        x /= scale
        return x.reshape(len(x), -1) if flatten else x.reshape(len(x), *input_shape), y.astype(np.int64)

    return Dataset(
        *prepare(raw.train_x, raw.train_y, "training"),
        *prepare(raw.test_x, raw.test_y, "test"),
        n_classes=n_classes,
        name=name,
        input_shape=tuple(input_shape),
        shift=shift,
        scale=scale,
    )


def iterate_batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator | None, drop_last: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Mini-batches ``(xb, yb)`` covering each sample once: shuffled by ``rng``, in order when it is None."""
    if len(x) != len(y):
        raise CosimError(f"{len(x)} samples but {len(y)} labels")
    if batch_size < 1:
        raise CosimError(f"batch_size must be >= 1, got {batch_size}")
    order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    stop = len(x) - len(x) % batch_size if drop_last else len(x)
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]


def one_hot(labels: np.ndarray, n_classes: int, dtype=np.float32) -> np.ndarray:
    """Rows of ``eye(n_classes)`` picked by integer ``labels``."""
    labels = np.asarray(labels)
    if labels.size and not 0 <= labels.min() <= labels.max() < n_classes:
        raise CosimError(f"labels span {labels.min()}..{labels.max()}, outside 0..{n_classes - 1}")
    return np.eye(n_classes, dtype=dtype)[labels]

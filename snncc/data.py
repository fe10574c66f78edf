"""Data sets for calibration, activity profiles and accuracy: ``--data SPEC``.

SPEC is one of:

* ``mnist:DIR`` — MNIST idx files in DIR (``t10k-images-idx3-ubyte[.gz]`` and
  ``t10k-labels-idx1-ubyte[.gz]``, or the ``train-`` files with ``mnist-train:DIR``); images as
  float32 in [0, 1].
* ``digits`` — the held-out quarter of scikit-learn's 8×8 digits (450 images, shipped with
  snncc; the split of ``train_test_split(test_size=0.25, random_state=0, stratify=y)``), in [0, 1].
* ``FILE.npz`` — arrays ``x`` (inputs) and ``y`` (integer labels).

Images are reshaped to the model's input shape when the sizes agree.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snncc.errors import DataError

__all__ = ["Dataset", "load_data", "read_idx"]

_IDX_TYPES: dict[int, Any] = {
    0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True)
class Dataset:
    """Inputs shaped for the model, integer labels, and where they came from."""

    x: np.ndarray
    y: np.ndarray
    name: str


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (optionally gzipped), checking its header against its size."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path}: not an idx file (bad magic number)")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise DataError(f"{path}: truncated idx header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    need = math.prod(dims) * dtype.itemsize
    if len(raw) - head != need:
        raise DataError(f"{path}: header declares {dims} ({need} bytes) but holds "
                        f"{len(raw) - head} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=head).reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: no {stem}[.gz] (MNIST idx file) found")


def _mnist(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    if not folder.is_dir():
        raise DataError(f"mnist: {folder} is not a folder")
    prefix = "t10k" if split == "test" else "train"
    x = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"))
    y = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte"))
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"mnist: {folder}: images {x.shape} and labels {y.shape} do not match")
    return x.astype(np.float32) / 255.0, y.astype(np.int64)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    path = Path(__file__).parent / "examples" / "digits_test.npz"
    if not path.is_file():
        raise DataError(f"digits: the bundled file {path} is missing (a broken installation?)")
    with np.load(path, allow_pickle=False) as f:
        return f["x"].astype(np.float32) / 16.0, f["y"].astype(np.int64)


def _npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f or "y" not in f:
                raise DataError(f"{path}: needs arrays 'x' and 'y' (has {sorted(f.files)})")
            x, y = f["x"], f["y"]
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if x.dtype.kind not in "fiu" or y.dtype.kind not in "iu" or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"{path}: x must be numeric (N, ...) and y integer labels (N,); got x "
                        f"{x.dtype} {x.shape}, y {y.dtype} {y.shape}")
    return x.astype(np.float32), y.astype(np.int64)


def load_data(spec: str, input_shape: tuple[int, ...] | None = None, *, limit: int | None = None,
              normalize: tuple[float, float] | None = None) -> Dataset:
    """Load a data set by SPEC, shaped for a model input.

    Args:
        spec: ``mnist:DIR``, ``mnist-train:DIR``, ``digits`` or ``FILE.npz``.
        input_shape: The model's input shape (batch excluded); inputs are reshaped to it.
        limit: Keep the first ``limit`` samples.
        normalize: ``(mean, std)``: inputs become ``(x - mean) / std``.

    Returns:
        The Dataset.

    Raises:
        DataError: Unknown spec, unreadable files, or inputs that do not fit ``input_shape``.
    """
    if spec.startswith(("mnist:", "mnist-train:")):
        kind, _, folder = spec.partition(":")
        x, y = _mnist(Path(folder).expanduser(), "train" if kind == "mnist-train" else "test")
    elif spec == "digits":
        x, y = _digits()
    elif spec.endswith(".npz"):
        x, y = _npz(Path(spec).expanduser())
    else:
        raise DataError(f"unknown data spec {spec!r}; use mnist:DIR, digits or FILE.npz")
    if limit is not None:
        if limit < 1:
            raise DataError(f"--limit must be at least 1, got {limit}")
        x, y = x[:limit], y[:limit]
    if input_shape is not None and x.shape[1:] != tuple(input_shape):
        if math.prod(x.shape[1:]) != math.prod(input_shape):
            raise DataError(f"data {spec!r} has samples of shape {x.shape[1:]}, the model's input "
                            f"is {tuple(input_shape)}")
        x = x.reshape(len(x), *input_shape)
    if normalize is not None:
        mean, std = normalize
        if not std > 0:
            raise DataError(f"--normalize std must be positive, got {std}")
        x = (x - np.float32(mean)) / np.float32(std)
    return Dataset(np.ascontiguousarray(x, dtype=np.float32), y, spec)

"""--data SPEC loading: idx files, bundled digits, npz, and their errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from snncc import DataError
from snncc.data import load_data, read_idx
from tests.conftest import mnist_dir, requires_mnist


def _idx(path: Path, arr: np.ndarray, gz: bool = True) -> Path:
    code = {np.uint8: 0x08}[arr.dtype.type]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    raw = head + arr.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def _mnist_like(folder: Path, n: int = 7) -> None:
    rng = np.random.default_rng(0)
    _idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    _idx(folder / "t10k-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8), gz=False)


def test_mnist_spec_shapes_and_scales(tmp_path: Path) -> None:
    _mnist_like(tmp_path)
    d = load_data(f"mnist:{tmp_path}", (1, 28, 28), limit=5)
    assert d.x.shape == (5, 1, 28, 28) and d.x.dtype == np.float32
    assert 0 <= d.x.min() and d.x.max() <= 1 and d.y.dtype == np.int64
    flat = load_data(f"mnist:{tmp_path}", (784,), normalize=(0.5, 0.25))
    assert flat.x.shape == (7, 784)
    np.testing.assert_allclose(flat.x[:5].reshape(5, 1, 28, 28), (d.x - 0.5) / 0.25, rtol=1e-6)


def test_idx_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.idx"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="not an idx file"):
        read_idx(bad)
    arr = np.zeros((3, 2), np.uint8)
    p = _idx(tmp_path / "y.idx", arr, gz=False)
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(DataError, match=r"header declares \(3, 2\) \(6 bytes\) but holds 5"):
        read_idx(p)


def test_digits_is_the_held_out_split() -> None:
    d = load_data("digits", (1, 8, 8))
    assert d.x.shape == (450, 1, 8, 8) and set(np.unique(d.y)) == set(range(10))
    assert d.x.max() == 1.0


def test_npz(tmp_path: Path) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, x=np.ones((4, 64), np.float32), y=np.arange(4))
    assert load_data(str(p), (1, 8, 8)).x.shape == (4, 1, 8, 8)
    np.savez(p, x=np.ones((4, 64)), labels=np.arange(4))
    with pytest.raises(DataError, match=r"needs arrays 'x' and 'y'"):
        load_data(str(p))


@pytest.mark.parametrize(("spec", "shape", "match"), [
    ("imagenet", None, "unknown data spec 'imagenet'; use mnist:DIR, digits or FILE.npz"),
    ("digits", (1, 28, 28), r"samples of shape \(8, 8\), the model's input is \(1, 28, 28\)"),
    ("mnist:/nonexistent", None, "is not a folder"),
    ("missing.npz", None, "missing.npz: no such file"),
])
def test_bad_specs(spec: str, shape: tuple[int, ...] | None, match: str) -> None:
    with pytest.raises(DataError, match=match):
        load_data(spec, shape)


@requires_mnist
def test_real_mnist_test_set() -> None:
    d = load_data(f"mnist:{mnist_dir()}", (1, 28, 28))
    assert d.x.shape == (10000, 1, 28, 28)
    assert np.bincount(d.y).min() > 800 and d.y[:5].tolist() == [7, 2, 1, 0, 4]

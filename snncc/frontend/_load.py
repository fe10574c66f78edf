"""Reading an ONNX file safely: parse errors, size limits, external data, tensor conversion.

Nothing here unpickles, and no tensor is allocated before its declared size has been checked
against the limits.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, numpy_helper

from snncc.errors import FrontendError

__all__ = [
    "DEFAULT_MAX_TENSOR_BYTES",
    "DEFAULT_MAX_TOTAL_BYTES",
    "Limits",
    "read_model",
    "tensor_to_array",
]

GiB = 1 << 30
DEFAULT_MAX_TENSOR_BYTES = 4 * GiB
DEFAULT_MAX_TOTAL_BYTES = 16 * GiB


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits checked before anything is allocated.

    Attributes:
        max_tensor_bytes: Largest single tensor a model may declare.
        max_total_bytes: Largest sum of all declared tensors (and largest model file).
    """

    max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def read_model(source: str | os.PathLike[str] | bytes | onnx.ModelProto,
               limits: Limits) -> tuple[onnx.ModelProto, Path | None, str]:
    """Parse a model from a path, bytes or a ModelProto.

    Returns:
        The model, the folder external data is resolved against (None when not from a file), and
        a label for messages (the file name).

    Raises:
        FrontendError: Missing file, file too large, not a protobuf.
    """
    if isinstance(source, onnx.ModelProto):
        return source, None, "<model>"
    if isinstance(source, (bytes, bytearray)):
        data, folder, label = bytes(source), None, "<bytes>"
    else:
        path = Path(source)
        label = str(path)
        if not path.exists():
            raise FrontendError(f"{label}: no such file")
        if not path.is_file():
            raise FrontendError(f"{label}: not a file")
        size = path.stat().st_size
        if size > limits.max_total_bytes:
            raise FrontendError(f"{label}: file is {_fmt_bytes(size)}, above the limit of "
                                f"{_fmt_bytes(limits.max_total_bytes)}")
        data, folder = path.read_bytes(), path.resolve().parent
    if not data:
        raise FrontendError(f"{label}: empty file, not an ONNX model")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError, RecursionError) as exc:
        raise FrontendError(f"{label}: not an ONNX model (protobuf parse failed: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                            ) from None
    if not model.HasField("graph"):
        raise FrontendError(f"{label}: not an ONNX model (no graph; truncated or another format?)")
    return model, folder, label


def declared_bytes(tensor: TensorProto, what: str) -> int:
    """Bytes the tensor declares by its dims and type, checked for sanity."""
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise FrontendError(f"{what}: negative dimension in {dims}")
    try:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, ValueError, TypeError):
        raise FrontendError(f"{what}: unknown data type {tensor.data_type}") from None
    return math.prod(dims) * itemsize


def check_sizes(tensors: list[tuple[str, TensorProto]], limits: Limits, label: str) -> None:
    """Refuse declared tensor sizes above the limits, before anything is allocated."""
    total = 0
    for what, t in tensors:
        n = declared_bytes(t, what)
        if n > limits.max_tensor_bytes:
            raise FrontendError(
                f"{label}: {what} declares {list(t.dims)} = {_fmt_bytes(n)}, above the per-tensor "
                f"limit of {_fmt_bytes(limits.max_tensor_bytes)} (raise max_tensor_bytes to allow)")
        total += n
    if total > limits.max_total_bytes:
        raise FrontendError(f"{label}: tensors declare {_fmt_bytes(total)} in all, above the limit "
                            f"of {_fmt_bytes(limits.max_total_bytes)} (raise max_total_bytes)")


def _external(tensor: TensorProto, folder: Path | None, what: str, label: str) -> np.ndarray:
    info = {e.key: e.value for e in tensor.external_data}
    loc = info.get("location", "")
    if folder is None:
        raise FrontendError(f"{label}: {what} keeps its data in external file {loc!r}; load the "
                            "model from its path so the file can be found")
    if not loc or os.path.isabs(loc) or Path(loc).drive:
        raise FrontendError(f"{label}: {what}: external data location {loc!r} must be a path "
                            "relative to the model's folder")
    target = (folder / loc).resolve()
    if not target.is_relative_to(folder):
        raise FrontendError(f"{label}: {what}: external data location {loc!r} escapes the model's "
                            f"folder {str(folder)!r}")
    if not target.is_file():
        raise FrontendError(f"{label}: {what}: external data file {loc!r} is missing")
    try:
        offset = int(info.get("offset", "0"))
        length = int(info["length"]) if "length" in info else None
    except ValueError:
        raise FrontendError(f"{label}: {what}: external data offset/length are not integers"
                            ) from None
    need = declared_bytes(tensor, what)
    size = target.stat().st_size
    if offset < 0 or (length is not None and length != need) or offset + need > size:
        raise FrontendError(f"{label}: {what}: external data needs {need} bytes at offset {offset} "
                            f"of {loc!r} ({size} bytes; declared length {length})")
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
    if dtype.kind not in "fiub":
        raise FrontendError(f"{label}: {what}: external data of type {dtype} is not supported")
    arr = np.fromfile(target, dtype=dtype.newbyteorder("<"), count=math.prod(tensor.dims),
                      offset=offset)
    return arr.astype(dtype).reshape(tuple(tensor.dims))


def tensor_to_array(tensor: TensorProto, folder: Path | None, what: str, label: str) -> np.ndarray:
    """Convert a TensorProto (sizes already checked) to numpy, reading external data safely."""
    if tensor.data_location == TensorProto.EXTERNAL:
        return _external(tensor, folder, what, label)
    if tensor.data_type == TensorProto.STRING:
        raise FrontendError(f"{label}: {what}: string tensors are not supported")
    try:
        arr = numpy_helper.to_array(tensor)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise FrontendError(f"{label}: {what}: data does not match its declared type and shape "
                            f"{list(tensor.dims)} ({str(exc).splitlines()[0][:120]})") from None
    return np.asarray(arr)

"""A reproducible ``.npz`` writer and a pickle-free reader.

``np.savez`` stamps the current time into every zip entry, so two saves of the same arrays differ.
:func:`write_npz` writes the same zip layout (one ``<key>.npy`` member per array, stored
uncompressed, ``np.load`` reads it) with a fixed date, fixed attributes and members in sorted
order: the same arrays always give the same bytes.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from typing import IO

import numpy as np

__all__ = ["read_npz", "write_npz"]

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold


def write_npz(fh: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to the open binary file ``fh`` as an ``.npz`` archive.

    Members are written in sorted key order, C-contiguous, without pickling.

    Args:
        fh: A binary file opened for writing.
        arrays: Array name -> array; a name becomes the member ``<name>.npy``.

    Raises:
        ValueError: For an object array (it could only be pickled).
    """
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            arr = arrays[key]
            if not arr.flags.c_contiguous:
                arr = arr.copy(order="C")
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_EPOCH)
            info.create_system = 3  # unix, whatever the platform
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read every array of the ``.npz`` file ``path`` into memory, never unpickling.

    Args:
        path: The archive.

    Returns:
        Array name -> array, in the archive's order.

    Raises:
        OSError: When the file cannot be read.
        ValueError: When it is not an ``.npz`` archive or a member is not a plain array (for
            instance a pickled object array); the message names the member.
    """
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip's first entry, or an empty zip
        raise ValueError("not an .npz archive (not a zip file)")
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"not an .npz archive ({exc})") from None
    out: dict[str, np.ndarray] = {}
    with npz:
        for key in npz.files:
            try:
                out[key] = npz[key]
            except (ValueError, EOFError, zipfile.BadZipFile) as exc:
                reason = ("an object array, which could only be read by unpickling"
                          if "allow_pickle" in str(exc) else str(exc))
                raise ValueError(f"array {key!r}: {reason}") from None
    return out

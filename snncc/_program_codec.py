"""The JSON codec of a compiled program's network: explicit, with a fixed registry of types.

A dataclass is written as ``{"type": <class name>, "fields": {...}}``; a numpy array as
``{"$array": <key>}``, a reference into the program's ``arrays.npz``; a tuple as
``{"$tuple": [...]}``; an infinite or NaN float as ``{"$float": "inf"}`` (so that the file is
strict JSON); a mapping (``SpikingNet.metadata``) as ``{"$json": <plain JSON>}``, read back
verbatim. Array keys are the path of the value in the document (``net/projections/3/ops/0/weight``),
so they are deterministic. Only the classes of :data:`REGISTRY` are decoded; a type name is looked
up there and nowhere else (nothing is imported or evaluated by name).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np

from snncc.convert.net import (
    ChannelEmbed,
    InputSource,
    Population,
    Projection,
    Readout,
    SpikingNet,
)
from snncc.ir import layers as L

__all__ = ["ARRAY_KINDS", "REGISTRY", "CodecError", "decode", "encode", "plain_json"]

REGISTRY: dict[str, type] = {cls.__name__: cls for cls in (
    SpikingNet, InputSource, Population, Projection, Readout, ChannelEmbed,
    L.Conv2d, L.Dense, L.AvgPool2d, L.MaxPool2d, L.ChannelAffine, L.Reshape)}
"""The classes a program may contain, by name."""

ARRAY_KINDS = "biuf"
"""Array dtype kinds a program stores: bool, signed and unsigned integers, floats."""

_MARKERS = ("$array", "$tuple", "$json", "$float")
_SPECIAL = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class CodecError(ValueError):
    """A value cannot be encoded or decoded; the message starts with the value's key."""


def check_array(arr: np.ndarray, key: str) -> None:
    """Raise :class:`CodecError` unless ``arr`` is an array a program can store."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in ARRAY_KINDS or arr.dtype.fields:
        what = f"dtype {arr.dtype}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise CodecError(f"{key}: only bool, integer and float arrays can be stored (got {what})")


def plain_json(value: Any, key: str, *, strict: bool) -> Any:
    """``value`` as plain JSON data: dicts with string keys, lists, str, int, float, bool, None.

    Tuples become lists and numpy scalars and arrays Python numbers and lists. With ``strict``
    anything else, and an infinite or NaN float, raises :class:`CodecError`; without it, it is
    dropped (a dict entry is left out, a list item or a non-finite float becomes None), and a
    ``source`` entry holding an absolute path keeps only the file name, so that the program does
    not depend on where its model was.

    Args:
        value: The data.
        key: Where it is, for messages.
        strict: Raise rather than drop.

    Returns:
        The plain data, or ``None`` for a dropped value at the top.
    """
    if isinstance(value, np.generic) and value.dtype.kind in ARRAY_KINDS:
        value = value.item()
    elif isinstance(value, np.ndarray) and value.dtype.kind in ARRAY_KINDS:
        value = value.tolist()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        if strict:
            raise CodecError(f"{key}: {value} is not a JSON number")
        return None
    if isinstance(value, (list, tuple)):
        return [plain_json(v, f"{key}/{i}", strict=strict) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                if strict:
                    raise CodecError(f"{key}: key {k!r} is not a string")
                continue
            if not strict and k == "source" and isinstance(v, str) and os.path.isabs(v):
                v = PurePath(v).name
            if strict or _is_plain(v):
                out[k] = plain_json(v, f"{key}/{k}", strict=strict)
        return out
    if strict:
        raise CodecError(f"{key}: a {type(value).__name__} is not JSON data")
    return None


def _is_plain(value: Any) -> bool:
    """Whether :func:`plain_json` keeps ``value`` as a dict entry (non-strict mode)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.dtype.kind in ARRAY_KINDS
    return value is None or isinstance(value, (str, bool, int, float, list, tuple, Mapping))


def encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """Encode ``value`` (found at ``key``) as JSON data, moving its arrays into ``arrays``.

    Raises:
        CodecError: For a value of a type the codec does not know, or an unstorable array.
    """
    if isinstance(value, np.ndarray):
        check_array(value, key)
        arrays[key] = value
        return {"$array": key}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, Mapping):
        return {"$json": plain_json(value, key, strict=False)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if REGISTRY.get(name) is not type(value):
            raise CodecError(f"{key}: cannot store a {type(value).__qualname__}")
        return {"type": name, "fields": {f.name: encode(getattr(value, f.name),
                                                        f"{key}/{f.name}", arrays)
                                         for f in dataclasses.fields(value)}}
    if isinstance(value, np.generic) and value.dtype.kind in ARRAY_KINDS:
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"$float": str(value)}
    raise CodecError(f"{key}: cannot store a {type(value).__qualname__}")


def decode(data: Any, key: str, arrays: Mapping[str, np.ndarray]) -> Any:
    """Decode JSON data written by :func:`encode`; ``arrays`` holds the referenced arrays.

    Raises:
        CodecError: For an unknown type, a missing or unknown field, a missing array, malformed
            data, or an object its class rejects; the message starts with the key.
    """
    if data is None or isinstance(data, (str, bool, int, float)):
        return data
    if isinstance(data, list):
        raise CodecError(f"{key}: unexpected list (a tuple is written as {{\"$tuple\": [...]}})")
    if not isinstance(data, dict):
        raise CodecError(f"{key}: unexpected {type(data).__name__}")
    marker = [m for m in _MARKERS if m in data]
    if marker and len(data) == 1:
        return _decode_marked(marker[0], data[marker[0]], key, arrays)
    if set(data) != {"type", "fields"} or not isinstance(data["fields"], dict):
        raise CodecError(f"{key}: expected a typed object {{\"type\", \"fields\"}}, got keys "
                         f"{sorted(data)}")
    name = data["type"]
    cls = REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise CodecError(f"{key}: unknown type {name!r}; known: {sorted(REGISTRY)}")
    names = {f.name for f in dataclasses.fields(cls)}
    given = set(data["fields"])
    if given - names:
        raise CodecError(f"{key}: {name} has no fields {sorted(given - names)}")
    if names - given:
        raise CodecError(f"{key}: {name} is missing fields {sorted(names - given)}")
    kwargs = {k: decode(v, f"{key}/{k}", arrays) for k, v in data["fields"].items()}
    try:
        return cls(**kwargs)
    except Exception as exc:  # the class's own checks, or a value of a wrong type
        raise CodecError(f"{key}: invalid {name}: {exc}") from None


def _decode_marked(marker: str, body: Any, key: str, arrays: Mapping[str, np.ndarray]) -> Any:
    if marker == "$json":
        return body
    if marker == "$float":
        if not isinstance(body, str) or body not in _SPECIAL:
            raise CodecError(f"{key}: $float must be one of {sorted(_SPECIAL)}, got {body!r}")
        return _SPECIAL[body]
    if marker == "$tuple":
        if not isinstance(body, list):
            raise CodecError(f"{key}: $tuple must hold a list, got {type(body).__name__}")
        return tuple(decode(v, f"{key}/{i}", arrays) for i, v in enumerate(body))
    if not isinstance(body, str):
        raise CodecError(f"{key}: $array must name an array, got {body!r}")
    if body not in arrays:
        raise CodecError(f"{key}: array {body!r} is not in arrays.npz")
    return arrays[body]

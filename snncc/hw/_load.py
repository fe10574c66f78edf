"""Finding and reading hardware files: the bundled chip models and user TOML files."""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snncc.errors import HardwareModelError
from snncc.hw._validate import build, one_line
from snncc.hw.model import HardwareModel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the tomli backport has the same API
    import tomli as tomllib

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["available", "load_hw"]


def _bundled_dir() -> Traversable:
    """The folder of bundled chip models.

    In an installed wheel the top-level ``hwmodels/`` folder ships as ``snncc/hwmodels``; in a
    source checkout it sits next to the ``snncc`` package.
    """
    installed = importlib.resources.files("snncc") / "hwmodels"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "hwmodels"


def available() -> list[str]:
    """List the names of the bundled hardware models.

    Returns:
        The sorted names (file names without ``.toml``), e.g. ``["dynapse", "loihi", ...]``.
    """
    root = _bundled_dir()
    if not root.is_dir():
        return []
    return sorted(e.name.removesuffix(".toml") for e in root.iterdir() if e.name.endswith(".toml"))


def _parse(text: bytes, file: str) -> dict[str, Any]:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HardwareModelError(f"{file}: not UTF-8 text (bad byte at offset {exc.start})") \
            from None
    try:
        return tomllib.loads(decoded)
    except tomllib.TOMLDecodeError as exc:
        raise HardwareModelError(one_line(f"{file}: invalid TOML: {exc}")) from None
    except ValueError as exc:  # Python's limit on integer digits (TOMLDecodeError is above)
        reason = "an integer has too many digits" if "digits" in str(exc) else str(exc)
        raise HardwareModelError(one_line(f"{file}: invalid TOML: {reason}")) from None
    except RecursionError:
        raise HardwareModelError(f"{file}: invalid TOML: nested too deeply") from None


@functools.cache
def _load_bundled(name: str) -> HardwareModel:
    entry = _bundled_dir() / f"{name}.toml"
    return build(_parse(entry.read_bytes(), entry.name), entry.name)


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        stem = os.path.basename(path).removesuffix(".toml")
        hint = f" (the bundled model is load_hw({stem!r}))" if stem in available() else ""
        raise HardwareModelError(one_line(f"{path}: no such file{hint}")) from None
    except IsADirectoryError:
        raise HardwareModelError(one_line(f"{path}: is a folder, not a .toml file")) from None
    except OSError as exc:
        raise HardwareModelError(one_line(f"{path}: cannot read: {exc.strerror or exc}")) \
            from None
    except ValueError:  # a NUL character in the path
        raise HardwareModelError(one_line(f"{path!r}: not a valid file name")) from None


def _looks_like_path(name: str) -> bool:
    return name.endswith(".toml") or any(sep in name for sep in (os.sep, os.altsep) if sep)


def load_hw(name_or_path: str | os.PathLike[str]) -> HardwareModel:
    """Load and validate a hardware model.

    Args:
        name_or_path: A bundled model name (see :func:`available`, e.g. ``"loihi"``), or the path
            of a ``.toml`` file. A string is taken as a path when it ends with ``.toml`` or
            contains a path separator.

    Returns:
        The validated model; bundled models are parsed once and cached (the model is frozen).

    Raises:
        HardwareModelError: The name is unknown, the file is missing or unreadable, or its content
            is not a valid hardware model (``FILE: KEY: problem (got X)``).

    Example:
        >>> load_hw("truenorth").n_cores
        4096
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise HardwareModelError(f"load_hw: expected a model name or a path "
                                 f"(got {type(name_or_path).__name__})")
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(name_or_path):
        path = os.fspath(name_or_path)
        return build(_parse(_read_file(path), path), path)
    names = available()
    if name_or_path not in names:
        close = difflib.get_close_matches(name_or_path, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise HardwareModelError(one_line(
            f"{name_or_path}: unknown hardware model{hint}; available: "
            f"{', '.join(names) or 'none'} (or give the path of a .toml file)"))
    return _load_bundled(name_or_path)

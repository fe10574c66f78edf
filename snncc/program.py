"""The compiled artefact: a spiking network, the chip it was mapped to, and the mapping.

A :class:`Program` is what ``snncc compile`` writes to ``OUTDIR/program/``: a folder holding
``program.json`` (format name and version, the network's structure, the hardware model, the
options and summary figures) and ``arrays.npz`` (every array: weights, biases, the mapping's
tables). ``program.json`` lists every array with its dtype and shape; the network refers to them as
``{"$array": "net/projections/3/ops/0/weight"}`` (see :mod:`snncc._program_codec`).

Guarantees:

- loading never unpickles (``allow_pickle=False``) and decodes only a fixed set of classes;
- saving is atomic: the files are written and fsynced in a temporary sibling folder, which is then
  renamed to the target; a failed save leaves the target as it was and no temporary folder;
- the same program gives byte-identical files: sorted JSON keys, fixed separators, floats written
  by ``repr`` (exact; infinities and NaN as markers, so the file is strict JSON), arrays in
  sorted order in a zip with a fixed date, no timestamps and no absolute paths (the network's
  ``metadata["source"]`` keeps only the model's file name).

Example:
    >>> prog = Program(net, hw.to_dict(), {"core_of_neuron": cores}, {"seed": 0})  # doctest: +SKIP
    >>> same = Program.load(prog.save("out/program"))  # doctest: +SKIP
    >>> same.equals(prog)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snncc import _npz
from snncc._io import _umask
from snncc._program_codec import CodecError, check_array, decode, encode, plain_json
from snncc._version import __version__
from snncc.convert.net import InputSource, Population, Projection, Readout, SpikingNet
from snncc.errors import SnnccError
from snncc.ir import layers as L

__all__ = ["FORMAT", "FORMAT_VERSION", "Program", "ProgramError"]

FORMAT = "snncc-program"
FORMAT_VERSION = 1
JSON_NAME = "program.json"
NPZ_NAME = "arrays.npz"
_KEYS = ("net", "hw", "mapping", "meta", "arrays")


class ProgramError(SnnccError, ValueError):
    """A program folder is missing, malformed or of another format version, or cannot be saved."""


@dataclass(frozen=True, slots=True, eq=False)
class Program:
    """A compiled program.

    Attributes:
        net: The converted (possibly quantised) network, with every weight. Of its ``metadata``
            only the JSON-able parts are saved.
        hw: The chip model as a plain dict (``HardwareModel.to_dict()``), so that the program is
            self-contained.
        mapping: Named arrays of the mapping (unit tables, unit -> cluster, cluster -> core,
            routing tables, link loads, ...): bool, integer or float arrays.
        meta: JSON-able facts: hardware name, partitioner, placer, seed, options, summary figures.
            Never timestamps or absolute paths, which would make equal programs differ.
    """

    net: SpikingNet
    hw: dict[str, Any]
    mapping: dict[str, np.ndarray]
    meta: dict[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.net, SpikingNet):
            raise ProgramError(f"Program.net must be a SpikingNet, got {type(self.net).__name__}")
        for key in ("hw", "meta", "mapping"):
            if not isinstance(getattr(self, key), Mapping):
                raise ProgramError(f"Program.{key} must be a dict, got "
                                   f"{type(getattr(self, key)).__name__}")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the program to the folder ``path``, atomically.

        An existing program folder at ``path`` is replaced once the new one is complete; a folder
        holding anything else is never touched.

        Args:
            path: The program folder (created with its parents if needed).

        Returns:
            The folder.

        Raises:
            ProgramError: For a value that cannot be stored (the message names its key), a
                ``path`` that is not a program folder, or a failed write.
        """
        text, arrays = self._encode()
        target = Path(path)
        try:
            _write_folder(target, text, arrays)
        except OSError as exc:
            raise ProgramError(f"{target}: cannot write the program: {exc}") from exc
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Program:
        """Read a program written by :meth:`save`.

        Args:
            path: The program folder, or its ``program.json``.

        Returns:
            The program.

        Raises:
            ProgramError: When a file is missing or unreadable, the format name or version is not
                this one, a key or an array is missing, an array's dtype or shape is not what
                ``program.json`` says, an array holds pickled objects, or a type is unknown. The
                one-line message names the file and the key.
        """
        folder = Path(path)
        if folder.name == JSON_NAME and folder.is_file():
            folder = folder.parent
        if not folder.is_dir():
            raise ProgramError(f"{folder}: no such program folder")
        jpath, npath = folder / JSON_NAME, folder / NPZ_NAME
        doc = _read_json(jpath)
        arrays = _read_arrays(npath, jpath, doc["arrays"])
        try:
            net = decode(doc["net"], "net", arrays)
            if not isinstance(net, SpikingNet):
                raise CodecError(f"net: expected a SpikingNet, got {type(net).__name__}")
            _check_net(net)
            for key in ("hw", "meta", "mapping"):
                if not isinstance(doc[key], dict):
                    raise CodecError(f"{key}: expected an object, got {type(doc[key]).__name__}")
            mapping = {name: decode(ref, f"mapping/{name}", arrays)
                       for name, ref in doc["mapping"].items()}
            for name, arr in mapping.items():
                if not isinstance(arr, np.ndarray):
                    raise CodecError(f"mapping/{name}: expected an array reference")
        except CodecError as exc:
            raise ProgramError(f"{jpath}: {exc}") from None
        return cls(net=net, hw=doc["hw"], mapping=mapping, meta=doc["meta"])

    def equals(self, other: object) -> bool:
        """Whether ``other`` is the same program: the same JSON and bit-identical arrays."""
        if not isinstance(other, Program):
            return False
        (text, arrays), (text2, arrays2) = self._encode(), other._encode()
        return text == text2 and arrays.keys() == arrays2.keys() and all(
            arrays[k].tobytes() == arrays2[k].tobytes() for k in arrays)

    def _encode(self) -> tuple[str, dict[str, np.ndarray]]:
        """The text of ``program.json`` and the arrays of ``arrays.npz``."""
        arrays: dict[str, np.ndarray] = {}
        try:
            net = encode(self.net, "net", arrays)
            mapping: dict[str, Any] = {}
            for name, arr in self.mapping.items():
                if not isinstance(name, str) or not name:
                    raise CodecError(f"mapping: array names must be non-empty strings, got "
                                     f"{name!r}")
                key = f"mapping/{name}"
                check_array(arr, key)
                arrays[key], mapping[name] = arr, {"$array": key}
            doc = {"format": FORMAT, "format_version": FORMAT_VERSION,
                   "snncc_version": __version__, "net": net, "mapping": mapping,
                   "hw": plain_json(self.hw, "hw", strict=True),
                   "meta": plain_json(self.meta, "meta", strict=True),
                   "arrays": {k: {"dtype": a.dtype.str, "shape": list(a.shape)}
                              for k, a in arrays.items()}}
        except CodecError as exc:
            raise ProgramError(f"cannot save the program: {exc}") from None
        return json.dumps(doc, sort_keys=True, indent=1, separators=(",", ": "),
                          allow_nan=False) + "\n", arrays


def _read_json(jpath: Path) -> dict[str, Any]:
    """Read ``program.json`` and check its format name, version and top-level keys."""
    try:
        doc = json.loads(jpath.read_bytes())
    except FileNotFoundError:
        raise ProgramError(f"{jpath}: missing") from None
    except OSError as exc:
        raise ProgramError(f"{jpath}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ProgramError(f"{jpath}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ProgramError(f"{jpath}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise ProgramError(f"{jpath}: format: expected {FORMAT!r}, got {doc.get('format')!r}")
    version = doc.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ProgramError(f"{jpath}: format_version: {version} is newer than this snncc "
                           f"({__version__}) reads ({FORMAT_VERSION}); upgrade snncc")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ProgramError(f"{jpath}: format_version: expected {FORMAT_VERSION}, got {version!r}")
    for key in _KEYS:
        if key not in doc:
            raise ProgramError(f"{jpath}: missing key {key!r}")
    return doc


def _read_arrays(npath: Path, jpath: Path, index: Any) -> dict[str, np.ndarray]:
    """Read ``arrays.npz`` and check it holds exactly the arrays ``index`` lists, as listed."""
    if not isinstance(index, dict):
        raise ProgramError(f"{jpath}: arrays: expected an object, got {type(index).__name__}")
    try:
        arrays = _npz.read_npz(npath)
    except FileNotFoundError:
        raise ProgramError(f"{npath}: missing") from None
    except OSError as exc:
        raise ProgramError(f"{npath}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ProgramError(f"{npath}: {exc}") from None
    for key, spec in index.items():
        if not (isinstance(spec, dict) and isinstance(spec.get("dtype"), str)
                and isinstance(spec.get("shape"), list)):
            raise ProgramError(f"{jpath}: arrays/{key}: expected {{\"dtype\", \"shape\"}}, got "
                               f"{spec!r}")
        if key not in arrays:
            raise ProgramError(f"{npath}: array {key!r} is missing (program.json lists it)")
        arr = arrays[key]
        if arr.dtype.str != spec["dtype"] or list(arr.shape) != spec["shape"]:
            raise ProgramError(f"{npath}: array {key!r} is {arr.dtype.str} {list(arr.shape)}, "
                               f"program.json says {spec['dtype']} {spec['shape']}")
        try:
            check_array(arr, key)
        except CodecError as exc:
            raise ProgramError(f"{npath}: {exc}") from None
    for key in arrays:
        if key not in index:
            raise ProgramError(f"{npath}: array {key!r} is not listed in program.json")
    return arrays


def _check_net(net: SpikingNet) -> None:
    """Check the kinds of the net's parts and every projection against the nodes it joins."""
    for key, kind in (("inputs", InputSource), ("populations", Population),
                      ("projections", Projection), ("readouts", Readout)):
        for i, item in enumerate(getattr(net, key)):
            if not isinstance(item, kind):
                raise CodecError(f"net/{key}/{i}: expected a {kind.__name__}, got "
                                 f"{type(item).__name__}")
    nodes: list[InputSource | Population | Readout] = [*net.inputs, *net.populations,
                                                        *net.readouts]
    shapes = {n.name: n.shape for n in nodes}
    for i, p in enumerate(net.projections):
        for j, op in enumerate(p.ops):
            if not isinstance(op, L.Layer):
                raise CodecError(f"net/projections/{i}/ops/{j}: expected a layer, got "
                                 f"{type(op).__name__}")
        out = p.ops[-1].shape if p.ops else p.pre_shape
        if (p.pre_shape, p.post_shape) != (shapes[p.pre], shapes[p.post]) or (
                math.prod(out) != math.prod(p.post_shape)):
            raise CodecError(f"net/projections/{i}: projection {p.name!r} maps {p.pre_shape} -> "
                             f"{out} but joins {p.pre!r} {shapes[p.pre]} -> {p.post!r} "
                             f"{shapes[p.post]}")


def _write_folder(target: Path, text: str, arrays: dict[str, np.ndarray]) -> None:
    """Write the two files into a temporary sibling of ``target``, then rename it to ``target``."""
    if target.is_symlink() or (target.exists() and not (
            target.is_dir() and set(os.listdir(target)) <= {JSON_NAME, NPZ_NAME})):
        raise ProgramError(f"{target}: exists and is not a program folder; not replacing it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        with open(tmp / JSON_NAME, "wb") as fh:
            fh.write(text.encode())
            fh.flush()
            os.fsync(fh.fileno())
        with open(tmp / NPZ_NAME, "wb") as fh:
            _npz.write_npz(fh, arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's folder is private (0700)
        _fsync_dir(tmp)
        if target.exists():
            aside = tmp.with_name(f"{tmp.name}.old")
            os.replace(target, aside)
            try:
                os.replace(tmp, target)
            except BaseException:
                os.replace(aside, target)
                raise
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(folder: Path) -> None:
    """Make a folder's entries durable (where the platform can open a folder)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""The compiled Program artefact: exact round trip, reproducible bytes, atomic save, load errors."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import snncc
from snncc import _npz
from snncc._version import __version__
from snncc.convert import SpikingNet, convert, quantize
from snncc.data import load_data
from snncc.examples import example_path
from snncc.ir import layers as L
from snncc.program import FORMAT_VERSION, Program, ProgramError
from tests.conftest import MODELS, ROOT

HW = {"chip": {"name": "toy", "description": "a test chip"}, "geometry": {"mesh": [2, 2]},
      "core": {"neurons": 256, "weight_bits": 8}}


def _net(name: str) -> tuple[SpikingNet, np.ndarray]:
    """A converted net and a few inputs for it."""
    path = MODELS / f"{name}.onnx" if name.endswith("_op17") else example_path(name)
    g = snncc.load_onnx(path)
    shape = g.inputs[0].shape
    if name.startswith("digits"):
        x = load_data("digits", shape, limit=16).x
    else:
        x = np.random.default_rng(0).random((16, *shape)).astype(np.float32)
    return convert(g, calibration=x), x


def _program(net: SpikingNet) -> Program:
    mapping: dict[str, np.ndarray] = {"unit_core": np.arange(net.neurons, dtype=np.int32) % 4,
               "link_load": np.linspace(0.0, 1.0, 7), "routed": np.array([True, False])}
    return Program(net, HW, mapping, {"seed": 3, "partitioner": "kl", "summary": {"cost": 1.5}})


@pytest.fixture(scope="module")
def digits() -> tuple[SpikingNet, np.ndarray]:
    return _net("digits_softlif")


@pytest.fixture(scope="module")
def prog(digits: tuple[SpikingNet, np.ndarray]) -> Program:
    return _program(digits[0])


@pytest.fixture
def saved(prog: Program, tmp_path: Path) -> Path:
    return prog.save(tmp_path / "program")


# ----------------------------------------------------------------------------- round trip


def _sim(net: SpikingNet, x: np.ndarray) -> snncc.SimResult:
    return snncc.simulate(net, x[:6], presentation_s=0.05, record_counts=True, threads=1)


@pytest.mark.parametrize("name, bits", [
    ("digits_softlif", None), ("digits_softlif", 8), ("digits_cnn", None),
    ("concat_channels_op17", None),  # ReLU model with max pooling and channel embedding
])
def test_round_trip_simulates_identically(name: str, bits: int | None, tmp_path: Path) -> None:
    net, x = _net(name)
    if bits is not None:
        net, _ = quantize(net, bits)
    prog = _program(net)
    back = Program.load(prog.save(tmp_path / "program"))
    assert back.equals(prog) and prog.equals(back)
    assert back.net.metadata.get("weight_bits") == bits
    a, b = _sim(net, x), _sim(back.net, x)
    assert a.counts is not None and b.counts is not None
    assert a.counts.keys() == b.counts.keys()
    for key in a.counts:
        np.testing.assert_array_equal(a.counts[key], b.counts[key])
    np.testing.assert_array_equal(a.outputs, b.outputs)
    assert int(a.spikes.sum()) > 0


def test_round_trip_keeps_types_and_values(tmp_path: Path) -> None:
    net, _ = _net("concat_channels_op17")
    back = Program.load(_program(net).save(tmp_path / "p")).net
    assert [type(o) for p in back.projections for o in p.ops] == [
        type(o) for p in net.projections for o in p.ops]
    assert any(isinstance(o, L.MaxPool2d) for p in back.projections for o in p.ops)
    for old, new in zip(net.projections, back.projections, strict=True):
        assert new.pre_shape == old.pre_shape and isinstance(new.pre_shape, tuple)
        for o1, o2 in zip(old.ops, new.ops, strict=True):
            for f in dataclasses.fields(o1):
                v1, v2 = getattr(o1, f.name), getattr(o2, f.name)
                if isinstance(v1, np.ndarray):
                    assert v1.dtype == v2.dtype and v1.tobytes() == v2.tobytes()
                else:
                    assert v1 == v2 and type(v1) is type(v2), f.name
    for p1, p2 in zip(net.populations, back.populations, strict=True):
        assert (p1.gain, p1.tau_rc, p1.tau_ref, p1.amplitude) == (
            p2.gain, p2.tau_rc, p2.tau_ref, p2.amplitude)  # exact, tau_rc = inf for IF
    assert (back.dt, back.synapse, back.tau_s, back.maxpool) == (
        net.dt, net.synapse, net.tau_s, net.maxpool)


def test_load_accepts_program_json_and_restores_all_parts(prog: Program, saved: Path) -> None:
    back = Program.load(saved / "program.json")
    assert back.hw == HW and back.meta == prog.meta
    assert {k: (v.dtype, v.tolist()) for k, v in back.mapping.items()} == {
        k: (v.dtype, v.tolist()) for k, v in prog.mapping.items()}


def test_equals_sees_one_bit_and_one_key(prog: Program) -> None:
    flipped = prog.mapping["link_load"].copy()
    flipped.view(np.uint64)[3] ^= 1
    assert not prog.equals(dataclasses.replace(prog, mapping={**prog.mapping,
                                                              "link_load": flipped}))
    assert not prog.equals(dataclasses.replace(prog, meta={**prog.meta, "seed": 4}))
    assert not prog.equals("a program")


def test_metadata_keeps_only_json_parts(digits: tuple[SpikingNet, np.ndarray],
                                        tmp_path: Path) -> None:
    meta: dict[Any, Any] = {
        "n": np.int64(3), "x": np.float32(0.5), "v": np.arange(3), "t": (1, "a"),
        "obj": object(), "nan": float("nan"), 7: "int key", "d": {"f": len},
        "source": str(tmp_path / "model.onnx")}
    net = dataclasses.replace(digits[0], metadata=meta)
    back = Program.load(_program(net).save(tmp_path / "p")).net
    assert back.metadata == {"n": 3, "x": 0.5, "v": [0, 1, 2], "t": [1, "a"], "nan": None,
                             "d": {}, "source": "model.onnx"}


# ----------------------------------------------------------------------------- reproducible


def test_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    a = _program(_net("digits_cnn")[0]).save(tmp_path / "a" / "program")
    b = _program(_net("digits_cnn")[0]).save(tmp_path / "b" / "program")
    for name in ("program.json", "arrays.npz"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert sorted(p.name for p in a.iterdir()) == ["arrays.npz", "program.json"]


def test_files_hold_no_paths_or_times(saved: Path, tmp_path: Path) -> None:
    for name in ("program.json", "arrays.npz"):
        data = (saved / name).read_bytes()
        for path in (str(tmp_path), str(ROOT), "/work/", "/tmp/"):
            assert path.encode() not in data
    with zipfile.ZipFile(saved / "arrays.npz") as zf:
        infos = zf.infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    doc = json.loads((saved / "program.json").read_text())
    assert (doc["format"], doc["format_version"]) == ("snncc-program", FORMAT_VERSION)
    assert doc["net"]["fields"]["metadata"]["$json"]["source"] == "digits_softlif.onnx"
    assert "Infinity" not in (saved / "program.json").read_text()
    with np.load(saved / "arrays.npz", allow_pickle=False) as npz:  # a plain .npz
        assert set(npz.files) == set(doc["arrays"])


# ----------------------------------------------------------------------------- atomic save


def _fail(*args: object) -> None:
    raise RuntimeError("disk on fire")


def test_failed_save_leaves_nothing(prog: Program, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_npz, "write_npz", _fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        prog.save(tmp_path / "out" / "program")
    assert list((tmp_path / "out").iterdir()) == []


def test_existing_program_replaced_only_on_success(prog: Program, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "program"
    old = dataclasses.replace(prog, meta={"seed": 1})
    old.save(target)
    with monkeypatch.context() as m:
        m.setattr(_npz, "write_npz", _fail)
        with pytest.raises(RuntimeError):
            prog.save(target)
    assert Program.load(target).equals(old)
    assert [p.name for p in tmp_path.iterdir()] == ["program"]
    prog.save(target)
    assert Program.load(target).equals(prog)
    assert [p.name for p in tmp_path.iterdir()] == ["program"]


def test_save_refuses_to_replace_other_folders(prog: Program, tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "notes.txt").write_text("mine")
    with pytest.raises(ProgramError) as exc:
        prog.save(tmp_path / "results")
    assert str(exc.value) == (f"{tmp_path / 'results'}: exists and is not a program folder; "
                              f"not replacing it")
    assert (tmp_path / "results" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("change, message", [
    (lambda p: {"mapping": {**p.mapping, "names": np.array(["a", "b"])}},
     "cannot save the program: mapping/names: only bool, integer and float arrays can be stored "
     "(got dtype <U1)"),
    (lambda p: {"meta": {"when": object()}},
     "cannot save the program: meta/when: a object is not JSON data"),
    (lambda p: {"meta": {"cost": float("inf")}},
     "cannot save the program: meta/cost: inf is not a JSON number"),
    (lambda p: {"net": dataclasses.replace(p.net, projections=(dataclasses.replace(
        p.net.projections[0], ops=(L.Add(name="add", inputs=("a", "b"), shape=(3,)),)),
        *p.net.projections[1:]))},
     "cannot save the program: net/projections/0/ops/0: cannot store a Add"),
])
def test_save_errors(prog: Program, tmp_path: Path, change, message: str) -> None:
    with pytest.raises(ProgramError) as exc:
        dataclasses.replace(prog, **change(prog)).save(tmp_path / "program")
    assert str(exc.value) == message
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- load errors


def _edit_json(folder: Path, edit) -> None:
    doc = json.loads((folder / "program.json").read_text())
    edit(doc)
    (folder / "program.json").write_text(json.dumps(doc))


def _set_type(doc: dict, name: str) -> None:
    doc["net"]["fields"]["projections"]["$tuple"][0]["fields"]["ops"]["$tuple"][0]["type"] = name


def _pop_as_op(doc: dict) -> None:
    net = doc["net"]["fields"]
    net["projections"]["$tuple"][0]["fields"]["ops"]["$tuple"][0] = net["populations"]["$tuple"][0]


def _rewrite_npz(folder: Path, drop: str | None = None, pickled: str | None = None) -> None:
    with np.load(folder / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files if k != drop}
    if pickled:
        arrays[pickled] = np.array([{"evil": 1}, None], dtype=object)
        np.savez(folder / "arrays.npz", **arrays)  # np.save(allow_pickle=True) for each member
    else:
        with open(folder / "arrays.npz", "wb") as fh:
            _npz.write_npz(fh, arrays)


BIAS = "net/populations/0/bias"


@pytest.mark.parametrize("breakage, where, message", [
    (lambda d: _edit_json(d, lambda doc: doc.update(format="onnx")), "program.json",
     "format: expected 'snncc-program', got 'onnx'"),
    (lambda d: _edit_json(d, lambda doc: doc.update(format_version=FORMAT_VERSION + 1)),
     "program.json", f"format_version: {FORMAT_VERSION + 1} is newer than this snncc "
     f"({__version__}) reads ({FORMAT_VERSION}); upgrade snncc"),
    (lambda d: _edit_json(d, lambda doc: doc.update(format_version="1")), "program.json",
     "format_version: expected 1, got '1'"),
    (lambda d: _edit_json(d, lambda doc: doc.pop("hw")), "program.json", "missing key 'hw'"),
    (lambda d: _edit_json(d, lambda doc: _set_type(doc, "os.system")), "program.json",
     "net/projections/0/ops/0: unknown type 'os.system'; known: ['AvgPool2d', 'ChannelAffine', "
     "'ChannelEmbed', 'Conv2d', 'Dense', 'InputSource', 'MaxPool2d', 'Population', "
     "'Projection', 'Readout', 'Reshape', 'SpikingNet']"),
    (lambda d: _edit_json(d, lambda doc: _set_type(doc, "Reshape")), "program.json",
     "net/projections/0/ops/0: Reshape has no fields ['bias', 'dilation', 'groups', 'padding', "
     "'stride', 'weight']"),
    (lambda d: _edit_json(d, lambda doc: doc["net"]["fields"]["populations"]["$tuple"][0][
        "fields"].update(bias={"$array": "net/nowhere"})), "program.json",
     "net/populations/0/bias: array 'net/nowhere' is not in arrays.npz"),
    (lambda d: _edit_json(d, lambda doc: doc["net"]["fields"]["projections"]["$tuple"][0][
        "fields"].update(pre_shape={"$tuple": [1, 4, 16]})), "program.json",
     "net/projections/0: projection 'input->/1/SoftLIF' maps (1, 4, 16) -> (16, 8, 8) but joins "
     "'input' (1, 8, 8) -> '/1/SoftLIF' (16, 8, 8)"),
    (lambda d: _edit_json(d, lambda doc: doc["net"]["fields"]["populations"]["$tuple"][0][
        "fields"].update(shape={"$tuple": [1]})), "program.json",
     "net/populations/0: invalid Population: population '/1/SoftLIF': bias (16, 8, 8) does not "
     "match shape (1,)"),
    (lambda d: _edit_json(d, _pop_as_op), "program.json",
     "net/projections/0/ops/0: expected a layer, got Population"),
    (lambda d: _edit_json(d, lambda doc: doc["net"]["fields"]["populations"]["$tuple"][0][
        "fields"].update(bias="weights")), "program.json",
     "net/populations/0: invalid Population: 'str' object has no attribute 'shape'"),
    (lambda d: (d / "program.json").write_text("{"), "program.json",
     "not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
     "(char 1))"),
    (lambda d: (d / "program.json").unlink(), "program.json", "missing"),
    (lambda d: (d / "arrays.npz").unlink(), "arrays.npz", "missing"),
    (lambda d: (d / "arrays.npz").write_bytes(b"not a zip"), "arrays.npz",
     "not an .npz archive (not a zip file)"),
    (lambda d: _rewrite_npz(d, drop=BIAS), "arrays.npz",
     f"array {BIAS!r} is missing (program.json lists it)"),
    (lambda d: _rewrite_npz(d, pickled="mapping/routed"), "arrays.npz",
     "array 'mapping/routed': an object array, which could only be read by unpickling"),
    (lambda d: _rewrite_npz(d, pickled="mapping/extra"), "arrays.npz",
     "array 'mapping/extra': an object array, which could only be read by unpickling"),
    (lambda d: _edit_json(d, lambda doc: doc["arrays"][BIAS].update(dtype="<f8")), "arrays.npz",
     f"array {BIAS!r} is <f4 [16, 8, 8], program.json says <f8 [16, 8, 8]"),
    (lambda d: _edit_json(d, lambda doc: doc["arrays"].pop(BIAS)), "arrays.npz",
     f"array {BIAS!r} is not listed in program.json"),
], ids=["format", "future", "version-type", "missing-key", "unknown-type", "wrong-fields",
        "array-ref", "proj-shape", "shape", "op-kind", "bias-type", "bad-json", "no-json",
        "no-npz", "bad-npz", "array-missing", "pickled", "pickled-extra", "dtype", "unlisted"])
def test_load_errors(saved: Path, breakage, where: str, message: str) -> None:
    breakage(saved)
    with pytest.raises(ProgramError) as exc:
        Program.load(saved)
    assert str(exc.value) == f"{saved / where}: {message}"
    assert "\n" not in str(exc.value)


def test_load_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ProgramError) as exc:
        Program.load(tmp_path / "nope")
    assert str(exc.value) == f"{tmp_path / 'nope'}: no such program folder"
    assert isinstance(exc.value, snncc.SnnccError) and isinstance(exc.value, ValueError)

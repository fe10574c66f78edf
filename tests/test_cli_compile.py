"""`snncc compile`: report keys, output folder, warnings and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from snncc.cli import main
from snncc.examples import example_path


def test_compile_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compile", str(example_path("digits_softlif")), "--hw", "loihi", "--data", "digits",
            "--limit", "8", "--partitioner", "spinemap", "-o", str(tmp_path / "out"), "--json"]
    assert main(args) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    m = report["mapping"]
    assert report["hw"] == "loihi" and m["partitioner"] == "spinemap"
    assert m["cores_used"] >= 1 and m["inter_core_packets"] >= 0
    assert set(m["compile_seconds"]) >= {"frontend", "convert", "partition"}
    assert report["network"]["neurons"] > 0
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert on_disk["mapping"]["cores_used"] == m["cores_used"]


def test_compile_without_data_warns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(example_path("digits_softlif")), "--hw", "pcm-crossbar",
                 "--partitioner", "sequential"]) == 0
    cap = capsys.readouterr()
    assert "random inputs" in cap.err and "sequential" in cap.out


def _wide_fc(n_in: int) -> onnx.ModelProto:
    w = numpy_helper.from_array(np.ones((n_in, 4), np.float32) / n_in, "w")
    w2 = numpy_helper.from_array(np.ones((4, 2), np.float32), "w2")
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["a"], name="wide_fc"),
         helper.make_node("Relu", ["a"], ["r"], name="wide_relu"),
         helper.make_node("Gemm", ["r", "w2"], ["y"], name="out")], "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [w, w2])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_truenorth_refuses_5000_input_layer(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "wide.onnx"
    onnx.save(_wide_fc(5000), p)
    assert main(["compile", str(p), "--hw", "truenorth", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "wide_relu" in err and "5000 inputs" in err and "256 input axons" in err
    assert not (tmp_path / "o").exists()


def test_compile_bad_chip_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(example_path("digits_softlif")), "--hw", "nochip"]) == 2
    assert "nochip" in capsys.readouterr().err


def test_compile_program_byte_identical_and_loadable(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from snncc.program import Program

    base = ["compile", str(example_path("digits_softlif")), "--hw", "pcm-crossbar", "--data",
            "digits", "--limit", "8", "--partitioner", "spinemap", "--placer", "sa", "--json"]
    for out in ("a", "b"):
        assert main([*base, "-o", str(tmp_path / out)]) == 0
    report = json.loads(capsys.readouterr().out.split("\n}\n")[0] + "\n}")
    m = report["mapping"]
    assert m["placer"] == "sa" and m["spike_hops"] > 0 and m["max_link_load"] > 0
    assert m["routing_entries_max"] >= 1
    assert set(m["compile_seconds"]) >= {"frontend", "convert", "partition", "place", "route"}
    for name in ("program.json", "arrays.npz"):
        a = (tmp_path / "a" / "program" / name).read_bytes()
        assert a == (tmp_path / "b" / "program" / name).read_bytes()
        assert str(tmp_path).encode() not in a
    prog = Program.load(tmp_path / "a" / "program")
    assert prog.meta["hw"] == "pcm-crossbar" and prog.meta["mapping"]["placer"] == "sa"
    assert Program.load(tmp_path / "b" / "program").equals(prog)
    core = prog.mapping["unit_core"]
    assert (core == prog.mapping["cluster_core"][prog.mapping["unit_cluster"]]).all()
    assert len(set(prog.mapping["cluster_core"].tolist())) == len(prog.mapping["cluster_core"])

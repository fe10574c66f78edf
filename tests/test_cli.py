"""The command line: check prints the layer table; errors are one line with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from snncc import __version__
from snncc.cli import main
from snncc.examples import example_path
from tests.conftest import small_cnn


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


def test_check_bundled_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(example_path())]) == 0
    out = capsys.readouterr().out
    assert "/conv1/Conv" in out and "Conv2d" in out and "OK: 10 layers imported" in out


def test_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "m.onnx"
    onnx.save(small_cnn(), str(p))
    assert main(["check", str(p), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [r["op"] for r in info["layers"]] == ["Input", "Conv2d", "Activation", "Reshape",
                                                 "Dense", "Output"]
    conv = info["layers"][1]
    assert conv["onnx_nodes"] == ["conv1"] and conv["shape"] == [4, 4, 4]
    assert conv["synapses"] == 4 * 4 * 4 * 9 and conv["parameters"] == 4 * 9 + 4
    assert info["neurons"] == 64 and info["synapses"] == 576 + 64 * 3


def test_check_error_is_one_line_exit_2(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    m = small_cnn()
    m.graph.node[1].op_type = "Elu"
    p = tmp_path / "bad.onnx"
    onnx.save(m, str(p))
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("snncc: error: ") and "node 'relu1' (Elu)" in err
    assert "Traceback" not in err


def test_debug_shows_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--debug", "check", str(tmp_path / "missing.onnx")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "no such file" in err


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "Missing argument" in capsys.readouterr().err


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed entry point (python -m snncc) behaves like main()."""
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"garbage")
    run = subprocess.run([sys.executable, "-m", "snncc", "check", str(bad)], capture_output=True,
                         text=True, check=False)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip().startswith("snncc: error: ") and len(run.stderr.splitlines()) == 1


def test_simulate_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", str(example_path()), "--data", "digits", "--limit", "40",
            "--presentation-ms", "100", "--json", "-o", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    report = json.loads(out)  # stdout holds the report and nothing else
    assert json.loads((tmp_path / "report.json").read_text()) == report
    for key in ("snncc_version", "model", "hw", "seed", "network", "simulation"):
        assert key in report
    sim = report["simulation"]
    assert sim["inputs"] == 40 and sim["timesteps"] == 100
    assert 0.5 < sim["accuracy"] <= 1 and 0.5 < sim["ann_accuracy"] <= 1
    assert sim["spikes_emitted"] > 0
    assert report["network"]["neurons"] == 768 and report["network"]["synapses"] == 18080
    layers = {r["name"]: r for r in report["network"]["layers"]}
    assert layers["/Relu"]["spikes_per_inference"] > 0


def test_simulate_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(example_path()), "--data", "digits", "--limit", "20",
                 "--presentation-ms", "50"]) == 0
    out = capsys.readouterr().out
    assert "ANN accuracy" in out and "spiking accuracy" in out and "efficiency" in out


@pytest.mark.parametrize(("extra", "message"), [
    (["--data", "imagenet"], "unknown data spec 'imagenet'"),
    (["--data", "digits", "--presentation-ms", "0.5"],
     "--presentation-ms 0.5 is shorter than one timestep (--dt-ms 1)"),
    (["--data", "mnist:/nonexistent"], "mnist: /nonexistent is not a folder"),
])
def test_simulate_errors(extra: list[str], message: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(example_path()), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snncc: error: ") and message in err and err.count("\n") == 1


def test_simulate_labels_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    p = tmp_path / "bad.npz"
    np.savez(p, x=np.zeros((5, 1, 8, 8), np.float32), y=np.arange(4))
    assert main(["simulate", str(example_path()), "--data", str(p)]) == 2
    assert "x must be numeric (N, ...) and y integer labels (N,)" in capsys.readouterr().err


def test_wheel_ships_example_data() -> None:
    """The quick start's `--data digits` and example model come from package data."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["snncc"]
    shipped = {p.name for p in (root / "snncc" / "examples").iterdir()}
    import fnmatch

    for name in ("digits_cnn.onnx", "digits_test.npz"):
        assert name in shipped
        assert any(fnmatch.fnmatch(f"examples/{name}", pat) for pat in data), name

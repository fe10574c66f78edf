"""Design-rule check: one test per rule, and `snncc check --hw`."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import snncc
from snncc.cli import main
from snncc.examples import example_path
from snncc.hw import HardwareModel, load_hw
from snncc.mapping.drc import design_rule_check, routing_violations


def _chip(name: str, **changes: Any) -> HardwareModel:
    d = copy.deepcopy(load_hw(name).to_dict())
    for key, value in changes.items():
        section, field = key.split("__")
        d[section][field] = value
    return HardwareModel.from_dict(d)


def _net(model: Any, dt: float = 0.001) -> snncc.SpikingNet:
    g = snncc.load_onnx(model)
    x = np.random.default_rng(0).random((4, *g.inputs[0].shape), dtype=np.float32)
    return snncc.convert(g, calibration=x, dt=dt)


def _convs(side: int = 16, c1: int = 4, c2: int = 8, k: int = 3) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(size=(c1, 1, k, k)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(size=(c2, c1, k, k)).astype(np.float32), "w2")
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["a"], name="conv1"),
         helper.make_node("Relu", ["a"], ["r"], name="relu1"),
         helper.make_node("Conv", ["r", "w2"], ["b"], name="conv2"),
         helper.make_node("Relu", ["b"], ["y"], name="relu2")], "convs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, side, side])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w1, w2])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _fc(n_in: int) -> onnx.ModelProto:
    w = numpy_helper.from_array(np.ones((n_in, 4), np.float32) / n_in, "w")
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["a"], name="wide_fc"),
         helper.make_node("Relu", ["a"], ["y"], name="wide_relu")], "fc",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_fits() -> None:
    assert design_rule_check(_net(example_path("digits_softlif")), load_hw("loihi")) == []


def test_neuron_model() -> None:
    found = design_rule_check(_net(example_path("digits_softlif")),
                              _chip("loihi", neuron__model="if"))
    assert [v.resource for v in found] == ["neuron model", "neuron model"]
    assert "/1/SoftLIF" in found[0].layer and "ReLU" in found[0].fix


def test_tick() -> None:
    found = design_rule_check(_net(_convs(), dt=0.0005), _chip("loihi", neuron__tick_s=0.001))
    assert [v.resource for v in found] == ["timestep"]
    assert "dt 0.5 ms" in str(found[0]) and "1 ms" in str(found[0])


def test_inputs_per_neuron() -> None:
    found = design_rule_check(_net(_convs(c1=8)), load_hw("dynapse"))
    assert [(v.resource, v.needed, v.available) for v in found] == [
        ("inputs per neuron", 72, 64)]
    assert found[0].layer == "conv2 (Conv2d) -> relu2"


def test_input_axons_without_split_lists_every_layer() -> None:
    found = design_rule_check(_net(_fc(5000)), load_hw("truenorth"))
    assert [(v.layer, v.resource, v.needed, v.available) for v in found] == [
        ("wide_fc (Dense) -> wide_relu", "input axons", 5000, 256)]
    assert "fan-in may be split" in found[0].fix


def test_partial_sum_window_too_large() -> None:
    found = design_rule_check(_net(_convs(side=24, k=12)), load_hw("pcm-crossbar"))
    # a 12 x 12 window of one channel (144 inputs) exceeds 128 crossbar rows: both layers listed
    assert [v.resource for v in found] == ["input axons of one partial sum"] * 2
    assert [v.layer.split()[0] for v in found] == ["conv1", "conv2"]


def test_cores() -> None:
    found = design_rule_check(_net(_convs(side=32)),
                              _chip("loihi", geometry__mesh=[1, 1], geometry__cores_per_tile=1))
    assert [v.resource for v in found] == ["cores"]
    assert found[0].needed > found[0].available == 1


def test_fanout() -> None:
    found = design_rule_check(_net(_convs(side=24, c2=16)), load_hw("truenorth"))
    assert [v.resource for v in found] == ["destination cores per neuron (core.fanout)"]
    assert found[0].needed > 1 and found[0].available == 1
    assert found[0].layer == "conv1 (Conv2d) -> relu1"


def test_routing_entries() -> None:
    hw = _chip("loihi", noc__routing_entries=4)
    entries = np.zeros(hw.n_tiles, int)
    entries[9] = 7
    (v,) = routing_violations(entries, hw)
    assert (v.needed, v.available) == (7, 4) and "tile 9 (x 1, y 1)" in v.layer
    assert routing_violations(entries, load_hw("loihi")) == []  # 0 = unlimited


def test_cli_lists_violations_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "wide.onnx"
    onnx.save(_fc(5000), p)
    assert main(["check", str(p), "--hw", "truenorth", "--json"]) == 2
    cap = capsys.readouterr()
    report = json.loads(cap.out)
    assert report["violations"][0]["needed"] == 5000
    assert cap.err.strip().startswith("snncc: error: 1 design-rule violation(s) on truenorth")
    assert main(["check", str(example_path("digits_softlif")), "--hw", "loihi"]) == 0
    assert "fits loihi" in capsys.readouterr().out

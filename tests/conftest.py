"""Shared fixtures: small ONNX builders and paths."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "models"
SHARED = Path(os.environ.get("SNNCC_SHARED", ROOT.parent / "shared"))


def mnist_dir() -> Path:
    """The real MNIST test set: $SNNCC_MNIST, else ../shared/data/mnist."""
    return Path(os.environ.get("SNNCC_MNIST", SHARED / "data" / "mnist"))


requires_mnist = pytest.mark.skipif(
    not (mnist_dir() / "t10k-images-idx3-ubyte.gz").exists(),
    reason="MNIST test set not found (../shared/data/mnist or $SNNCC_MNIST); present in CI")


def small_cnn(opset: int = 17, seed: int = 0) -> onnx.ModelProto:
    """Conv(1->4, 3x3) -> Relu -> Flatten -> Gemm(->3): a tiny valid model."""
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.normal(size=(4, 1, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "b")
    fw = numpy_helper.from_array(rng.normal(size=(3, 4 * 4 * 4)).astype(np.float32), "fw")
    fb = numpy_helper.from_array(rng.normal(size=(3,)).astype(np.float32), "fb")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv1"),
        helper.make_node("Relu", ["c"], ["r"], name="relu1"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [w, b, fw, fb])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


@pytest.fixture
def cnn_model() -> onnx.ModelProto:
    return small_cnn()

"""Import time and peak memory of the ONNX frontend on a synthetic model of ~10^7 weights.

Baseline, in the same invocation: ``onnx.load`` of the same file (protobuf parse only) and an
onnxruntime session on it. snncc's import = parse + checks + layer building + folding.
"""

from __future__ import annotations

import platform
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from benchmarks._runner import benchmark, measure


def synthetic_model(path: Path, fc: int = 2048, seed: int = 0) -> int:
    """A VGG-ish model: 4 convs with BatchNorm, then fc layers; returns the weight count.

    With fc=2048 it has about 1.1e7 weights (the fc 4096 -> 2048 layer dominates).
    """
    rng = np.random.default_rng(seed)
    inits, nodes = [], []
    x, c, hw = "input", 3, 32
    total = 0

    def init(name: str, shape: tuple[int, ...]) -> str:
        nonlocal total
        arr = (rng.standard_normal(shape) * 0.05).astype(np.float32)
        inits.append(numpy_helper.from_array(arr, name))
        total += arr.size
        return name

    for i, co in enumerate((32, 64, 128, 256)):
        w = init(f"conv{i}.w", (co, c, 3, 3))
        b = init(f"conv{i}.b", (co,))
        nodes.append(helper.make_node("Conv", [x, w, b], [f"c{i}"], name=f"conv{i}", pads=[1] * 4))
        bn = [init(f"bn{i}.{k}", (co,)) for k in ("g", "b", "m")]
        var = numpy_helper.from_array(rng.uniform(0.5, 2, co).astype(np.float32), f"bn{i}.v")
        inits.append(var)
        nodes.append(helper.make_node("BatchNormalization", [f"c{i}", *bn, f"bn{i}.v"],
                                      [f"n{i}"], name=f"bn{i}"))
        nodes.append(helper.make_node("Relu", [f"n{i}"], [f"r{i}"], name=f"relu{i}"))
        nodes.append(helper.make_node("AveragePool", [f"r{i}"], [f"p{i}"], name=f"pool{i}",
                                      kernel_shape=[2, 2], strides=[2, 2]))
        x, c, hw = f"p{i}", co, hw // 2
    nodes.append(helper.make_node("Flatten", [x], ["flat"], name="flatten"))
    x, width = "flat", c * hw * hw
    for j, out in enumerate((fc * 2, fc, 10)):
        w = init(f"fc{j}.w", (out, width))
        b = init(f"fc{j}.b", (out,))
        nodes.append(helper.make_node("Gemm", [x, w, b], [f"g{j}"], name=f"fc{j}", transB=1))
        if out != 10:
            nodes.append(helper.make_node("Relu", [f"g{j}"], [f"a{j}"], name=f"fcrelu{j}"))
            x = f"a{j}"
        width = out
    graph = helper.make_graph(
        nodes, "synthetic",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("g2", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return total


@benchmark("import")
def run(quick: bool = False) -> dict[str, Any]:
    """Import a ~1e7-weight model; compare with onnx.load and onnxruntime session creation."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.onnx"
        weights = synthetic_model(path, fc=512 if quick else 2048)
        size_mib = path.stat().st_size / 2**20
        base = measure("onnx.load(path)", path=str(path))
        ort = measure("onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])",
                      path=str(path))
        ours = measure("g = snncc.load_onnx(path)", path=str(path))
        run1 = measure("g = snncc.load_onnx(path)\n"
                       "g.run(numpy.zeros((8, 3, 32, 32), numpy.float32))", path=str(path))
    return {
        "machine": platform.machine(), "python": platform.python_version(),
        "weights": weights, "file_mib": round(size_mib, 1),
        "onnx_load": base, "onnxruntime_session": ort, "snncc_load_onnx": ours,
        "snncc_load_and_run_batch8": run1,
        "time_ratio_vs_onnx_load": ours["seconds"] / base["seconds"],
        "time_ratio_vs_onnxruntime": ours["seconds"] / ort["seconds"],
        "peak_memory_ratio_vs_file": ours["peak_mib"] / size_mib,
    }

"""Fuzzing the frontend: mutated model bytes and mutated model fields give a LayerGraph or a
FrontendError, never another exception, and never hang."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import snncc
from snncc import FrontendError
from tests.conftest import MODELS, small_cnn

SEEDS = [small_cnn().SerializeToString()]
for name in ("lenet_relu_op13.onnx", "residual_op17.onnx", "normalized_input_op13.onnx"):
    if (MODELS / name).exists():
        SEEDS.append((MODELS / name).read_bytes())

FUZZ = settings(max_examples=150, deadline=5000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _load(data: bytes | onnx.ModelProto) -> None:
    try:
        g = snncc.load_onnx(data, max_tensor_bytes=1 << 26, max_total_bytes=1 << 28)
    except FrontendError:
        return
    x = np.zeros((1, *g.inputs[0].shape), np.float32)
    if g.inputs[0].size < 1 << 20 and len(g.inputs) == 1:
        try:
            g.run(x)
        except FrontendError:
            pass


@FUZZ
@given(seed=st.sampled_from(range(len(SEEDS))),
       edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                      min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1)),
       insert=st.binary(max_size=16))
def test_mutated_bytes(seed: int, edits: list[tuple[float, int]], cut: float | None,
                       insert: bytes) -> None:
    data = bytearray(SEEDS[seed])
    for pos, val in edits:
        data[int(pos * len(data))] = val
    if insert:
        k = int(edits[0][0] * len(data))
        data[k:k] = insert
    if cut is not None:
        data = data[: int(cut * len(data))]
    _load(bytes(data))


@FUZZ
@given(seed=st.sampled_from(range(len(SEEDS))), data=st.data())
def test_mutated_fields(seed: int, data: st.DataObject) -> None:
    """Change attribute values, dims and input names: exercises the op handlers' checks."""
    model = onnx.ModelProto()
    model.ParseFromString(SEEDS[seed])
    nodes = model.graph.node
    for _ in range(data.draw(st.integers(1, 4))):
        what = data.draw(st.sampled_from(["attr", "dims", "input", "op", "output", "shape"]))
        if what == "attr":
            attrs = [a for n in nodes for a in n.attribute if a.type in (2, 7)]
            if attrs:
                a = data.draw(st.sampled_from(attrs))
                if a.type == 2:
                    a.i = data.draw(st.integers(-3, 9))
                elif a.ints:
                    a.ints[data.draw(st.integers(0, len(a.ints) - 1))] = data.draw(
                        st.integers(-3, 9))
        elif what == "dims" and model.graph.initializer:
            t = data.draw(st.sampled_from(list(model.graph.initializer)))
            if t.dims:
                t.dims[data.draw(st.integers(0, len(t.dims) - 1))] = data.draw(st.integers(-1, 70))
        elif what == "input":
            n = data.draw(st.sampled_from(list(nodes)))
            names = [o for m in nodes for o in m.output] + [t.name for t in
                                                          model.graph.initializer]
            if n.input:
                n.input[data.draw(st.integers(0, len(n.input) - 1))] = data.draw(
                    st.sampled_from(names))
        elif what == "op":
            n = data.draw(st.sampled_from(list(nodes)))
            n.op_type = data.draw(st.sampled_from(
                ["Relu", "Conv", "Gemm", "MaxPool", "AveragePool", "Flatten", "Add", "Mul",
                 "Concat", "Softmax", "Reshape", "Transpose", "Identity", "Clip", "MatMul"]))
        elif what == "output":
            nodes[data.draw(st.integers(0, len(nodes) - 1))].output[0] = data.draw(
                st.sampled_from(["y", "x", "fresh"]))
        else:
            dims = model.graph.input[0].type.tensor_type.shape.dim
            if len(dims) > 1:
                dims[data.draw(st.integers(1, len(dims) - 1))].dim_value = data.draw(
                    st.integers(0, 40))
    _load(model)


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_seeds_are_valid(seed: int) -> None:
    snncc.load_onnx(SEEDS[seed])

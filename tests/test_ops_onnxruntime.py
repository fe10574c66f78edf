"""The ONNX frontend is faithful op by op: ``load_onnx(m).run(x)`` equals onnxruntime on ``m``.

Every case builds a small model with ``onnx.helper``, imports it, runs the reference interpreter
at batch sizes 1 and 3, and compares with onnxruntime within 1e-5 of the output's magnitude.
Opsets are parametrized where an op's semantics or signature changed. The last part checks that
every unsupported construct a user can hit raises a FrontendError naming the node and the op.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import snncc
from snncc import FrontendError
from snncc.ir import layers as L

MODELS = Path(__file__).resolve().parent / "models"
BATCHES = (1, 3)
RTOL = 1e-5

# ----------------------------------------------------------------------------- helpers


def rand(*shape: int, seed: int = 0, low: float | None = None) -> np.ndarray:
    """Reproducible float32 normal noise (uniform in [low, low + 1) when ``low`` is given).

    The same seed and shape give the same array: give operands of one shape different seeds.
    """
    rng = np.random.default_rng(seed + 7919 * len(shape) + sum(shape))
    x = rng.standard_normal(shape) if low is None else low + rng.random(shape)
    return x.astype(np.float32)


def node(op: str, inputs: Sequence[str], output: str = "y", name: str | None = None,
         **attrs: object) -> onnx.NodeProto:
    """One node; ``name`` defaults to the lower-cased op."""
    return helper.make_node(op, list(inputs), [output], name=name or op.lower(), **attrs)


def make_model(nodes: Sequence[onnx.NodeProto], x_shape: Sequence[int],
               consts: dict[str, np.ndarray] | None = None, *, opset: int = 13,
               batch: int | str = "N", check: bool = True) -> onnx.ModelProto:
    """A model reading ``x`` of shape (batch, *x_shape) and producing ``y``."""
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in (consts or {}).items()]
    graph = helper.make_graph(
        list(nodes), "test",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, *x_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if check:  # a valid model: strict shape inference, then the checker on the inferred model
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True,
                                                     data_prop=True)
        if inferred.graph.output[0].type.tensor_type.HasField("shape"):
            onnx.checker.check_model(inferred, full_check=True)
    return model


def one_node(op: str, x_shape: Sequence[int], *consts: np.ndarray | None, opset: int = 13,
             **attrs: object) -> onnx.ModelProto:
    """``y = op(x, c1, c2, ...)``; a None constant is an omitted optional input."""
    names = ["" if c is None else f"c{i}" for i, c in enumerate(consts, start=1)]
    values = {n: c for n, c in zip(names, consts, strict=True) if c is not None}
    return make_model([node(op, ["x", *names], **attrs)], x_shape, values, opset=opset)


def run_ort(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(None, {sess.get_inputs()[0].name: x})[0])


def assert_close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == np.float32
    assert got.shape == want.shape, f"shape {got.shape} != onnxruntime's {want.shape}"
    err, scale = float(np.max(np.abs(got - want))), float(np.max(np.abs(want)))
    assert err <= RTOL * scale, f"max |snncc - onnxruntime| = {err:.3g}, max |ort| = {scale:.3g}"


def check(model: onnx.ModelProto, x_shape: Sequence[int], *, seed: int = 99,
          scale: float = 1.0) -> snncc.LayerGraph:
    """Import ``model`` and compare it with onnxruntime at every batch size; return the graph."""
    graph = snncc.load_onnx(model)
    for n in BATCHES:
        x = rand(n, *x_shape, seed=seed) * np.float32(scale)
        assert_close(np.asarray(graph.run(x)), run_ort(model, x))
    return graph


def ops(graph: snncc.LayerGraph) -> list[str]:
    return [lay.op for lay in graph]


# ----------------------------------------------------------------------------- Conv

CONV_CASES = {
    "plain": ((3, 8, 8), (4, 3, 3, 3), {}),
    "pads_asym_strides": ((3, 9, 8), (5, 3, 3, 2), dict(pads=[1, 0, 2, 1], strides=[2, 3])),
    "dilations": ((2, 10, 9), (4, 2, 3, 3), dict(dilations=[2, 3], pads=[2, 1, 0, 3])),
    "dilation_stride": ((2, 11, 11), (3, 2, 3, 3), dict(dilations=[2, 2], strides=[2, 2])),
    "groups2": ((4, 7, 7), (6, 2, 3, 3), dict(group=2, pads=[1, 1, 1, 1])),
    "depthwise": ((5, 8, 8), (5, 1, 3, 3), dict(group=5, pads=[1, 1, 1, 1], strides=[2, 2])),
    "depthwise_x2": ((3, 6, 6), (6, 1, 3, 3), dict(group=3)),
    "pointwise": ((6, 5, 4), (3, 6, 1, 1), {}),
    "kernel_shape": ((3, 8, 8), (4, 3, 3, 2), dict(kernel_shape=[3, 2], pads=[0, 1, 0, 0])),
    "kernel_covers_input": ((2, 5, 5), (3, 2, 5, 5), {}),
    "same_upper": ((3, 7, 9), (4, 3, 4, 3), dict(auto_pad="SAME_UPPER", strides=[2, 3])),
    "same_lower": ((3, 7, 9), (4, 3, 4, 3), dict(auto_pad="SAME_LOWER", strides=[2, 3])),
    "same_upper_even_k": ((2, 7, 7), (3, 2, 2, 4), dict(auto_pad="SAME_UPPER")),
    "same_lower_even_k": ((2, 7, 7), (3, 2, 2, 4), dict(auto_pad="SAME_LOWER")),
    "valid": ((3, 7, 9), (4, 3, 3, 3), dict(auto_pad="VALID", strides=[2, 2])),
    "valid_stride3": ((2, 11, 10), (3, 2, 2, 3), dict(auto_pad="VALID", strides=[3, 3])),
}


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv(case: str, bias: bool) -> None:
    x_shape, w_shape, attrs = CONV_CASES[case]
    b = rand(w_shape[0], seed=2) if bias else None
    graph = check(one_node("Conv", x_shape, rand(*w_shape), b, **attrs), x_shape)
    assert ops(graph) == ["Input", "Conv2d", "Output"]


@pytest.mark.parametrize("opset", [11, 21])
@pytest.mark.parametrize("case", ["pads_asym_strides", "same_upper", "same_lower", "valid"])
def test_conv_opsets(case: str, opset: int) -> None:
    x_shape, w_shape, attrs = CONV_CASES[case]
    check(one_node("Conv", x_shape, rand(*w_shape), rand(w_shape[0]), opset=opset, **attrs),
          x_shape)


@pytest.mark.parametrize("auto_pad,pads", [("SAME_UPPER", [1, 0, 2, 1]),
                                           ("SAME_LOWER", [2, 1, 1, 0])])
def test_conv_same_dilated(auto_pad: str, pads: list[int]) -> None:
    """onnxruntime refuses dilated SAME padding: compare with the pads the ONNX spec gives.

    Along H: size 9, kernel 2, dilation 3, stride 1 -> 3 padding rows; along W: size 8, kernel 2,
    dilation 2, stride 2 -> 1 padding column; SAME_UPPER puts the odd one at the end.
    """
    w, attrs = rand(3, 2, 2, 2), dict(dilations=[3, 2], strides=[1, 2])
    graph = snncc.load_onnx(one_node("Conv", (2, 9, 8), w, auto_pad=auto_pad, **attrs))
    explicit = one_node("Conv", (2, 9, 8), w, pads=pads, **attrs)
    for n in BATCHES:
        x = rand(n, 2, 9, 8)
        assert_close(np.asarray(graph.run(x)), run_ort(explicit, x))


@pytest.mark.parametrize("bias_shape", [(1, 4, 1, 1), (4, 1, 1), (1,)])
@pytest.mark.parametrize("bias_first", [False, True])
def test_conv_bias_by_add(bias_shape: tuple[int, ...], bias_first: bool) -> None:
    adds = ["b", "c"] if bias_first else ["c", "b"]
    model = make_model(
        [node("Conv", ["x", "w"], "c", pads=[1, 1, 1, 1]), node("Add", adds)], (3, 6, 6),
        {"w": rand(4, 3, 3, 3), "b": rand(*bias_shape, seed=3)})
    assert ops(check(model, (3, 6, 6))) == ["Input", "Conv2d", "Output"]


# ----------------------------------------------------------------------------- Gemm, MatMul

GEMM_CASES = {
    "no_c": ((6, 4), None, {}),
    "transB0": ((6, 4), (4,), dict(transB=0, transA=0)),
    "transB1": ((4, 6), (4,), dict(transB=1)),
    "c_row": ((4, 6), (1, 4), dict(transB=1)),
    "c_scalar": ((6, 4), (), {}),
    "c_one": ((6, 4), (1,), {}),
    "alpha_beta": ((4, 6), (4,), dict(transB=1, alpha=0.5, beta=2.0)),
    "alpha_beta_row": ((6, 4), (1, 4), dict(alpha=-1.5, beta=0.25)),
    "beta_zero": ((4, 6), (4,), dict(transB=1, beta=0.0)),
    "alpha_no_c": ((6, 4), None, dict(alpha=3.0)),
}


@pytest.mark.parametrize("opset", [11, 13, 21])
@pytest.mark.parametrize("case", GEMM_CASES)
def test_gemm(case: str, opset: int) -> None:
    b_shape, c_shape, attrs = GEMM_CASES[case]
    c = None if c_shape is None else rand(*c_shape, seed=2)
    graph = check(one_node("Gemm", (6,), rand(*b_shape), c, opset=opset, **attrs), (6,))
    assert ops(graph) == ["Input", "Dense", "Output"]


@pytest.mark.parametrize("bias_first", [False, True])
@pytest.mark.parametrize("bias_shape", [(5,), (1, 5), ()])
def test_matmul_add(bias_shape: tuple[int, ...], bias_first: bool) -> None:
    adds = ["b", "m"] if bias_first else ["m", "b"]
    model = make_model([node("MatMul", ["x", "w"], "m"), node("Add", adds)], (7,),
                       {"w": rand(7, 5), "b": rand(*bias_shape, seed=2)})
    assert ops(check(model, (7,))) == ["Input", "Dense", "Output"]


def test_matmul_alone() -> None:
    check(one_node("MatMul", (7,), rand(7, 3)), (7,))


# ----------------------------------------------------------------------------- activations


@pytest.mark.parametrize("opset", [11, 13, 21])
def test_relu(opset: int) -> None:
    graph = check(one_node("Relu", (3, 4, 5), opset=opset), (3, 4, 5))
    assert ops(graph) == ["Input", "Activation", "Output"]


CLIP_CASES = {
    "relu": (np.float32(0), None),
    "relu6": (np.float32(0), np.float32(6)),
    "relu1": (np.float32(0), np.float32(1)),
}


@pytest.mark.parametrize("opset", [11, 12, 13, 21])
@pytest.mark.parametrize("case", CLIP_CASES)
def test_clip(case: str, opset: int) -> None:
    lo, hi = CLIP_CASES[case]
    model = one_node("Clip", (3, 4, 5), lo, hi, opset=opset)
    graph = check(model, (3, 4, 5), scale=4.0)  # inputs reach beyond 6
    act = graph.layers[1]
    assert isinstance(act, L.Activation) and act.kind == "relu"
    assert act.params.get("max") == (None if hi is None else float(hi))


def test_clip_attributes_need_opset_11() -> None:
    # Before opset 11 Clip took min/max as attributes; such models are refused as too old.
    model = make_model([node("Clip", ["x"], min=0.0, max=6.0)], (4,), opset=10)
    with pytest.raises(FrontendError, match=r"opset 10 is older .*version_converter"):
        snncc.load_onnx(model)


# ----------------------------------------------------------------------------- pooling

AVGPOOL_CASES = {
    "k2s2": ((3, 8, 8), dict(kernel_shape=[2, 2], strides=[2, 2])),
    "default_stride": ((2, 5, 6), dict(kernel_shape=[2, 3])),
    "pad_excl": ((2, 7, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "pad_incl": ((2, 7, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                 count_include_pad=1)),
    "nonsquare_asym_excl": ((2, 9, 8), dict(kernel_shape=[3, 2], strides=[2, 1],
                                            pads=[1, 0, 2, 1])),
    "nonsquare_asym_incl": ((2, 9, 8), dict(kernel_shape=[3, 2], strides=[2, 1],
                                            pads=[1, 0, 2, 1], count_include_pad=1)),
    "ceil_nopad": ((2, 8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    "ceil_nopad_incl": ((2, 8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1,
                                        count_include_pad=1)),
    "ceil_pad_overhang_excl": ((2, 8, 8), dict(kernel_shape=[3, 3], strides=[2, 2],
                                               pads=[1, 1, 1, 1], ceil_mode=1)),
    "ceil_pad_overhang_incl": ((2, 8, 8), dict(kernel_shape=[3, 3], strides=[2, 2],
                                               pads=[1, 1, 1, 1], ceil_mode=1,
                                               count_include_pad=1)),
    "ceil_asym_incl": ((2, 10, 9), dict(kernel_shape=[3, 2], strides=[3, 2], pads=[0, 1, 1, 0],
                                        ceil_mode=1, count_include_pad=1)),
    "ceil_asym_excl": ((2, 10, 9), dict(kernel_shape=[3, 2], strides=[3, 2], pads=[0, 1, 1, 0],
                                        ceil_mode=1)),
    "ceil_drop_last": ((1, 5, 5), dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1],
                                       ceil_mode=1, count_include_pad=1)),
    "stride_gt_kernel": ((2, 11, 10), dict(kernel_shape=[2, 2], strides=[3, 3])),
    "row_window": ((2, 4, 9), dict(kernel_shape=[1, 3], strides=[1, 2], pads=[0, 1, 0, 1])),
    "same_upper": ((2, 7, 8), dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
    "same_lower": ((2, 7, 8), dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_LOWER")),
    "same_upper_incl": ((2, 7, 8), dict(kernel_shape=[3, 3], strides=[2, 2],
                                        auto_pad="SAME_UPPER", count_include_pad=1)),
    "same_lower_incl": ((2, 7, 8), dict(kernel_shape=[3, 2], strides=[2, 2],
                                        auto_pad="SAME_LOWER", count_include_pad=1)),
}


@pytest.mark.parametrize("opset", [11, 19, 21])
@pytest.mark.parametrize("case", AVGPOOL_CASES)
def test_average_pool(case: str, opset: int) -> None:
    x_shape, attrs = AVGPOOL_CASES[case]
    if opset >= 19 and "auto_pad" not in attrs:
        attrs = {**attrs, "dilations": [1, 1]}
    graph = check(one_node("AveragePool", x_shape, opset=opset, **attrs), x_shape)
    assert ops(graph) == ["Input", "AvgPool2d", "Output"]


MAXPOOL_CASES = {
    "k2s2": ((3, 8, 8), dict(kernel_shape=[2, 2], strides=[2, 2])),
    "pads": ((2, 7, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "pads_asym": ((2, 9, 8), dict(kernel_shape=[3, 2], strides=[1, 2], pads=[2, 0, 0, 1])),
    "ceil": ((2, 8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    "ceil_pad_overhang": ((2, 8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                          ceil_mode=1)),
    "ceil_drop_last": ((1, 5, 5), dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1],
                                       ceil_mode=1)),
    "dilations": ((2, 9, 9), dict(kernel_shape=[2, 2], dilations=[2, 3])),
    "dilations_ceil": ((2, 10, 9), dict(kernel_shape=[3, 2], strides=[2, 2], dilations=[2, 2],
                                        pads=[1, 0, 0, 1], ceil_mode=1)),
    "stride_gt_kernel": ((2, 11, 10), dict(kernel_shape=[2, 2], strides=[3, 3])),
    "same_upper": ((2, 7, 8), dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
    "same_lower": ((2, 7, 8), dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_LOWER")),
}


@pytest.mark.parametrize("opset", [11, 12, 21])
@pytest.mark.parametrize("case", MAXPOOL_CASES)
def test_max_pool(case: str, opset: int) -> None:
    x_shape, attrs = MAXPOOL_CASES[case]
    graph = check(one_node("MaxPool", x_shape, opset=opset, **attrs), x_shape)
    assert ops(graph) == ["Input", "MaxPool2d", "Output"]


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
def test_global_pool(op: str) -> None:
    graph = check(one_node(op, (3, 5, 7)), (3, 5, 7))
    assert ops(graph) == ["Input", "AvgPool2d" if "Average" in op else "MaxPool2d", "Output"]


# ----------------------------------------------------------------------------- BatchNorm


def bn_consts(c: int, prefix: str = "bn") -> dict[str, np.ndarray]:
    return {f"{prefix}_s": rand(c, seed=11, low=0.5), f"{prefix}_b": rand(c, seed=12),
            f"{prefix}_m": rand(c, seed=13), f"{prefix}_v": rand(c, seed=14, low=0.3)}


def bn(x: str, out: str, prefix: str = "bn", **attrs: object) -> onnx.NodeProto:
    ins = [x, *(f"{prefix}_{k}" for k in "sbmv")]
    return node("BatchNormalization", ins, out, name=prefix, epsilon=1e-3, **attrs)


BN_CASES = {
    # nodes, consts (BatchNorm's added), input shape, BatchNorm channels, layer ops after import
    "after_conv": (
        [node("Conv", ["x", "w"], "c", pads=[1, 1, 1, 1]), bn("c", "y")],
        {"w": rand(4, 3, 3, 3)}, (3, 6, 6), 4, ["Input", "Conv2d", "Output"]),
    "relu_bn_padded_conv": (
        [node("Conv", ["x", "w"], "c"), node("Relu", ["c"], "r"), bn("r", "b"),
         node("Conv", ["b", "w2"], "y", name="conv2", pads=[1, 1, 1, 1])],
        {"w": rand(4, 3, 3, 3), "w2": rand(5, 4, 3, 3, seed=2)}, (3, 7, 7), 4,
        ["Input", "Conv2d", "Activation", "ChannelAffine", "Conv2d", "Output"]),
    "relu_bn_conv": (
        [node("Conv", ["x", "w"], "c"), node("Relu", ["c"], "r"), bn("r", "b"),
         node("Conv", ["b", "w2", "b2"], "y", name="conv2", strides=[2, 1])],
        {"w": rand(4, 3, 3, 3), "w2": rand(5, 4, 3, 3, seed=2), "b2": rand(5, seed=3)},
        (3, 8, 7), 4, ["Input", "Conv2d", "Activation", "Conv2d", "Output"]),
    "relu_bn_grouped_conv": (
        [node("Conv", ["x", "w"], "c"), node("Relu", ["c"], "r"), bn("r", "b"),
         node("Conv", ["b", "w2"], "y", name="conv2", group=2)],
        {"w": rand(4, 3, 3, 3), "w2": rand(6, 2, 2, 2, seed=2)}, (3, 7, 7), 4,
        ["Input", "Conv2d", "Activation", "Conv2d", "Output"]),
    "relu_bn_flatten_gemm": (
        [node("Conv", ["x", "w"], "c"), node("Relu", ["c"], "r"), bn("r", "b"),
         node("Flatten", ["b"], "f"), node("Gemm", ["f", "fw", "fb"], transB=1)],
        {"w": rand(4, 3, 3, 3), "fw": rand(5, 4 * 4 * 4, seed=2), "fb": rand(5, seed=3)},
        (3, 6, 6), 4, ["Input", "Conv2d", "Activation", "Reshape", "Dense", "Output"]),
    "after_gemm": (
        [node("Gemm", ["x", "fw"], "g", transB=1), bn("g", "y")],
        {"fw": rand(5, 8)}, (8,), 5, ["Input", "Dense", "Output"]),
    "relu_bn_gemm": (
        [node("Relu", ["x"], "r"), bn("r", "b"), node("Gemm", ["b", "fw"], transB=1)],
        {"fw": rand(5, 8)}, (8,), 8, ["Input", "Activation", "Dense", "Output"]),
    "on_input_padded_conv": (
        [bn("x", "b"), node("Conv", ["b", "w"], pads=[1, 1, 1, 1])],
        {"w": rand(4, 3, 3, 3)}, (3, 6, 6), 3, ["Input", "Conv2d", "Output"]),
    "on_input_alone": (
        [bn("x", "y")], {}, (3, 4, 5), 3, ["Input", "Output"]),
    "bn_relu_bn_output": (
        [bn("x", "b"), node("Relu", ["b"], "r"), bn("r", "y", prefix="bn2")],
        bn_consts(3, "bn2"), (3, 4, 5), 3, ["Input", "Activation", "ChannelAffine", "Output"]),
}


@pytest.mark.parametrize("opset", [11, 14, 15, 21])
@pytest.mark.parametrize("case", BN_CASES)
def test_batchnorm(case: str, opset: int) -> None:
    nodes, consts, x_shape, c, want = BN_CASES[case]
    model = make_model(nodes, x_shape, {**consts, **bn_consts(c)}, opset=opset)
    graph = check(model, x_shape)
    assert ops(graph) == want


# ----------------------------------------------------------------------------- reshaping


@pytest.mark.parametrize("opset", [11, 13, 21])
@pytest.mark.parametrize("axis", [1, -3])
def test_flatten(axis: int, opset: int) -> None:
    model = make_model([node("Flatten", ["x"], "f", axis=axis), node("Gemm", ["f", "w"])],
                       (3, 4, 2), {"w": rand(24, 5)}, opset=opset)
    assert ops(check(model, (3, 4, 2))) == ["Input", "Reshape", "Dense", "Output"]


@pytest.mark.parametrize("target", [[-1, 24], [0, -1], [0, 4, -1], [-1, 2, 3, 4], [0, 0, 8]],
                         ids=str)
def test_reshape(target: list[int]) -> None:
    model = make_model([node("Reshape", ["x", "s"])], (3, 4, 2),
                       {"s": np.array(target, dtype=np.int64)})
    check(model, (3, 4, 2))


def test_reshape_hardcoded_batch_1() -> None:
    """A model that reshapes to [1, N] still runs on a batch: sample by sample in onnxruntime."""
    nodes = [node("Conv", ["x", "w"], "c"), node("Reshape", ["c", "s"], "r"),
             node("Gemm", ["r", "fw"])]
    consts = {"w": rand(2, 3, 3, 3), "s": np.array([1, 2 * 4 * 4], dtype=np.int64),
              "fw": rand(32, 5)}
    model = make_model(nodes, (3, 6, 6), consts, batch=1)
    graph = snncc.load_onnx(model)
    x = rand(3, 3, 6, 6)
    want = np.concatenate([run_ort(model, x[i:i + 1]) for i in range(3)])
    assert_close(np.asarray(graph.run(x)), want)
    # the same model with the hard-coded 1 replaced by -1, run at batch 3
    consts["s"] = np.array([-1, 32], dtype=np.int64)
    assert_close(np.asarray(graph.run(x)), run_ort(make_model(nodes, (3, 6, 6), consts), x))


@pytest.mark.parametrize("opset", [11, 13, 21])
def test_reshape_shape_chain(opset: int) -> None:
    """x.view(x.size(0), -1) as PyTorch exports it: Shape -> Gather -> Unsqueeze -> Concat."""
    axes = {"axes": [0]} if opset < 13 else {}
    unsq_in = ["n"] if opset < 13 else ["n", "ax"]
    nodes = [
        node("Shape", ["x"], "shp"),
        node("Gather", ["shp", "zero"], "n", axis=0),
        node("Unsqueeze", unsq_in, "n1", **axes),
        node("Concat", ["n1", "minus1"], "target", axis=0),
        node("Relu", ["x"], "r"),
        node("Reshape", ["r", "target"], "f"),
        node("Gemm", ["f", "w"]),
    ]
    consts = {"zero": np.array(0, dtype=np.int64), "minus1": np.array([-1], dtype=np.int64),
              "ax": np.array([0], dtype=np.int64), "w": rand(24, 3)}
    model = make_model(nodes, (2, 3, 4), consts, opset=opset)
    assert ops(check(model, (2, 3, 4))) == ["Input", "Activation", "Reshape", "Dense", "Output"]


@pytest.mark.parametrize("opset", [15, 17, 21])
def test_shape_start_end(opset: int) -> None:
    """Reshape to [N, C, H*W] from Shape(end=1) and Shape(start=-3, end=-2) (opset 15)."""
    nodes = [
        node("Shape", ["x"], "n", name="shape_n", end=1),
        node("Shape", ["x"], "c", name="shape_c", start=-3, end=-2),
        node("Concat", ["n", "c", "minus1"], "target", axis=0),
        node("Reshape", ["x", "target"]),
    ]
    model = make_model(nodes, (2, 3, 4), {"minus1": np.array([-1], dtype=np.int64)},
                       opset=opset)
    graph = check(model, (2, 3, 4))
    assert graph.outputs[0].shape == (2, 12)


def test_weights_from_reshape() -> None:
    nodes = [node("Reshape", ["wflat", "wshape"], "w"), node("Conv", ["x", "w", "b"])]
    consts = {"wflat": rand(4 * 3 * 2 * 2), "wshape": np.array([4, 3, 2, 2], dtype=np.int64),
              "b": rand(4, seed=2)}
    assert ops(check(make_model(nodes, (3, 5, 5), consts), (3, 5, 5))) == [
        "Input", "Conv2d", "Output"]


@pytest.mark.parametrize("x_shape,perm", [
    ((4, 1, 1), [0, 2, 3, 1]),
    ((4, 1, 1), [0, 3, 1, 2]),
    ((1, 5), [0, 2, 1]),
    ((3, 1, 5), [0, 2, 1, 3]),
    ((6,), [0, 1]),
], ids=str)
def test_transpose_noop(x_shape: tuple[int, ...], perm: list[int]) -> None:
    model = make_model([node("Transpose", ["x"], "t", perm=perm), node("Relu", ["t"])], x_shape)
    check(model, x_shape)


@pytest.mark.parametrize("opset", [11, 13, 21])
def test_squeeze_unsqueeze(opset: int) -> None:
    def axes_of(name: str, values: list[int]) -> tuple[list[str], dict[str, object]]:
        if opset < 13:
            return [], {"axes": values}
        return [name], {}

    sq_in, sq_attr = axes_of("sq_axes", [2, -1])
    un_in, un_attr = axes_of("un_axes", [-1, 2])
    nodes = [
        node("Squeeze", ["x", *sq_in], "s", **sq_attr),
        node("Gemm", ["s", "w"], "g"),
        node("Unsqueeze", ["g", *un_in], "u", **un_attr),
        node("Conv", ["u", "w2"]),
    ]
    consts = {"sq_axes": np.array([2, -1], dtype=np.int64),
              "un_axes": np.array([-1, 2], dtype=np.int64), "w": rand(5, 6),
              "w2": rand(2, 6, 1, 1, seed=2)}
    model = make_model(nodes, (5, 1, 1), consts, opset=opset)
    check(model, (5, 1, 1))


# ----------------------------------------------------------------------------- joins


def test_add_residual() -> None:
    nodes = [node("Conv", ["x", "w1", "b1"], "c1", name="conv1", pads=[1, 1, 1, 1]),
             node("Relu", ["c1"], "r1", name="relu1"),
             node("Conv", ["r1", "w2"], "c2", name="conv2", pads=[1, 1, 1, 1]),
             node("Add", ["c2", "r1"], "s"),
             node("Relu", ["s"])]
    consts = {"w1": rand(4, 3, 3, 3), "b1": rand(4, seed=2), "w2": rand(4, 4, 3, 3, seed=3)}
    graph = check(make_model(nodes, (3, 5, 5), consts), (3, 5, 5))
    assert ops(graph) == ["Input", "Conv2d", "Activation", "Conv2d", "Add", "Activation", "Output"]


def test_add_input_skip() -> None:
    nodes = [node("Conv", ["x", "w"], "c", pads=[1, 1, 1, 1]), node("Add", ["x", "c"])]
    graph = check(make_model(nodes, (3, 5, 5), {"w": rand(3, 3, 3, 3)}), (3, 5, 5))
    assert ops(graph) == ["Input", "Conv2d", "Add", "Output"]


@pytest.mark.parametrize("opset", [11, 13, 21])
@pytest.mark.parametrize("n_inputs", [2, 3])
@pytest.mark.parametrize("axis", [1, -3])
def test_concat_channels(axis: int, n_inputs: int, opset: int) -> None:
    branches = [node("Conv", ["x", f"w{i}"], f"c{i}", name=f"conv{i}", pads=[i, i, i, i],
                     kernel_shape=[2 * i + 1, 2 * i + 1]) for i in range(n_inputs)]
    consts = {f"w{i}": rand(i + 2, 3, 2 * i + 1, 2 * i + 1, seed=i) for i in range(n_inputs)}
    model = make_model([*branches, node("Concat", [f"c{i}" for i in range(n_inputs)], axis=axis)],
                       (3, 5, 6), consts, opset=opset)
    assert "Concat" in ops(check(model, (3, 5, 6)))


# ----------------------------------------------------------------------------- pass-through


@pytest.mark.parametrize("opset", [11, 13, 21])
def test_identity(opset: int) -> None:
    model = make_model([node("Identity", ["x"], "i"), node("Relu", ["i"])], (4, 3), opset=opset)
    assert ops(check(model, (4, 3))) == ["Input", "Activation", "Output"]


@pytest.mark.parametrize("form", ["attr11", "none12", "ratio13", "ratio_training21"])
def test_dropout(form: str) -> None:
    consts: dict[str, np.ndarray] = {}
    if form == "attr11":
        drop, opset = node("Dropout", ["x"], "d", ratio=0.3), 11
    elif form == "none12":
        drop, opset = node("Dropout", ["x"], "d"), 12
    elif form == "ratio13":
        drop, opset = node("Dropout", ["x", "ratio"], "d"), 13
        consts["ratio"] = np.array(0.3, dtype=np.float32)
    else:
        drop, opset = node("Dropout", ["x", "ratio", "train"], "d"), 21
        consts |= {"ratio": np.array(0.5, dtype=np.float32), "train": np.array(False)}
    model = make_model([drop, node("Relu", ["d"])], (4, 3), consts, opset=opset)
    assert ops(check(model, (4, 3))) == ["Input", "Activation", "Output"]


# ----------------------------------------------------------------------------- output decoding

SOFTMAX_CASES = {
    # opset, x shape, axis (None: default) -- all reduce over every non-batch value
    "op11_default_rank2": (11, (6,), None),
    "op11_axis1_rank2": (11, (6,), 1),
    "op11_axis-1_rank2": (11, (6,), -1),
    "op11_default_rank4": (11, (2, 3, 2), None),
    "op11_axis1_rank3": (11, (3, 4), 1),
    "op13_default_rank2": (13, (6,), None),
    "op13_axis1_rank2": (13, (6,), 1),
    "op13_axis-1_rank2": (13, (6,), -1),
    "op21_default_rank2": (21, (6,), None),
    "op11_axis2_ones_first": (11, (1, 6), 2),
    "op13_axis-1_ones_first": (13, (1, 1, 6), -1),
    "op13_axis1_ones_after": (13, (6, 1, 1), 1),
}


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("case", SOFTMAX_CASES)
def test_softmax_output(case: str, op: str) -> None:
    opset, x_shape, axis = SOFTMAX_CASES[case]
    attrs = {} if axis is None else {"axis": axis}
    model = make_model([node("Relu", ["x"], "r"), node(op, ["r"], **attrs)], x_shape, opset=opset)
    graph = check(model, x_shape)
    assert graph.outputs[0].decoding == op.lower()


# ----------------------------------------------------------------------------- input transforms

ARITH_CASES = {
    # op, constant, constant first
    "sub_scalar": ("Sub", np.array(0.5, np.float32), False),
    "scalar_sub": ("Sub", np.array(0.5, np.float32), True),
    "div_scalar": ("Div", np.array(255.0, np.float32), False),
    "mul_scalar": ("Mul", np.array(1 / 255, np.float32), True),
    "add_scalar_1d": ("Add", np.array([0.25], np.float32), False),
    "sub_channel": ("Sub", rand(1, 3, 1, 1, seed=3), False),
    "channel_sub": ("Sub", rand(3, 1, 1, seed=3), True),
    "div_channel": ("Div", rand(1, 3, 1, 1, seed=4, low=0.2), False),
    "mul_channel": ("Mul", rand(3, 1, 1, seed=5), False),
    "sub_mean_image": ("Sub", rand(1, 3, 4, 5, seed=6), False),
    "mean_image_sub": ("Sub", rand(3, 4, 5, seed=6), True),
    "add_mean_image": ("Add", rand(1, 3, 4, 5, seed=6), True),
    "div_std_image": ("Div", rand(1, 3, 4, 5, seed=7, low=0.2), False),
    "mul_row": ("Mul", rand(1, 1, 1, 5, seed=8), False),
}


@pytest.mark.parametrize("then_conv", [False, True], ids=["alone", "then_padded_conv"])
@pytest.mark.parametrize("case", ARITH_CASES)
def test_input_transform(case: str, then_conv: bool) -> None:
    op, c, c_first = ARITH_CASES[case]
    ins = ["c", "x"] if c_first else ["x", "c"]
    nodes = [node(op, ins, "t" if then_conv else "y")]
    consts = {"c": c}
    if then_conv:
        nodes.append(node("Conv", ["t", "w"], pads=[1, 1, 1, 1]))
        consts["w"] = rand(2, 3, 3, 3)
    graph = check(make_model(nodes, (3, 4, 5), consts), (3, 4, 5))
    assert ops(graph) == ["Input", *(["Conv2d"] if then_conv else []), "Output"]


def test_mean_image_then_channel_std() -> None:
    """(x - mean_image) / std: both stay in the input transform ahead of a padded conv."""
    nodes = [node("Sub", ["x", "mean"], "centered"), node("Div", ["centered", "std"], "t"),
             node("Conv", ["t", "w"], pads=[1, 1, 1, 1])]
    consts = {"mean": rand(1, 3, 4, 5, seed=1), "std": rand(1, 3, 1, 1, seed=2, low=0.2),
              "w": rand(2, 3, 3, 3)}
    graph = check(make_model(nodes, (3, 4, 5), consts), (3, 4, 5))
    assert ops(graph) == ["Input", "Conv2d", "Output"]
    assert graph.inputs[0].shift is not None and graph.inputs[0].shift.shape == (3, 4, 5)


def test_channel_scale_then_mean_image() -> None:
    nodes = [node("Mul", ["x", "scale"], "s"), node("Sub", ["s", "mean"], "y")]
    consts = {"scale": np.array(1 / 255, np.float32), "mean": rand(1, 3, 4, 5, seed=1)}
    assert ops(check(make_model(nodes, (3, 4, 5), consts), (3, 4, 5))) == ["Input", "Output"]


def test_pixel_constant_before_dense() -> None:
    """A per-pixel scale after a layer is exact when it folds into the next Dense weights."""
    nodes = [node("Relu", ["x"], "r"), node("Mul", ["r", "s"], "m"), node("Flatten", ["m"], "f"),
             node("Gemm", ["f", "w"])]
    consts = {"s": rand(1, 3, 2, 2, seed=2), "w": rand(12, 4)}
    assert ops(check(make_model(nodes, (3, 2, 2), consts), (3, 2, 2))) == [
        "Input", "Activation", "Reshape", "Dense", "Output"]


def test_constant_after_layer_is_folded() -> None:
    nodes = [node("Conv", ["x", "w"], "c"), node("Mul", ["c", "s"], "m"),
             node("Sub", ["m", "t"], "y")]
    consts = {"w": rand(4, 3, 3, 3), "s": rand(1, 4, 1, 1, seed=2), "t": np.float32(0.5)}
    assert ops(check(make_model(nodes, (3, 6, 6), consts), (3, 6, 6))) == [
        "Input", "Conv2d", "Output"]


# ----------------------------------------------------------------------------- whole models


def _model_files() -> list[Path]:
    return sorted(MODELS.glob("*.onnx"))


@pytest.mark.parametrize("path", _model_files(), ids=lambda p: p.stem)
def test_pytorch_export(path: Path) -> None:
    data = np.load(MODELS / f"{path.stem.rsplit('_op', 1)[0]}.npz")
    graph = snncc.load_onnx(path)
    assert_close(np.asarray(graph.run(data["x"])), data["y"])
    # and at another batch size, against onnxruntime (sample by sample for fixed-batch files)
    model = onnx.load(path)
    x = np.concatenate([data["x"]] * 3)[:3]
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    want = (run_ort(model, x) if dim.dim_param else
            np.concatenate([run_ort(model, x[i:i + 1]) for i in range(len(x))]))
    assert_close(np.asarray(graph.run(x)), want)


def test_pytorch_exports_exist() -> None:
    assert len(_model_files()) >= 14


# ----------------------------------------------------------------------------- error paths

ERROR_CASES = {
    "conv3d": (
        [node("Conv", ["x", "w"], name="conv3d_1")], (3, 4, 4, 4), {"w": rand(2, 3, 2, 2, 2)},
        13, ["conv3d_1", "(Conv)", "2-D convolution"]),
    "conv1d": (
        [node("Conv", ["x", "w"], name="conv1d_1")], (3, 8), {"w": rand(2, 3, 3)},
        13, ["conv1d_1", "(Conv)", "2-D convolution"]),
    "transpose_moves_data": (
        [node("Transpose", ["x"], name="to_nhwc", perm=[0, 2, 3, 1])], (3, 4, 5), {},
        13, ["to_nhwc", "(Transpose)", "moves data"]),
    "concat_axis2": (
        [node("Relu", ["x"], "r"), node("Concat", ["x", "r"], name="cat_h", axis=2)],
        (3, 4, 5), {}, 13, ["cat_h", "(Concat)", "axis 2"]),
    "concat_batch": (
        [node("Relu", ["x"], "r"), node("Concat", ["x", "r"], name="cat_n", axis=0)],
        (3, 4, 5), {}, 13, ["cat_n", "(Concat)", "axis 0"]),
    "softmax_middle": (
        [node("Softmax", ["x"], "p", name="sm"), node("Gemm", ["p", "w"])], (6,),
        {"w": rand(6, 2)}, 13, ["sm", "(Softmax)", "only supported at the model's output"]),
    "softmax_channels_rank4": (
        [node("Softmax", ["x"], name="sm4", axis=1)], (3, 2, 2), {}, 13,
        ["sm4", "(Softmax)", "axis 1"]),
    "logsoftmax_last_axis_rank4": (
        [node("LogSoftmax", ["x"], name="lsm", axis=-1)], (3, 2, 2), {}, 11,
        ["lsm", "(LogSoftmax)", "axis 3"]),
    "clip_1_2": (
        [node("Clip", ["x", "lo", "hi"], name="clip12")], (4,),
        {"lo": np.float32(1), "hi": np.float32(2)}, 13, ["clip12", "(Clip)", "Clip(1.0, 2.0)"]),
    "clip_no_min": (
        [node("Clip", ["x", "", "hi"], name="clip_hi")], (4,), {"hi": np.float32(6)}, 13,
        ["clip_hi", "(Clip)", "Clip(-inf, 6.0)"]),
    "reshape_batch": (
        [node("Reshape", ["x", "s"], name="rs")], (3, 4), {"s": np.array([2, -1], np.int64)},
        13, ["rs", "(Reshape)", "changes the batch dimension"]),
    "reshape_merges_batch": (
        [node("Reshape", ["x", "s"], name="rs2")], (3, 4), {"s": np.array([-1, 6], np.int64)},
        13, ["rs2", "(Reshape)", "cannot reshape"]),
    "gemm_transA": (
        [node("Gemm", ["x", "w"], name="fc_t", transA=1)], (6,), {"w": rand(3, 6)},
        13, ["fc_t", "(Gemm)", "transA=1"]),
    "lstm": (
        [helper.make_node("LSTM", ["x", "lw", "lr"], ["y"], name="lstm_1", hidden_size=2)],
        (1, 3), {"lw": rand(1, 8, 3), "lr": rand(1, 8, 2)}, 13,
        ["lstm_1", "(LSTM)", "op 'LSTM' of domain 'ai.onnx' is not supported",
         "supported ops: Conv, Gemm"]),
    "avgpool_dilated": (
        [node("AveragePool", ["x"], name="ap", kernel_shape=[2, 2], dilations=[2, 2])],
        (2, 6, 6), {}, 19, ["ap", "(AveragePool)", "dilat"]),
    "mul_two_tensors": (
        [node("Relu", ["x"], "r"), node("Mul", ["x", "r"], name="gate")], (4,), {}, 13,
        ["gate", "(Mul)", "neither ReLU nor soft-LIF"]),
    "div_by_tensor": (
        [node("Div", ["c", "x"], name="recip")], (4,), {"c": np.float32(1)}, 13,
        ["recip", "(Div)", "neither ReLU nor soft-LIF"]),
    "bn_training": (
        [helper.make_node("BatchNormalization", ["x", "bn_s", "bn_b", "bn_m", "bn_v"],
                          ["y", "mean", "var"], name="bn_train", training_mode=1)],
        (3, 2, 2), bn_consts(3), 15, ["bn_train", "(BatchNormalization)", "training_mode"]),
    "flatten_axis2": (
        [node("Flatten", ["x"], name="fl2", axis=2)], (3, 2, 2), {}, 13,
        ["fl2", "(Flatten)", "axis=2"]),
    "squeeze_no_axes": (  # would squeeze a batch of 1 too
        [node("Squeeze", ["x"], name="sq")], (3, 1, 1), {}, 13,
        ["sq", "(Squeeze)", "without axes", "[2, 3]"]),
    "squeeze_batch": (
        [node("Squeeze", ["x", "ax"], name="sq0")], (3, 1, 1), {"ax": np.array([0], np.int64)},
        13, ["sq0", "(Squeeze)", "axes [0]"]),
    "maxpool_same_dilated": (  # onnxruntime and the ONNX reference disagree here
        [node("MaxPool", ["x"], name="mp_sd", kernel_shape=[2, 2], dilations=[1, 2],
              auto_pad="SAME_UPPER")], (2, 6, 6), {}, 13,
        ["mp_sd", "(MaxPool)", "auto_pad=SAME_UPPER", "dilated padding"]),
    "avgpool_same_negative": (  # kernel 1 < stride 3: onnxruntime crops or fails
        [node("AveragePool", ["x"], name="ap_sn", kernel_shape=[1, 1], strides=[1, 3],
              auto_pad="SAME_UPPER")], (2, 1, 9), {}, 19,
        ["ap_sn", "(AveragePool)", "negative padding"]),
    "maxpool_window_in_padding": (
        [node("MaxPool", ["x"], name="mp_pad", kernel_shape=[4, 2], strides=[3, 3],
              pads=[0, 1, 0, 0], dilations=[1, 2], ceil_mode=1)], (2, 2, 1), {}, 13,
        ["mp_pad", "(MaxPool)", "covers padding only"]),
    "mean_image_after_relu": (
        [node("Relu", ["x"], "r"), node("Sub", ["r", "mean"], "t", name="sub_mean"),
         node("Conv", ["t", "w"], pads=[1, 1, 1, 1])], (3, 4, 5),
        {"mean": rand(1, 3, 4, 5), "w": rand(2, 3, 3, 3)}, 13,
        ["sub_mean", "(Sub)", "[1, 3, 4, 5]", "varies within channels"]),
    "mean_image_and_raw_input": (
        [node("Sub", ["x", "mean"], "t", name="sub_mean"), node("Add", ["t", "x"])], (3, 4, 5),
        {"mean": rand(1, 3, 4, 5)}, 13, ["sub_mean", "(Sub)", "varies within channels"]),
    "maxpool_indices": (
        [helper.make_node("MaxPool", ["x"], ["y", "idx"], name="mp", kernel_shape=[2, 2]),
         node("Cast", ["idx"], "idx_f", to=TensorProto.FLOAT)],
        (2, 4, 4), {}, 13, ["mp", "(MaxPool)", "'idx'"]),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_error(case: str) -> None:
    nodes, x_shape, consts, opset, parts = ERROR_CASES[case]
    model = make_model(nodes, x_shape, consts, opset=opset)
    with pytest.raises(FrontendError) as info:
        snncc.load_onnx(model)
    msg = str(info.value)
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"
    assert "\n" not in msg


# Invalid ONNX (onnx's own shape inference rejects them too): refused by name, never a crash.
INVALID_CASES = {
    "conv_zero_dilation": (
        [node("Conv", ["x", "w"], name="c0", dilations=[0, 1])], (2, 5, 5), {"w": rand(2, 2, 3, 3)},
        ["c0", "(Conv)", "dilations=[0, 1] must be 1 or more"]),
    "pool_zero_stride": (
        [node("MaxPool", ["x"], name="p0", kernel_shape=[2, 2], strides=[1, 0])], (2, 5, 5), {},
        ["p0", "(MaxPool)", "strides=[1, 0] must be 1 or more"]),
    "negative_pads": (
        [node("AveragePool", ["x"], name="ap", kernel_shape=[2, 2], pads=[0, -1, 0, 0])],
        (2, 5, 5), {}, ["ap", "(AveragePool)", "pads=[0, -1, 0, 0] must be 0 or more"]),
    "reshape_two_minus_one": (
        [node("Reshape", ["x", "s"], name="rs")], (3, 4), {"s": np.array([-1, -1], np.int64)},
        ["rs", "(Reshape)", "invalid target shape [-1, -1]"]),
    "squeeze_out_of_range": (
        [node("Squeeze", ["x", "ax"], name="sq")], (3, 1, 1), {"ax": np.array([-5], np.int64)},
        ["sq", "(Squeeze)", "axes [-5] are out of range"]),
    "unsqueeze_repeated": (
        [node("Unsqueeze", ["x", "ax"], name="usq")], (3,), {"ax": np.array([1, 1], np.int64)},
        ["usq", "(Unsqueeze)", "axes [1, 1] are out of range or repeated"]),
}


@pytest.mark.parametrize("case", INVALID_CASES)
def test_invalid_model(case: str) -> None:
    nodes, x_shape, consts, parts = INVALID_CASES[case]
    with pytest.raises(FrontendError) as info:
        snncc.load_onnx(make_model(nodes, x_shape, consts, check=False))
    for part in parts:
        assert part in str(info.value), f"{part!r} not in {str(info.value)!r}"


def test_error_custom_domain_op() -> None:
    nodes = [helper.make_node("FusedConv", ["x", "w"], ["y"], name="fused1",
                              domain="com.microsoft")]
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(rand(4, 3, 3, 3), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.microsoft", 1)])
    with pytest.raises(FrontendError) as info:
        snncc.load_onnx(model)
    msg = str(info.value)
    for part in ["fused1", "FusedConv", "com.microsoft", "supported ops: Conv"]:
        assert part in msg, f"{part!r} not in {msg!r}"


def test_error_softmax_output_read_again() -> None:
    """A Softmax is the output's decoding; another node reading its result would see logits."""
    nodes = [node("Softmax", ["x"], "y", name="sm"), node("Relu", ["y"], "y2", name="after_sm")]
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["N", 4]) for o in ("y", "y2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(FrontendError, match=r"node 'after_sm' \(Relu\): input 'y' is the softmax"):
        snncc.load_onnx(model)

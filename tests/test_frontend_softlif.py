"""Soft-LIF through the whole frontend: function nodes, loose-op chains, inlined bodies."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, inliner

import snncc
from snncc import FrontendError
from snncc.frontend.softlif import add_softlif
from tests.conftest import small_cnn

MNIST = dict(tau_rc=0.022, tau_ref=0.002, gamma=0.02, amplitude=0.063)


def _with_chain(nodes: list[onnx.NodeProto], consts: dict[str, float]) -> onnx.ModelProto:
    """small_cnn with its Relu (c -> r) replaced by ``nodes`` reading 'c', writing 'r'."""
    m = small_cnn()
    del m.graph.node[1]
    for k, node in enumerate(nodes):
        m.graph.node.insert(1 + k, node)
    for k, v in consts.items():
        m.graph.initializer.append(helper.make_tensor(k, TensorProto.FLOAT, [], [v]))
    onnx.checker.check_model(m)
    return m


def _torch_like(p: dict[str, float]) -> onnx.ModelProto:
    n = helper.make_node
    return _with_chain([
        n("Div", ["c", "gamma"], ["a"], name="sl_div"), n("Softplus", ["a"], ["sp"], name="sl_sp"),
        n("Mul", ["sp", "gamma"], ["p"]), n("Reciprocal", ["p"], ["q1"]),
        n("Add", ["q1", "one"], ["d"]), n("Log", ["d"], ["q"]),
        n("Mul", ["q", "tau_rc"], ["e"]), n("Add", ["e", "tau_ref"], ["v"]),
        n("Div", ["amplitude", "v"], ["r"], name="sl_out"),
    ], dict(gamma=p["gamma"], one=1.0, tau_rc=p["tau_rc"], tau_ref=p["tau_ref"],
            amplitude=p["amplitude"]))


def _compare(m: onnx.ModelProto, scale: float = 1.0) -> snncc.LayerGraph:
    g = snncc.load_onnx(m)
    x = scale * np.random.default_rng(0).normal(size=(5, 1, 6, 6)).astype(np.float32)
    ref = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    assert np.abs(g.run(x) - ref).max() <= 1e-5 * np.abs(ref).max()
    return g


@pytest.mark.parametrize("params", [MNIST, dict(tau_rc=0.05, tau_ref=0.001, gamma=0.02,
                                                amplitude=0.063)])
def test_loose_chain_becomes_softlif_layer(params: dict[str, float]) -> None:
    """A naive float32 chain is only accurate for x/gamma above about -15 (the stable function
    body is accurate everywhere), so onnxruntime is compared where the chain is accurate: small
    inputs around a positive conv bias."""
    m = _torch_like(params)
    bias = next(t for t in m.graph.initializer if t.name == "b")
    bias.CopyFrom(onnx.numpy_helper.from_array(np.full(4, 0.1, np.float32), "b"))
    g = _compare(m, scale=0.01)
    acts = [lay for lay in g if lay.op == "Activation"]
    assert len(acts) == 1 and acts[0].kind == "softlif"
    assert dict(acts[0].params) == params
    assert "sl_div" in acts[0].onnx_nodes and "sl_out" in acts[0].onnx_nodes


def test_function_node_and_inlined_body_agree() -> None:
    m = small_cnn()
    del m.graph.node[1]
    m = add_softlif(m, "c", "r", node_name="act1", **MNIST)
    m.graph.node.insert(1, m.graph.node.pop())  # keep topological order
    g_fn = _compare(m)
    g_inl = _compare(inliner.inline_local_functions(m))
    (a_fn,) = [lay for lay in g_fn if lay.op == "Activation"]
    (a_inl,) = [lay for lay in g_inl if lay.op == "Activation"]
    assert a_fn.kind == a_inl.kind == "softlif"
    assert dict(a_fn.params) == dict(a_inl.params) == MNIST


def test_unrecognised_curve_names_nodes() -> None:
    n = helper.make_node
    m = _with_chain([n("Mul", ["c", "k"], ["a"], name="scale"),
                     n("Sigmoid", ["a"], ["r"], name="sig")], {"k": 2.0})
    with pytest.raises(FrontendError, match=r"node 'sig' \(Sigmoid\): elementwise ops \['scale', "
                                            r"'sig'\] from 'c' to 'r' compute a function that is "
                                            "neither ReLU nor soft-LIF"):
        snncc.load_onnx(m)

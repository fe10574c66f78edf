"""The snncc:SoftLIF ONNX function, its helpers, and the loose-op soft-LIF recogniser."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from snncc.errors import FrontendError
from snncc.frontend.softlif import (
    SOFTLIF_ATTRS,
    SOFTLIF_DEFAULTS,
    SOFTLIF_DOMAIN,
    SOFTLIF_OP,
    add_softlif,
    fit_softlif,
    softlif_function,
    softlif_params,
)
from snncc.ir import lif_rate, softlif_rate

MNIST = dict(tau_rc=0.022, tau_ref=0.002, gamma=0.02, amplitude=0.063)
CIFAR = dict(tau_rc=0.05, tau_ref=0.001, gamma=0.02, amplitude=0.063)
PARAMS = pytest.mark.parametrize("params", [MNIST, CIFAR], ids=["mnist", "cifar"])


def _vector_model(opset: int = 17, elem: int = TensorProto.FLOAT) -> onnx.ModelProto:
    graph = helper.make_graph([], "g", [helper.make_tensor_value_info("x", elem, ["n"])],
                              [helper.make_tensor_value_info("y", elem, ["n"])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _runner(model: onnx.ModelProto) -> Callable[[np.ndarray], np.ndarray]:
    sess = _session(model)
    name = model.graph.input[0].name
    return lambda x: sess.run(None, {name: x})[0]


def _dense_grid(gamma: float) -> np.ndarray:
    """x/gamma from -1e4 to 1e4: log-spaced tails and a fine linear middle."""
    side = np.geomspace(1e-8, 1e4, 4000)
    y = np.concatenate([-side[::-1], [0.0], side, np.linspace(-40.0, 40.0, 16001)])
    return (y * gamma).astype(np.float32)


# --- the ONNX function -------------------------------------------------------------------------

@PARAMS
@pytest.mark.parametrize("opset", [13, 17, 21])
def test_function_matches_reference_float32(params: dict[str, float], opset: int) -> None:
    run = _runner(add_softlif(_vector_model(opset), "x", "y", **params))
    x = _dense_grid(params["gamma"])
    y = run(x)
    assert y.dtype == np.float32
    assert np.all(np.isfinite(y))
    ref = softlif_rate(x.astype(np.float64), **params)
    rel = np.abs(y - ref) / ref
    assert rel.max() < 1e-5, f"max rel err {rel.max():.3g} at x/gamma={x[rel.argmax()] / 0.02}"


@PARAMS
def test_function_extreme_inputs(params: dict[str, float]) -> None:
    run = _runner(add_softlif(_vector_model(), "x", "y", **params))
    x = np.array([-1e30, -1e6, 1e6, 1e30, np.inf, -np.inf], np.float32)
    y = run(x)
    ref = softlif_rate(x[:4].astype(np.float64), **params)
    np.testing.assert_allclose(y[:4], ref, rtol=1e-5)
    assert y[4] == pytest.approx(params["amplitude"] / params["tau_ref"], rel=1e-6)
    assert y[5] == 0.0


def test_function_float64_input() -> None:
    run = _runner(add_softlif(_vector_model(17, TensorProto.DOUBLE), "x", "y", **MNIST))
    x = _dense_grid(0.02).astype(np.float64)
    y = run(x)
    assert y.dtype == np.float64
    # ONNX float attributes are float32: the body computes in float64 with rounded parameters.
    # (1e-9, not 1e-15: the asymptote below x/gamma = -20 is exact only to float32 precision.)
    params32 = {k: float(np.float32(v)) for k, v in MNIST.items()}
    np.testing.assert_allclose(y, softlif_rate(x, **params32), rtol=1e-9)


def test_function_attribute_defaults() -> None:
    model = _vector_model()
    model.functions.append(softlif_function(17))
    model.opset_import.append(helper.make_opsetid(SOFTLIF_DOMAIN, 1))
    model.graph.node.append(helper.make_node(SOFTLIF_OP, ["x"], ["y"], domain=SOFTLIF_DOMAIN,
                                             tau_rc=0.05))
    onnx.checker.check_model(model, full_check=True)
    x = np.linspace(-0.2, 0.2, 41, dtype=np.float32)
    expected = softlif_rate(x.astype(np.float64), **{**SOFTLIF_DEFAULTS, "tau_rc": 0.05})
    np.testing.assert_allclose(_runner(model)(x), expected, rtol=1e-6)


def test_function_signature() -> None:
    fn = softlif_function(17)
    assert (fn.domain, fn.name) == ("snncc", "SoftLIF")
    assert list(fn.input) == ["X"] and list(fn.output) == ["Y"]
    assert [a.name for a in fn.attribute_proto] == list(SOFTLIF_ATTRS)
    assert {n.domain for n in fn.node} == {""}
    assert {(o.domain, o.version) for o in fn.opset_import} == {("", 17)}
    refs = {a.ref_attr_name for n in fn.node for a in n.attribute if a.ref_attr_name}
    assert refs == set(SOFTLIF_ATTRS)
    with pytest.raises(ValueError, match="opset >= 13"):
        softlif_function(12)


# --- add_softlif / softlif_params -------------------------------------------------------------

def test_add_softlif_builds_valid_model() -> None:
    model = _vector_model()
    model.graph.output[0].name = "z"
    out = add_softlif(model, "x", "h", gamma=0.05)
    assert out is model
    add_softlif(model, "h", "z", node_name="second")
    onnx.checker.check_model(model, full_check=True)
    assert len(model.functions) == 1
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17), ("snncc", 1)]
    first, second = model.graph.node
    assert (first.name, second.name) == ("SoftLIF_0", "second")
    assert softlif_params(first) == {**MNIST, "gamma": 0.05}
    assert softlif_params(second) == MNIST
    x = np.linspace(-1.0, 1.0, 11, dtype=np.float32)
    h = softlif_rate(x.astype(np.float64), **{**MNIST, "gamma": 0.05})
    np.testing.assert_allclose(_runner(model)(x), softlif_rate(h, **MNIST), rtol=1e-5)


def test_add_softlif_raises_old_ir_version() -> None:
    model = _vector_model(13)
    model.ir_version = 7  # before model-local functions
    add_softlif(model, "x", "y")
    assert model.ir_version == 8
    onnx.checker.check_model(model, full_check=True)


@pytest.mark.parametrize("bad, message", [
    (dict(gamma=0.0), "gamma must be positive and finite, got 0.0"),
    (dict(tau_rc=float("nan")), "tau_rc must be positive and finite, got nan"),
    (dict(gain=1.0), "unknown attribute 'gain'"),
])
def test_add_softlif_rejects_bad_params(bad: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        add_softlif(_vector_model(), "x", "y", node_name="act", **bad)


def _node(**attrs: object) -> onnx.NodeProto:
    return helper.make_node(SOFTLIF_OP, ["x"], ["y"], name="act1", domain=SOFTLIF_DOMAIN, **attrs)


def test_softlif_params_defaults_and_values() -> None:
    assert softlif_params(_node()) == dict(SOFTLIF_DEFAULTS)
    assert softlif_params(_node(tau_rc=0.05, tau_ref=0.001)) == CIFAR
    assert softlif_params(_node(amplitude=1)) == {**MNIST, "amplitude": 1.0}


@pytest.mark.parametrize("attrs, problem", [
    (dict(gamma=-0.5), "gamma must be positive and finite, got -0.5"),
    (dict(tau_ref=0.0), "tau_ref must be positive and finite, got 0.0"),
    (dict(tau_rc=float("inf")), "tau_rc must be positive and finite, got inf"),
    (dict(amplitude=float("nan")), "amplitude must be positive and finite, got nan"),
    (dict(gain=0.825), "unknown attribute 'gain'; known: tau_rc, tau_ref, gamma, amplitude"),
    (dict(gamma="big"), "gamma must be a number, got b'big'"),
])
def test_softlif_params_errors(attrs: dict[str, object], problem: str) -> None:
    with pytest.raises(FrontendError) as info:
        softlif_params(_node(**attrs))
    assert str(info.value) == f"node 'act1' (snncc:SoftLIF): {problem}"


# --- fit_softlif ------------------------------------------------------------------------------

def _chain(nodes: list[onnx.NodeProto], consts: dict[str, float]
           ) -> tuple[Callable[[np.ndarray], np.ndarray], list[float]]:
    """A 1-D model x -> y of loose ops with scalar initializers; (evaluate, its constants)."""
    inits = [helper.make_tensor(k, TensorProto.FLOAT, [], [v]) for k, v in consts.items()]
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return _runner(model), list(consts.values())


def _torch_like_chain(tau_rc: float, tau_ref: float, gamma: float, amplitude: float
                      ) -> tuple[Callable[[np.ndarray], np.ndarray], list[float]]:
    """Div -> Softplus -> Mul -> Reciprocal -> Add 1 -> Log -> Mul -> Add -> Div."""
    n = helper.make_node
    return _chain([
        n("Div", ["x", "gamma"], ["a"]), n("Softplus", ["a"], ["b"]),
        n("Mul", ["b", "gamma"], ["p"]), n("Reciprocal", ["p"], ["c"]),
        n("Add", ["c", "one"], ["d"]), n("Log", ["d"], ["q"]),
        n("Mul", ["q", "tau_rc"], ["e"]), n("Add", ["e", "tau_ref"], ["v"]),
        n("Div", ["amplitude", "v"], ["y"]),
    ], dict(gamma=gamma, one=1.0, tau_rc=tau_rc, tau_ref=tau_ref, amplitude=amplitude))


def _naive_chain(tau_rc: float, tau_ref: float, gamma: float, amplitude: float
                 ) -> tuple[Callable[[np.ndarray], np.ndarray], list[float]]:
    """Mul 1/gamma, softplus as Log(Exp + 1), Reciprocal -> Mul amplitude."""
    n = helper.make_node
    return _chain([
        n("Mul", ["x", "inv_gamma"], ["a"]), n("Exp", ["a"], ["ea"]),
        n("Add", ["ea", "one"], ["ea1"]), n("Log", ["ea1"], ["b"]),
        n("Mul", ["b", "gamma"], ["p"]), n("Reciprocal", ["p"], ["c"]),
        n("Add", ["c", "one"], ["d"]), n("Log", ["d"], ["q"]),
        n("Mul", ["q", "tau_rc"], ["e"]), n("Add", ["e", "tau_ref"], ["v"]),
        n("Reciprocal", ["v"], ["r"]), n("Mul", ["r", "amplitude"], ["y"]),
    ], dict(inv_gamma=1.0 / gamma, gamma=gamma, one=1.0, tau_rc=tau_rc, tau_ref=tau_ref,
            amplitude=amplitude))


@pytest.mark.parametrize("params", [
    MNIST, CIFAR,
    dict(tau_rc=0.02, tau_ref=0.004, gamma=0.5, amplitude=1.0),
    dict(tau_rc=0.1, tau_ref=0.001, gamma=0.001, amplitude=2.0),
], ids=["mnist", "cifar", "gamma0.5", "gamma0.001"])
@pytest.mark.parametrize("build", [_torch_like_chain, _naive_chain], ids=["torch", "naive"])
def test_fit_recognises_loose_chain(params: dict[str, float], build: Callable) -> None:
    f, consts = build(**params)
    assert fit_softlif(f, consts) == params  # exact: the literals pin every value


def test_fit_recognises_the_function_body() -> None:
    f = _runner(add_softlif(_vector_model(), "x", "y", **CIFAR))
    assert fit_softlif(f, [0.05, 0.001, 0.02, 0.063, 1.0, 0.0, -20.0]) == CIFAR


def test_fit_without_scale_literals_falls_back_to_amplitude_0063() -> None:
    # 1 / (tau_ref/A + tau_rc/A * q) with A = 0.063: only gamma is a literal of the chain.
    params = dict(tau_rc=0.022 / 0.063, tau_ref=0.002 / 0.063, gamma=0.02, amplitude=1.0)
    f, _ = _torch_like_chain(**params)
    fitted = fit_softlif(f, [0.02])
    assert fitted is not None
    assert fitted == pytest.approx(MNIST, rel=1e-5)


def test_fit_amplitude_one_pinned_by_literals() -> None:
    params = dict(tau_rc=0.3, tau_ref=0.02, gamma=0.05, amplitude=1.0)
    f, consts = _torch_like_chain(**params)
    assert fit_softlif(f, consts) == params


@pytest.mark.parametrize("op", ["Relu", "Sigmoid", "Tanh", "Softplus", "Exp", "Elu"])
def test_fit_rejects_other_activations(op: str) -> None:
    f, _ = _chain([helper.make_node(op, ["x"], ["y"])], {})
    assert fit_softlif(f, [1.0, 0.02, 0.063]) is None


def test_fit_rejects_near_misses() -> None:
    def lif(x: np.ndarray) -> np.ndarray:
        return lif_rate(x, 0.022, 0.002, 0.063).astype(np.float32)

    def wobbly(x: np.ndarray) -> np.ndarray:  # soft-LIF off by up to 0.1 %
        y = softlif_rate(x, **MNIST) * (1.0 + 1e-3 * np.sin(x.astype(np.float64) * 300.0))
        return y.astype(np.float32)

    def with_gain(x: np.ndarray) -> np.ndarray:  # gain 0.825 inside: not soft-LIF of x
        return softlif_rate(0.825 * x.astype(np.float64), **CIFAR).astype(np.float32)

    consts = list(MNIST.values())
    assert fit_softlif(lif, consts) is None
    assert fit_softlif(wobbly, consts) is None
    assert fit_softlif(with_gain, [*CIFAR.values(), 0.825]) is None


def test_import_snncc_does_not_import_torch() -> None:
    code = "import sys, snncc, snncc.frontend.softlif; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

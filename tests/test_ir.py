"""LayerGraph IR: validation, verification, interpreter details, summaries."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from snncc import FrontendError
from snncc.ir import (
    Activation,
    AvgPool2d,
    Conv2d,
    Dense,
    Input,
    LayerGraph,
    Output,
    Reshape,
    lif_rate,
    softlif_rate,
)


def _graph() -> LayerGraph:
    rng = np.random.default_rng(0)
    return LayerGraph((
        Input(name="x", shape=(1, 6, 6)),
        Conv2d(name="c", inputs=("x",), shape=(2, 6, 6), padding=(1, 1, 1, 1),
               weight=rng.normal(size=(2, 1, 3, 3)).astype(np.float32)),
        Activation(name="r", inputs=("c",), shape=(2, 6, 6), kind="relu"),
        AvgPool2d(name="p", inputs=("r",), shape=(2, 3, 3), kernel=(2, 2), stride=(2, 2)),
        Reshape(name="f", inputs=("p",), shape=(18,)),
        Dense(name="d", inputs=("f",), shape=(3,),
              weight=rng.normal(size=(3, 18)).astype(np.float32)),
        Output(name="y", inputs=("d",), shape=(3,)),
    ), name="tiny")


def test_run_any_batch_and_single_sample() -> None:
    g = _graph()
    x = np.random.default_rng(1).random((5, 1, 6, 6)).astype(np.float32)
    y = g.run(x)
    assert isinstance(y, np.ndarray) and y.shape == (5, 3) and y.dtype == np.float32
    np.testing.assert_allclose(g.run(x[2]), y[2:3], rtol=1e-6)


def test_conv_counts_synapses_without_padding_taps() -> None:
    g = _graph()
    conv = g["c"]
    # 6x6 output, 3x3 kernel, pad 1: taps per axis = 6*3 - 2 = 16 -> 256 per channel pair
    assert conv.synapses(g.input_shapes(conv)) == 2 * 16 * 16
    assert g.summary()[2].neurons == 72


def test_return_all_layers() -> None:
    out = _graph().run(np.ones((2, 1, 6, 6)), return_all=True)
    assert isinstance(out, dict) and set(out) == {"x", "c", "r", "p", "f", "d", "y"}
    assert out["r"].min() >= 0


def test_verify_rejects_wrong_shapes() -> None:
    layers = list(_graph().layers)
    layers[3] = dataclasses.replace(layers[3], shape=(2, 2, 2))
    with pytest.raises(FrontendError, match=r"layer 'p' \(AvgPool2d\): output shape \(2, 2, 2\) "
                                            r"does not follow"):
        LayerGraph(tuple(layers))


def test_verify_rejects_order_and_duplicates() -> None:
    layers = list(_graph().layers)
    with pytest.raises(FrontendError, match="reads 'c', which is not an earlier layer"):
        LayerGraph((layers[0], layers[2], layers[1], *layers[3:]))
    with pytest.raises(FrontendError, match="two layers are named 'c'"):
        LayerGraph((*layers[:2], layers[1], *layers[2:]))


def test_layer_validation_names_layer() -> None:
    with pytest.raises(FrontendError, match=r"layer 'd' \(Dense, from fc7\): weight has 1 NaN"):
        Dense(name="d", inputs=("f",), shape=(2,), onnx_nodes=("fc7",),
              weight=np.array([[1.0, np.nan], [0.0, 1.0]], np.float32))
    with pytest.raises(FrontendError, match="unknown activation kind 'tanh'"):
        Activation(name="a", inputs=("x",), shape=(2,), kind="tanh")
    with pytest.raises(FrontendError, match=r"softlif needs parameters \['gamma'\]"):
        Activation(name="a", inputs=("x",), shape=(2,), kind="softlif",
                   params={"tau_rc": 0.02, "tau_ref": 0.002, "amplitude": 0.063})


def test_softlif_rate_limits() -> None:
    p = {"tau_rc": 0.022, "tau_ref": 0.002, "gamma": 0.02, "amplitude": 0.063}
    x = np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 1e4])
    r = softlif_rate(x, **p)
    assert np.all(np.isfinite(r)) and np.all(r > 0) and np.all(np.diff(r) > 0)
    # far above threshold soft-LIF approaches the hard LIF curve
    np.testing.assert_allclose(softlif_rate(np.array([2.0]), **p),
                               lif_rate(np.array([2.0]), 0.022, 0.002, 0.063), rtol=1e-6)
    # far below it follows the asymptote amp / (tau_ref + tau_rc * (-x/gamma - log gamma))
    np.testing.assert_allclose(r[0], 0.063 / (0.002 + 0.022 * (1e4 / 0.02 - np.log(0.02))),
                               rtol=1e-9)
    assert lif_rate(np.array([-1.0, 0.0]), 0.022, 0.002, 0.063).tolist() == [0.0, 0.0]

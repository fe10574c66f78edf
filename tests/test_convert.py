"""Conversion LayerGraph -> SpikingNet: structure, exactness of the rate model, errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import snncc
from snncc import ConversionError
from snncc.convert import ConvertOptions, convert, quantize, rate_run
from snncc.frontend.softlif import add_softlif
from snncc.ir._interp import _output
from tests.conftest import MODELS, small_cnn

TORCH_MODELS = sorted(MODELS.glob("*_op17.onnx"))


def _calib(g: snncc.LayerGraph, n: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *g.inputs[0].shape)).astype(np.float32)


@pytest.mark.parametrize("path", TORCH_MODELS, ids=lambda p: p.stem)
def test_relu_rate_model_equals_ann(path) -> None:
    """With the 100th percentile no IF neuron saturates: rate model == ANN, exactly."""
    g = snncc.load_onnx(path)
    x = _calib(g)
    net = convert(g, calibration=x, percentile=100)
    assert all(p.model == "if" for p in net.populations)
    ro = net.readouts[0]
    y = _output(g.outputs[0], [rate_run(net, x)[ro.name]])
    ref = g.run(x)
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()


def test_synapse_count_matches_graph() -> None:
    g = snncc.load_onnx(MODELS / "lenet_relu_op17.onnx")
    net = convert(g, calibration=_calib(g))
    assert net.synapses == g.synapses
    assert net.neurons == sum(r.neurons for r in g.summary())


def test_residual_skip_is_identity_projection() -> None:
    g = snncc.load_onnx(MODELS / "residual_op17.onnx")
    net = convert(g, calibration=_calib(g))
    skips = [p for p in net.projections if not p.ops]
    assert skips and all(p.synapses == np.prod(p.pre_shape) for p in skips)
    # the Add merges two projections into one population
    assert any(len(net.into(pop.name)) == 2 for pop in net.populations)


def test_concat_folds_into_next_conv_or_embeds() -> None:
    g = snncc.load_onnx(MODELS / "concat_channels_op17.onnx")
    net = convert(g, calibration=_calib(g))
    ops = [[o.op for o in p.ops] for p in net.projections if p.pre == "input"]
    assert ops == [["Conv2d", "ChannelEmbed"], ["Conv2d", "ChannelEmbed"]]


def _softlif_model() -> onnx.ModelProto:
    m = small_cnn()
    relu = m.graph.node[1]
    m.graph.node.remove(relu)
    m = add_softlif(m, "c", "r", node_name="act1", tau_rc=0.05, tau_ref=0.001, gamma=0.02,
                    amplitude=0.063)
    # keep topological order: the SoftLIF node was appended; move it after the conv
    node = m.graph.node.pop()
    m.graph.node.insert(1, node)
    return m


def test_softlif_becomes_lif_with_trained_parameters() -> None:
    g = snncc.load_onnx(_softlif_model())
    net = convert(g)  # no calibration needed without ReLU
    (pop,) = net.populations
    assert (pop.model, pop.tau_rc, pop.tau_ref, pop.amplitude, pop.gain) == (
        "lif", 0.05, 0.001, 0.063, 1.0)
    conv = g["conv1"]
    # bias current = conv bias + 1 (x is the current above threshold)
    np.testing.assert_allclose(pop.bias[:, 0, 0], conv.bias + 1.0, rtol=1e-6)
    x = _calib(g)
    y = rate_run(net, x, smooth=True)[net.readouts[0].name]
    np.testing.assert_allclose(y, g.run(x), rtol=1e-5, atol=1e-5 * np.abs(g.run(x)).max())


def test_percentile_normalisation_sets_gain_and_amplitude() -> None:
    g = snncc.load_onnx(small_cnn())
    x = _calib(g, 64)
    net = convert(g, calibration=x, percentile=99.0, dt=0.002)
    acts = g.run(x, return_all=True)["relu1"]
    lam = np.percentile(acts[acts > 0], 99.0)
    (pop,) = net.populations
    assert pop.gain == pytest.approx(1 / (lam * 0.002), rel=1e-6)
    assert pop.amplitude == pytest.approx(lam * 0.002, rel=1e-6)
    assert pop.scale_note.startswith("p99=")


def test_never_active_layer_warns() -> None:
    m = small_cnn()
    from onnx import numpy_helper
    b = numpy_helper.from_array(np.full(4, -100.0, np.float32), "b")
    m.graph.initializer[1].CopyFrom(b)
    g = snncc.load_onnx(m)
    with pytest.warns(UserWarning, match=r"layer .relu1. \(relu\) is never active"):
        convert(g, calibration=_calib(g))


def test_quantize_reports_and_rounds() -> None:
    g = snncc.load_onnx(MODELS / "lenet_relu_op17.onnx")
    net = convert(g, calibration=_calib(g))
    q, rows = quantize(net, 4)
    assert [r.layer for r in rows] == ["/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm",
                                       "/fc3/Gemm"]
    for r, p in zip(rows, [p for p in q.projections if p.ops], strict=False):
        w = next(o for o in p.ops if hasattr(o, "weight")).weight
        steps = np.unique(np.round(w / r.scale))
        assert len(steps) <= 15 and 0 < r.rel_rms_error < 0.3
    _, rows8 = quantize(net, 8)
    assert all(a.rel_rms_error > b.rel_rms_error for a, b in zip(rows, rows8, strict=True))
    with pytest.raises(ConversionError, match=r"weight bits must be an integer in 2\.\.32"):
        quantize(net, 1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"calibration": np.zeros((3, 1, 5, 5))}, r"calibration data has shape \(3, 1, 5, 5\); input "
                                              r"'x' expects \(N, 1, 6, 6\)"),
    ({}, "ReLU activations: pass calibration inputs"),
    ({"calibration": np.zeros((0, 1, 6, 6))}, "calibration data is empty"),
    ({"calibration": np.zeros((2, 1, 6, 6)), "synapse": "exp"}, "unknown synapse 'exp'"),
    ({"calibration": np.zeros((2, 1, 6, 6)), "dt": 0}, "dt must be positive"),
    ({"calibration": np.zeros((2, 1, 6, 6)), "wobble": 1}, r"unknown conversion option\(s\)"),
])
def test_conversion_errors(kwargs: dict, match: str) -> None:
    g = snncc.load_onnx(small_cnn())
    with pytest.raises(ConversionError, match=match):
        convert(g, **kwargs)


def test_options_object() -> None:
    g = snncc.load_onnx(small_cnn())
    net = convert(g, calibration=_calib(g), options=ConvertOptions(synapse="lowpass", tau_s=0.01))
    assert (net.synapse, net.tau_s) == ("lowpass", 0.01)

"""The nengo translation of benchmarks/bench_nengo.py: exact transforms, same neuron dynamics."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

nengo = pytest.importorskip("nengo")

from benchmarks import bench_nengo as bn  # noqa: E402
from snncc.convert.net import (  # noqa: E402
    ChannelEmbed,
    InputSource,
    Population,
    Projection,
    Readout,
    SpikingNet,
    apply_op,
)
from snncc.ir import layers as L  # noqa: E402
from snncc.ir.layers import pool_output_size  # noqa: E402
from snncc.sim import simulate  # noqa: E402

RNG = np.random.default_rng(0)
IN = (4, 7, 6)


def conv(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1, k=3, out=6):
    c, h, w = IN
    ho = pool_output_size(h, k, stride[0], padding[0], padding[2], dilation[0], False)
    wo = pool_output_size(w, k, stride[1], padding[1], padding[3], dilation[1], False)
    return L.Conv2d(name="conv", inputs=("x",), shape=(out, ho, wo),
                    weight=RNG.normal(size=(out, c // groups, k, k)), stride=stride,
                    padding=padding, dilation=dilation, groups=groups)


def pool(cls, k=2, stride=(2, 2), padding=(0, 0, 0, 0), ceil=False, **kw):
    c, h, w = IN
    ho = pool_output_size(h, k, stride[0], padding[0], padding[2], 1, ceil)
    wo = pool_output_size(w, k, stride[1], padding[1], padding[3], 1, ceil)
    return cls(name="pool", inputs=("x",), shape=(c, ho, wo), kernel=(k, k), stride=stride,
               padding=padding, ceil_mode=ceil, **kw)


CHAINS = {
    "conv_valid": [conv()],
    "conv_same": [conv(padding=(1, 1, 1, 1))],
    "conv_same_stride2_groups2": [conv(stride=(2, 2), padding=(1, 0, 1, 1), groups=2)],
    "conv_asym_pad_sparse": [conv(padding=(0, 1, 2, 0))],
    "conv_dilated_sparse": [conv(dilation=(2, 2), padding=(2, 2, 2, 2))],
    "avgpool_valid": [pool(L.AvgPool2d)],
    "avgpool_padded_sparse": [pool(L.AvgPool2d, k=3, stride=(1, 1), padding=(1, 1, 1, 1))],
    "avgpool_ceil_sparse": [pool(L.AvgPool2d, ceil=True)],
    "affine": [L.ChannelAffine(name="aff", inputs=("x",), shape=IN,
                               scale=RNG.normal(size=IN[0]), shift=np.zeros(IN[0]))],
    "embed": [ChannelEmbed(name="emb", inputs=("x",), shape=(9, *IN[1:]), offset=3)],
    "pool_flatten_dense": [pool(L.AvgPool2d),
                           L.Reshape(name="flat", inputs=("pool",), shape=(4 * 3 * 3,)),
                           L.Dense(name="fc", inputs=("flat",), shape=(5,),
                                   weight=RNG.normal(size=(5, 36)))],
    "reshape_only": [L.Reshape(name="flat", inputs=("x",), shape=(math.prod(IN),))],
}


def run_chain(ops, maxpool="avg", x=None):
    x = RNG.normal(size=IN) if x is None else x
    out_size = math.prod(ops[-1].shape)
    with nengo.Network() as model:
        src = nengo.Node(x.reshape(-1))
        dst = nengo.Node(size_in=out_size)
        bn.connect_chain(src, IN, ops, dst, None, maxpool)
        probe = nengo.Probe(dst, synapse=None)
    with nengo.Simulator(model, progress_bar=False) as sim:
        sim.run_steps(1)
    return x, sim.data[probe][0]


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_is_exact(name):
    ops = CHAINS[name]
    x, got = run_chain(ops)
    want = x[None]
    for op in ops:
        want = apply_op(op, want)
    np.testing.assert_allclose(got, want.reshape(-1), rtol=1e-9, atol=1e-9)


def test_structured_transforms_are_used():
    assert isinstance(bn.op_transform(CHAINS["conv_same"][0], IN), nengo.Convolution)
    assert isinstance(bn.op_transform(CHAINS["conv_same_stride2_groups2"][0], IN),
                      nengo.Convolution)
    assert isinstance(bn.op_transform(CHAINS["avgpool_valid"][0], IN), nengo.Convolution)
    assert isinstance(bn.op_transform(CHAINS["conv_asym_pad_sparse"][0], IN), nengo.Sparse)


@pytest.mark.parametrize("method", ["filtered", "gate", "avg"])
def test_maxpool_node(method):
    op = pool(L.MaxPool2d)
    x, got = run_chain([op], maxpool=method)
    ref = op if method != "avg" else pool(L.AvgPool2d)
    # at the first step the gate's key is the input itself, so it passes the window maximum
    np.testing.assert_allclose(got, apply_op(ref, x[None]).reshape(-1), rtol=1e-6, atol=1e-6)


LIF = dict(model="lif", tau_rc=0.02, tau_ref=0.002, gain=1.0, amplitude=0.05)


def small_net(model="lif"):
    """input 1x8x8 -> conv3x3x4 -> pop1 -> avgpool2 -> flat -> fc12 -> pop2 -> fc3 readout."""
    rng = np.random.default_rng(1)
    c1 = L.Conv2d(name="c1", inputs=("x",), shape=(4, 6, 6), weight=rng.normal(size=(4, 1, 3, 3)))
    p1 = L.AvgPool2d(name="p1", inputs=("a",), shape=(4, 3, 3), kernel=(2, 2), stride=(2, 2))
    fl = L.Reshape(name="fl", inputs=("p1",), shape=(36,))
    f1 = L.Dense(name="f1", inputs=("fl",), shape=(12,), weight=rng.normal(size=(12, 36)) * 3)
    f2 = L.Dense(name="f2", inputs=("b",), shape=(3,), weight=rng.normal(size=(3, 12)))
    if model == "lif":
        kw = LIF
        b1, b2 = 1.2 + 0.3 * rng.random((4, 6, 6)), 1.1 + 0.3 * rng.random(12)
    else:
        kw = dict(model="if", tau_rc=math.inf, tau_ref=0.0, gain=50.0, amplitude=0.02)
        b1, b2 = 20 * rng.random((4, 6, 6)), 20 * rng.random(12)
    pops = (Population(name="a", shape=(4, 6, 6), bias=b1, **kw),
            Population(name="b", shape=(12,), bias=b2, **kw))
    projs = (Projection(name="x->a", pre="x", post="a", ops=(c1,), pre_shape=(1, 8, 8),
                        post_shape=(4, 6, 6)),
             Projection(name="a->b", pre="a", post="b", ops=(p1, fl, f1), pre_shape=(4, 6, 6),
                        post_shape=(12,)),
             Projection(name="b->y", pre="b", post="y", ops=(f2,), pre_shape=(12,),
                        post_shape=(3,)))
    return SpikingNet(inputs=(InputSource(name="x", shape=(1, 8, 8), scale=np.float32(0.5),
                                          shift=np.float32(0.1)),),
                      populations=pops, projections=projs,
                      readouts=(Readout(name="y", shape=(3,), bias=np.array([0.1, 0.0, -0.1])),),
                      maxpool="avg")


@pytest.mark.parametrize("model", ["lif", "if"])
def test_fresh_mode_matches_snncc(model):
    net = small_net(model)
    x = np.random.default_rng(2).random((3, 1, 8, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = simulate(net, x, presentation_s=0.1, batch_size=1, record_counts=True,
                       progress=False)
    ng = bn.run_nengo(net, x, presentation_s=0.1, modes=("fresh", "continuous"),
                      spike_probes=True)
    fresh = ng["fresh"]
    # the first population is driven by the unfiltered input: same current, same spikes
    np.testing.assert_array_equal(fresh["counts"]["a"], res.counts["a"].reshape(3, -1))
    # the second sees the alpha-filtered spikes one step later in nengo: close, not equal
    b_snncc = res.counts["b"].reshape(3, -1).astype(float)
    assert np.abs(fresh["counts"]["b"] - b_snncc).mean() <= 0.1 * max(b_snncc.mean(), 1.0)
    assert fresh["outputs"].shape == res.outputs.shape
    np.testing.assert_allclose(fresh["outputs"], res.outputs,
                               atol=0.1 * np.abs(res.outputs).max())
    assert ng["continuous"]["outputs"].shape == res.outputs.shape


def test_digits_example_agrees():
    import snncc
    from snncc.examples import example_path

    data = np.load(example_path("digits_cnn").with_name("digits_test.npz"))
    x = data["x"][:, None][:6].astype(np.float32)
    graph = snncc.load_onnx(example_path("digits_cnn"))
    net = snncc.convert(graph, calibration=data["x"][:100, None])
    res = simulate(net, x, presentation_s=0.1, batch_size=1, progress=False)
    ng = bn.run_nengo(net, x, presentation_s=0.1, modes=("fresh",))
    assert np.mean(ng["fresh"]["predictions"] == res.predictions) >= 5 / 6

"""The event-driven and post-side-filtered simulator paths against the dense pre-side path."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from snncc.convert.net import ChannelEmbed, InputSource, Population, Projection, Readout, SpikingNet
from snncc.ir import layers as L
from snncc.sim import simulate
from snncc.sim._chain import Chain
from snncc.sim._engine import ROW_BLOCK, Engine
from snncc.sim._events import is_linear, nonzero_rows

RNG = np.random.default_rng


def _out(size: int, k: int, s: int, p0: int, p1: int, d: int = 1, ceil: bool = False) -> int:
    return L.pool_output_size(size, k, s, p0, p1, d, ceil)


def conv(name: str, in_shape: tuple[int, ...], out_c: int, k: tuple[int, int], seed: int,
         stride: tuple[int, int] = (1, 1), pad: tuple[int, int, int, int] = (0, 0, 0, 0),
         dil: tuple[int, int] = (1, 1), groups: int = 1) -> L.Conv2d:
    c, h, w = in_shape
    shape = (out_c, _out(h, k[0], stride[0], pad[0], pad[2], dil[0]),
             _out(w, k[1], stride[1], pad[1], pad[3], dil[1]))
    weight = RNG(seed).normal(size=(out_c, c // groups, *k))
    return L.Conv2d(name=name, inputs=("x",), shape=shape, weight=weight, stride=stride,
                    padding=pad, dilation=dil, groups=groups)


def avgpool(name: str, in_shape: tuple[int, ...], k: int, s: int, pad: int = 0,
            ceil: bool = False, include_pad: bool = False, cls: type = L.AvgPool2d) -> L.Layer:
    c, h, w = in_shape
    shape = (c, _out(h, k, s, pad, pad, 1, ceil), _out(w, k, s, pad, pad, 1, ceil))
    extra = {"count_include_pad": include_pad} if cls is L.AvgPool2d else {}
    return cls(name=name, inputs=("x",), shape=shape, kernel=(k, k), stride=(s, s),
               padding=(pad,) * 4, ceil_mode=ceil, **extra)


def dense(name: str, n_in: int, n_out: int, seed: int) -> L.Dense:
    return L.Dense(name=name, inputs=("x",), shape=(n_out,),
                   weight=RNG(seed).normal(size=(n_out, n_in)))


def affine(name: str, shape: tuple[int, ...], seed: int, per_channel: bool = True
           ) -> L.ChannelAffine:
    k = shape[0] if per_channel else 1
    return L.ChannelAffine(name=name, inputs=("x",), shape=shape,
                           scale=RNG(seed).normal(size=k), shift=np.zeros(k))


def reshape(name: str, shape: tuple[int, ...]) -> L.Reshape:
    return L.Reshape(name=name, inputs=("x",), shape=shape)


def embed(name: str, in_shape: tuple[int, ...], extra: int, offset: int) -> ChannelEmbed:
    return ChannelEmbed(name=name, inputs=("x",), shape=(in_shape[0] + extra, *in_shape[1:]),
                        offset=offset)


def chains() -> dict[str, tuple[tuple[int, ...], list[L.Layer]]]:
    """Chains of every linear op type, each (pre shape, ops)."""
    cases: dict[str, tuple[tuple[int, ...], list[L.Layer]]] = {}
    s0 = (3, 9, 8)
    c = conv("c", s0, 4, (3, 3), 1)
    cases["conv"] = (s0, [c])
    c = conv("c", s0, 4, (3, 2), 2, stride=(2, 1), pad=(1, 0, 2, 1), dil=(1, 2))
    cases["conv_stride_pad_dil"] = (s0, [c])
    c = conv("c", (4, 7, 9), 6, (2, 3), 3, stride=(1, 2), pad=(1, 1, 1, 1), dil=(2, 1), groups=2)
    cases["conv_groups"] = ((4, 7, 9), [c])
    p = avgpool("p", s0, 2, 2)
    cases["pool_conv"] = (s0, [p, conv("c", p.shape, 5, (2, 2), 4)])
    p = avgpool("p", s0, 3, 2, pad=1, ceil=True)
    cases["pool_ceil_conv"] = (s0, [p, conv("c", p.shape, 2, (3, 3), 5, pad=(1, 1, 1, 1))])
    p = avgpool("p", s0, 3, 1, pad=1, include_pad=True)
    cases["pool_overlap_incl_pad"] = (s0, [p, reshape("f", (p.size,)), dense("d", p.size, 7, 6)])
    p = avgpool("p", s0, 2, 2, ceil=True)
    cases["pool_ceil_flat_dense"] = (s0, [p, reshape("f", (p.size,)), dense("d", p.size, 5, 7)])
    p = avgpool("p", s0, 3, 3, pad=1, ceil=True, include_pad=True)
    cases["pool_only"] = (s0, [p])
    p = avgpool("p", s0, 2, 1, pad=1, cls=L.MaxPool2d)  # under maxpool="avg"
    cases["maxpool_as_avg_conv"] = (s0, [p, conv("c", p.shape, 3, (2, 2), 8)])
    cases["dense"] = ((11,), [dense("d", 11, 6, 9)])
    cases["affine_dense_embed"] = ((11,), [affine("a", (11,), 10), dense("d", 11, 6, 11),
                                           affine("b", (6,), 12), embed("e", (6,), 3, 2)])
    c = conv("c", s0, 4, (3, 3), 13, pad=(1, 1, 1, 1))
    cases["affine_conv_affine_embed"] = (s0, [affine("a", s0, 14), c, affine("b", c.shape, 15),
                                              embed("e", c.shape, 2, 1)])
    c = conv("c", s0, 4, (2, 2), 16)
    cases["conv_flat_embed"] = (s0, [c, reshape("f", (c.size,)), embed("e", (c.size,), 5, 5)])
    cases["embed_conv"] = (s0, [embed("e", s0, 2, 1), conv("c", (5, 9, 8), 3, (3, 3), 17)])
    cases["reshape_only"] = ((24,), [reshape("r", (2, 3, 4))])
    cases["embed_only"] = (s0, [embed("e", s0, 1, 1)])
    cases["affine_scalar"] = (s0, [affine("a", s0, 18, per_channel=False)])
    c = conv("c", s0, 4, (3, 3), 19)
    cases["conv_pool_rest"] = (s0, [c, avgpool("q", c.shape, 2, 2)])
    cases["dense_dense_rest"] = ((11,), [dense("d", 11, 6, 20), dense("e", 6, 4, 21)])
    c = conv("c", s0, 2, (3, 3), 22)
    flat = reshape("f", (c.size // 2, 2))  # an affine along the new first axis: not per channel
    cases["conv_reshape_affine_rest"] = (s0, [c, flat, affine("a", flat.shape, 23)])
    cases["flat_dense_to_image"] = ((12,), [dense("d", 12, 18, 24), reshape("r", (2, 3, 3)),
                                            affine("a", (2, 3, 3), 25)])
    return cases


CHAINS = chains()


def _events(shape: tuple[int, ...], batch: int, density: float, seed: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = RNG(seed)
    n = math.prod(shape)
    u = np.where(rng.random((batch, n)) < density, rng.normal(size=(batch, n)), 0.0)
    u = u.astype(np.float32)
    u[0] = 0.0  # a row without events
    sidx, scnt = np.zeros((batch, n), np.int32), np.zeros(batch, np.int64)
    nonzero_rows(u, sidx, scnt)
    return u, sidx, scnt


@pytest.mark.parametrize("name", list(CHAINS))
@pytest.mark.parametrize("density", [0.05, 0.5, 1.0])
def test_event_plan_equals_the_dense_chain(name: str, density: float) -> None:
    pre_shape, ops = CHAINS[name]
    proj = Projection(name=name, pre="a", post="b", ops=tuple(ops), pre_shape=pre_shape,
                      post_shape=ops[-1].shape)
    chain = Chain(proj, "avg", pre_shape, ops[-1].shape)
    assert chain.linear
    plan = chain.event_plan()
    u, sidx, scnt = _events(pre_shape, 5, density, list(CHAINS).index(name))
    want = chain(u)
    got = np.full_like(want, 0.5)  # the plan adds into the buffer
    plan.apply(u, sidx, scnt, np.arange(1, 5), got, plan.scratch())
    got[1:] -= 0.5
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-5, atol=1e-5 * np.abs(want).max())
    assert np.all(got[0] == 0.5)  # row 0 not selected: untouched
    # the scratch is left clean: the same call again gives the same result
    again = np.zeros_like(want)
    bufs = plan.scratch()
    plan.apply(u, sidx, scnt, np.arange(5), again, bufs)
    plan.apply(u, sidx, scnt, np.arange(5), again, bufs)
    np.testing.assert_allclose(again / 2, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


# ---- whole simulations: every path against the original pre-side dense simulator -------------

def _pop(name: str, shape: tuple[int, ...], model: str, seed: int) -> Population:
    lif = model == "lif"
    bias = (1.1 + 0.6 * RNG(seed).random(shape)) if lif else 40 + 60 * RNG(seed).random(shape)
    return Population(name=name, shape=shape, model=model, tau_rc=0.02, tau_ref=0.002,
                      gain=1.0 if lif else 40.0, bias=bias, amplitude=0.02 if lif else 0.002)


def _scaled(op: L.Layer, factor: float) -> L.Layer:
    import dataclasses
    return dataclasses.replace(op, weight=op.weight * factor)  # type: ignore[attr-defined]


def _proj(pre: str, post: str, pre_shape: tuple[int, ...], *ops: L.Layer) -> Projection:
    return Projection(name=f"{pre}->{post}/{ops[0].name if ops else ''}", pre=pre, post=post,
                      ops=ops, pre_shape=pre_shape, post_shape=ops[-1].shape if ops else pre_shape)


def every_op_net(synapse: str, maxpool: str = "avg") -> SpikingNet:
    """Conv (stride, padding, dilation, groups), pools, dense, reshape, embed, affine, a
    backward and a self projection, a max pool (pre-side unless ``maxpool="avg"``)."""
    sx, s1 = (2, 10, 10), (4, 10, 10)
    c1 = _scaled(conv("c1", sx, 4, (3, 3), 1, pad=(1, 1, 1, 1)), 0.4)
    pa = avgpool("pa", s1, 2, 2)
    ca = _scaled(conv("ca", pa.shape, 4, (3, 3), 2, pad=(1, 1, 1, 1), groups=2), 1.0)
    ea = embed("ea", ca.shape, 3, 0)
    pb = avgpool("pb", s1, 3, 2, pad=1, ceil=True, include_pad=True)
    cb = _scaled(conv("cb", pb.shape, 3, (2, 2), 3, stride=(1, 1), pad=(0, 0, 0, 1),
                      dil=(1, 2)), 1.0)
    s2 = (7, *ca.shape[1:])
    assert cb.shape[1:] == ca.shape[1:], (cb.shape, ca.shape)
    ab = affine("ab", cb.shape, 4)
    eb = embed("eb", cb.shape, 4, 4)
    mp = avgpool("mp", s1, 2, 2, cls=L.MaxPool2d)
    cm = _scaled(conv("cm", mp.shape, 7, (3, 3), 5, pad=(1, 1, 1, 1)), 0.6)
    n2 = math.prod(s2)
    f2 = reshape("f2", (n2,))
    d3 = _scaled(dense("d3", n2, 20, 6), 0.15)
    back = (_scaled(dense("back", 20, n2, 7), 0.1), reshape("rb", s2))
    self3 = _scaled(dense("self3", 20, 20, 8), 0.1)
    pr = avgpool("pr", s1, 5, 5)
    ro = (pr, reshape("fr", (pr.size,)), _scaled(dense("dr", pr.size, 5, 9), 0.5))
    rx = (reshape("fx", (200,)), _scaled(dense("dx", 200, 5, 10), 0.1))
    pops = (_pop("p1", s1, "lif", 11), _pop("p2", s2, "if", 12), _pop("p3", (20,), "lif", 13))
    projs = (
        _proj("x", "p1", sx, c1),
        _proj("p1", "p2", s1, pa, ca, ea),
        _proj("p1", "p2", s1, pb, cb, ab, eb),
        _proj("p1", "p2", s1, mp, cm),
        _proj("p3", "p2", (20,), *back),
        _proj("p2", "p3", s2, f2, d3),
        _proj("p3", "p3", (20,), self3),
        _proj("p3", "y", (20,), _scaled(dense("dy", 20, 5, 14), 1.0)),
        _proj("p1", "y", s1, *ro),
        _proj("x", "y", sx, *rx),
    )
    return SpikingNet(inputs=(InputSource(name="x", shape=sx),), populations=pops,
                      projections=projs,
                      readouts=(Readout(name="y", shape=(5,), bias=np.zeros(5)),),
                      synapse=synapse, tau_s=0.004, maxpool=maxpool)


def _run(net: SpikingNet, x: np.ndarray, path: str, monkeypatch: pytest.MonkeyPatch,
         **kw: object):
    monkeypatch.setenv("SNNCC_SIM_PATH", path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return simulate(net, x, presentation_s=0.1, record_counts=True, progress=False,
                        **kw)  # type: ignore[arg-type]


def _agree(ref, res, min_identical: float = 0.8) -> None:
    rows = [all(np.array_equal(ref.counts[p][i], res.counts[p][i]) for p in ref.counts)
            for i in range(len(ref.outputs))]
    assert np.mean(rows) >= min_identical, np.mean(rows)
    same = np.array(rows)
    np.testing.assert_array_equal(ref.synaptic_events[same], res.synaptic_events[same])
    np.testing.assert_array_equal(ref.spikes[same], res.spikes[same])
    scale = np.abs(ref.outputs).max()
    np.testing.assert_allclose(res.outputs[same], ref.outputs[same], atol=1e-4 * scale)
    for p in ref.rates:  # rows that diverge still do so by a spike or two
        np.testing.assert_allclose(res.rates[p].mean(), ref.rates[p].mean(), rtol=0.02)


@pytest.mark.parametrize("synapse", ["none", "lowpass", "alpha"])
@pytest.mark.parametrize("maxpool", ["avg", "gate", "filtered"])
@pytest.mark.parametrize("encoder", ["current", "poisson"])
def test_every_path_matches_the_presynaptic_simulator(synapse: str, maxpool: str, encoder: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    net = every_op_net(synapse, maxpool)
    x = RNG(1).random((10, 2, 10, 10))
    ref = _run(net, x, "presyn", monkeypatch, encoder=encoder)
    assert all(ref.rates[p].mean() > 0.5 for p in ref.rates)  # every population fires
    for path in ("dense", "event", "auto"):
        _agree(ref, _run(net, x, path, monkeypatch, encoder=encoder))


def test_results_do_not_depend_on_threads_or_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    net = every_op_net("alpha")
    x = RNG(2).random((9, 2, 10, 10))
    a = _run(net, x, "auto", monkeypatch, threads=1, encoder="poisson", trace_inputs=4)
    b = _run(net, x, "auto", monkeypatch, threads=3, batch_size=4, encoder="poisson",
             trace_inputs=4)
    for field in ("outputs", "spikes", "synaptic_events", "input_spikes"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    for p in a.counts:
        np.testing.assert_array_equal(a.counts[p], b.counts[p])
    assert a.trace is not None and b.trace is not None and len(b.trace) == 4
    for s, t in zip((*a.trace.steps, *a.trace.neurons), (*b.trace.steps, *b.trace.neurons),
                    strict=True):
        np.testing.assert_array_equal(s, t)


def test_linear_chains_and_filter_placement() -> None:
    net = every_op_net("alpha", maxpool="gate")
    linear = {p.name: is_linear(p.ops, net.maxpool) for p in net.projections}
    assert sum(not v for v in linear.values()) == 1  # the max pool
    eng = Engine(net, "current", 1000.0, 0, path="auto")
    assert set(eng.post_filters) == {"p2", "p3", "y"}  # p1 reads the constant input only
    assert set(eng.filters) == {"p1"}  # the source of the max-pooling projection
    assert eng.input_filter is None
    assert eng.row_block == ROW_BLOCK  # the post-side chains carry most of the work
    avg = Engine(every_op_net("alpha"), "poisson", 1000.0, 0, path="auto")
    assert not avg.filters and avg.input_filter is None and avg.input_events
    old = Engine(net, "poisson", 1000.0, 0, path="presyn")
    assert set(old.filters) == {"p1", "p2", "p3"} and old.input_filter is not None
    assert not old.post_filters and old.row_block is None and old.max_threads == 1
    with pytest.raises(Exception, match="unknown simulation path 'fast'"):
        Engine(net, "current", 1000.0, 0, path="fast")


def test_auto_path_goes_dense_when_most_neurons_spike() -> None:
    # IF neurons driven at 1/dt spike every step: the events cost more than the dense product
    n = 64
    pops = (Population(name="h", shape=(n,), model="if", tau_rc=0.02, tau_ref=0.0, gain=1.0,
                       bias=np.full(n, 2000.0), amplitude=0.001),
            Population(name="s", shape=(n,), model="if", tau_rc=0.02, tau_ref=0.0, gain=1.0,
                       bias=np.linspace(20.0, 200.0, n), amplitude=0.001))
    zero = L.Dense(name="z", inputs=("x",), shape=(n,), weight=np.zeros((n, 1)))
    projs = (_proj("x", "h", (1,), zero), _proj("x", "s", (1,), zero),
             _proj("h", "y", (n,), dense("dh", n, 40, 1)),
             _proj("s", "y", (n,), dense("ds", n, 40, 2)))
    net = SpikingNet(inputs=(InputSource(name="x", shape=(1,)),), populations=pops,
                     projections=projs,
                     readouts=(Readout(name="y", shape=(40,), bias=np.zeros(40)),),
                     synapse="lowpass")
    eng = Engine(net, "current", 1000.0, 0, path="auto")
    out = eng.run(np.zeros((3, 1), np.float32), 0, 50, 0)
    assert out.spikes.min() > 50 * n  # h: every step; s: 20 to 200 Hz
    assert eng.rows["dense"] == 3 * 50  # the busy projection, every step and row
    assert eng.rows["event"] >= 3 * 40  # the quiet one, on every step with a spike

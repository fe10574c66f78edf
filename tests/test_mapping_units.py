"""Units, receptive fields and neuron-exact traffic against brute force on small networks."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import snncc
from snncc.convert.net import ChannelEmbed, Projection
from snncc.errors import MappingError
from snncc.ir import layers as L
from snncc.mapping import CoreLimits, build_units, evaluate
from snncc.mapping._footprint import receptive_field
from snncc.mapping.units import multicast_cost


def _model(dense_in: int = 0, pool: bool = True) -> onnx.ModelProto:
    """x(1x10x10) -> conv 3x3 (6) -> relu -> [avgpool 2] -> conv 3x3 (5) -> relu -> fc 7 -> relu
    -> fc 3; with ``dense_in`` a plain MLP of that input size instead."""
    rng = np.random.default_rng(1)
    inits, nodes = [], []

    def w(name: str, shape: tuple[int, ...]) -> str:
        inits.append(numpy_helper.from_array(rng.normal(size=shape).astype(np.float32), name))
        return name

    if dense_in:
        nodes = [helper.make_node("Gemm", ["x", w("w1", (dense_in, 12))], ["a"], name="fc1"),
                 helper.make_node("Relu", ["a"], ["r1"], name="r1"),
                 helper.make_node("Gemm", ["r1", w("w2", (12, 3))], ["y"], name="fc2")]
        shape = [1, dense_in]
    else:
        nodes = [helper.make_node("Conv", ["x", w("c1", (6, 1, 3, 3))], ["a"], name="conv1"),
                 helper.make_node("Relu", ["a"], ["r1"], name="r1")]
        cur = "r1"
        if pool:
            nodes.append(helper.make_node("AveragePool", ["r1"], ["p"], name="pool",
                                          kernel_shape=[2, 2], strides=[2, 2]))
            cur = "p"
        side = 2 if pool else 5
        nodes += [helper.make_node("Conv", [cur, w("c2", (5, 6, 2, 2))], ["b"], name="conv2"),
                  helper.make_node("Relu", ["b"], ["r2"], name="r2"),
                  helper.make_node("Flatten", ["r2"], ["f"], name="flat"),
                  helper.make_node("Gemm", ["f", w("w3", (5 * side * side, 7))], ["c"],
                                   name="fc1"),
                  helper.make_node("Relu", ["c"], ["r3"], name="r3"),
                  helper.make_node("Gemm", ["r3", w("w4", (7, 3))], ["y"], name="fc2")]
        shape = [1, 1, 8, 8]
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _net(model: onnx.ModelProto) -> tuple[snncc.SpikingNet, dict[str, np.ndarray]]:
    g = snncc.load_onnx(model)
    x = np.random.default_rng(0).random((4, *g.inputs[0].shape), dtype=np.float32)
    net = snncc.convert(g, calibration=x)
    rng = np.random.default_rng(2)
    counts = {p.name: rng.integers(0, 5, p.shape).astype(float) for p in net.populations}
    return net, counts


def _conn(proj: Projection) -> np.ndarray:
    """Brute force: (pre, post) boolean connectivity of a projection chain."""
    n = int(np.prod(proj.pre_shape))
    eye = np.eye(n).reshape(n, *proj.pre_shape)
    return proj.apply(eye).reshape(n, -1) != 0


def test_receptive_field_conv_by_hand() -> None:
    conv = L.Conv2d(name="c", inputs=("a",), shape=(4, 6, 6), weight=np.ones((4, 2, 3, 3)),
                    padding=(1, 1, 1, 1))
    p = Projection(name="p", pre="a", post="b", ops=(conv,), pre_shape=(2, 6, 6),
                   post_shape=(4, 6, 6))
    f = receptive_field(p)
    assert f.box((0, 1), (0, 1), (0, 1)) == ((0, 2), (0, 2), (0, 2))  # corner: padding
    assert f.box((0, 4), (2, 4), (2, 3)) == ((0, 2), (1, 5), (1, 4))
    assert f.fan_in_max() == 18


def test_receptive_field_pool_then_conv_and_embed() -> None:
    pool = L.AvgPool2d(name="p", inputs=("a",), shape=(2, 4, 4), kernel=(2, 2), stride=(2, 2))
    conv = L.Conv2d(name="c", inputs=("p",), shape=(3, 2, 2), weight=np.ones((3, 2, 3, 3)))
    embed = ChannelEmbed(name="e", inputs=("c",), shape=(5, 2, 2), offset=2)
    proj = Projection(name="x", pre="a", post="b", ops=(pool, conv, embed), pre_shape=(2, 8, 8),
                      post_shape=(5, 2, 2))
    f = receptive_field(proj)
    assert f.box((0, 2), (0, 2), (0, 2)) is None  # channels 0, 1 receive nothing
    assert f.box((2, 3), (1, 2), (0, 1)) == ((0, 2), (2, 8), (0, 6))
    dense = np.array([[1.0, 0, 0, 0], [0, 0, 0, 2.0]])
    sp = Projection(name="d", pre="a", post="b", ops=(L.Dense(name="d", inputs=("a",), shape=(2,),
                                                              weight=dense),),
                    pre_shape=(4,), post_shape=(2,))
    assert receptive_field(sp).sparse is not None and receptive_field(sp).fan_in_max() == 1


@pytest.mark.parametrize("pool", [True, False])
@pytest.mark.parametrize("limits", [CoreLimits("big", 64, 400, 10**6),
                                    CoreLimits("small", 16, 40, 2000)])
def test_units_match_brute_force(pool: bool, limits: CoreLimits) -> None:
    net, counts = _net(_model(pool=pool))
    g = build_units(net, limits, counts=counts, timesteps=20, fanin_split=True)
    conn = {p.post: (p.pre, _conn(p)) for p in net.projections if p.post in counts}
    # every neuron owned by exactly one unit; each unit fits a core alone
    for pop in net.populations:
        own = g.owner[pop.name]
        assert own.shape == (pop.size,) and set(own) <= set(range(g.n_units))
    assert all(g.fits([u]) for u in range(g.n_units))
    # synapses and inputs of unsplit units equal the brute-force connectivity
    for u, unit in enumerate(g.units):
        if unit.kind != "neurons":
            continue
        pre, m = conn[unit.population]
        cols = np.flatnonzero(g.owner[unit.population] == u)
        assert g.synapses[u] == m[:, cols].sum()
        assert g.usage([u])[1] == m[:, cols].any(axis=1).sum()
    # neuron-exact traffic of a random partition into 5 cores
    part = np.random.default_rng(3).integers(0, 5, g.n_units)
    part[:5] = np.arange(5)
    t = evaluate(g, part)
    want = 0.0
    for post, (pre, m) in conn.items():
        if pre not in counts:
            continue
        src = part[g.owner[pre]]
        # a split neuron is reached through the part whose input slice holds the spike's source
        parts = [(v, set(un.feet[0].indices())) for v, un in enumerate(g.units)
                 if un.kind == "part" and un.population == post]
        for n in range(m.shape[0]):
            dest = set()
            for j in np.flatnonzero(m[n]):
                soma = g.owner[post][j]
                if g.units[soma].kind == "soma":
                    mine = {f.psum_part for f in g.units[soma].feet}
                    dest |= {int(part[v]) for v, idx in parts if v in mine and n in idx}
                else:
                    dest.add(int(part[soma]))
            want += counts[pre].ravel()[n] * len(dest - {int(src[n])})
    psum = sum(g.activity[f.psum_part] for v, un in enumerate(g.units) for f in un.feet
               if f.psum_part is not None and part[f.psum_part] != part[v])
    assert t.inter_core_packets == pytest.approx(want + psum)
    assert t.psum_packets == pytest.approx(psum)
    assert t.flows.packets @ np.diff(t.flows.dst_ptr) == pytest.approx(t.inter_core_packets)
    assert t.matrix.sum() == pytest.approx(t.inter_core_packets)
    assert multicast_cost(g, part) >= 0


def test_split_semantics_and_errors() -> None:
    net, counts = _net(_model(dense_in=50))
    tight = CoreLimits("tiny", 8, 20, 400)
    with pytest.raises(MappingError, match=r"r1.*50 inputs.*20 input axons.*fanin_split"):
        build_units(net, tight, counts=counts)
    g = build_units(net, tight, counts=counts, timesteps=10, fanin_split=True)
    kinds = [u.kind for u in g.units if u.population == "r1"]
    assert kinds.count("part") >= 3 and "soma" in kinds
    assert all(g.fits([u]) for u in range(g.n_units))
    # all on one core: no traffic; parts apart from their soma: partial sums counted
    assert evaluate(g, np.zeros(g.n_units, int)).inter_core_packets == 0
    part = np.arange(g.n_units)
    assert evaluate(g, part).psum_packets > 0
    with pytest.raises(MappingError, match=r"r1.*50 inputs.*allows 16 per neuron"):
        build_units(net, tight, counts=counts, fanin_per_neuron=16, fanin_split=True)


def test_fanout_limit_is_checked() -> None:
    net, counts = _net(_model(pool=False))
    g = build_units(net, CoreLimits("c", 16, 400, 10**5), counts=counts)
    part = np.arange(g.n_units)
    with pytest.raises(MappingError, match=r"targets on \d+ cores.*can reach 1 \(core.fanout\)"):
        evaluate(g, part, fanout=1, chip="c")
    assert evaluate(g, part, fanout=0).inter_core_packets > 0


def test_core_state_counts_distinct_inputs() -> None:
    net, counts = _net(_model(pool=False))
    g = build_units(net, CoreLimits("c", 64, 10**4, 10**7), counts=counts, granularity=8)
    units = [u for u in range(g.n_units) if g.units[u].population == g.layer_names[1]]
    core = g.new_core()
    for u in units:
        if core.can_add(u):
            core.add(u)
    assert 1 <= len(core.units) < len(units)
    assert (core.neurons, core.axons, core.synapses) == g.usage(core.units)
    assert g.fits(core.units) and not g.fits(units)
    assert core.copy().units == core.units

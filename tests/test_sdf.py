"""Dataflow analysis and crossbar scheduling (snncc.mapping.sdf): MCR, graph, binding, backend."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snncc.cli import main
from snncc.errors import MappingError
from snncc.hw import load_hw
from snncc.mapping.route import Flows
from snncc.mapping.sdf import (
    Binding,
    BindOptions,
    DataflowGraph,
    Profile,
    analyse,
    bind,
    build_graph,
    max_cycle_ratio,
)

HW = load_hw("pcm-crossbar")


def _graph(n: int, edges: list[tuple[int, int, float, int]]) -> DataflowGraph:
    """A graph with the weights on the edges (actors take no time)."""
    s, d, w, t = (np.array(v) for v in zip(*edges, strict=True)) if edges else [np.zeros(0)] * 4
    m = len(edges)
    return DataflowGraph(tuple(str(i) for i in range(n)), np.zeros(n), s.astype(np.int64),
                         d.astype(np.int64), t.astype(np.int64), w.astype(np.float64),
                         np.zeros(m, np.int8), np.zeros(m), 1e9)


def _brute(n: int, edges: list[tuple[int, int, float, int]]) -> float:
    """Maximum cycle ratio by enumerating the simple cycles (parallel edges: best ratio each)."""
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    for i, (a, b, _, _) in enumerate(edges):
        g.add_edge(a, b, key=i)
    best = 0.0
    for cyc in nx.simple_cycles(nx.DiGraph(g)):
        # each step may use any parallel edge: enumerate the choices (graphs are tiny)
        options = [[e for e in edges if (e[0], e[1]) == (a, cyc[(i + 1) % len(cyc)])]
                   for i, a in enumerate(cyc)]
        for pick in np.ndindex(*(len(o) for o in options)):
            chosen = [options[i][j] for i, j in enumerate(pick)]
            w, t = sum(e[2] for e in chosen), sum(e[3] for e in chosen)
            best = max(best, w / t)
    return best


def _karp(n: int, edges: list[tuple[int, int, float]]) -> float:
    """Karp's maximum cycle mean (every edge one token), strongly connected or not."""
    best = -np.inf
    d = np.full((n + 1, n), -np.inf)
    d[0, :] = 0.0  # a virtual source joined to every node
    for k in range(1, n + 1):
        for a, b, w in edges:
            d[k, b] = max(d[k, b], d[k - 1, a] + w)
    for v in range(n):
        if d[n, v] == -np.inf:
            continue
        best = max(best, min((d[n, v] - d[k, v]) / (n - k) for k in range(n)
                             if d[k, v] > -np.inf))
    return best


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, float, int]]]:
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 14))
    edges = []
    for _ in range(m):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        w = draw(st.integers(0, 50))
        t = draw(st.integers(0, 3))
        edges.append((a, b, float(w), t))
    return n, edges


def _deadlocks(n: int, edges: list[tuple[int, int, float, int]]) -> bool:
    g = nx.DiGraph([(a, b) for a, b, _, t in edges if t == 0])
    g.add_nodes_from(range(n))
    return not nx.is_directed_acyclic_graph(g)


@settings(max_examples=150, deadline=None)
@given(_graphs())
def test_howard_matches_brute_force(case: tuple[int, list[tuple[int, int, float, int]]]) -> None:
    n, edges = case
    g = _graph(n, edges)
    if _deadlocks(n, edges):
        with pytest.raises(MappingError, match="deadlocks"):
            max_cycle_ratio(g)
        return
    res = max_cycle_ratio(g)
    assert res.ratio == pytest.approx(_brute(n, edges), abs=1e-9)
    if res.cycle:  # the reported critical cycle attains the ratio
        w = t = 0.0
        for i, a in enumerate(res.cycle):
            b = res.cycle[(i + 1) % len(res.cycle)]
            w_t = [(e[2], e[3]) for e in edges if ((e[0], e[1]) == (a, b) and e[3] > 0)
                   or (e[0], e[1]) == (a, b)]
            best = max(w_t, key=lambda x: x[0] - res.ratio * x[1])
            w, t = w + best[0], t + best[1]
        assert w / t == pytest.approx(res.ratio, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 7), st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6),
                                             st.integers(-20, 40)), min_size=1, max_size=16))
def test_howard_matches_karp_on_unit_tokens(n: int, raw: list[tuple[int, int, int]]) -> None:
    edges = [(a % n, b % n, float(w)) for a, b, w in raw]
    if not any(True for _ in nx.simple_cycles(nx.DiGraph([(a, b) for a, b, _ in edges]))):
        return
    res = max_cycle_ratio(_graph(n, [(a, b, w, 1) for a, b, w in edges]))
    assert res.ratio == pytest.approx(_karp(n, edges), abs=1e-9)


def test_known_cycle_ratios() -> None:
    # two cycles: 0->1->0 (10 + 2) / 1 token, 1->2->1 (5 + 25) / 3 tokens -> 12
    g = _graph(3, [(0, 1, 10, 1), (1, 0, 2, 0), (1, 2, 5, 1), (2, 1, 25, 2)])
    res = max_cycle_ratio(g)
    assert res.ratio == 12.0 and set(res.cycle) == {0, 1}
    # a self-loop of 7 cycles with 2 tokens, and an acyclic tail
    assert max_cycle_ratio(_graph(3, [(0, 0, 7, 2), (1, 0, 100, 0), (0, 2, 50, 0)])).ratio == 3.5
    assert max_cycle_ratio(_graph(2, [(0, 1, 3, 0)])).ratio == 0.0


def test_deadlock_names_the_cycle() -> None:
    with pytest.raises(MappingError, match=r"the cycle 1 -> 2 holds no token|the cycle 2 -> 1"):
        max_cycle_ratio(_graph(3, [(0, 1, 1, 1), (1, 2, 1, 0), (2, 1, 1, 0)]))


def test_howard_scales_to_thousands_of_actors() -> None:
    rng = np.random.default_rng(0)
    n, m = 20000, 80000
    s, d = rng.integers(0, n, m), rng.integers(0, n, m)
    ring = np.arange(n)
    src, dst = np.r_[s, ring], np.r_[d, (ring + 1) % n]
    tok = np.r_[rng.integers(1, 4, m), np.zeros(n - 1, np.int64), [1]]
    w = rng.random(m + n) * 100
    g = DataflowGraph(tuple(map(str, range(n))), np.zeros(n), src, dst, tok, w,
                      np.zeros(m + n, np.int8), np.zeros(m + n), 1e9)
    res = max_cycle_ratio(g)
    assert res.ratio >= w[m:].sum() * (1 - 1e-12)  # the ring alone: its weight, one token
    assert res.iterations < 1000


# --- the graph of a hand-built binding -------------------------------------------------------

def _hand(run3: int = 148) -> tuple[Profile, Flows]:
    """Four clusters: 0 sends 2 packets/step to 2, 3 sends 5 to 2 (one timestep profiled)."""
    prof = Profile(cycles=np.array([[100, 50, 80, run3]]), packets=np.array([[2, 0, 0, 5]]),
                   spikes=np.array([[2, 0, 0, 5]]))
    flows = Flows(src=np.array([0, 3]), packets=np.array([2.0, 5.0]), dst_ptr=np.array([0, 1, 2]),
                  dst=np.array([2, 2]))
    return prof, flows


def test_period_of_a_hand_built_binding() -> None:
    prof, flows = _hand()
    # tiles (0,0), (1,0), (3,0); cluster 1 runs before 0 on core 0
    b = Binding(core=np.array([0, 0, 3, 1]), order=np.array([1, 0, 0, 0]))
    a = analyse(prof, flows, b, HW)
    # cluster 0: segment ends 50 + 100; its 2 packets leave the interface at 150, 151; a link
    # passes one every 1.5 cycles (a 4-flit buffer slot is held 1 + 4 + 1 cycles: link, router
    # pipeline, tail), so the last falls 0.5 behind; to tile 3, 3 hops: zero-load
    # 4 * 4 + 3 * 1 = 19. Cluster 3's packets (148 to 152, 2 hops) are through tile 1's
    # router by 158, before cluster 0's first arrives (159): no waiting. + barrier 1000
    assert a.period_cycles == 1000 + 151 + 0.5 + 19
    assert a.critical == ("start", "run 1", "run 0", "send 0", "barrier")
    assert a.throughput == pytest.approx(1e9 / a.period_cycles)
    # the other order: cluster 0 first; cluster 3's last packet (152, 0.5 * 4 behind, 14
    # cycles zero-load) ends the timestep
    b2 = Binding(core=b.core, order=np.array([0, 1, 0, 0]))
    assert analyse(prof, flows, b2, HW).period_cycles == 1000 + 152 + 2 + 14
    g = build_graph(prof, flows, b, HW)
    kinds = {int(k) for k in g.kind}
    assert len(g.actors) == 4 * 2 + 2 and kinds == set(range(7))
    chan = g.kind == 3
    assert sorted(zip(g.src[chan] - 4, g.dst[chan], strict=True)) == [(0, 2), (3, 2)]
    assert (g.tokens[chan] == 1).all()


def test_clocked_chip_and_self_timed_graph() -> None:
    prof, flows = _hand()
    d = HW.to_dict()
    d["neuron"]["tick_s"] = 5e-6
    clocked = type(HW).from_dict(d)
    b = Binding(core=np.array([0, 0, 3, 1]), order=np.array([1, 0, 0, 0]))
    assert analyse(prof, flows, b, clocked).period_cycles == 5000
    # without the barrier, timesteps overlap: with double-buffered channels the busiest
    # crossbar bounds the period (150); with one buffer, the producer waits for the consumer:
    # run 3 -> send 3 -> (channel: delivered 15 cycles after its interface is done) run 2 ->
    # run 3 holds one token: 148 + 5 + 15 + 80 (cluster 0's loop: 100 + 2 + 18.5 + 80)
    st = max_cycle_ratio(build_graph(prof, flows, b, HW, barrier=False))
    assert st.ratio == 150
    st1 = max_cycle_ratio(build_graph(prof, flows, b, HW, barrier=False, buffer_steps=1))
    assert st1.ratio == 248 and set(st1.cycle) == {3, 4 + 3, 2}


def test_binding_respects_the_tile_buffer() -> None:
    prof, flows = _hand()
    prof = Profile(cycles=np.tile(prof.cycles, (3, 1)), packets=np.tile(prof.packets, (3, 1)),
                   spikes=np.tile(prof.spikes, (3, 1)), steps=3)
    # cluster 2 holds up to 14 spikes (7 arrive per step, two steps held); a buffer of 10
    # cannot hold it
    with pytest.raises(MappingError, match="needs 14 buffered spikes"):
        bind(prof, flows, HW, 2, options=BindOptions(buffer_spikes=10))
    for method in ("sdf", "balance"):
        r = bind(prof, flows, HW, 2, method=method, options=BindOptions(buffer_spikes=14))
        a = analyse(prof, flows, r.binding, HW, buffer_spikes=14)
        assert a.buffer_peak <= 14 and r.binding.crossbars <= 2
    with pytest.raises(MappingError, match="buffers up to 14 spikes"):
        analyse(prof, flows, Binding(np.array([0, 0, 0, 0]), np.arange(4)), HW,
                buffer_spikes=13)


def test_noc_bound_holds_on_random_traffic() -> None:
    """The delivery bound is never below the backend's NoC on dense random traffic."""
    from snncc.backend.noc import NocMesh, simulate_noc
    from snncc.mapping import _sdf_noc as K
    from snncc.mapping.sdf import PacketGroups

    d = HW.to_dict()
    d["geometry"]["mesh"] = [4, 4]
    hw4 = type(HW).from_dict(d)
    mesh, chip = NocMesh.from_hw(hw4), K.Chip.of(hw4)
    for seed in range(60):
        rng = np.random.default_rng(seed)
        k, n_g = 8, 14
        core, order = rng.integers(0, 16, k), rng.permutation(k)
        cycles = rng.integers(0, 60, (1, k)).astype(float)
        gsrc = rng.integers(0, k, n_g)
        dst = [c[c != s] for s in gsrc
               for c in [rng.choice(k, size=rng.integers(1, 4), replace=False)]]
        gptr = np.r_[0, np.cumsum([x.size for x in dst])].astype(np.int64)
        gdst = np.concatenate(dst).astype(np.int64)
        count = rng.integers(0, 12, (1, n_g)).astype(float)
        gdp, gdc = K.dest_cores(core, gptr, gdst, 16, gsrc)
        pk = np.zeros((1, k))
        np.add.at(pk[0], gsrc, count[0] * (np.diff(gdp) > 0))
        prof = Profile(cycles, pk, pk, 1, PacketGroups(gsrc, gptr, gdst, count), np.zeros((1, k)))
        fid = np.repeat(np.arange(n_g), np.diff(gptr))
        fl = Flows(gsrc[fid], np.ones(fid.size), np.arange(fid.size + 1), gdst)
        rptr, rcl = K.receivers(fl, k)
        bound = K.terms(prof, rptr, rcl, core, order, chip).step_end[0]
        # without time windows (every buffer over the budget): larger, one pass
        coarse = K.terms(prof, rptr, rcl, core, order, chip, window_work=0).step_end[0]
        assert coarse >= bound, seed
        # the backend's packets: segments back to back, one packet per cycle per interface
        seq = np.lexsort((np.arange(k), order, core))
        seg, busy, ni = np.zeros(k), {}, {}
        for c in seq:
            busy[core[c]] = seg[c] = busy.get(core[c], 0) + cycles[0, c]
        inj, src, ptr, tiles = [], [], [0], []
        for c in seq:
            for g in np.flatnonzero(gsrc == c):
                for _ in range(int(count[0, g]) if gdp[g + 1] > gdp[g] else 0):
                    t0 = max(seg[c], ni.get(core[c], 0))
                    ni[core[c]] = t0 + 1
                    inj.append(t0)
                    src.append(core[c])
                    tiles.extend(np.unique(gdc[gdp[g]:gdp[g + 1]]))
                    ptr.append(len(tiles))
        r = simulate_noc(mesh, np.array([0, len(inj)]), np.array(inj, np.int64), np.array(src),
                         np.array(ptr), np.array(tiles))
        assert max(r.drain[0], max(busy.values())) <= bound, seed


def test_network_interface_bandwidth() -> None:
    prof, flows = _hand()
    d = HW.to_dict()
    d["noc"]["flits_per_spike"] = 2  # a packet leaves the interface every 2 cycles
    slow = type(HW).from_dict(d)
    b = Binding(core=np.array([0, 0, 3, 1]), order=np.array([1, 0, 0, 0]))
    # cluster 0 sends at 150 and 152; 2-flit packets: 2 fit a 4-flit buffer, a slot is held
    # 1 + 4 + 2 cycles -> 3.5 per packet (1.5 behind); zero-load one flit longer (20); cluster
    # 3's packets (148 to 156) may still be in tile 1's router when cluster 0's arrive, so it
    # may wait for them (the random-traffic test checks such bounds against the backend)
    alone = 1000 + 152 + 1.5 + 20
    got = analyse(prof, flows, b, slow).period_cycles
    assert got > alone > analyse(prof, flows, b, HW).period_cycles


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(4, 14))
def test_sdf_binding_never_worse_than_balance(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    steps = 6
    prof = Profile(cycles=rng.integers(20, 300, (steps, k)), packets=rng.integers(0, 8, (steps, k)),
                   spikes=rng.integers(0, 8, (steps, k)), steps=steps)
    src = rng.integers(0, k, 2 * k)
    dst = (src + rng.integers(1, k, src.size)) % k
    flows = Flows(src=src, packets=np.ones(src.size), dst_ptr=np.arange(src.size + 1), dst=dst)
    n = int(rng.integers(1, k))
    room = BindOptions(buffer_spikes=10**6)  # buffers are tested above
    ours = bind(prof, flows, HW, n, options=room)
    base = bind(prof, flows, HW, n, method="balance", options=room)
    assert ours.period_cycles <= base.period_cycles
    assert np.unique(ours.binding.core).size <= n
    # the exact analysis of the result agrees with the binder's evaluation
    assert analyse(prof, flows, ours.binding, HW, buffer_spikes=10**6).period_cycles == \
        ours.period_cycles
    # candidates the binder stopped analysing early were already worse than its choice
    assert all(ours.candidates[n] > ours.period_cycles for n in ours.pruned)
    assert ours.period_cycles == min(ours.candidates.values())


def test_pruned_candidates_do_not_change_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopping hopeless analyses early picks the binding the full analyses pick."""
    from snncc.mapping import _sdf_noc as K

    full_terms = K.terms
    room = BindOptions(buffer_spikes=10**6)
    pruned = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        k, steps = 24, 8
        pk = rng.integers(0, 40, (steps, k))  # traffic-bound: candidates differ by their NoC
        prof = Profile(cycles=rng.integers(5, 40, (steps, k)), packets=pk, spikes=pk,
                       steps=steps)
        src = rng.integers(0, k, 3 * k)
        dst = (src + rng.integers(1, k, src.size)) % k
        flows = Flows(src=src, packets=np.ones(src.size), dst_ptr=np.arange(src.size + 1),
                      dst=dst)
        placed = rng.permutation(HW.n_cores)[:k]
        monkeypatch.setattr(K, "terms", full_terms)
        fast = bind(prof, flows, HW, 16, options=room, placement=placed)
        monkeypatch.setattr(K, "terms", lambda *a, stop=np.inf, **kw: full_terms(*a, **kw))
        slow = bind(prof, flows, HW, 16, options=room, placement=placed)
        assert not slow.pruned
        assert np.array_equal(fast.binding.core, slow.binding.core)
        assert np.array_equal(fast.binding.order, slow.binding.order)
        assert fast.period_cycles == slow.period_cycles
        for n in fast.candidates:
            assert (fast.candidates[n] == slow.candidates[n] if n not in fast.pruned
                    else slow.candidates[n] >= fast.candidates[n] > fast.period_cycles)
        pruned += len(fast.pruned)
    assert pruned > 0


def test_bad_crossbar_counts() -> None:
    prof, flows = _hand()
    for n in (0, HW.n_cores + 1):
        with pytest.raises(MappingError, match="crossbars requested"):
            bind(prof, flows, HW, n)
    r = bind(prof, flows, HW, 10, placement=np.array([5, 6, 7, 8]))  # no sharing
    assert r.binding.method == "placement" and r.binding.core.tolist() == [5, 6, 7, 8]


# --- against the cycle-level backend ---------------------------------------------------------

def _mlp(seed: int = 0) -> onnx.ModelProto:
    """64 -> 300 -> 200 -> 10 ReLU MLP: the 300-input layer splits into partial sums on pcm."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    sizes = [64, 300, 200, 10]
    nodes, inits, cur = [helper.make_node("Flatten", ["x"], ["f"], name="flat")], [], "f"
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        w = rng.normal(0, np.sqrt(2 / a), (a, b)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"),
                  numpy_helper.from_array(np.full(b, 0.05, np.float32), f"b{i}")]
        nodes.append(helper.make_node("Gemm", [cur, f"w{i}", f"b{i}"], [f"g{i}"], name=f"fc{i}"))
        cur = f"g{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [cur], [f"r{i}"], name=f"relu{i}"))
            cur = f"r{i}"
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info(cur, TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from snncc.pipeline import CompileSettings, SimulationSettings, build_program, compile_model
    from snncc.sim import simulate

    path = tmp_path_factory.mktemp("sdf") / "mlp.onnx"
    onnx.save(_mlp(), path)
    sim = SimulationSettings(presentation_s=0.05, progress=False)
    report, mapping, net = compile_model(path, HW, None, CompileSettings(
        simulation=sim, activity_inputs=4, random_inputs=4))
    program = build_program(net, HW, mapping, report)
    x = np.random.default_rng(1).random((3, 1, 8, 8), dtype=np.float32)
    trace = simulate(net, x, presentation_s=0.05, progress=False, trace_inputs=3).trace
    a = program.mapping
    flows = Flows(a["flow_src"], a["flow_packets"], a["flow_dst_ptr"], a["flow_dst"])
    return {"path": path, "program": program, "trace": trace, "flows": flows}


def _profile(c: dict[str, Any], core: np.ndarray) -> Profile:
    from snncc.backend import cluster_counts, core_costs
    from snncc.mapping.sdf import packet_groups, profile_from_counts

    counts = cluster_counts(c["program"], c["trace"], binding=core)
    return profile_from_counts(counts, core_costs(HW), groups=packet_groups(c["trace"],
                                                                            c["program"].mapping),
                               core=core, multicast=True)


def test_guarantee_bounds_the_backend(compiled: dict[str, Any]) -> None:
    from snncc.backend import run

    program, trace, flows = compiled["program"], compiled["trace"], compiled["flows"]
    placed = program.mapping["cluster_core"]
    k = placed.size
    assert k >= 8  # enough clusters to share crossbars
    base = _profile(compiled, placed)
    for n in (k, k // 2, k // 4):
        for method in ("balance", "sdf"):
            b = bind(base, flows, HW, n, method=method, placement=placed).binding
            prof = _profile(compiled, b.core)
            # the packet groups explain every packet the backend sends (partial sums too)
            assert prof.extra.sum() == 0 and prof.packets.sum() > 0
            a = analyse(prof, flows, b, HW)
            res = run(program, trace, binding=b.core, order=b.order, progress=False)
            assert res.step_cycles.max() <= a.period_cycles, (n, method)
            assert res.step_cycles.mean() >= 0.8 * a.period_cycles  # and not wildly loose


def test_cli_crossbars_writes_the_dataflow_section(compiled: dict[str, Any], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from snncc.program import Program

    k = compiled["program"].mapping["cluster_core"].size
    out = tmp_path / "out"
    args = ["compile", str(compiled["path"]), "--hw", "pcm-crossbar", "--limit", "4",
            "--presentation-ms", "50", "--crossbars", str(k // 3), "-o", str(out), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    df = report["dataflow"]
    assert {"throughput_guaranteed", "throughput_simulated", "crossbars", "clusters",
            "baseline_throughput_guaranteed"} <= set(df)
    assert df["clusters"] == k and df["crossbars"] <= k // 3
    assert df["throughput_simulated"] >= df["throughput_guaranteed"] >= \
        df["baseline_throughput_guaranteed"] > 0
    assert df["guarantee_held"] and df["cell_writes_per_timestep"] > 0
    prog = Program.load(out / "program")
    assert np.unique(prog.mapping["cluster_core"]).size == df["crossbars"]
    assert prog.mapping["cluster_order"].shape == (k,)
    assert json.loads((out / "report.json").read_text())["dataflow"] == df


@pytest.mark.parametrize("n", ["0", "-3", str(HW.n_cores + 1)])
def test_cli_bad_crossbars_exit_2(n: str, compiled: dict[str, Any],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(compiled["path"]), "--hw", "pcm-crossbar",
                 "--crossbars", n]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"snncc: error: --crossbars {n}: pcm-crossbar has 1024 crossbars (cores); "
                   "need 1 .. 1024"]

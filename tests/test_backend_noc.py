"""Cycle-accurate NoC kernel: zero-load latency, XY multicast trees against route(),
conservation, back-pressure, round-robin fairness, saturation under uniform traffic, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snncc.backend.noc import NocMesh, simulate_noc, zero_load_latency
from snncc.errors import SimulationError
from snncc.hw import load_hw
from snncc.mapping.route import Flows, route


def packets(phases):
    """CSR arrays from ``[[(inject, src, [dst, ...]), ...], ...]`` (one list per phase)."""
    flat = [p for phase in phases for p in phase]
    phase_ptr = np.cumsum([0] + [len(phase) for phase in phases])
    dst_ptr = np.cumsum([0] + [len(p[2]) for p in flat])
    dst = np.array([d for p in flat for d in p[2]], dtype=np.int64)
    return (phase_ptr, np.array([p[0] for p in flat], dtype=np.int64),
            np.array([p[1] for p in flat], dtype=np.int64), dst_ptr, dst)


def hops(mesh, a, b):
    w = mesh.width
    return abs(a % w - b % w) + abs(a // w - b // w)


def uniform(mesh, rate, cycles, seed):
    """Bernoulli(rate) injection per router per cycle, uniform destinations other than itself."""
    rng = np.random.default_rng(seed)
    n = mesh.n_routers
    inject = np.flatnonzero(rng.random((cycles, n)).ravel() < rate)
    t, src = inject // n, inject % n
    dst = rng.integers(0, n - 1, t.size)
    dst += dst >= src
    return t, src, dst


def reference(mesh, phase_ptr, inject, src, dst_ptr, dst):
    """The router model of snncc.backend.noc, stepped naively: every router, every cycle."""
    w, h, rc, nf, depth = mesh.width, mesh.height, mesh.router_cycles, mesh.flits, mesh.buffer_depth
    step = [(1, 0), (-1, 0), (0, 1), (0, -1)]
    deliver = np.full(dst.size, -1)

    def outputs(p, r, port):  # the XY multicast tree, from the destination coordinates
        x, y = r % w, r // w
        ds = [(int(d) % w, int(d) // w) for d in dst[dst_ptr[p]:dst_ptr[p + 1]]]
        if port in (1, 2, 3):  # came in travelling W / N / S: carries the dests that way
            ds = [(a, b) for a, b in ds if (port == 1 and a < x) or (a == x and (
                port == 1 or (port == 2 and b >= y) or (port == 3 and b <= y)))]
        if port == 0:
            ds = [(a, b) for a, b in ds if a >= x]
        m = 0
        for a, b in ds:
            m |= 1 if a > x else 2 if a < x else 4 if b > y else 8 if b < y else 16
        return m

    for k in range(len(phase_ptr) - 1):
        ps = sorted(range(phase_ptr[k], phase_ptr[k + 1]), key=lambda p: (inject[p], p))
        ps = [p for p in ps if dst_ptr[p + 1] > dst_ptr[p]]
        todo = sum(dst_ptr[p + 1] - dst_ptr[p] for p in ps)
        n = w * h
        queue = [[] for _ in range(n)]
        buf = [[[] for _ in range(5)] for _ in range(n)]  # entries [p, ready, mask]
        occ = np.zeros((n, 5), int)
        rel = [[[] for _ in range(5)] for _ in range(n)]  # (cycle, flits) returned credits
        in_busy, out_busy = np.zeros((n, 5), int), np.zeros((n, 5), int)
        inj_busy, rr = np.zeros(n, int), np.full((n, 5), 4)

        def free(r, i, t, occ=occ, rel=rel):
            return depth - occ[r, i] + sum(f for c, f in rel[r][i] if c <= t)

        t = 0
        while todo:
            while ps and inject[ps[0]] == t:
                queue[src[ps[0]]].append(ps.pop(0))
            for r in range(n):
                if queue[r] and inj_busy[r] <= t and free(r, 4, t) >= nf:
                    p = queue[r].pop(0)
                    buf[r][4].append([p, t + rc, outputs(p, r, 4)])
                    occ[r, 4] += nf
                    inj_busy[r] = t + nf
                req = [b[0][2] if b and in_busy[r, i] <= t and b[0][1] <= t else 0
                       for i, b in enumerate(buf[r])]
                for o in range(5):
                    cand = [i for i in range(5) if req[i] >> o & 1]
                    if not cand or out_busy[r, o] > t:
                        continue
                    nb = r + step[o][0] + step[o][1] * w if o < 4 else r
                    if o < 4 and free(nb, o, t) < nf:
                        continue
                    i = min(cand, key=lambda i: (i - rr[r, o] - 1) % 5)
                    rr[r, o], out_busy[r, o] = i, t + nf
                    head = buf[r][i][0]
                    p = head[0]
                    if o < 4:
                        buf[nb][o].append([p, t + mesh.link_cycles[r, o] + rc,
                                           outputs(p, nb, o)])
                        occ[nb, o] += nf
                    else:
                        j = dst_ptr[p] + list(dst[dst_ptr[p]:dst_ptr[p + 1]]).index(r)
                        deliver[j] = t + nf - 1
                        todo -= 1
                    head[2] &= ~(1 << o)
                    if not head[2]:
                        buf[r][i].pop(0)
                        in_busy[r, i] = t + nf
                        rel[r][i].append((t + nf, nf))
            t += 1
    return deliver


# --- zero load ------------------------------------------------------------------------------------

@pytest.mark.parametrize("rc, lc, flits", [(1, 1, 1), (3, 2, 1), (2, 1, 4), (0, 3, 2), (4, 0, 1)])
def test_zero_load_latency_closed_form(rc, lc, flits):
    mesh = NocMesh(5, 4, router_cycles=rc, link_cycles=lc, buffer_depth=4, flits=flits)
    pairs = [(0, 19), (19, 0), (7, 7), (3, 15), (12, 10), (6, 1), (4, 4)]
    # one packet per phase, each at a different ready cycle: the network is empty for each
    res = simulate_noc(mesh, *packets([[(5 * k, a, [b])] for k, (a, b) in enumerate(pairs)]))
    want = [hops(mesh, a, b) * (rc + lc) + rc + flits - 1 for a, b in pairs]
    assert (res.deliver - 5 * np.arange(len(pairs))).tolist() == want
    assert zero_load_latency(mesh, *np.array(pairs).T).tolist() == want
    assert res.drain.tolist() == (res.deliver).tolist()
    assert res.flit_hops == flits * sum(hops(mesh, a, b) for a, b in pairs)
    assert res.stall_cycles == 0 and res.max_queue == 1


def test_zero_load_with_interchip_links():
    hw = load_hw("loihi-nahuku32")  # 8 x 4 tiles per chip, 2-cycle links, 50 between chips
    mesh = NocMesh.from_hw(hw)
    assert (mesh.width, mesh.height, mesh.router_cycles, mesh.buffer_depth, mesh.flits) == (
        32, 32, 3, 16, 1)
    assert mesh.link_cycles[7].tolist() == [50, 2, 2, 2]  # tile (7, 0): east crosses a chip
    assert mesh.link_cycles[8].tolist() == [2, 50, 2, 2]
    assert mesh.link_cycles[3 * 32].tolist() == [2, 2, 50, 2]  # (0, 3): north crosses
    src, dst = 0, 9 * 32 + 17  # (0,0) -> (17, 9): x crosses 2 chips, y crosses 2
    res = simulate_noc(mesh, *packets([[(0, src, [dst])]]))
    want = 26 * 3 + 22 * 2 + 4 * 50 + 3
    assert res.deliver.tolist() == [want] and zero_load_latency(mesh, src, dst) == want
    assert NocMesh.from_hw(load_hw("loihi")).link_cycles.max() == 2


def test_multicast_tree_by_hand():
    mesh = NocMesh(4, 3, router_cycles=2, link_cycles=1, buffer_depth=2, flits=2)
    # source (1,1); destinations (3,1), (0,2), (3,2) and the source tile itself
    res = simulate_noc(mesh, *packets([[(0, 5, [7, 8, 11, 5])]]))
    assert res.deliver.tolist() == zero_load_latency(mesh, 5, [7, 8, 11, 5]).tolist()
    assert res.deliver.tolist() == [2 * 3 + 3, 2 * 3 + 3, 3 * 3 + 3, 2 + 1]
    links = {(int(r), "EWNS"[o]) for r, o in zip(*np.nonzero(res.link_flits), strict=True)}
    assert links == {(5, "E"), (6, "E"), (5, "W"), (4, "N"), (7, "N")}
    assert res.flit_hops == 2 * 5 and (res.link_flits[res.link_flits > 0] == 2).all()
    assert res.router_flits.tolist() == [0, 0, 0, 0, 2, 6, 2, 4, 2, 0, 0, 2]  # 2 per grant


def test_link_flits_equal_route_link_load():
    hw = load_hw("loihi")
    hw = dataclasses.replace(hw, noc=dataclasses.replace(hw.noc, multicast=True))
    rng = np.random.default_rng(3)
    n_flows, cpt = 300, hw.cores_per_tile
    src = rng.integers(0, hw.n_cores, n_flows)
    dsts = [rng.choice(np.setdiff1d(np.arange(hw.n_cores), [s]), rng.integers(1, 12),
                       replace=False) for s in src]
    flows = Flows(src=src, packets=np.ones(n_flows),
                  dst_ptr=np.cumsum([0] + [len(d) for d in dsts]), dst=np.concatenate(dsts))
    r = route(flows, np.arange(hw.n_cores), hw)
    # one packet per flow, its destination tiles (the source tile = an intra-tile delivery)
    tiles = [np.unique(d // cpt) for d in dsts]
    mesh = NocMesh.from_hw(hw)
    res = simulate_noc(mesh, *packets([[(int(t), s // cpt, list(d))
                                        for t, s, d in zip(rng.integers(0, 50, n_flows), src,
                                                           tiles, strict=True)]]))
    assert (res.link_flits == r.link_load).all()
    assert res.flit_hops == r.spike_hops
    assert (res.deliver >= 0).all()


# --- conservation and timing bounds ---------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), flits=st.integers(1, 3), depth=st.integers(0, 3),
       rc=st.integers(0, 2), lc=st.integers(1, 2), n_phases=st.integers(1, 3))
def test_conservation_random_multicast(seed, flits, depth, rc, lc, n_phases):
    rng = np.random.default_rng(seed)
    mesh = NocMesh(4, 3, router_cycles=rc, link_cycles=lc, buffer_depth=flits + depth,
                   flits=flits)
    phases = [[(int(rng.integers(0, 20)), int(rng.integers(0, 12)),
                list(rng.choice(12, rng.integers(0, 5), replace=False)))
               for _ in range(rng.integers(0, 30))] for _ in range(n_phases)]
    ph, inject, src, dst_ptr, dst = packets(phases)
    res = simulate_noc(mesh, ph, inject, src, dst_ptr, dst)
    m = dst.size
    assert res.deliver.shape == (m,) and (res.deliver >= 0).all()
    p = np.repeat(np.arange(inject.size), np.diff(dst_ptr))
    assert (res.latency(inject, dst_ptr) >= zero_load_latency(mesh, src[p], dst)).all()
    drain = [res.deliver[(p >= ph[k]) & (p < ph[k + 1])].max(initial=0) for k in range(n_phases)]
    assert res.drain.tolist() == drain and res.cycles == sum(drain)
    assert res.flit_hops == res.link_flits.sum()
    assert res.router_flits.sum() == res.flit_hops + flits * m  # every grant: a link or an ejection
    assert res.max_buffer <= mesh.buffer_depth
    again = simulate_noc(mesh, ph, inject, src, dst_ptr, dst)
    assert (again.deliver == res.deliver).all() and again.stall_cycles == res.stall_cycles
    if n_phases > 1:  # phases are independent: simulating one alone gives the same cycles
        one = simulate_noc(mesh, *packets(phases[1:2]))
        sel = (p >= ph[1]) & (p < ph[2])
        assert (one.deliver == res.deliver[sel]).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), flits=st.integers(1, 2), depth=st.integers(0, 2),
       rc=st.integers(0, 2))
def test_cycle_exact_against_naive_reference(seed, flits, depth, rc):
    rng = np.random.default_rng(seed)
    link = rng.integers(1 if rc == 0 else 0, 4, (12, 4))
    mesh = NocMesh(4, 3, router_cycles=rc, link_cycles=link, buffer_depth=flits + depth,
                   flits=flits)
    phases = [[(int(rng.integers(0, 8)), int(rng.integers(0, 12)),
                list(rng.choice(12, rng.integers(0, 4), replace=False)))
               for _ in range(rng.integers(0, 25))] for _ in range(2)]
    args = packets(phases)
    assert simulate_noc(mesh, *args).deliver.tolist() == reference(mesh, *args).tolist()


def test_backpressure_hotspot():
    mesh = NocMesh(4, 4, router_cycles=1, link_cycles=2, buffer_depth=1)
    phase = [(0, s, [5]) for s in range(16) for _ in range(10)]
    res = simulate_noc(mesh, *packets([phase]))
    assert res.max_buffer == 1 and (res.deliver >= 0).all()
    assert res.drain[0] >= len(phase)  # one ejection per cycle at the hotspot
    assert res.stall_cycles > 0 and res.max_queue == 10
    multi = simulate_noc(dataclasses.replace(mesh, buffer_depth=3, flits=3), *packets([phase]))
    assert multi.max_buffer == 3 and multi.drain[0] >= 3 * len(phase)


def test_round_robin_alternates():
    mesh = NocMesh(3, 1, router_cycles=1, link_cycles=1, buffer_depth=4)
    # routers 0 and 1 both stream to router 2: router 1's east output serves two inputs
    phase = [(0, s, [2]) for s in (0, 1) for _ in range(20)]
    ph, inject, src, dst_ptr, dst = packets([phase])
    res = simulate_noc(mesh, ph, inject, src, dst_ptr, dst)
    order = src[np.argsort(res.deliver)]
    first0 = int(np.argmax(order == 0))
    assert first0 <= 2  # router 1 sends alone only until router 0's packets arrive
    contended = order[first0:first0 + 2 * (20 - first0)]
    assert (contended[1:] != contended[:-1]).all()  # strict alternation
    assert np.unique(np.diff(np.sort(res.deliver))).tolist() == [1]  # the link never idles


# --- uniform random traffic -----------------------------------------------------------------------

def test_uniform_traffic_latency_and_saturation():
    mesh = NocMesh(8, 8, router_cycles=1, link_cycles=1, buffer_depth=4)
    mean = {}
    for rate in (0.01, 0.1, 0.45):
        t, s, d = uniform(mesh, rate, 1500, seed=1)
        res = simulate_noc(mesh, np.array([0, t.size]), t, s, np.arange(t.size + 1), d)
        mean[rate] = res.latency(t, np.arange(t.size + 1)).mean()
        zero = zero_load_latency(mesh, s, d).mean()
        if rate == 0.01:
            assert mean[rate] == pytest.approx(zero, rel=0.03)
        if rate == 0.1:
            assert mean[rate] < 1.1 * zero
    assert mean[0.45] > 5 * mean[0.01]  # saturated below the bisection bound 0.5


# --- errors ---------------------------------------------------------------------------------------

def test_watchdog_names_the_stuck_flit():
    mesh = NocMesh(3, 1, router_cycles=1, link_cycles=30, buffer_depth=1)
    args = packets([[], [(0, 0, [2]), (0, 0, [2])]])
    with pytest.raises(SimulationError, match=r"^simulate_noc: phase 1: no flit moved for 5 "
                                              r"cycles \(cycle \d+\); router 0 \(x 0, y 0\) "
                                              r"holds packet 1 in input local"):
        simulate_noc(mesh, *args, max_idle_cycles=5)
    # packet 1 waits for router 1's buffer: free at 33, then two hops and the pipeline
    assert simulate_noc(mesh, *args).drain.tolist() == [0, 33 + 2 * 31]


def test_bad_input():
    mesh = NocMesh(3, 2, router_cycles=1, link_cycles=1, buffer_depth=2)
    ph, inject, src, dst_ptr, dst = packets([[(0, 0, [1, 2]), (1, 5, [0])]])
    with pytest.raises(SimulationError, match=r"^simulate_noc: src\[1\] = 6 is not a router of "
                                              r"the 3x2 mesh \(0\.\.5\)$"):
        simulate_noc(mesh, ph, inject, np.array([0, 6]), dst_ptr, dst)
    with pytest.raises(SimulationError, match=r"dst\[0\] = -1 is not a router"):
        simulate_noc(mesh, ph, inject, src, dst_ptr, np.array([-1, 2, 0]))
    with pytest.raises(SimulationError, match=r"need \(P,\), \(P,\), \(P\+1,\)"):
        simulate_noc(mesh, ph, inject, src[:1], dst_ptr, dst)
    with pytest.raises(SimulationError, match=r"dst_ptr must rise from 0 to 3"):
        simulate_noc(mesh, ph, inject, src, np.array([0, 2, 4]), dst)
    with pytest.raises(SimulationError, match=r"phase_ptr must rise from 0 to 2"):
        simulate_noc(mesh, np.array([0, 1]), inject, src, dst_ptr, dst)
    with pytest.raises(SimulationError, match=r"inject\[1\] = -3 is negative"):
        simulate_noc(mesh, ph, np.array([0, -3]), src, dst_ptr, dst)
    with pytest.raises(SimulationError, match=r"^simulate_noc: packet 0 lists destination "
                                              r"router 2 twice$"):
        simulate_noc(mesh, ph, inject, src, dst_ptr, np.array([2, 2, 0]))
    with pytest.raises(SimulationError, match=r"inject must be a 1-D integer array"):
        simulate_noc(mesh, ph, inject.astype(float), src, dst_ptr, dst)
    with pytest.raises(SimulationError, match=r"buffer_depth 1 cannot hold a packet of 2 flits"):
        NocMesh(3, 2, router_cycles=1, link_cycles=1, buffer_depth=1, flits=2)
    with pytest.raises(SimulationError, match=r"router_cycles \+ link_cycles >= 1"):
        NocMesh(3, 2, router_cycles=0, link_cycles=0, buffer_depth=1)
    with pytest.raises(SimulationError, match=r"link_cycles must be an int or integers of shape "
                                              r"\(6, 4\) \(got shape \(5, 4\), dtype int64\)"):
        NocMesh(3, 2, router_cycles=1, link_cycles=np.ones((5, 4), dtype=np.int64),
                buffer_depth=1)


def test_empty_inputs():
    mesh = NocMesh(2, 2, router_cycles=1, link_cycles=1, buffer_depth=1)
    res = simulate_noc(mesh, *packets([[], [(3, 1, [])], []]))  # a packet without destinations
    assert res.drain.tolist() == [0, 0, 0] and res.deliver.size == 0 and res.cycles == 0

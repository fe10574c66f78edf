"""XY multicast routing: trees, loads, energies, routing entries, unicast mode, errors."""

from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snncc.errors import MappingError
from snncc.hw import load_hw
from snncc.mapping.route import Flows, flows_from_matrix, route
from snncc.mapping.topology import Topology

EW, NSJ, INTRA, CHIP = 3e-12, 4e-12, 1.7e-12, 50e-12
STEP = {0: (1, 0), 1: (-1, 0), 2: (0, 1), 3: (0, -1)}  # E W N S


def make_hw(grid=(3, 2), mesh=None, cpt=1, multicast=True, entries=0, name="toy"):
    mesh = mesh or grid
    return NS(name=name, grid=grid, mesh=mesh, chips=(grid[0] // mesh[0], grid[1] // mesh[1]),
              cores_per_tile=cpt, n_cores=grid[0] * grid[1] * cpt, n_tiles=grid[0] * grid[1],
              energy=NS(hop_ew_J=EW, hop_ns_J=NSJ, intra_tile_J=INTRA, interchip_hop_J=CHIP),
              noc=NS(multicast=multicast, routing_entries=entries, flits_per_spike=1))


def one_flow(src, dst, packets=1.0):
    return Flows(src=np.array([src]), packets=np.array([packets]),
                 dst_ptr=np.array([0, len(dst)]), dst=np.array(dst, dtype=np.int64))


def tree_reaches(load, gx, src_tile):
    """Walk the loaded links from the source; every tile must be entered at most once."""
    seen, todo = {src_tile}, [src_tile]
    while todo:
        t = todo.pop()
        for d in np.flatnonzero(load[t] > 0):
            dx, dy = STEP[int(d)]
            nxt = (t // gx + dy) * gx + t % gx + dx
            assert nxt not in seen, f"tile {nxt} reached twice"
            seen.add(nxt)
            todo.append(nxt)
    return seen


# --- multicast trees ------------------------------------------------------------------------------

def test_multicast_tree_by_hand():
    hw = make_hw(grid=(4, 3))  # one core per tile: cluster c on core c = tile c
    r = route(one_flow(5, [7, 8, 11], 2.0), np.arange(12), hw)
    # source (1,1); destinations (3,1), (0,2), (3,2): row x 0..3 (3 links), column 3 up (1 link),
    # column 0 up (1 link) = 5 links; unicast paths 2 + 2 + 3 = 7
    assert r.spike_hops == 10.0 and r.unicast_spike_hops == 14.0
    assert r.link_load.sum() == 10.0 and r.max_link_load == 2.0
    assert r.energy_J == pytest.approx(2.0 * (3 * EW + 2 * NSJ))
    assert tree_reaches(r.link_load, 4, 5) == {4, 5, 6, 7, 8, 11}


def test_single_destination_tree_equals_path():
    hw = make_hw(grid=(5, 5))
    r = route(one_flow(0, [24], 3.0), np.arange(25), hw)
    assert r.spike_hops == r.unicast_spike_hops == 3.0 * 8


def test_intra_tile_and_same_core_deliveries():
    hw = load_hw("loihi")  # 4 cores per tile
    r = route(one_flow(0, [1, 2, 3], 5.0), np.array([0, 1, 2, 0 + 4]), hw)
    assert r.spike_hops == 5.0  # cluster 3 on tile 1: one hop
    assert r.intra_tile_packets == 10.0
    assert r.energy_J == pytest.approx(10.0 * hw.energy.intra_tile_J + 5.0 * hw.energy.hop_ew_J)


def test_interchip_link_energy():
    hw = make_hw(grid=(4, 2), mesh=(2, 2))  # two chips side by side
    r = route(one_flow(0, [1]), np.array([0, 7]), hw)  # (0,0) -> (3,1)
    assert r.spike_hops == 4.0
    assert r.energy_J == pytest.approx(2 * EW + CHIP + NSJ)


def test_unicast_mode_sends_one_copy_per_destination():
    hw = make_hw(grid=(4, 1), multicast=False)
    r = route(one_flow(0, [2, 3], 1.0), np.arange(4), hw)
    assert r.spike_hops == r.unicast_spike_hops == 5.0
    assert r.link_load[:, 0].tolist() == [2.0, 2.0, 1.0, 0.0]  # shared links carry two copies
    assert not r.multicast
    m = route(one_flow(0, [2, 3], 1.0), np.arange(4), make_hw(grid=(4, 1)))
    assert m.spike_hops == 3.0 and m.link_load[:, 0].tolist() == [1.0, 1.0, 1.0, 0.0]


# --- routing entries ------------------------------------------------------------------------------

def test_routing_entries_by_hand():
    hw = make_hw(entries=1)  # 3 x 2 tiles, cluster c on tile c
    flows = Flows(src=np.array([0, 4, 0]), packets=np.array([1.0, 1.0, 1.0]),
                  dst_ptr=np.array([0, 2, 3, 4]), dst=np.array([2, 5, 1, 3]))
    r = route(flows, np.arange(6), hw)
    # cluster 0: tiles 0 1 2 5 (tree) and 0 3; cluster 4: tiles 4 1
    assert r.routing_entries.tolist() == [1, 2, 1, 1, 1, 1]
    assert r.routing_entries_max == 2
    assert r.check(hw) == ["toy: router at tile 1 (x 1, y 0, chip 0) needs 2 routing entries, "
                           "the chip has 1 — spread the clusters or use fewer source clusters"]
    assert r.check(make_hw(entries=0)) == [] and r.check(make_hw(entries=2)) == []


def test_fast_on_big_mesh():
    hw = load_hw("truenorth")
    rng = np.random.default_rng(0)
    n, d = 20_000, 4
    src = rng.integers(0, 4096, n)
    dst = (src[:, None] + np.cumsum(rng.integers(1, 50, (n, d)), axis=1)) % 4096
    flows = Flows(src=src, packets=rng.random(n), dst_ptr=np.arange(n + 1) * d, dst=dst.ravel())
    r = route(flows, rng.permutation(4096), hw)
    assert r.link_load.sum() == pytest.approx(r.spike_hops)


# --- errors ---------------------------------------------------------------------------------------

def test_errors():
    hw = make_hw()
    core = np.arange(6)
    with pytest.raises(MappingError, match=r"^route: flow 0 \(source cluster 1\) lists its source"):
        route(one_flow(1, [2, 1]), core, hw)
    with pytest.raises(MappingError, match="a destination twice: \\[2 2\\]"):
        route(one_flow(1, [2, 2]), core, hw)
    with pytest.raises(MappingError, match=r"flows.dst has cluster ids outside 0..5"):
        route(one_flow(1, [6]), core, hw)
    with pytest.raises(MappingError, match=r"core_of_cluster has slots outside 0..5 \(toy\)"):
        route(one_flow(0, [1]), np.array([0, 6]), hw)
    with pytest.raises(MappingError, match=r"dst_ptr must rise from 0 to len\(dst\) = 1"):
        Flows(src=np.array([0]), packets=np.array([1.0]), dst_ptr=np.array([0, 2]),
              dst=np.array([1]))
    with pytest.raises(MappingError, match=r"flow 0 has -1.0 packets"):
        Flows(src=np.array([0]), packets=np.array([-1.0]), dst_ptr=np.array([0, 1]),
              dst=np.array([1]))
    with pytest.raises(MappingError, match=r"need \(F,\), \(F,\), \(F\+1,\), \(M,\)"):
        Flows(src=np.array([0, 1]), packets=np.array([1.0]), dst_ptr=np.array([0, 1]),
              dst=np.array([1]))


def test_flows_from_matrix():
    f = flows_from_matrix(np.array([[5.0, 1.0], [0.0, 0.0]]))
    assert f.src.tolist() == [0] and f.dst.tolist() == [1] and f.packets.tolist() == [1.0]
    assert f.n_flows == 1


# --- properties -----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(gx=st.integers(1, 6), gy=st.integers(1, 6), cpt=st.sampled_from([1, 2]),
       seed=st.integers(0, 2**16), n_dst=st.integers(1, 6))
def test_tree_delivers_once_and_is_no_longer_than_unicast(gx, gy, cpt, seed, n_dst):
    hw = make_hw(grid=(gx, gy), cpt=cpt)
    n = gx * gy * cpt
    if n < 2:
        return
    rng = np.random.default_rng(seed)
    core = rng.permutation(n)
    dst = rng.choice(np.arange(1, n), size=min(n_dst, n - 1), replace=False)
    r = route(one_flow(0, dst.tolist()), core, hw)
    topo = Topology.from_hw(hw)
    src_tile = int(topo.core_tile[core[0]])
    reached = tree_reaches(r.link_load, gx, src_tile)
    assert set(topo.core_tile[core[dst]].tolist()) <= reached  # every destination tile
    assert r.spike_hops == r.link_load.sum() == len(reached) - 1  # a tree: links = tiles - 1
    assert r.spike_hops <= r.unicast_spike_hops
    assert r.routing_entries.sum() == len(reached) and r.routing_entries_max == 1


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), multicast=st.booleans(), k=st.integers(2, 12))
def test_conservation_and_entries_per_source(seed, multicast, k):
    hw = make_hw(grid=(4, 3), cpt=2, multicast=multicast)
    rng = np.random.default_rng(seed)
    core = rng.permutation(24)[:k]
    n = int(rng.integers(1, 10))
    src = rng.integers(0, k, n)
    dsts = [rng.choice(np.setdiff1d(np.arange(k), [s]), size=int(rng.integers(0, k)),
                       replace=False) for s in src]
    flows = Flows(src=src, packets=rng.random(n) * 10,
                  dst_ptr=np.concatenate([[0], np.cumsum([d.size for d in dsts])]),
                  dst=np.concatenate(dsts).astype(np.int64))
    r = route(flows, core, hw)
    assert r.link_load.sum() == pytest.approx(r.spike_hops)
    assert r.spike_hops <= r.unicast_spike_hops + 1e-9
    if not multicast:
        assert r.spike_hops == pytest.approx(r.unicast_spike_hops)
    # entries = Σ over source clusters of the tiles that cluster's flows use
    expected = np.zeros(12, dtype=np.int64)
    for c in np.unique(src):
        mine = np.flatnonzero(src == c)
        sub = Flows(src=src[mine], packets=flows.packets[mine],
                    dst_ptr=np.concatenate([[0], np.cumsum([dsts[i].size for i in mine])]),
                    dst=np.concatenate([dsts[i] for i in mine]).astype(np.int64))
        expected += route(sub, core, hw).routing_entries > 0
    assert r.routing_entries.tolist() == expected.tolist()

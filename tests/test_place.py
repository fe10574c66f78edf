"""Placement of clusters on core slots: geometry, every placer, exactness, errors."""

from __future__ import annotations

import itertools
import logging
from types import SimpleNamespace as NS

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snncc.errors import MappingError
from snncc.hw import load_hw
from snncc.mapping.place import PLACERS, PlaceOptions, place
from snncc.mapping.place._cost import Problem, candidate_slots
from snncc.mapping.route import flows_from_matrix, route
from snncc.mapping.topology import Topology

EW, NSJ, INTRA, CHIP = 3e-12, 4e-12, 1.7e-12, 50e-12
FAST = PlaceOptions(pso_particles=10, pso_iterations=20, sa_steps=2000)


def make_hw(grid=(3, 2), mesh=None, cpt=1, multicast=True, entries=0, name="toy"):
    mesh = mesh or grid
    return NS(name=name, grid=grid, mesh=mesh, chips=(grid[0] // mesh[0], grid[1] // mesh[1]),
              cores_per_tile=cpt, n_cores=grid[0] * grid[1] * cpt, n_tiles=grid[0] * grid[1],
              energy=NS(hop_ew_J=EW, hop_ns_J=NSJ, intra_tile_J=INTRA, interchip_hop_J=CHIP),
              noc=NS(multicast=multicast, routing_entries=entries, flits_per_spike=1))


def random_traffic(k, seed, density=0.5):
    rng = np.random.default_rng(seed)
    return rng.random((k, k)) * 100 * (rng.random((k, k)) < density)


def reference_cost(traffic, core, hw, options=None):
    """The objective recomputed independently: topology energies + routed link loads."""
    options = options or PlaceOptions()
    topo = Topology.from_hw(hw)
    t = traffic.copy()
    np.fill_diagonal(t, 0)
    i, j = np.nonzero(t)
    energy = float((t[i, j] * topo.hop_energy(core[i], core[j])).sum())
    peak = route(flows_from_matrix(t), core, hw).max_link_load  # one destination: tree = path
    k = len(core)
    norm = (topo.energy[0] + topo.energy[1]) / 2 * np.sqrt(np.ceil(k / topo.cores_per_tile))
    return options.w_energy * energy + options.w_congestion * norm * peak


# --- topology ------------------------------------------------------------------------------------

def test_hops_and_energies_by_hand_on_3x2_mesh():
    topo = Topology.from_hw(make_hw(cpt=2))
    # core 11 is on tile 5 = (x 2, y 1); core 0 on tile 0 = (0, 0)
    assert topo.core_x[11] == 2 and topo.core_y[11] == 1 and topo.core_tile[11] == 5
    assert topo.hops(0, 11) == 3
    assert topo.hop_energy(0, 11) == pytest.approx(2 * EW + NSJ)
    assert topo.hop_energy(3, 7) == pytest.approx(EW + NSJ)  # tile 1 (1, 0) -> tile 3 (0, 1)
    assert topo.hops(0, 1) == 0 and topo.hop_energy(0, 1) == INTRA  # same tile, other core
    assert topo.hop_energy(4, 4) == 0.0
    np.testing.assert_allclose(topo.hop_energy(np.array([0, 0]), np.array([2, 10])),
                               [EW, 2 * EW + NSJ])


def test_chip_crossings_cost_interchip_energy():
    topo = Topology.from_hw(make_hw(grid=(4, 2), mesh=(2, 1)))  # 2 x 2 chips of 2 x 1 tiles
    assert topo.core_chip.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert topo.chip_crossings(0, 7) == 2 and topo.hops(0, 7) == 4
    assert topo.hop_energy(0, 7) == pytest.approx(2 * EW + 2 * CHIP)
    assert topo.hop_energy(0, 1) == pytest.approx(EW)
    links = topo.link_energy()
    assert links[1, 0] == CHIP and links[0, 0] == EW and links[2, 1] == CHIP  # E of x1, W of x2
    assert links[0, 2] == CHIP and links[4, 3] == CHIP  # every N-S hop crosses
    assert links[3, 0] == 0 and links[0, 1] == 0 and links[4, 2] == 0  # off the grid


def test_compact_region_is_near_square_block_from_origin():
    topo = Topology.from_hw(load_hw("loihi"))
    slots = candidate_slots(topo, 9, "compact", 0.25)  # 12 slots -> 3 tiles -> 2 x 2 block
    assert slots.tolist() == [*range(8), *range(32, 40)]
    assert candidate_slots(topo, 128, "compact", 0.25).size == 128
    assert candidate_slots(topo, 3, "chip", 0.25).size == 128
    tn = Topology.from_hw(make_hw(grid=(64, 64)))
    assert candidate_slots(tn, 100, "compact", 0.25).size == 12 * 11  # 125 tiles -> 12 x 11


# --- every placer ---------------------------------------------------------------------------------

@pytest.mark.parametrize("chip", ["loihi", "pcm-crossbar"])
@pytest.mark.parametrize("method", PLACERS)
def test_placer_returns_valid_injection_in_region(method, chip):
    hw = load_hw(chip)
    traffic = random_traffic(8, 1)
    p = place(traffic, hw, method, seed=3)
    core = p.core_of_cluster
    assert core.dtype == np.int64 and core.shape == (8,) and len(set(core.tolist())) == 8
    region = candidate_slots(Topology.from_hw(hw), 8, "compact", 0.25)
    assert np.isin(core, region).all() and p.candidates == region.size
    assert p.method == method and p.seconds >= 0
    assert p.cost == pytest.approx(reference_cost(traffic, core, hw), rel=1e-9)
    r = route(flows_from_matrix(traffic), core, hw)
    assert p.spike_hops == pytest.approx(r.unicast_spike_hops)
    assert p.energy_J == pytest.approx(r.energy_J, rel=1e-9)  # one destination: tree = path
    assert p.max_link_load == pytest.approx(r.max_link_load)


@pytest.mark.parametrize("method", PLACERS)
def test_same_seed_same_placement(method):
    hw, traffic = load_hw("pcm-crossbar"), random_traffic(9, 2)
    a = place(traffic, hw, method, seed=5, options=FAST)
    b = place(traffic, hw, method, seed=5, options=FAST)
    assert a.core_of_cluster.tolist() == b.core_of_cluster.tolist() and a.cost == b.cost


def test_pso_leaves_global_state_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.random.seed(123)  # noqa: NPY002 - the legacy global state is what pyswarms uses
    expected = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    handlers = list(logging.getLogger().handlers)
    place(random_traffic(6, 0), load_hw("loihi"), "pso", options=FAST)
    assert np.random.random() == expected  # noqa: NPY002
    assert logging.getLogger().handlers == handlers
    assert not (tmp_path / "report.log").exists()


def test_region_chip_uses_every_slot():
    p = place(random_traffic(5, 0), load_hw("loihi"), "random", seed=1,
              options=PlaceOptions(region="chip"))
    assert p.candidates == 128


def test_empty_and_single_cluster():
    hw = load_hw("loihi")
    for method in PLACERS:
        assert place(np.zeros((0, 0)), hw, method).core_of_cluster.shape == (0,)
        one = place(np.ones((1, 1)), hw, method)
        assert one.core_of_cluster.shape == (1,) and one.cost == 0


# --- quality --------------------------------------------------------------------------------------

def brute_force(traffic, hw, options):
    topo = Topology.from_hw(hw)
    k = traffic.shape[0]
    slots = candidate_slots(topo, k, options.region, options.slack)
    return min(reference_cost(traffic, np.array(perm), hw, options)
               for perm in itertools.permutations(slots.tolist(), k))


@pytest.mark.parametrize(("hw", "k", "options"), [
    (make_hw(), 4, PlaceOptions()),                                   # 3 x 2 tiles, 1 core
    (make_hw(cpt=2), 4, PlaceOptions(w_congestion=2.0)),              # 2 x 2 tiles, 2 cores
    (make_hw(grid=(4, 2), mesh=(2, 2)), 5, PlaceOptions(slack=0.0)),  # chip edge off-centre
])
def test_exact_equals_brute_force(hw, k, options):
    traffic = random_traffic(k, 11, density=0.7)
    best = place(traffic, hw, "exact", options=options)
    assert best.cost == pytest.approx(brute_force(traffic, hw, options), rel=1e-9)


@pytest.mark.parametrize("chip", ["loihi", "pcm-crossbar"])
def test_exact_is_no_worse_than_any_placer(chip):
    hw, traffic = load_hw(chip), random_traffic(7, 4)
    best = place(traffic, hw, "exact").cost
    for method in PLACERS:
        assert best <= place(traffic, hw, method, seed=1).cost * (1 + 1e-9), method


def test_exact_cost_unchanged_by_relabelling():
    hw, traffic = load_hw("pcm-crossbar"), random_traffic(7, 8)
    perm = np.random.default_rng(0).permutation(7)
    a = place(traffic, hw, "exact").cost
    assert place(traffic[np.ix_(perm, perm)], hw, "exact").cost == pytest.approx(a, rel=1e-9)


@pytest.mark.parametrize(("chip", "k"), [("pcm-crossbar", 6), ("pcm-crossbar", 8),
                                         ("pcm-crossbar", 9), ("loihi", 9)])
def test_pso_and_sa_within_5_percent_of_exact(chip, k):
    hw = load_hw(chip)
    for seed in range(2):
        traffic = random_traffic(k, 100 * k + seed)
        best = place(traffic, hw, "exact").cost
        for method in ("pso", "sa"):
            assert place(traffic, hw, method, seed=seed).cost <= 1.05 * best, (method, seed)


def test_heuristics_beat_sequential_on_clustered_traffic():
    # 4 groups of 4 clusters talk within the group; labels interleave the groups
    k = 16
    group = np.arange(k) % 4
    rng = np.random.default_rng(0)
    traffic = np.where(group[:, None] == group[None, :], 100.0, 1.0) * rng.uniform(0.5, 1, (k, k))
    hw = load_hw("pcm-crossbar")
    seq = place(traffic, hw, "sequential")
    for method in ("greedy", "pso", "sa"):
        p = place(traffic, hw, method, seed=0)
        assert p.cost < 0.8 * seq.cost and p.spike_hops < seq.spike_hops, method


# --- errors ---------------------------------------------------------------------------------------

def test_errors_name_the_problem():
    hw = load_hw("loihi")
    with pytest.raises(MappingError, match=r"^place: unknown method 'metis' \(known: pso, sa, "):
        place(np.ones((2, 2)), hw, "metis")
    with pytest.raises(MappingError, match=r"square k x k matrix \(got shape \(2, 3\)\)"):
        place(np.ones((2, 3)), hw)
    bad = np.ones((3, 3))
    bad[0, 1], bad[2, 0] = -1.0, np.nan
    with pytest.raises(MappingError) as e:
        place(bad, hw)
    assert str(e.value) == ("place: traffic has 2 negative or non-finite entries "
                            "(first at [0, 1]: -1.0)")
    with pytest.raises(MappingError) as e:
        place(np.ones((130, 130)), hw, "sequential")
    assert str(e.value) == "place: 130 clusters do not fit loihi's 128 core slots"
    with pytest.raises(MappingError) as e:
        place(np.ones((10, 10)), hw, "exact")
    assert str(e.value) == ("place: exact is limited to 9 clusters (got 10); use pso or sa, or "
                            "raise PlaceOptions.exact_max_clusters")
    with pytest.raises(MappingError, match="region must be one of compact, chip"):
        PlaceOptions(region="board")
    with pytest.raises(MappingError, match="w_congestion must be finite and >= 0"):
        PlaceOptions(w_congestion=-1)
    with pytest.raises(MappingError, match="exact gave up after 5 search nodes"):
        place(random_traffic(8, 0), load_hw("pcm-crossbar"), "exact",
              options=PlaceOptions(exact_max_nodes=5))


# --- properties -----------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.integers(0, 12), seed=st.integers(0, 2**16), cpt=st.sampled_from([1, 2, 4]),
       method=st.sampled_from(PLACERS), region=st.sampled_from(["compact", "chip"]))
def test_placement_is_always_a_valid_injection(k, seed, cpt, method, region):
    hw = make_hw(grid=(5, 3), cpt=cpt)
    if method == "exact" and (k > 6 or region == "chip"):
        method = "greedy"
    traffic = random_traffic(k, seed, density=0.3)
    options = PlaceOptions(region=region, pso_particles=6, pso_iterations=10, sa_steps=500)
    p = place(traffic, hw, method, seed=seed, options=options)
    core = p.core_of_cluster
    assert core.shape == (k,) and np.unique(core).size == k
    assert core.size == 0 or (core.min() >= 0 and core.max() < hw.n_cores)
    problem = Problem(traffic, Topology.from_hw(hw), options)
    assert np.isin(core, problem.candidates).all()
    assert p.cost == pytest.approx(reference_cost(traffic, core, hw, options), rel=1e-9, abs=1e-30)

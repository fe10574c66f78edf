"""Property tests of the partitioners on random small unit graphs (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from snncc.mapping.partition import PARTITIONERS, partition
from snncc.mapping.units import CoreLimits
from tests.test_partition import ToyGraph, check_valid

LIMITS = CoreLimits("toy", 64, 128, 2048)


@st.composite
def toy_graphs(draw: st.DrawFn, max_units: int = 24) -> ToyGraph:
    """Layered DAGs: each unit has up to 4 predecessors among the earlier units (<= 96 axons,
    plus <= 24 external ones), 1..24 neurons, 1..1024 synapses; layers are contiguous."""
    n = draw(st.integers(0, max_units))
    w = np.zeros((n, n))
    for v in range(1, n):
        preds = draw(st.lists(st.integers(0, v - 1), max_size=4, unique=True))
        for u in preds:
            w[u, v] = draw(st.floats(0.25, 10.0, allow_nan=False))
    neurons = draw(st.lists(st.integers(1, 24), min_size=n, max_size=n))
    synapses = draw(st.lists(st.integers(1, 1024), min_size=n, max_size=n))
    ext = draw(st.lists(st.integers(0, 24), min_size=n, max_size=n))
    steps = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    layer_of = np.cumsum(steps) - (steps[0] if n else 0)
    return ToyGraph(w, neurons, synapses=synapses, ext=ext, layer_of=layer_of, limits=LIMITS)


def random_graph(rng: np.random.Generator, n: int) -> ToyGraph:
    """The same family as :func:`toy_graphs`, drawn with numpy (for measured statistics)."""
    w = np.zeros((n, n))
    for v in range(1, n):
        k = int(rng.integers(0, min(v, 4) + 1))
        w[rng.choice(v, size=k, replace=False), v] = rng.uniform(0.25, 10.0, k)
    return ToyGraph(w, rng.integers(1, 25, n), synapses=rng.integers(1, 1025, n),
                    ext=rng.integers(0, 25, n), limits=LIMITS)


@settings(max_examples=40, deadline=None)
@given(graph=toy_graphs(), method=st.sampled_from(PARTITIONERS), seed=st.integers(0, 2**16))
def test_every_unit_once_and_no_limit_exceeded(graph: ToyGraph, method: str, seed: int) -> None:
    p = partition(graph, method, seed=seed)
    check_valid(graph, p)   # shape, labels 0..k-1 all used, graph.why_not(core) is None


@settings(max_examples=30, deadline=None)
@given(graph=toy_graphs(), method=st.sampled_from(PARTITIONERS), seed=st.integers(0, 2**16))
def test_same_seed_same_partition(graph: ToyGraph, method: str, seed: int) -> None:
    a = partition(graph, method, seed=seed)
    b = partition(graph, method, seed=seed)
    np.testing.assert_array_equal(a.part, b.part)
    assert a.cost == b.cost


@settings(max_examples=30, deadline=None)
@given(graph=toy_graphs(), seed=st.integers(0, 2**16))
def test_sequential_cores_are_single_layer_slices(graph: ToyGraph, seed: int) -> None:
    p = partition(graph, "sequential", seed=seed)
    assert (np.diff(p.part) >= 0).all()
    for c in range(p.n_cores):
        assert np.unique(graph.layer_of[p.part == c]).size == 1


# Relabelling. kl and metis are heuristics whose result depends on the unit numbering as it
# does on the seed. Measured on 300 graphs of this family (8..32 units, seed 0): relabelling
# changed the cost of single graphs by up to 26 % (kl) and 43 % (metis), by more than 15 % for
# 5 % (kl) and 3 % (metis) of them. Summed over batches of 10 graphs, the relabelled cost stayed
# within 6.5 % (kl) and 3.7 % (metis) of the original (30 batches; sd 2.2 % and 1.5 %). So the
# honest property is on batches: no bias from the numbering, with a 15 % tolerance. The batches
# are derandomized so that CI always checks the same 4.


@settings(max_examples=4, deadline=None, derandomize=True)
@given(batch=st.integers(0, 2**32 - 1))
def test_relabelling_does_not_bias_kl_and_metis(batch: int) -> None:
    rng = np.random.default_rng(batch)
    graphs = [random_graph(rng, int(rng.integers(8, 33))) for _ in range(10)]
    perms = [rng.permutation(g.n_units) for g in graphs]
    for method in ("kl", "metis"):
        orig = sum(partition(g, method).cost for g in graphs)
        moved = sum(partition(g.permuted(p), method).cost for g, p in zip(graphs, perms,
                                                                            strict=True))
        assert abs(moved - orig) <= 0.15 * orig, (method, orig, moved)


@settings(max_examples=30, deadline=None)
@given(graph=toy_graphs(max_units=16), perm_seed=st.integers(0, 2**16))
def test_relabelling_keeps_every_core_valid(graph: ToyGraph, perm_seed: int) -> None:
    perm = np.random.default_rng(perm_seed).permutation(graph.n_units)
    moved = graph.permuted(perm)
    for method in ("kl", "metis", "spinemap"):
        check_valid(moved, partition(moved, method))

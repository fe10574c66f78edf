"""Partitioners: validity, determinism, quality against random, layer boundaries, errors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import scipy.sparse as sp

import snncc
from snncc.convert import convert, rate_run
from snncc.errors import MappingError
from snncc.mapping.partition import PARTITIONERS, Partition, PartitionOptions, partition
from snncc.mapping.partition._cores import Cores, finish
from snncc.mapping.partition._refine import _Top2, pair_delta, polish, refine
from snncc.mapping.partition._repair import merge
from snncc.mapping.units import CoreLimits, build_units, multicast_cost
from tests.conftest import MODELS

# --- a toy UnitGraph: additive neurons/synapses; axons = distinct presynaptic neurons ----------


TOY = CoreLimits("toy", 64, 96, 4096)
SMALL = CoreLimits("small", 128, 2048, 16384)


class ToyCore:
    def __init__(self, graph: ToyGraph) -> None:
        self.graph = graph
        self.units: list[int] = []
        self.neurons = self.synapses = 0
        self.seen: set[int] = set()

    def can_add(self, u: int) -> bool:
        g, lim = self.graph, self.graph.limits
        return (self.neurons + g.neurons[u] <= lim.neurons
                and self.synapses + g.synapses[u] <= lim.synapses
                and len(self.seen | g.axons[u]) <= lim.input_axons)

    def add(self, u: int) -> None:
        self.units.append(u)
        self.neurons += int(self.graph.neurons[u])
        self.synapses += int(self.graph.synapses[u])
        self.seen |= self.graph.axons[u]

    def copy(self) -> ToyCore:
        c = ToyCore(self.graph)
        c.units, c.neurons, c.synapses, c.seen = list(self.units), self.neurons, \
            self.synapses, set(self.seen)
        return c


class ToyGraph:
    """Units with a neuron count each; a unit's input axons are every neuron of its
    predecessor units (shared between units with a common predecessor) plus ``ext`` inputs of
    its own."""

    def __init__(self, w: np.ndarray, neurons: Sequence[int], *, layer_of: Sequence[int] | None
                 = None, ext: Sequence[int] | None = None, synapses: Sequence[int] | None = None,
                 limits: CoreLimits = TOY) -> None:
        n = len(neurons)
        self.n_units = n
        self.neurons = np.asarray(neurons, dtype=np.int64)
        self.synapses = np.asarray(synapses if synapses is not None else self.neurons * 8,
                                   dtype=np.int64)
        self.layer_of = np.asarray(layer_of if layer_of is not None else np.zeros(n),
                                   dtype=np.int32)
        self.layer_names = tuple(f"L{i}" for i in range(int(self.layer_of.max(initial=0)) + 1))
        w = np.asarray(w, dtype=np.float64).copy()
        np.fill_diagonal(w, 0.0)
        self.out_edges = sp.csr_matrix(w)
        self.activity = w.sum(axis=1)
        self.limits = limits
        start = np.r_[0, np.cumsum(self.neurons)]
        ext = np.zeros(n, np.int64) if ext is None else np.asarray(ext)
        base = int(start[-1])
        self.axons: list[frozenset[int]] = []
        for u in range(n):
            ids = {i for p in np.flatnonzero(w[:, u]) for i in range(start[p], start[p + 1])}
            ids |= set(range(base, base + int(ext[u])))
            base += int(ext[u])
            self.axons.append(frozenset(ids))

    @property
    def adjacency(self) -> sp.csr_matrix:
        a = (self.out_edges + self.out_edges.T).tocsr()
        a.setdiag(0)
        a.eliminate_zeros()
        return a

    def new_core(self) -> ToyCore:
        return ToyCore(self)

    def why_not(self, units: Sequence[int]) -> str | None:
        units = list(units)
        need = (int(self.neurons[units].sum()), len(set().union(*(self.axons[u] for u in units))),
                int(self.synapses[units].sum()))
        for what, k, have in zip(("neurons", "input axons", "synapses"), need,
                                 (self.limits.neurons, self.limits.input_axons,
                                  self.limits.synapses), strict=True):
            if k > have:
                return f"{what}: needs {k}, a {self.limits.name} core has {have}"
        return None

    def fits(self, units: Sequence[int]) -> bool:
        return self.why_not(units) is None

    def permuted(self, perm: np.ndarray) -> ToyGraph:
        """The same graph with unit ``i`` renamed ``inv[i]`` (new unit j = old unit perm[j])."""
        w = self.out_edges.toarray()[np.ix_(perm, perm)]
        g = ToyGraph(w, self.neurons[perm], layer_of=self.layer_of[perm],
                     synapses=self.synapses[perm], limits=self.limits)
        g.axons = [frozenset(self.axons[p]) for p in perm]   # keep the same axon identities
        return g


def layered_graph(layers: int = 4, width: int = 6, seed: int = 0) -> ToyGraph:
    """Conv-like: unit j of layer l feeds units j-1..j+1 of layer l+1."""
    rng = np.random.default_rng(seed)
    n = layers * width
    w = np.zeros((n, n))
    for li in range(layers - 1):
        for j in range(width):
            for d in (-1, 0, 1):
                if 0 <= j + d < width:
                    w[li * width + j, (li + 1) * width + j + d] = rng.uniform(1, 10)
    return ToyGraph(w, rng.integers(4, 16, n), layer_of=np.repeat(np.arange(layers), width),
                    ext=np.where(np.arange(n) < width, 9, 0))


def communities(k: int = 3, size: int = 8, seed: int = 0) -> ToyGraph:
    """``k`` dense communities (heavy edges inside, a few light edges across), interleaved ids."""
    rng = np.random.default_rng(seed)
    n = k * size
    comm = np.arange(n) % k
    w = np.where(comm[:, None] == comm[None, :], rng.uniform(5, 10, (n, n)), 0.0)
    cross = rng.random((n, n)) < 0.05
    w[cross & (comm[:, None] != comm[None, :])] = 0.5
    lim = CoreLimits("toy", 8 * size, 10_000, 100_000)
    return ToyGraph(w, np.full(n, 8), limits=lim)


def real_graph(limits: CoreLimits = SMALL):
    g = snncc.load_onnx(MODELS / "lenet_relu_op17.onnx")
    x = np.random.default_rng(0).random((4, *g.inputs[0].shape)).astype(np.float32)
    net = convert(g, calibration=x)
    rates = rate_run(net, x)
    counts = {p.name: np.asarray(rates[p.name]).mean(axis=0) for p in net.populations}
    return build_units(net, limits, counts=counts, granularity=2)


@pytest.fixture(scope="module")
def lenet_units():
    return real_graph()


def check_valid(graph, p: Partition) -> None:
    assert p.part.shape == (graph.n_units,) and p.part.dtype == np.int64
    assert p.n_cores == (int(p.part.max()) + 1 if graph.n_units else 0)
    assert set(np.unique(p.part).tolist()) == set(range(p.n_cores))
    for c in range(p.n_cores):
        assert graph.why_not(np.flatnonzero(p.part == c).tolist()) is None
    assert p.cost == pytest.approx(multicast_cost(graph, p.part))
    w = graph.out_edges.toarray()
    assert p.edge_cut == pytest.approx(w[p.part[:, None] != p.part[None, :]].sum())


# --- validity and determinism -------------------------------------------------------------------

GRAPHS = {"layered": layered_graph, "communities": communities}


@pytest.mark.parametrize("method", PARTITIONERS)
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_partition_is_valid_and_deterministic(method: str, name: str) -> None:
    graph = GRAPHS[name]()
    a = partition(graph, method, seed=3)
    check_valid(graph, a)
    b = partition(graph, method, seed=3)
    np.testing.assert_array_equal(a.part, b.part)
    assert a.method == method and a.seconds >= 0


@pytest.mark.parametrize("method", PARTITIONERS)
def test_real_unit_graph(method: str, lenet_units) -> None:
    p = partition(lenet_units, method, seed=1)
    check_valid(lenet_units, p)
    np.testing.assert_array_equal(p.part, partition(lenet_units, method, seed=1).part)


def test_graph_methods_beat_random_on_communities() -> None:
    graph = communities()
    rnd = min(partition(graph, "random", seed=s).cost for s in range(3))
    for method in ("spinemap", "kl", "metis"):
        p = partition(graph, method)
        assert p.n_cores == 3, method
        assert p.cost < 0.5 * rnd, method


def test_graph_methods_beat_sequential_on_layers() -> None:
    graph = layered_graph(5, 8)
    seq = partition(graph, "sequential").cost
    for method in ("spinemap", "kl", "metis"):
        assert partition(graph, method).cost < 0.9 * seq, method


def test_sequential_starts_a_core_at_each_layer() -> None:
    # 3 layers of 2 small units: all would fit one core, but each layer gets its own
    w = np.zeros((6, 6))
    w[0, 2] = w[1, 3] = w[2, 4] = w[3, 5] = 1.0
    graph = ToyGraph(w, [4] * 6, layer_of=[0, 0, 1, 1, 2, 2])
    p = partition(graph, "sequential")
    np.testing.assert_array_equal(p.part, [0, 0, 1, 1, 2, 2])


def test_sequential_slices_are_contiguous_and_single_layer(lenet_units) -> None:
    p = partition(lenet_units, "sequential")
    assert (np.diff(p.part) >= 0).all() and (np.diff(p.part) <= 1).all()
    for c in range(p.n_cores):
        assert np.unique(lenet_units.layer_of[p.part == c]).size == 1


def test_sequential_opens_a_core_when_full() -> None:
    graph = ToyGraph(np.zeros((5, 5)), [30, 30, 30, 30, 30])   # 2 per 64-neuron core
    np.testing.assert_array_equal(partition(graph, "sequential").part, [0, 0, 1, 1, 2])


def test_spinemap_seeds_with_most_active_and_grows_by_traffic() -> None:
    # unit 3 is the most active; it talks most to 1, then 0; 2 is isolated
    w = np.zeros((4, 4))
    w[3, 1], w[3, 0], w[0, 2] = 9.0, 5.0, 0.1
    graph = ToyGraph(w, [30, 30, 30, 30])           # two units per core
    p = partition(graph, "spinemap")
    assert p.part[3] == p.part[1] and p.part[0] == p.part[2] != p.part[3]


def test_random_depends_on_seed() -> None:
    graph = layered_graph(6, 8)
    parts = {tuple(partition(graph, "random", seed=s).part) for s in range(4)}
    assert len(parts) > 1


def test_fill_leaves_headroom() -> None:
    graph = layered_graph()
    opts = PartitionOptions(fill=0.5)
    for method in PARTITIONERS:
        p = partition(graph, method, options=opts)
        check_valid(graph, p)
        for c in range(p.n_cores):
            sel = p.part == c
            assert sel.sum() == 1 or graph.neurons[sel].sum() <= 32, method


def test_progress_reaches_total() -> None:
    graph = layered_graph()
    for method in ("sequential", "spinemap", "kl", "random"):
        calls: list[tuple[int, int]] = []
        partition(graph, method, progress=lambda d, t, calls=calls: calls.append((d, t)))
        assert calls and calls[-1][0] == calls[-1][1] == graph.n_units, method


def test_empty_graph() -> None:
    graph = ToyGraph(np.zeros((0, 0)), [])
    for method in PARTITIONERS:
        p = partition(graph, method)
        assert p.n_cores == 0 and p.part.shape == (0,) and p.cost == 0.0


# --- shared machinery ---------------------------------------------------------------------------


def test_move_deltas_are_exact() -> None:
    """The incremental move price equals the change of multicast_cost, for every candidate."""
    graph = layered_graph(5, 7, seed=2)
    rng = np.random.default_rng(0)
    part = rng.integers(0, 9, graph.n_units)
    top = _Top2(graph, part)
    wc, adj = graph.out_edges.tocsc(), graph.adjacency
    for _ in range(60):
        x = int(rng.integers(graph.n_units))
        lo, hi = wc.indptr[x], wc.indptr[x + 1]
        preds, wts = wc.indices[lo:hi], wc.data[lo:hi]
        near = part[adj.indices[adj.indptr[x]:adj.indptr[x + 1]]]
        cand, delta = top.deltas(x, preds, wts, near)
        before = multicast_cost(graph, part)
        for b, d in zip(cand.tolist(), delta.tolist(), strict=True):
            moved = part.copy()
            moved[x] = b
            assert multicast_cost(graph, moved) - before == pytest.approx(d, abs=1e-9)
        if cand.size:
            part[x] = cand[int(rng.integers(cand.size))]
            for u in preds.tolist():
                top.update(u)


def test_swap_deltas_are_exact() -> None:
    graph = layered_graph(5, 7, seed=3)
    rng = np.random.default_rng(1)
    part = rng.integers(0, 6, graph.n_units)
    w, wc = graph.out_edges.tocsr(), graph.out_edges.tocsc()
    for _ in range(100):
        x, y = rng.choice(graph.n_units, 2, replace=False).tolist()
        swapped = part.copy()
        swapped[x], swapped[y] = part[y], part[x]
        assert multicast_cost(graph, swapped) - multicast_cost(graph, part) == pytest.approx(
            pair_delta(w, wc, part, x, y), abs=1e-9)


def dense_layers() -> ToyGraph:
    """3 layers of 4 units, each unit a quarter of a core, every unit feeding the next layer."""
    rng = np.random.default_rng(0)
    w = np.zeros((12, 12))
    for li in range(2):
        for i in range(4):
            w[li * 4 + i, (li + 1) * 4:(li + 2) * 4] = rng.uniform(2000, 4000)
    return ToyGraph(w, [256] * 12, layer_of=np.repeat(np.arange(3), 4),
                    limits=CoreLimits("toy", 1024, 100_000, 10**7))


def test_swaps_escape_full_cores() -> None:
    """All cores full, layers mixed: no single move fits, but swaps group the siblings (a unit's
    targets on one core), as layer-by-layer slicing does."""
    graph = dense_layers()
    cores = Cores(graph, np.arange(12) % 3)
    assert not any(cores.can_move(u, c) for u in range(12) for c in range(3))
    before = multicast_cost(graph, cores.part)
    assert refine(cores, 4, np.random.default_rng(0)) > 0
    after = multicast_cost(graph, cores.part)
    assert after < 0.8 * before
    finish(graph, cores.labels(), "test")


def test_merge_and_refine_never_raise_cost() -> None:
    graph = layered_graph(5, 8, seed=1)
    part = partition(graph, "random", seed=0).part
    cores = Cores(graph, part)
    before = multicast_cost(graph, cores.part)
    merge(cores)
    after_merge = multicast_cost(graph, cores.part)
    refine(cores, 4, np.random.default_rng(0))
    after = multicast_cost(graph, cores.part)
    assert after <= after_merge + 1e-9 <= before + 2e-9
    finish(graph, cores.labels(), "test")


def test_repair_splits_an_overfull_core() -> None:
    graph = layered_graph(4, 6)
    cores = Cores(graph, np.zeros(graph.n_units, dtype=np.int64))
    assert not graph.fits(list(range(graph.n_units)))
    bad = polish(cores, np.random.default_rng(0), refine_passes=2, merge_cores=True)
    assert bad == 1
    finish(graph, cores.labels(), "test")


# --- errors ---------------------------------------------------------------------------------------


def test_unknown_method() -> None:
    with pytest.raises(MappingError) as err:
        partition(layered_graph(), "spectral")
    assert str(err.value) == ("unknown partitioner 'spectral'; available: sequential, spinemap, "
                              "kl, metis, random")


def test_finish_names_the_core_that_does_not_fit() -> None:
    graph = ToyGraph(np.zeros((3, 3)), [40, 40, 10], layer_of=[0, 1, 1])
    with pytest.raises(MappingError) as err:
        finish(graph, np.array([0, 0, 1]), "kl")
    assert str(err.value) == ("kl partition: core 0 (2 units from L0) does not fit a toy core: "
                              "neurons: needs 80, a toy core has 64")


def test_finish_rejects_a_wrong_shape() -> None:
    graph = layered_graph()
    with pytest.raises(MappingError, match="expected one core index >= 0 per unit for 24 units"):
        finish(graph, np.zeros(3, dtype=np.int64), "metis")


@pytest.mark.parametrize(("kw", "msg"), [
    ({"fill": 0.0}, "partition options: fill must be in (0, 1], got 0.0"),
    ({"metis_objective": "edges"},
     "partition options: metis_objective must be 'cut' or 'vol', got 'edges'"),
    ({"refine_passes": -1}, "partition options: refine_passes must be >= 0, got -1"),
])
def test_bad_options(kw, msg: str) -> None:
    with pytest.raises(MappingError) as err:
        PartitionOptions(**kw)
    assert str(err.value) == msg


def test_metis_volume_objective_is_valid() -> None:
    graph = communities()
    p = partition(graph, "metis", options=PartitionOptions(metis_objective="vol"))
    check_valid(graph, p)

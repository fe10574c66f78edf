"""SpiNeCluster: grow each core around the most active unit still unplaced.

Balaji, Das et al., "Mapping Spiking Neural Networks to Neuromorphic Hardware" (SpiNeMap), IEEE
TVLSI 2020, arXiv 1909.01843, and its released code: sort neurons by spike count, seed a cluster
with the most active unplaced neuron, and repeatedly add the unplaced neuron that exchanges the
most spikes with the cluster until the cluster is full.

snncc works on *units* (blocks of neurons of one layer) instead of single neurons, and "full"
means that no unplaced unit fits the core any more (every limit of the chip, ``fill`` of its
neurons and synapses). The exchange of a candidate with the core is kept as a gain vector,
raised along the adjacency row of each unit that joins, with a lazy max-heap over it, so a core
costs ``O(E_core log E_core)`` and the whole run roughly ``O(E log n)``. When no connected unit
fits, the core is topped up with unconnected units in activity order (the paper fills clusters
to capacity); after ``max_fails`` consecutive misses the core is closed.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import scipy.sparse as sp

    from snncc.mapping.units import UnitGraph

__all__ = ["spinecluster", "spinemap_partition"]


def spinemap_partition(graph: UnitGraph, *, seed: int = 0, fill: float = 1.0,
                       max_fails: int = 16,
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Partition the units with SpiNeCluster (see the module docstring).

    Args:
        graph: The unit graph.
        seed: Unused (the method is deterministic; ties go to the lower unit id); kept so every
            partitioner has the same signature.
        fill: Target fraction of a core's neurons and synapses.
        max_fails: Consecutive unconnected units that may fail to fit before a core closes.
        progress: Called ``(units placed, n_units)`` as cores close.

    Returns:
        The core of every unit (int64).

    Example:
        >>> import numpy as np, snncc
        >>> from snncc.examples import example_path
        >>> from snncc.mapping import CoreLimits, build_units
        >>> x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
        >>> net = snncc.convert(snncc.load_onnx(example_path("digits_cnn")), calibration=x)
        >>> graph = build_units(net, CoreLimits("demo", 64, 512, 8192))
        >>> part = spinemap_partition(graph)
        >>> all(graph.fits(np.flatnonzero(part == c)) for c in range(part.max() + 1))
        True
    """
    del seed
    order = np.lexsort((np.arange(graph.n_units), -graph.activity))
    part = np.empty(graph.n_units, dtype=np.int64)
    done = 0
    for c, units in enumerate(spinecluster(graph, order.tolist(), fill=fill, max_fails=max_fails)):
        part[units] = c
        done += len(units)
        if progress is not None:
            progress(done, graph.n_units)
    return part


class _Core:
    """One core being grown: its state, members, used resources and the gain heap."""

    def __init__(self, graph: UnitGraph, adj: sp.csr_matrix, free: np.ndarray, gain: np.ndarray,
                 rank: np.ndarray, caps: tuple[float, float]) -> None:
        self.state = graph.new_core()
        self.adj = adj
        self.nrn, self.syn = graph.neurons, graph.synapses
        self.free, self.gain, self.rank, self.caps = free, gain, rank, caps
        self.members: list[int] = []
        self.used = [0.0, 0.0]
        self.touched: list[int] = []
        self.rejected: set[int] = set()
        self.heap: list[tuple[float, int, int]] = []

    def fits(self, v: int) -> bool:
        return (self.used[0] + self.nrn[v] <= self.caps[0]
                and self.used[1] + self.syn[v] <= self.caps[1] and self.state.can_add(v))

    def join(self, u: int) -> None:
        self.state.add(u)
        self.members.append(u)
        self.free[u] = False
        self.used[0] += self.nrn[u]
        self.used[1] += self.syn[u]
        lo, hi = self.adj.indptr[u], self.adj.indptr[u + 1]
        for v, w in zip(self.adj.indices[lo:hi].tolist(), self.adj.data[lo:hi].tolist(),
                        strict=True):
            if self.free[v] and v not in self.rejected:
                self.gain[v] += w
                self.touched.append(v)
                heapq.heappush(self.heap, (-self.gain[v], int(self.rank[v]), v))

    def grow(self) -> None:
        """Add the best-connected unit that fits until no connected unit fits."""
        while self.heap:
            g, _, v = heapq.heappop(self.heap)
            if not self.free[v] or v in self.rejected or -g != self.gain[v]:
                continue
            if self.fits(v):
                self.join(v)
            else:
                self.rejected.add(v)


def spinecluster(graph: UnitGraph, units: Sequence[int], *, fill: float = 1.0,
                 max_fails: int = 16, adj: sp.csr_matrix | None = None) -> list[list[int]]:
    """Cut ``units`` into cores, each grown greedily from the first unplaced unit of ``units``.

    Args:
        graph: The unit graph.
        units: The units to place, in seed priority order (first = seeded first; also the
            tie-break between equal gains).
        fill: Target fraction of a core's neurons and synapses.
        max_fails: Consecutive unconnected units that may fail to fit before a core closes.
        adj: ``graph.adjacency`` if the caller has it already.

    Returns:
        The cores, as lists of units in the order they joined.
    """
    order = [int(u) for u in units]
    size = len(order)
    rank = np.full(graph.n_units, -1, dtype=np.int64)
    rank[order] = np.arange(size)
    free = rank >= 0
    gain = np.zeros(graph.n_units)
    caps = (fill * graph.limits.neurons, fill * graph.limits.synapses)
    adj = graph.adjacency.tocsr() if adj is None else adj
    skip = list(range(size + 1))      # skip[i]: a position >= i to look at next (compressed)

    def next_free(i: int, core: _Core | None = None) -> int:
        path = []
        while i < size and not free[order[i]]:
            path.append(i)
            i = max(skip[i], i + 1)
        for j in path:
            skip[j] = i
        while core is not None and i < size and order[i] in core.rejected:
            i = next_free(i + 1)
        return i

    cores: list[list[int]] = []
    head = next_free(0)
    while head < size:
        core = _Core(graph, adj, free, gain, rank, caps)
        core.join(order[head])
        pos, fails = head, 0
        while True:
            core.grow()
            pos = next_free(pos, core)       # top up with unconnected units, most active first
            if pos >= size or fails >= max_fails:
                break
            if core.fits(order[pos]):
                core.join(order[pos])
                fails = 0
            else:
                core.rejected.add(order[pos])
                fails += 1
        gain[core.touched] = 0.0
        cores.append(core.members)
        head = next_free(head)
    return cores

"""Core bookkeeping shared by the partitioners: assignment, what still fits, packing, checks.

A partition is an int64 array ``part`` of length ``n_units`` giving each unit's core. While an
algorithm works, :class:`Cores` holds the same assignment as member sets with per-core sums of
the additive resources (neurons, synapses) and a cached :class:`~snncc.mapping.units.CoreState`
per core, so "may unit ``u`` join core ``b``?" is an additive test and one ``can_add`` call.
Input axons are not additive (they count distinct presynaptic neurons), so they are only ever
judged by the graph's own ``CoreState.can_add`` / ``fits``.

``fill`` (0 < fill <= 1) is the target fraction of a core's neurons and synapses that packing,
repair, merging and refinement may use; input axons are always held to the full limit (only
``can_add`` judges them). A core holding a single unit is always allowed: every unit fits a core
alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from snncc.errors import MappingError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from snncc.mapping.units import CoreState, UnitGraph

__all__ = ["Cores", "compact", "edge_cut", "finish", "first_fit", "rows_of"]


class Cores:
    """A mutable assignment of units to cores that knows what still fits.

    Args:
        graph: The unit graph.
        part: Initial core of every unit (any non-negative labels; empty labels are allowed).
        fill: Target fraction of a core's neurons and synapses.
    """

    def __init__(self, graph: UnitGraph, part: np.ndarray, fill: float = 1.0) -> None:
        self.graph = graph
        self.adj: sp.csr_matrix = graph.adjacency.tocsr()
        self.part = np.asarray(part, dtype=np.int64).copy()
        k = int(self.part.max(initial=-1)) + 1
        self.members: list[set[int]] = [set() for _ in range(k)]
        for u, c in enumerate(self.part.tolist()):
            self.members[c].add(u)
        self._nrn = graph.neurons.astype(np.float64)
        self._syn = graph.synapses.astype(np.float64)
        self.sizes = np.bincount(self.part, minlength=k)
        self.neurons = np.bincount(self.part, weights=self._nrn, minlength=k)
        self.synapses = np.bincount(self.part, weights=self._syn, minlength=k)
        self.fill = fill
        self.cap_neurons = fill * graph.limits.neurons
        self.cap_synapses = fill * graph.limits.synapses
        self._states: list[CoreState | None] = [None] * k
        # "u cannot join c" stays true while c only grows: remember it with c's shrink count
        self._shrunk = [0] * k
        self._no_move: dict[tuple[int, int], int] = {}
        self._no_merge: dict[tuple[int, int], tuple[int, int]] = {}

    @property
    def n_cores(self) -> int:
        """Core labels in use or not (empty cores count until :meth:`labels` compacts them)."""
        return len(self.members)

    def state(self, c: int) -> CoreState:
        """The graph's incremental state of core ``c`` (rebuilt after a unit left it)."""
        st = self._states[c]
        if st is None:
            st = self.graph.new_core()
            for u in sorted(self.members[c]):
                st.add(u)
            self._states[c] = st
        return st

    def _additive_ok(self, c: int, neurons: float, synapses: float) -> bool:
        if not self.members[c]:
            return True
        return (self.neurons[c] + neurons <= self.cap_neurons
                and self.synapses[c] + synapses <= self.cap_synapses)

    def fits(self, c: int) -> bool:
        """Whether core ``c`` respects every per-core limit (``fill`` ignored)."""
        return len(self.members[c]) <= 1 or self.graph.fits(sorted(self.members[c]))

    def within(self, c: int) -> bool:
        """Whether core ``c`` respects ``fill`` and every per-core limit."""
        return len(self.members[c]) <= 1 or (
            self.neurons[c] <= self.cap_neurons and self.synapses[c] <= self.cap_synapses
            and self.graph.fits(sorted(self.members[c])))

    def can_move(self, u: int, c: int) -> bool:
        """Whether unit ``u`` may join core ``c`` (its leaving its own core never hurts)."""
        if not self._additive_ok(c, self._nrn[u], self._syn[u]):
            return False
        if not self.members[c]:
            return True
        if self._no_move.get((u, c), -1) == self._shrunk[c]:
            return False
        if self.state(c).can_add(u):
            return True
        self._no_move[u, c] = self._shrunk[c]
        return False

    def move(self, u: int, c: int) -> None:
        """Move unit ``u`` to core ``c``."""
        a = int(self.part[u])
        self.members[a].discard(u)
        self.sizes[a] -= 1
        self.neurons[a] -= self._nrn[u]
        self.synapses[a] -= self._syn[u]
        self._states[a] = None
        self._shrunk[a] += 1
        st = self._states[c]
        if st is not None:
            st.add(u)
        self.members[c].add(u)
        self.sizes[c] += 1
        self.neurons[c] += self._nrn[u]
        self.synapses[c] += self._syn[u]
        self.part[u] = c

    def new_core(self) -> int:
        """Open an empty core; returns its label."""
        self.members.append(set())
        self.sizes = np.append(self.sizes, 0)
        self.neurons = np.append(self.neurons, 0.0)
        self.synapses = np.append(self.synapses, 0.0)
        self._states.append(None)
        self._shrunk.append(0)
        return len(self.members) - 1

    def can_merge(self, a: int, b: int) -> bool:
        """Whether cores ``a`` and ``b`` fit one core together."""
        if not self._additive_ok(a, self.neurons[b], self.synapses[b]):
            return False
        shrunk = (self._shrunk[a], self._shrunk[b])
        if self._no_merge.get((a, b)) == shrunk:
            return False
        st = self.state(a).copy()
        for u in sorted(self.members[b]):
            if not st.can_add(u):
                self._no_merge[a, b] = shrunk
                return False
            st.add(u)
        return True

    def merge(self, a: int, b: int) -> None:
        """Move every unit of core ``b`` into core ``a``."""
        for u in sorted(self.members[b]):
            self.move(u, a)

    def labels(self) -> np.ndarray:
        """The assignment with empty cores dropped, labelled in order of first unit."""
        return compact(self.part)


def compact(part: np.ndarray) -> np.ndarray:
    """Relabel cores 0..k-1 in order of their lowest unit (every label used)."""
    part = np.asarray(part, dtype=np.int64)
    if part.size == 0:
        return part.copy()
    labels, first, inverse = np.unique(part, return_index=True, return_inverse=True)
    rank = np.empty(len(labels), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(labels))
    return rank[inverse.ravel()]


def groups(part: np.ndarray) -> list[np.ndarray]:
    """The units of each core, for labels 0..max (sorted unit ids)."""
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(int(part.max(initial=-1)) + 2))
    return [order[bounds[c]:bounds[c + 1]] for c in range(len(bounds) - 1)]


def finish(graph: UnitGraph, part: np.ndarray, method: str) -> np.ndarray:
    """Check a partition and return it compacted (labels 0..k-1, each used).

    Raises:
        MappingError: A unit is unassigned, or a core breaks a per-core limit (a partitioner
            bug: the message names the method, the core and what does not fit).
    """
    part = np.asarray(part)
    n = graph.n_units
    if part.shape != (n,) or (n and int(part.min()) < 0):
        raise MappingError(f"{method} partition: expected one core index >= 0 per unit for "
                           f"{n} units, got shape {part.shape}")
    part = compact(part)
    for c, units in enumerate(groups(part)):
        why = graph.why_not(units.tolist())
        if why is not None:
            layer = graph.layer_names[int(graph.layer_of[units[0]])]
            raise MappingError(f"{method} partition: core {c} ({len(units)} units from {layer}) "
                               f"does not fit a {graph.limits.name} core: {why}")
    return part


def edge_cut(graph: UnitGraph, part: np.ndarray) -> float:
    """Spikes per inference on unit edges whose ends are on different cores (Σ w[u, v])."""
    w = graph.out_edges.tocoo()
    return float(w.data[part[w.row] != part[w.col]].sum())


def first_fit(graph: UnitGraph, order: Iterable[int], fill: float = 1.0, patience: int = 32,
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Pack units, in the given order, each into the first open core that can take it.

    A core closes after refusing ``patience`` units (so packing costs ``O(n + cores ×
    patience)`` ``can_add`` calls, not ``O(n × cores)``); the additive resources (neurons,
    synapses) prune the candidates before ``can_add`` is asked.
    """
    n = graph.n_units
    nrn, syn = graph.neurons.astype(np.float64), graph.synapses.astype(np.float64)
    cap_n, cap_s = fill * graph.limits.neurons, fill * graph.limits.synapses
    part = np.full(n, -1, dtype=np.int64)
    states: list[CoreState] = []
    used_n, used_s = np.zeros(n), np.zeros(n)        # at most one core per unit
    refused = np.zeros(n, dtype=np.int64)
    for i, u in enumerate(order):
        k = len(states)
        cands = np.flatnonzero((used_n[:k] + nrn[u] <= cap_n) & (used_s[:k] + syn[u] <= cap_s)
                               & (refused[:k] < patience))
        dest = -1
        for c in cands.tolist():
            if states[c].can_add(u):
                dest = c
                break
            refused[c] += 1
        if dest < 0:
            states.append(graph.new_core())
            dest = k
        states[dest].add(u)
        used_n[dest] += nrn[u]
        used_s[dest] += syn[u]
        part[u] = dest
        if progress is not None:
            progress(i + 1, n)
    return part


def rows_of(m: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of some rows of a CSR matrix: (row position in ``rows``, column, value).

    The same as slicing ``m[rows]``, without building a matrix (much cheaper for few rows).
    """
    lo = m.indptr[rows]
    size = m.indptr[rows + 1] - lo
    owner = np.repeat(np.arange(rows.size), size)
    pos = np.arange(int(size.sum())) + np.repeat(lo - (np.cumsum(size) - size), size)
    return owner, m.indices[pos], m.data[pos]


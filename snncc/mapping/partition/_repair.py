"""Capacity repair and core merging, shared by ``kl`` and ``metis``.

Both work on a :class:`~snncc.mapping.partition._cores.Cores` in place. Repair makes every core
fit; merging folds cores that fit together into one, which never raises the multicast cost. A
unit tries at most ``TRIES`` destinations and a core ``MERGE_TRIES`` partners, best first, so
both stay near-linear when most attempts are refused (typically by input axons, which only
``CoreState.can_add`` judges, at the cost of set unions over the cores' presynaptic neurons).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from snncc.mapping.partition._cores import rows_of
from snncc.mapping.partition.spinemap import spinecluster

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from snncc.mapping.partition._cores import Cores
    from snncc.mapping.units import UnitGraph

__all__ = ["MERGE_TRIES", "TRIES", "merge", "repair", "split_grown"]

#: How many cores a unit tries, best first, before giving up on a move.
TRIES = 8
#: How many partners a core tries, best first, before giving up on merging.
MERGE_TRIES = 4


def _linked(adj_row: tuple[np.ndarray, np.ndarray], part: np.ndarray, skip: int
            ) -> list[tuple[float, int]]:
    """Cores a unit is linked to, with total weight, heaviest first (ties: lower label)."""
    cols, w = adj_row
    cores = part[cols]
    keep = cores != skip
    if not keep.any():
        return []
    tot = np.bincount(cores[keep], weights=w[keep])
    nz = np.flatnonzero(tot)
    order = np.lexsort((nz, -tot[nz]))
    return [(float(tot[nz[i]]), int(nz[i])) for i in order]


def repair(cores: Cores, split: Callable[[Sequence[int]], list[list[int]]]) -> int:
    """Make every core fit: keep the best-connected part of an overfull core, re-home the rest.

    For each core that breaks a limit (or ``fill``), ``split`` cuts its units into fitting
    groups, the first being the group grown around the core's best-connected unit (SpiNeCluster
    growth, :func:`snncc.mapping.partition.spinemap.spinecluster`); that group stays. Every other
    unit (the ones least connected to the kept group) moves to the neighbouring core it exchanges
    most spikes with that can still take it (of its ``TRIES`` best-linked); the units no
    neighbour takes are cut again by ``split`` into new cores.

    Returns:
        The number of cores that needed repair.
    """
    adj = cores.adj
    bad = [c for c in range(cores.n_cores) if not cores.within(c)]
    for c in bad:
        _kept, *rest = split(sorted(cores.members[c]))
        evicted = sorted(u for grp in rest for u in grp)
        park = cores.new_core()   # evicted units wait here, so `c` shrinks to the kept group
        for u in evicted:
            cores.move(u, park)
        homeless = []
        for u in evicted:
            lo, hi = adj.indptr[u], adj.indptr[u + 1]
            linked = _linked((adj.indices[lo:hi], adj.data[lo:hi]), cores.part, park)
            home = next((d for _, d in linked[:TRIES] if cores.can_move(u, d)), -1)
            if home >= 0:
                cores.move(u, home)
            else:
                homeless.append(u)
        # the park now holds exactly the homeless units: the first group stays there
        for grp in (split(homeless) if homeless else [])[1:]:
            dest = cores.new_core()
            for u in grp:
                cores.move(u, dest)
    return len(bad)


def merge(cores: Cores, rounds: int = 64) -> int:
    """Merge cores that fit together: connected pairs by traffic, then the emptiest ones.

    Merging two cores never raises the multicast cost (a spike sent to both now goes once, or
    stays home), so this only lowers the cost and the core count. Each round merges disjoint
    pairs in order of the spikes exchanged between them, a core giving up after
    ``MERGE_TRIES`` refusals; rounds repeat until none merges. Then, emptiest first, each core is
    folded into the fullest core that can hold it (of the ``MERGE_TRIES`` fullest with room:
    best fit).

    Returns:
        The number of merges done.
    """
    n = cores.graph.n_units
    done = 0
    for _ in range(rounds):
        k = cores.n_cores
        ind = sp.csr_matrix((np.ones(n), (np.arange(n), cores.part)), shape=(n, k))
        traffic = sp.triu(ind.T @ cores.adj @ ind, k=1).tocoo()
        order = np.lexsort((traffic.col, traffic.row, -traffic.data))
        busy = np.zeros(k, dtype=bool)
        tries = np.zeros(k, dtype=np.int64)
        merged = 0
        for i in order.tolist():
            a, b = int(traffic.row[i]), int(traffic.col[i])
            if (busy[a] or busy[b] or not cores.members[a] or not cores.members[b]
                    or max(tries[a], tries[b]) >= MERGE_TRIES):
                continue
            if cores.can_merge(a, b):
                cores.merge(a, b)
                busy[a] = busy[b] = True
                merged += 1
            else:
                tries[a] += 1
                tries[b] += 1
        done += merged
        if not merged:
            break
    return done + _pack(cores)


def _pack(cores: Cores) -> int:
    """Fold the emptiest cores, connected or not, into the fullest ones that can hold them.

    Each core tries the ``MERGE_TRIES`` fullest cores with room for its neurons and synapses; a
    target that refused ``MERGE_TRIES`` cores is no longer offered (it is full in some other
    way, e.g. its input axons).
    """
    packed = 0
    refused = np.zeros(cores.n_cores, dtype=np.int64)
    for a in np.lexsort((np.arange(cores.n_cores), _load(cores))).tolist():
        if not cores.members[a]:
            continue
        load = _load(cores)
        ok = ((cores.neurons + cores.neurons[a] <= cores.cap_neurons)
              & (cores.synapses + cores.synapses[a] <= cores.cap_synapses)
              & (cores.sizes > 0) & (refused < MERGE_TRIES))
        ok[a] = False
        targets = np.flatnonzero(ok)
        for b in targets[np.lexsort((targets, -load[targets]))][:MERGE_TRIES].tolist():
            if cores.can_merge(b, a):
                cores.merge(b, a)
                packed += 1
                break
            refused[b] += 1
    return packed


def _load(cores: Cores) -> np.ndarray:
    """Per core, the larger of its neuron and synapse shares of the (filled) capacity."""
    return np.maximum(cores.neurons / max(cores.cap_neurons, 1e-300),
                      cores.synapses / max(cores.cap_synapses, 1e-300))


def split_grown(graph: UnitGraph, units: Sequence[int], fill: float = 1.0,
                adj: sp.csr_matrix | None = None) -> list[list[int]]:
    """Cut ``units`` into fitting groups by SpiNeCluster growth, best-connected unit first.

    The seed order is the weight each unit exchanges with the other units of the set, so the
    first group is the well-connected core of the set and the stragglers are left over.
    """
    adj = graph.adjacency.tocsr() if adj is None else adj
    idx = np.asarray(units, dtype=np.int64)
    inside = np.zeros(graph.n_units, dtype=bool)
    inside[idx] = True
    owner, cols, val = rows_of(adj, idx)
    inner = np.bincount(owner, weights=val * inside[cols], minlength=idx.size)
    order = idx[np.lexsort((idx, -inner))]
    return spinecluster(graph, order.tolist(), fill=fill, adj=adj)


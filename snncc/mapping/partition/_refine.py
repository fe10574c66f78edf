"""Refinement on the multicast objective: greedy single-unit moves between cores.

The objective (DESIGN.md, Mapping) is ``Σ_u Σ_{p ≠ part[u]} M[u, p]`` with
``M[u, p] = max_{v in p} w[u, v]``: a spike of a unit's neurons costs one packet per other core
holding a target. Moving unit ``x`` from core ``a`` to core ``b`` changes

- ``x``'s own term by ``M[x, a] - M[x, b]`` (its targets stay where they are), and
- for each predecessor ``u`` of ``x`` (``w[u, x] > 0``): ``M[u, a]`` drops to the second
  largest weight of ``u`` into ``a`` if ``x`` held the maximum (counted unless ``u`` is on
  ``a``), and ``M[u, b]`` rises to ``w[u, x]`` if larger (counted unless ``u`` is on ``b``).

So a move is priced from the top two weights of every (unit, core) pair and the predecessors of
``x``; after a move only the predecessors' entries are recomputed (from their rows). This is
the Fiduccia–Mattheyses idea (gains kept up to date locally) applied to the multicast
(hyperedge-like) cost, with only improving moves: a greedy descent, not a full FM pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from snncc.mapping.partition._cores import rows_of
from snncc.mapping.partition._repair import TRIES, merge, repair, split_grown

if TYPE_CHECKING:
    from collections.abc import Callable

    import scipy.sparse as sp

    from snncc.mapping.partition._cores import Cores
    from snncc.mapping.units import UnitGraph

__all__ = ["polish", "refine"]


def _top2(key: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct key (ascending): the largest and second-largest value (0 if only one)."""
    if key.size == 0:
        return key, val, val
    order = np.lexsort((-val, key))
    key, val = key[order], val[order]
    first = np.empty(key.size, dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    start = np.flatnonzero(first)
    two = np.append(start[1:], key.size) > start + 1
    second = np.where(two, val[np.minimum(start + 1, key.size - 1)], 0.0)
    return key[start], val[start], second


class _Top2:
    """Per unit: the cores it reaches (sorted) with its largest and second-largest weight there."""

    def __init__(self, graph: UnitGraph, part: np.ndarray) -> None:
        self.w = graph.out_edges.tocsr()
        self.part = part          # shared with the Cores: moves show up here
        n = graph.n_units
        coo = self.w.tocoo()
        src, dst, val = coo.row.astype(np.int64), part[coo.col], coo.data
        k = int(part.max(initial=0)) + 1
        keys, m1, m2 = _top2(src * k + dst, val)
        cut = np.searchsorted(keys // k, np.arange(1, n))
        self.cores = np.split(keys % k, cut)
        self.m1 = np.split(m1, cut)
        self.m2 = np.split(m2, cut)
        self.slot = np.full(k, -1, dtype=np.int64)   # scratch: core -> candidate index

    def get(self, u: int, c: int) -> float:
        """Largest weight of ``u`` into core ``c`` (0 if none)."""
        i = int(np.searchsorted(self.cores[u], c))
        return float(self.m1[u][i]) if i < self.cores[u].size and self.cores[u][i] == c else 0.0

    def update(self, u: int) -> None:
        """Recompute ``u``'s entries from its row."""
        lo, hi = self.w.indptr[u], self.w.indptr[u + 1]
        self.cores[u], self.m1[u], self.m2[u] = _top2(self.part[self.w.indices[lo:hi]],
                                                      self.w.data[lo:hi])

    def deltas(self, x: int, preds: np.ndarray, wts: np.ndarray, near: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Change of the multicast cost if ``x`` moved to each candidate core.

        The candidates are ``near`` (cores of ``x``'s neighbours) and the cores its predecessors
        reach, minus its own core. Returns (cores, deltas).
        """
        a = int(self.part[x])
        plist = preds.tolist()
        lens = [self.cores[u].size for u in plist]
        cores = np.concatenate([near, *(self.cores[u] for u in plist)])
        cand = np.unique(cores)
        cand = cand[cand != a]
        if cand.size == 0 or (preds.size == 0 and self.cores[x].size == 0):
            return cand, np.zeros(cand.size)
        k = cand.size
        slot = self.slot
        slot[cand] = np.arange(k)
        pc = cores[near.size:]
        m1 = np.concatenate([np.zeros(0), *(self.m1[u] for u in plist)])
        m2 = np.concatenate([np.zeros(0), *(self.m2[u] for u in plist)])
        pu = self.part[preds]
        rep_w, rep_pu = np.repeat(wts, lens), np.repeat(pu, lens)
        # leaving a: x's own spikes now go to a; predecessors whose max into a was x drop
        at_a = (pc == a) & (rep_pu != a) & (rep_w >= m1)
        base = self.get(x, a) + float((m2[at_a] - m1[at_a]).sum())
        # joining b: x's spikes to b stay home; predecessors not on b now reach b
        own = np.zeros(k)
        s = slot[self.cores[x]]
        own[s[s >= 0]] = self.m1[x][s >= 0]
        s = slot[pu]
        in_b = np.bincount(s[s >= 0], weights=wts[s >= 0], minlength=k)
        s = slot[pc]
        sel = (s >= 0) & (rep_pu != pc)
        covered = np.bincount(s[sel], weights=np.minimum(rep_w[sel], m1[sel]), minlength=k)
        slot[cand] = -1
        return cand, base - own + (float(wts.sum()) - in_b - covered)


def refine(cores: Cores, passes: int, rng: np.random.Generator,
           progress: Callable[[int, int], None] | None = None) -> int:
    """Greedy moves and swaps that lower the multicast cost while every core keeps fitting.

    Each pass visits the units in a random order (from ``rng``); a unit moves to the core where
    the cost falls most among those that can take it (of the ``TRIES`` best). The candidates
    are the cores of its neighbours and the cores its predecessors send to. When the best core
    is full, the unit swaps with one of that core's units instead, if the pair lowers the cost
    (see :func:`_swap`). Passes stop early when nothing moves.

    Args:
        cores: The assignment, changed in place; every core must fit already.
        passes: Most passes over the units.
        rng: The random generator of the calling partitioner.
        progress: Called ``(pass, passes)`` after each pass.

    Returns:
        The number of moves and swaps made.
    """
    graph = cores.graph
    n = graph.n_units
    if n == 0 or passes <= 0:
        return 0
    top = _Top2(graph, cores.part)
    wc = graph.out_edges.tocsc()
    eps = 1e-9 * max(float(wc.data.max(initial=0.0)), 1e-300)
    moves = 0
    for p in range(passes):
        moved = 0
        for x in rng.permutation(n).tolist():
            cand, delta = top.deltas(x, *_around(cores, wc, x))
            good = [i for i in np.argsort(delta, kind="stable")[:TRIES].tolist()
                    if delta[i] < -eps]
            dest = next((i for i in good if cores.can_move(x, int(cand[i]))), -1)
            if dest >= 0:
                _move(cores, top, wc, x, int(cand[dest]))
                moved += 1
            elif good and _swap(cores, top, wc, x, int(cand[good[0]]), eps):
                moved += 1
        moves += moved
        if progress is not None:
            progress(p + 1, passes)
        if not moved:
            break
    return moves


def _around(cores: Cores, wc: sp.csc_matrix, x: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predecessors, their weights into ``x``, cores of ``x``'s neighbours)."""
    lo, hi = wc.indptr[x], wc.indptr[x + 1]
    adj = cores.adj
    return (wc.indices[lo:hi], wc.data[lo:hi],
            cores.part[adj.indices[adj.indptr[x]:adj.indptr[x + 1]]])


def _move(cores: Cores, top: _Top2, wc: sp.csc_matrix, x: int, b: int) -> None:
    cores.move(x, b)
    for u in wc.indices[wc.indptr[x]:wc.indptr[x + 1]].tolist():
        top.update(u)


def _swap(cores: Cores, top: _Top2, wc: sp.csc_matrix, x: int, b: int, eps: float) -> bool:
    """Exchange ``x`` with a unit ``y`` of the full core ``b`` if the pair lowers the cost.

    The partners tried (``TRIES`` of them) are the units of ``b`` most attached to ``x``'s core
    ``a`` relative to ``b`` (adjacency weight); each pair is priced exactly
    (:func:`pair_delta`), and both cores must fit after the exchange.
    """
    a = int(cores.part[x])
    ys = np.fromiter(sorted(cores.members[b]), dtype=np.int64)
    owner, cols, val = rows_of(cores.adj, ys)
    dst = cores.part[cols]
    score = np.bincount(owner, weights=val * ((dst == a) - 1.0 * (dst == b)), minlength=ys.size)
    for y in ys[np.lexsort((ys, -score))][:TRIES].tolist():
        if pair_delta(top.w, wc, cores.part, x, y) >= -eps:
            continue
        cores.move(x, b)
        cores.move(y, a)
        if cores.within(a) and cores.within(b):
            for u in np.union1d(wc.indices[wc.indptr[x]:wc.indptr[x + 1]],
                                wc.indices[wc.indptr[y]:wc.indptr[y + 1]]).tolist():
                top.update(u)
            return True
        cores.move(y, b)
        cores.move(x, a)
    return False


def pair_delta(w: sp.csr_matrix, wc: sp.csc_matrix, part: np.ndarray, x: int, y: int) -> float:
    """Exact change of the multicast cost if ``x`` and ``y`` (on cores ``a``, ``b``) swap.

    Only the terms of ``x``, ``y`` and their predecessors toward cores ``a`` and ``b`` change,
    so they are recomputed before and after from those units' rows.
    """
    a, b = int(part[x]), int(part[y])
    units = np.unique(np.concatenate([[x, y], wc.indices[wc.indptr[x]:wc.indptr[x + 1]],
                                      wc.indices[wc.indptr[y]:wc.indptr[y + 1]]]))
    owner, cols, val = rows_of(w, units)
    total = 0.0
    for sign, (pa, pb) in ((-1.0, (a, b)), (1.0, (b, a))):   # before, after
        dst = part[cols]
        dst[cols == x], dst[cols == y] = pa, pb
        home = part[units]
        home[units == x], home[units == y] = pa, pb
        for c in (a, b):
            top = np.zeros(units.size)
            sel = dst == c
            np.maximum.at(top, owner[sel], val[sel])
            total += sign * float(top[home != c].sum())
    return total


def polish(cores: Cores, rng: np.random.Generator, *, refine_passes: int, merge_cores: bool,
           progress: Callable[[int, int], None] | None = None) -> int:
    """Repair, merge and refine an assignment in place (the tail of ``kl`` and ``metis``).

    Returns:
        The number of cores that needed repair.
    """
    bad = repair(cores, lambda us: split_grown(cores.graph, us, cores.fill, cores.adj))
    if merge_cores:
        merge(cores)
    if refine_passes > 0:
        refine(cores, refine_passes, rng, progress)
        if merge_cores:
            merge(cores)
    return bad

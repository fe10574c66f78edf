"""Greedy constructive placement: grow the heaviest-communicating clusters outwards from the centre.

The first cluster is the one with the most traffic (in + out); it goes on the candidate slot
nearest the centre of the region. Each next cluster is the unplaced one with the most traffic to
the placed ones (ties: more total traffic, then lower index), and it goes on the free slot that
adds the least energy with its placed neighbours (ties: nearer the centre, then lower slot).
Congestion is not looked at (it would need a full evaluation per slot); ``pso`` and ``sa`` start
from this placement and account for it.

References:
    Balaji et al., SpiNeMap (IEEE TVLSI 2020) — SpiNeCluster grows clusters around the most active
    neurons the same way; here the growth is over tiles. Cluster-growth placement is the classic
    constructive heuristic for quadratic assignment (Hanan & Kurtzberg, SIAM Review 1972).
"""

from __future__ import annotations

import numpy as np

from snncc.mapping.place._cost import Problem

__all__ = ["connection_order", "place_greedy"]


def connection_order(problem: Problem) -> np.ndarray:
    """Clusters in greedy growth order: the strongest first, then most traffic to those before."""
    k = problem.k
    conn = np.zeros(k)
    done = np.zeros(k, dtype=bool)
    order = np.empty(k, dtype=np.int64)
    strength = problem.strength
    for i in range(k):
        cand = np.flatnonzero(~done)
        best = cand[conn[cand] == conn[cand].max()]
        best = best[strength[best] == strength[best].max()]
        u = int(best[0])
        order[i] = u
        done[u] = True
        lo, hi = problem.ptr[u], problem.ptr[u + 1]
        conn[problem.nbr[lo:hi]] += problem.wsym[lo:hi]
    return order


def place_greedy(problem: Problem, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Place the clusters in :func:`connection_order`, each on its cheapest free slot.

    Args:
        problem: The placement instance.
        rng: Unused (the placement is deterministic).

    Returns:
        ``(assign, evaluations)``: candidate-slot index per cluster, and the number of
        (cluster, slot) energy evaluations.

    Example:
        >>> import numpy as np
        >>> from snncc.hw import load_hw
        >>> from snncc.mapping.place import place
        >>> traffic = np.diag(np.full(7, 100.0), 1)  # a chain of 8 clusters
        >>> place(traffic, load_hw("truenorth"), "greedy").spike_hops
        700.0
    """
    k, m = problem.k, problem.m
    topo, cand = problem.topo, problem.candidates
    cx, cy = problem.sx.mean(), problem.sy.mean()
    centre = np.abs(problem.sx - cx) + np.abs(problem.sy - cy)
    slot_index = np.arange(m)
    assign = np.full(k, -1, dtype=np.int64)
    free = np.ones(m, dtype=bool)
    evals = 0
    for u in connection_order(problem):
        lo, hi = problem.ptr[u], problem.ptr[u + 1]
        nbr, w = problem.nbr[lo:hi], problem.wsym[lo:hi]
        placed = assign[nbr] >= 0
        fs = np.flatnonzero(free)
        if placed.any():
            there = cand[assign[nbr[placed]]]
            added = (topo.hop_energy(cand[fs][:, None], there[None, :]) * w[placed]).sum(axis=1)
            evals += fs.size * int(placed.sum())
        else:
            added = np.zeros(fs.size)
        s = fs[np.lexsort((slot_index[fs], centre[fs], added))[0]]
        assign[u] = s
        free[s] = False
    return assign, evals

"""Exact placement of small instances by depth-first branch and bound.

Clusters are assigned one at a time in greedy growth order (the strongest-communicating first),
each to a *tile* of the region that still has a free candidate slot. Cores of one tile are
interchangeable (a packet's cost depends only on the tiles), so trying tiles instead of slots is
exact and divides the search by up to ``cores_per_tile!`` per tile; when the region is
mirror-symmetric in x and/or y, the first cluster is kept to one half/quadrant. A partial
assignment's bound is

    w_energy * (E_partial + e_min * W_rest) + w_congestion_norm * L_partial

where ``E_partial`` and ``L_partial`` are the energy and the maximum link load of the edges
between assigned clusters (both only grow as clusters are added), ``W_rest`` the traffic on the
other edges and ``e_min`` the cheapest packet between two distinct slots. Link loads are kept
incrementally along the XY paths and undone on backtracking. The incumbent is the better of the
greedy placement after local refinement and the ``sa`` placement; a branch is cut when its bound
is not below it. The search gives up (MappingError) after ``exact_max_nodes`` nodes.

References:
    Land & Doig, "An automatic method of solving discrete programming problems", Econometrica
    1960 (branch and bound); Gilmore, "Optimal and suboptimal algorithms for the quadratic
    assignment problem", J. SIAM 1962 (the bound for placement-type problems).
"""

from __future__ import annotations

import numba
import numpy as np

from snncc.errors import MappingError
from snncc.mapping.place._cost import Problem, pair_energy
from snncc.mapping.place._refine import refine
from snncc.mapping.place.greedy import connection_order, place_greedy
from snncc.mapping.place.sa import place_sa

__all__ = ["place_exact"]


@numba.njit(cache=True)
def _walk(xa: int, ya: int, xb: int, yb: int, t: float, loads: np.ndarray,
          rw: int) -> float:  # pragma: no cover - numba
    """Add ``t`` to the links of the XY path a -> b; return the largest load touched."""
    peak = 0.0
    x, y = xa, ya
    while x != xb:
        i = (y * rw + x) * 4 + (0 if xb > x else 1)
        loads[i] += t
        peak = max(peak, loads[i])
        x += 1 if xb > x else -1
    while y != yb:
        i = (y * rw + x) * 4 + (2 if yb > y else 3)
        loads[i] += t
        peak = max(peak, loads[i])
        y += 1 if yb > y else -1
    return peak


@numba.njit(cache=True)
def _search(bptr: np.ndarray, bdep: np.ndarray, bout: np.ndarray, bin_: np.ndarray,
            bsym: np.ndarray, rest: np.ndarray, tx: np.ndarray, ty: np.ndarray,
            cap: np.ndarray, first_ok: np.ndarray, ep: np.ndarray, mx: int, my: int, w_e: float,
            wcn: float, e_min: float, best_cost: float,
            max_nodes: int):  # pragma: no cover - numba
    k, n_tiles = bptr.shape[0] - 1, tx.shape[0]
    rw = tx.max() + 1
    loads = np.zeros((ty.max() + 1) * rw * 4)
    tile_at = np.full(k, -1, dtype=np.int64)
    best = np.full(k, -1, dtype=np.int64)
    nxt = np.zeros(k, dtype=np.int64)
    e_at = np.zeros(k + 1)
    p_at = np.zeros(k + 1)
    left = cap.copy()
    nodes = 0
    d = 0
    while d >= 0:
        if nxt[d] >= n_tiles:  # every tile tried at this depth: back up and undo depth d - 1
            d -= 1
            if d >= 0:
                t = tile_at[d]
                for j in range(bptr[d], bptr[d + 1]):
                    q = tile_at[bdep[j]]
                    _walk(tx[t], ty[t], tx[q], ty[q], -bout[j], loads, rw)
                    _walk(tx[q], ty[q], tx[t], ty[t], -bin_[j], loads, rw)
                left[t] += 1
            continue
        t = nxt[d]
        nxt[d] += 1
        if left[t] == 0 or (d == 0 and not first_ok[t]):
            continue
        nodes += 1
        if nodes > max_nodes:
            return best, best_cost, nodes
        energy = e_at[d]
        peak = p_at[d]
        for j in range(bptr[d], bptr[d + 1]):
            q = tile_at[bdep[j]]
            energy += bsym[j] * pair_energy(tx[t], ty[t], t, tx[q], ty[q], q, ep, mx, my)
            peak = max(peak, _walk(tx[t], ty[t], tx[q], ty[q], bout[j], loads, rw))
            peak = max(peak, _walk(tx[q], ty[q], tx[t], ty[t], bin_[j], loads, rw))
        bound = w_e * (energy + e_min * rest[d + 1]) + wcn * peak
        if bound < best_cost * (1.0 - 1e-12):
            if d == k - 1:
                best_cost = bound
                best[:d] = tile_at[:d]
                best[d] = t
            else:  # descend, keeping depth d's loads
                tile_at[d] = t
                left[t] -= 1
                e_at[d + 1] = energy
                p_at[d + 1] = peak
                d += 1
                nxt[d] = 0
                continue
        for j in range(bptr[d], bptr[d + 1]):  # cut or leaf: undo depth d's loads
            q = tile_at[bdep[j]]
            _walk(tx[t], ty[t], tx[q], ty[q], -bout[j], loads, rw)
            _walk(tx[q], ty[q], tx[t], ty[t], -bin_[j], loads, rw)
    return best, best_cost, nodes


def _cheapest_packet(tx: np.ndarray, ty: np.ndarray, cap: np.ndarray, problem: Problem) -> float:
    """The least energy of a packet between two distinct candidate slots (a lower bound)."""
    e_ew, e_ns, e_chip, e_intra = problem.ep
    costs = [e_intra] if cap.max() > 1 else []
    have = set(zip(tx.tolist(), ty.tolist(), strict=True))
    for x, y in have:
        if (x + 1, y) in have:
            costs.append(e_chip if (x + 1) % problem.mx == 0 else e_ew)
        if (x, y + 1) in have:
            costs.append(e_ns if (y + 1) % problem.my else e_chip)
    return float(min(costs, default=0.0))


def _first_tiles(tx: np.ndarray, ty: np.ndarray, cap: np.ndarray, problem: Problem) -> np.ndarray:
    """Tiles the first cluster may take: one quadrant when the region is mirror-symmetric.

    Mirroring x (or y) maps XY paths to XY paths, so it keeps every cost if the region is a full
    rectangle of equally sized tiles whose chip boundaries are mirror-symmetric.
    """
    ok = np.ones(tx.size, dtype=bool)
    x0, x1, y0, y1 = tx.min(), tx.max(), ty.min(), ty.max()
    if tx.size != (x1 - x0 + 1) * (y1 - y0 + 1) or (cap != cap[0]).any():
        return ok
    for c, lo, hi, size in ((tx, x0, x1, problem.mx), (ty, y0, y1, problem.my)):
        v = np.arange(lo, hi + 1)
        chips = np.abs(v[:, None] // size - v[None, :] // size)
        w = lo + hi - v
        if (chips == np.abs(w[:, None] // size - w[None, :] // size)).all():
            ok &= 2 * c <= lo + hi
    return ok


def place_exact(problem: Problem, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The placement of least cost over the candidate slots (see the module docstring).

    Args:
        problem: The placement instance, at most ``options.exact_max_clusters`` clusters.
        rng: Passed to the greedy start (deterministic).

    Returns:
        ``(assign, nodes)``: candidate-slot index per cluster, and search-tree nodes visited.

    Raises:
        MappingError: If the search exceeds ``options.exact_max_nodes`` nodes.

    Example:
        >>> import numpy as np
        >>> from snncc.hw import load_hw
        >>> from snncc.mapping.place import place
        >>> traffic = np.random.default_rng(0).random((7, 7))
        >>> best = place(traffic, load_hw("truenorth"), "exact")
        >>> best.cost <= place(traffic, load_hw("truenorth"), "sa").cost
        True
    """
    k, opts = problem.k, problem.options
    if k < 2:
        return place_greedy(problem, rng)[0], 0
    incumbent = min((refine(problem, place_greedy(problem, rng)[0])[0],
                     place_sa(problem, rng)[0]), key=lambda a: problem.measure(a)[3])
    order = connection_order(problem)
    depth = np.empty(k, dtype=np.int64)
    depth[order] = np.arange(k)
    tiles, slot_tile = np.unique(problem.st, return_inverse=True)
    first = np.unique(slot_tile, return_index=True)[1]
    tx, ty = problem.sx[first], problem.sy[first]
    cap = np.bincount(slot_tile, minlength=tiles.size).astype(np.int64)
    traffic = np.zeros((k, k))
    traffic[problem.eu, problem.ev] = problem.ew
    t_ord = traffic[np.ix_(order, order)]
    later, earlier = np.tril_indices(k, -1)  # pairs (d, j) with j < d, grouped by d
    bptr = np.searchsorted(later, np.arange(k + 1)).astype(np.int64)
    bout, bin_ = t_ord[later, earlier], t_ord[earlier, later]
    inside = np.concatenate([[0.0], np.cumsum(np.bincount(later, bout + bin_, minlength=k))])
    rest = inside[-1] - inside
    e_min = _cheapest_packet(tx, ty, cap, problem)
    _, _, _, start = problem.measure(incumbent)
    best_tiles, _, nodes = _search(bptr, earlier.astype(np.int64), bout, bin_, bout + bin_, rest,
                                   tx, ty, cap, _first_tiles(tx, ty, cap, problem), problem.ep,
                                   problem.mx, problem.my, problem.w_e, problem.wcn, e_min, start,
                                   opts.exact_max_nodes)
    if nodes > opts.exact_max_nodes:
        raise MappingError(
            f"place: exact gave up after {opts.exact_max_nodes} search nodes ({k} clusters, "
            f"{problem.m} candidate slots); use region='compact', fewer clusters, or pso/sa")
    if best_tiles[0] < 0:  # nothing beat the incumbent
        return incumbent, int(nodes)
    assign = np.empty(k, dtype=np.int64)
    used = np.zeros(tiles.size, dtype=np.int64)
    for d in range(k):  # the tile's candidate slots in order
        t = best_tiles[d]
        assign[order[d]] = np.flatnonzero(slot_tile == t)[used[t]]
        used[t] += 1
    return assign, int(nodes)

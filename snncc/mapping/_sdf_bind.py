"""Binding clusters to fewer crossbars than clusters, with a static order per crossbar.

The two binders of :func:`snncc.mapping.sdf.bind`, on plain arrays:

- :func:`balance` (the baseline): longest-processing-time-first list scheduling of the clusters'
  worst-case segment times onto the crossbars (Graham 1969), clusters of a crossbar in index
  order. It only balances load.
- :func:`improve` (ours): from a binding, best-improvement local search on the guaranteed period
  of the peak timestep: relocate or swap the clusters of the critical crossbar with those of the
  least-loaded ones; every crossbar's clusters ordered by Jackson's rule (decreasing NI +
  delivery tail, which minimises ``max(C_j + q_j)`` on one machine; Jackson 1955), so that
  clusters whose spikes travel longest go first and their delivery overlaps the later segments.
- :func:`local` (ours, a second start): keep the placer's geometry — crossbars spread over the
  placed clusters, each cluster on a near one — so that traffic stays spread over the mesh.

Both keep every tile's buffer within its capacity (per-cluster peaks summed: never below the
true per-timestep peak).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from snncc.errors import MappingError
from snncc.mapping.topology import Topology

__all__ = ["balance", "improve", "jackson", "local", "slots"]


def slots(topo: Topology, n: int) -> np.ndarray:
    """The ``n`` core slots of the most compact region: tiles nearest the grid centre.

    Tiles are taken by Manhattan distance to the centre (ties row-major), which keeps the XY
    diameter of the region small; all cores of a tile are taken together.
    """
    if n > topo.n_cores:
        raise MappingError(f"{topo.name}: {n} crossbars requested, the chip has {topo.n_cores}")
    gx, gy = topo.grid
    tile = np.arange(topo.n_tiles)
    x, y = tile % gx, tile // gx
    dist = np.abs(2 * x - (gx - 1)) + np.abs(2 * y - (gy - 1))
    tiles = tile[np.lexsort((tile, dist))]
    cpt = topo.cores_per_tile
    cores = (tiles[:, None] * cpt + np.arange(cpt)[None, :]).ravel()
    return cores[:n].astype(np.int64)


def _fits(core: np.ndarray, need: np.ndarray, cap: float, cpt: int) -> bool:
    use = np.bincount(core // cpt, weights=need)
    return bool((use <= cap + 1e-9).all())


def balance(run: np.ndarray, need: np.ndarray, cap: float, where: np.ndarray,
            cpt: int) -> np.ndarray:
    """LPT: each cluster, heaviest first, onto the least-loaded crossbar with buffer room.

    Args:
        run: Worst-case segment cycles per cluster.
        need: Peak spikes each cluster's tile must buffer for it.
        cap: Buffer capacity of a tile (spikes).
        where: The crossbars (core slots) to use.
        cpt: Cores per tile.

    Returns:
        The core slot of every cluster.

    Raises:
        MappingError: A cluster fits no crossbar's tile buffer.
    """
    k, n = run.size, where.size
    load = np.zeros(n)
    tile_use: dict[int, float] = {}
    core = np.empty(k, np.int64)
    for c in np.lexsort((np.arange(k), -run)):
        ok = [i for i in range(n) if tile_use.get(int(where[i] // cpt), 0.0) + need[c]
              <= cap + 1e-9]
        if not ok:
            raise MappingError(
                f"cannot bind {k} clusters to {n} crossbars: cluster {c} needs {need[c]:.0f} "
                f"buffered spikes, no tile has room (capacity {cap:.0f} spikes per tile) — use "
                f"more crossbars or a larger BindOptions.buffer_spikes")
        i = min(ok, key=lambda i: (load[i], i))
        core[c] = where[i]
        load[i] += run[c]
        t = int(where[i] // cpt)
        tile_use[t] = tile_use.get(t, 0.0) + need[c]
    return core


def local(run: np.ndarray, need: np.ndarray, cap: float, placed: np.ndarray, n: int,
          topo: Topology, near: int = 3) -> np.ndarray | None:
    """Keep the placement's geometry: ``n`` of its slots, each cluster on a near one.

    The slots are spread evenly over the placed clusters in row-major order; each cluster,
    heaviest first, goes to the least-loaded of the ``near`` chosen slots closest (XY hops) to
    its placed slot that has buffer room. None when a cluster fits none of them.
    """
    k = run.size
    cpt = topo.cores_per_tile
    by_pos = np.argsort(placed, kind="stable")
    where = placed[by_pos[(np.arange(n) * k) // n]]
    load = np.zeros(n)
    tile_use: dict[int, float] = {}
    core = np.empty(k, np.int64)
    for c in np.lexsort((np.arange(k), -run)):
        hops = topo.hops(placed[c], where)
        ok = [i for i in np.lexsort((np.arange(n), hops))
              if tile_use.get(int(where[i] // cpt), 0.0) + need[c] <= cap + 1e-9][:near]
        if not ok:
            return None
        i = min(ok, key=lambda i: (load[i], int(hops[i]), i))
        core[c] = where[i]
        load[i] += run[c]
        t = int(where[i] // cpt)
        tile_use[t] = tile_use.get(t, 0.0) + need[c]
    return core


def jackson(core: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rank within its core of every cluster: decreasing ``key``, ties by index."""
    seq = np.lexsort((np.arange(core.size), -key, core))
    rank = np.empty(core.size, np.int64)
    cs = core[seq]
    start = np.r_[0, np.flatnonzero(cs[1:] != cs[:-1]) + 1]
    pos = np.arange(core.size) - np.repeat(start, np.diff(np.r_[start, core.size]))
    rank[seq] = pos
    return rank


def improve(core: np.ndarray, objective: Callable[[np.ndarray], tuple[float, np.ndarray, int]],
            refresh: Callable[[np.ndarray], None], run: np.ndarray, need: np.ndarray, cap: float,
            cpt: int, rounds: int = 200,
            candidates: int = 8) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Best-improvement local search on ``objective`` from ``core`` (module docstring).

    Args:
        core: Starting core slot per cluster.
        objective: ``core -> (period, order, critical cluster)`` of a binding.
        refresh: Called with each accepted binding (the objective may hold terms of it).
        run: Worst-case segment cycles per cluster (to rank crossbars by load).
        need: Peak spikes each cluster's tile buffers for it.
        cap: Buffer capacity of a tile (spikes).
        cpt: Cores per tile.
        rounds: Most improving moves.
        candidates: Least-loaded crossbars tried per round.

    Returns:
        ``(core, order, period, moves)``.
    """
    cur, order, who = objective(core)
    moves = 0
    for _ in range(rounds):
        if who < 0:
            break
        x = core[who]
        used = np.unique(core)
        load = np.bincount(np.searchsorted(used, core), weights=run, minlength=used.size)
        light = [int(used[i]) for i in np.lexsort((used, load)) if used[i] != x][:candidates]
        best, best_core = cur, None
        for u in np.flatnonzero(core == x):
            for y in light:
                for v in [None, *np.flatnonzero(core == y)]:  # move u to y, or swap it with v
                    c = core.copy()
                    c[u] = y
                    if v is not None:
                        c[v] = x
                    if not _fits(c, need, cap, cpt):
                        continue
                    p, _, _ = objective(c)
                    if p < best - 0.5:
                        best, best_core = p, c
        if best_core is None:
            break
        core = best_core
        refresh(core)
        cur, order, who = objective(core)
        moves += 1
    return core, order, cur, moves

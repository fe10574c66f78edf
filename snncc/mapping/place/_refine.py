"""Local swap/move refinement on the full cost, the last step of ``pso`` and ``sa``.

First-improvement descent: every cluster ``u`` is tried on every candidate slot ``s`` inside the
bounding box of its neighbours' tiles and its own, grown by one tile — or, when that box holds
more than ``(2 * refine_radius + 1)^2`` tiles, inside the square of that many tiles around the
traffic-weighted centroid of its neighbours (where a force-directed placer would put it), so a
pass costs O(k × radius² × degree) on large instances. ``u`` moves there, swapping with the
occupant if any, and the move is kept if the full cost (energy + congestion) falls. Stops after
a pass without an improving move or after ``passes`` passes.

A move is cheap to judge. Its energy change takes O(degree) (:func:`move_delta`). Link loads
are kept in a max segment tree over the region's directed links, so the move's effect on the
busiest link is an update of the XY paths of the moved clusters' edges: O(degree × hops × log
links), never a full re-evaluation. And most moves are dismissed before that: a move can only
pay if its energy increase is below the present congestion term, and a move that does not lower
the energy can only pay by relieving the busiest link, so it is evaluated only if one of the
moved clusters' paths uses that link.
"""

from __future__ import annotations

import numba
import numpy as np

from snncc.mapping.place._cost import Problem, apply_move, move_delta, pair_energy

__all__ = ["refine"]


@numba.njit(cache=True)
def _set(tree: np.ndarray, size: int, i: int, value: float) -> None:  # pragma: no cover
    j = size + i
    tree[j] = value
    j >>= 1
    while j >= 1:
        tree[j] = max(tree[2 * j], tree[2 * j + 1])
        j >>= 1


@numba.njit(cache=True)
def _path(a: int, b: int, t: float, sx: np.ndarray, sy: np.ndarray, x0: int, y0: int, rw: int,
          tree: np.ndarray, size: int) -> None:  # pragma: no cover - numba
    """Add ``t`` to the loads of the XY path from slot ``a`` to slot ``b``."""
    x, y, xb, yb = sx[a] - x0, sy[a] - y0, sx[b] - x0, sy[b] - y0
    while x != xb:
        i = (y * rw + x) * 4 + (0 if xb > x else 1)
        _set(tree, size, i, tree[size + i] + t)
        x += 1 if xb > x else -1
    while y != yb:
        i = (y * rw + x) * 4 + (2 if yb > y else 3)
        _set(tree, size, i, tree[size + i] + t)
        y += 1 if yb > y else -1


@numba.njit(cache=True)
def _uses(a: int, b: int, link: int, sx: np.ndarray, sy: np.ndarray, x0: int, y0: int,
          rw: int) -> bool:  # pragma: no cover - numba
    """Whether the XY path from slot ``a`` to slot ``b`` uses directed link ``link``."""
    d, cell = link % 4, link // 4
    lx, ly = cell % rw, cell // rw
    xa, ya, xb, yb = sx[a] - x0, sy[a] - y0, sx[b] - x0, sy[b] - y0
    if d == 0:
        return ly == ya and xa <= lx < xb
    if d == 1:
        return ly == ya and xb < lx <= xa
    if d == 2:
        return lx == xb and ya <= ly < yb
    return lx == xb and yb < ly <= ya


@numba.njit(cache=True)
def _edges(c: int, sign: float, skip: int, link: int, assign: np.ndarray, ptr: np.ndarray,
           nbr: np.ndarray, wout: np.ndarray, win: np.ndarray, sx: np.ndarray, sy: np.ndarray,
           x0: int, y0: int, rw: int, tree: np.ndarray,
           size: int) -> bool:  # pragma: no cover - numba
    """Add ``sign`` x the paths of cluster ``c``'s edges (but to ``skip``) to the loads.

    With ``link >= 0``, change nothing and report whether one of those paths uses ``link``.
    """
    for j in range(ptr[c], ptr[c + 1]):
        n = nbr[j]
        if n == skip:
            continue
        a, b = assign[c], assign[n]
        if link >= 0:
            if (wout[j] > 0 and _uses(a, b, link, sx, sy, x0, y0, rw)) or \
                    (win[j] > 0 and _uses(b, a, link, sx, sy, x0, y0, rw)):
                return True
            continue
        if wout[j] > 0:
            _path(a, b, sign * wout[j], sx, sy, x0, y0, rw, tree, size)
        if win[j] > 0:
            _path(b, a, sign * win[j], sx, sy, x0, y0, rw, tree, size)
    return False


@numba.njit(cache=True)
def _descend(assign: np.ndarray, occ: np.ndarray, ptr: np.ndarray, nbr: np.ndarray,
             wsym: np.ndarray, wout: np.ndarray, win: np.ndarray, sx: np.ndarray,
             sy: np.ndarray, st: np.ndarray, ep: np.ndarray, mx: int, my: int, x0: int, y0: int,
             rw: int, rh: int, cpt: int, w_e: float, wcn: float, passes: int,
             radius: int) -> int:  # pragma: no cover - numba
    k = assign.shape[0]
    size = 1
    while size < rw * rh * 4:
        size *= 2
    tree = np.zeros(2 * size)
    energy = 0.0
    for u in range(k):
        a = assign[u]
        for j in range(ptr[u], ptr[u + 1]):
            b = assign[nbr[j]]
            energy += 0.5 * wsym[j] * pair_energy(sx[a], sy[a], st[a], sx[b], sy[b], st[b], ep,
                                                  mx, my)
        if wcn > 0:  # each directed edge once, from its source
            for j in range(ptr[u], ptr[u + 1]):
                if wout[j] > 0:
                    _path(a, assign[nbr[j]], wout[j], sx, sy, x0, y0, rw, tree, size)
    peak = tree[1]
    cost = w_e * energy + wcn * peak
    evals = 0
    for _ in range(passes):
        improved = False
        for u in range(k):
            bx0, bx1, by0, by1 = sx[assign[u]], sx[assign[u]], sy[assign[u]], sy[assign[u]]
            cx = cy = wt = 0.0
            for j in range(ptr[u], ptr[u + 1]):
                b = assign[nbr[j]]
                bx0, bx1 = min(bx0, sx[b]), max(bx1, sx[b])
                by0, by1 = min(by0, sy[b]), max(by1, sy[b])
                cx, cy, wt = cx + wsym[j] * sx[b], cy + wsym[j] * sy[b], wt + wsym[j]
            if (bx1 - bx0 + 3) * (by1 - by0 + 3) > (2 * radius + 1) ** 2 and wt > 0:
                mid_x, mid_y = round(cx / wt), round(cy / wt)  # the neighbours' centroid
                bx0, bx1 = mid_x - radius + 1, mid_x + radius - 1
                by0, by1 = mid_y - radius + 1, mid_y + radius - 1
            for ty in range(max(by0 - 1, y0), min(by1 + 1, y0 + rh - 1) + 1):
                for tx in range(max(bx0 - 1, x0), min(bx1 + 1, x0 + rw - 1) + 1):
                    for c in range(cpt):
                        s = ((ty - y0) * rw + tx - x0) * cpt + c
                        a, v = assign[u], occ[s]
                        if st[s] == st[a]:
                            continue
                        d = w_e * move_delta(u, s, assign, occ, ptr, nbr, wsym, sx, sy, st, ep,
                                             mx, my)
                        tol = 1e-12 * abs(cost) + 1e-300
                        if d >= wcn * peak - tol:
                            continue  # cannot pay even if the busiest link emptied
                        if wcn == 0:
                            apply_move(u, s, assign, occ)
                            cost += d
                            improved = True
                            continue
                        if d >= -tol:  # pays only by relieving the busiest link: must use it
                            j = 1
                            while j < size:
                                j = 2 * j if tree[2 * j] >= tree[2 * j + 1] else 2 * j + 1
                            link = j - size
                            if not (_edges(u, 0.0, -1, link, assign, ptr, nbr, wout, win, sx, sy,
                                           x0, y0, rw, tree, size) or
                                    (v >= 0 and _edges(v, 0.0, u, link, assign, ptr, nbr, wout,
                                                       win, sx, sy, x0, y0, rw, tree, size))):
                                continue
                        evals += 1
                        for sign in (-1.0, 1.0):  # move the paths of u's and v's edges
                            _edges(u, sign, -1, -1, assign, ptr, nbr, wout, win, sx, sy, x0, y0,
                                   rw, tree, size)
                            if v >= 0:
                                _edges(v, sign, u, -1, assign, ptr, nbr, wout, win, sx, sy, x0,
                                       y0, rw, tree, size)
                            if sign < 0:
                                apply_move(u, s, assign, occ)
                        c2 = cost + d + wcn * (tree[1] - peak)
                        if c2 < cost - tol:
                            cost, peak, improved = c2, tree[1], True
                            continue
                        for sign in (-1.0, 1.0):  # undo
                            _edges(u, sign, -1, -1, assign, ptr, nbr, wout, win, sx, sy, x0, y0,
                                   rw, tree, size)
                            if v >= 0:
                                _edges(v, sign, u, -1, assign, ptr, nbr, wout, win, sx, sy, x0,
                                       y0, rw, tree, size)
                            if sign < 0:
                                apply_move(u, a, assign, occ)
        if not improved:
            break
    return evals


def refine(problem: Problem, assign: np.ndarray, passes: int | None = None,
           energy_only: bool = False) -> tuple[np.ndarray, int]:
    """Improve ``assign`` by first-improvement swaps/moves; returns (assign, evaluations).

    Args:
        problem: The placement instance.
        assign: The start (not modified).
        passes: Maximum passes; default ``problem.options.refine_passes``.
        energy_only: Descend on the energy term alone (O(degree) per move, no link loads).

    Returns:
        The refined placement and the number of moves whose link loads were evaluated.
    """
    assign = np.array(assign, dtype=np.int64)
    passes = problem.options.refine_passes if passes is None else passes
    if problem.k < 2 or passes == 0:
        return assign, 0
    p = problem
    w_e, wcn = (1.0, 0.0) if energy_only else (p.w_e, p.wcn)
    evals = _descend(assign, p.occupancy(assign), p.ptr, p.nbr, p.wsym, p.wout, p.win,
                     *p.geometry(), p.x0, p.y0, p.rw, p.rh, p.topo.cores_per_tile, w_e, wcn, passes,
                     p.options.refine_radius)
    return assign, int(evals)

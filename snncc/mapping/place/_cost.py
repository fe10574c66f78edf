"""The placement objective: a problem instance and its numba cost kernels.

A placement is an ``assign`` array: ``assign[i]`` is the index, into the candidate slots, of
cluster ``i``'s core. Costs are computed from slot coordinates (never an n x n distance matrix):
per directed edge ``(u, v, w)`` of the traffic matrix, energy ``w * pair_energy`` and hops
``w * hops``; link loads by difference arrays over the bounding box of the used tiles, so a full
evaluation is O(edges + box area).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.sparse as sp

from snncc.mapping.place._options import PlaceOptions
from snncc.mapping.topology import Topology

__all__ = ["Problem", "candidate_slots"]


def candidate_slots(topo: Topology, k: int, region: str, slack: float) -> np.ndarray:
    """The candidate core slots, in row-major order of the region's tiles (see PlaceOptions)."""
    if region == "chip":
        return np.arange(topo.n_cores, dtype=np.int64)
    gx, gy = topo.grid
    cpt = topo.cores_per_tile
    need = min(max(1, math.ceil(k * (1 + slack) / cpt), math.ceil(k / cpt)), gx * gy)
    w = min(gx, math.ceil(math.sqrt(need)))
    h = math.ceil(need / w)
    if h > gy:
        h = gy
        w = min(gx, math.ceil(need / h))
    tiles = (np.arange(h)[:, None] * gx + np.arange(w)[None, :]).ravel()
    return (tiles[:, None] * cpt + np.arange(cpt)[None, :]).ravel().astype(np.int64)


@numba.njit(cache=True)
def pair_energy(xa: int, ya: int, ta: int, xb: int, yb: int, tb: int, ep: np.ndarray,
                mx: int, my: int) -> float:  # pragma: no cover - numba
    """Energy of one packet between tiles ``a`` and ``b`` (``ep``: ew, ns, chip, intra)."""
    if ta == tb:
        return ep[3]
    cx = abs(xa // mx - xb // mx)
    cy = abs(ya // my - yb // my)
    return (abs(xa - xb) - cx) * ep[0] + (abs(ya - yb) - cy) * ep[1] + (cx + cy) * ep[2]


@numba.njit(cache=True)
def evaluate(assign: np.ndarray, eu: np.ndarray, ev: np.ndarray, ew: np.ndarray,
             sx: np.ndarray, sy: np.ndarray, st: np.ndarray, ep: np.ndarray, mx: int,
             my: int) -> tuple[float, float, float]:  # pragma: no cover - numba
    """(energy_J, spike_hops, max_link_load) of one placement."""
    x0, y0, x1, y1 = 1 << 40, 1 << 40, -1, -1
    for i in range(assign.shape[0]):
        s = assign[i]
        x0, x1 = min(x0, sx[s]), max(x1, sx[s])
        y0, y1 = min(y0, sy[s]), max(y1, sy[s])
    w, h = max(x1 - x0 + 1, 1), max(y1 - y0 + 1, 1)
    de = np.zeros((h, w + 1))
    dw = np.zeros((h, w + 1))
    dn = np.zeros((w, h + 1))
    ds = np.zeros((w, h + 1))
    energy = 0.0
    hops = 0.0
    for e in range(eu.shape[0]):
        a, b, t = assign[eu[e]], assign[ev[e]], ew[e]
        energy += t * pair_energy(sx[a], sy[a], st[a], sx[b], sy[b], st[b], ep, mx, my)
        if st[a] == st[b]:
            continue
        xa, ya, xb, yb = sx[a] - x0, sy[a] - y0, sx[b] - x0, sy[b] - y0
        hops += t * (abs(xa - xb) + abs(ya - yb))
        if xb > xa:  # E links x in [xa, xb) on row ya
            de[ya, xa] += t
            de[ya, xb] -= t
        elif xb < xa:  # W links x in (xb, xa]
            dw[ya, xb + 1] += t
            dw[ya, xa + 1] -= t
        if yb > ya:  # N links y in [ya, yb) on column xb
            dn[xb, ya] += t
            dn[xb, yb] -= t
        elif yb < ya:
            ds[xb, yb + 1] += t
            ds[xb, ya + 1] -= t
    peak = 0.0
    for d in (de, dw, dn, ds):
        for r in range(d.shape[0]):
            run = 0.0
            for c in range(d.shape[1]):
                run += d[r, c]
                peak = max(peak, run)
    return energy, hops, peak


@numba.njit(cache=True)
def evaluate_many(assigns: np.ndarray, eu: np.ndarray, ev: np.ndarray, ew: np.ndarray,
                  sx: np.ndarray, sy: np.ndarray, st: np.ndarray, ep: np.ndarray, mx: int,
                  my: int, w_e: float, wcn: float) -> np.ndarray:  # pragma: no cover - numba
    """Cost of each row of ``assigns`` (P, k)."""
    out = np.empty(assigns.shape[0])
    for p in range(assigns.shape[0]):
        energy, _, peak = evaluate(assigns[p], eu, ev, ew, sx, sy, st, ep, mx, my)
        out[p] = w_e * energy + wcn * peak
    return out


@numba.njit(cache=True)
def move_delta(u: int, s: int, assign: np.ndarray, occ: np.ndarray, ptr: np.ndarray,
               nbr: np.ndarray, wsym: np.ndarray, sx: np.ndarray, sy: np.ndarray,
               st: np.ndarray, ep: np.ndarray, mx: int, my: int) -> float:  # pragma: no cover
    """Energy change of moving cluster ``u`` to slot ``s`` (swapping with its occupant), O(deg)."""
    a = assign[u]
    v = occ[s]
    d = 0.0
    for j in range(ptr[u], ptr[u + 1]):
        n = nbr[j]
        if n == v:  # the u-v edge keeps its length under a swap
            continue
        b = assign[n]
        d += wsym[j] * (pair_energy(sx[s], sy[s], st[s], sx[b], sy[b], st[b], ep, mx, my)
                        - pair_energy(sx[a], sy[a], st[a], sx[b], sy[b], st[b], ep, mx, my))
    if v >= 0:
        for j in range(ptr[v], ptr[v + 1]):
            n = nbr[j]
            if n == u:
                continue
            b = assign[n]
            d += wsym[j] * (pair_energy(sx[a], sy[a], st[a], sx[b], sy[b], st[b], ep, mx, my)
                            - pair_energy(sx[s], sy[s], st[s], sx[b], sy[b], st[b], ep, mx, my))
    return d


@numba.njit(cache=True)
def apply_move(u: int, s: int, assign: np.ndarray, occ: np.ndarray) -> None:  # pragma: no cover
    """Move cluster ``u`` to slot ``s``, swapping with its occupant if any."""
    a = assign[u]
    v = occ[s]
    assign[u] = s
    occ[s] = u
    occ[a] = v
    if v >= 0:
        assign[v] = a


class Problem:
    """A placement instance: traffic edges, candidate-slot geometry and objective weights.

    Args:
        traffic: ``traffic[i, j]`` packets per inference from cluster i to cluster j (k, k),
            validated; the diagonal is ignored.
        topo: The chip's topology.
        options: Objective weights and region.
    """

    def __init__(self, traffic: np.ndarray, topo: Topology, options: PlaceOptions) -> None:
        k = traffic.shape[0]
        self.k, self.topo, self.options = k, topo, options
        self.candidates = candidate_slots(topo, k, options.region, options.slack)
        self.m = self.candidates.shape[0]
        c = self.candidates
        self.sx, self.sy, self.st = topo.core_x[c], topo.core_y[c], topo.core_tile[c]
        self.ep = np.ascontiguousarray(topo.energy, dtype=np.float64)
        self.mx, self.my = topo.mesh
        coo = sp.coo_matrix(traffic)
        keep = (coo.row != coo.col) & (coo.data != 0)
        self.eu, self.ev = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
        self.ew = coo.data[keep].astype(np.float64)
        off = sp.csr_matrix((self.ew, (self.eu, self.ev)), shape=(k, k))
        sym = (off + off.T).tocsr()
        sym.sort_indices()
        self.ptr = sym.indptr.astype(np.int64)
        self.nbr = sym.indices.astype(np.int64)
        self.wsym = sym.data.astype(np.float64)
        rows = np.repeat(np.arange(k), np.diff(self.ptr))
        self.wout = np.zeros(rows.size)  # u -> nbr, aligned with nbr
        self.win = np.zeros(rows.size)   # nbr -> u
        if rows.size:
            self.wout[:] = np.asarray(off[rows, self.nbr]).ravel()
            self.win[:] = np.asarray(off[self.nbr, rows]).ravel()
        self.strength = np.asarray(sym.sum(axis=1)).ravel()
        # the region is a rectangle of whole tiles, slots row-major (see candidate_slots)
        self.x0, self.y0 = int(self.sx.min()), int(self.sy.min())
        self.rw = int(self.sx.max()) - self.x0 + 1
        self.rh = int(self.sy.max()) - self.y0 + 1
        self.e_ref = float(self.ep[0] + self.ep[1]) / 2
        self.side = math.sqrt(math.ceil(k / topo.cores_per_tile)) if k else 1.0
        self.w_e = options.w_energy
        self.wcn = options.w_congestion * self.e_ref * self.side

    def measure(self, assign: np.ndarray) -> tuple[float, float, float, float]:
        """(energy_J, spike_hops, max_link_load, cost) of ``assign``."""
        energy, hops, peak = evaluate(np.ascontiguousarray(assign, dtype=np.int64), self.eu,
                                      self.ev, self.ew, self.sx, self.sy, self.st, self.ep,
                                      self.mx, self.my)
        return energy, hops, peak, self.w_e * energy + self.wcn * peak

    def costs(self, assigns: np.ndarray) -> np.ndarray:
        """Cost of each row of ``assigns`` (P, k)."""
        return evaluate_many(np.ascontiguousarray(assigns, dtype=np.int64), self.eu, self.ev,
                             self.ew, self.sx, self.sy, self.st, self.ep, self.mx, self.my,
                             self.w_e, self.wcn)

    def occupancy(self, assign: np.ndarray) -> np.ndarray:
        """``occ[s]`` = the cluster on candidate slot ``s``, or -1."""
        occ = np.full(self.m, -1, dtype=np.int64)
        occ[assign] = np.arange(self.k)
        return occ

    def geometry(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
        """The arguments shared by the numba kernels: sx, sy, st, ep, mx, my."""
        return self.sx, self.sy, self.st, self.ep, self.mx, self.my

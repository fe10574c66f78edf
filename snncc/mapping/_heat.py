"""Numba kernels of the thermal model and its hill climbs (see :mod:`snncc.mapping.thermal`).

Conventions: ``off`` is a ``(13, 3)`` array of ``(dx, dy, kappa^d)`` stencil offsets; ``dev`` is
``(ambient, R_self, R_cell, leakage_W, beta, T0)``; ``occ3[y, x, q]`` is the cluster on core ``q``
of tile ``(x, y)`` or -1; ``gx``/``gy`` are the tile coordinates of each cluster. Cluster moves
reuse the placers' move primitives (``move_delta``, ``apply_move``) on slots = every core.
"""

from __future__ import annotations

import numba
import numpy as np

from snncc.mapping.place._cost import apply_move, move_delta

__all__ = ["cell_climb", "climb", "reduced", "steady", "stencil", "tile_sum"]


@numba.njit(cache=True)
def stencil(p: np.ndarray, off: np.ndarray, scale: float, out: np.ndarray
            ) -> None:  # pragma: no cover - numba
    """``out[i, j] = scale sum_k w_k p[i + dy_k, j + dx_k]`` inside the array (``out`` != ``p``)."""
    m, n = p.shape
    out[:] = 0.0
    for k in range(off.shape[0]):
        dj, di, w = int(off[k, 0]), int(off[k, 1]), off[k, 2] * scale
        for i in range(max(0, -di), min(m, m - di)):
            for j in range(max(0, -dj), min(n, n - dj)):
                out[i, j] += w * p[i + di, j + dj]


@numba.njit(cache=True)
def _cells(pdyn: np.ndarray, tx: float, dev: np.ndarray, off: np.ndarray, tol: float,
           max_iter: int, dt: np.ndarray, src: np.ndarray, work: np.ndarray
           ) -> float:  # pragma: no cover - numba
    """Cell rises ``dt`` (warm start) of one crossbar at base ``tx``; ``sum leak exp(beta dt)``."""
    r_cell, leak, beta, t0 = dev[2], dev[3], dev[4], dev[5]
    m, n = pdyn.shape
    lam = 0.0
    for _ in range(max_iter):
        lam = 0.0
        for i in range(m):
            for j in range(n):
                e = leak * np.exp(beta * dt[i, j])
                lam += e
                src[i, j] = pdyn[i, j] + e * np.exp(beta * (tx - t0))
        if r_cell == 0.0:
            return lam
        stencil(src, off, r_cell, work)
        change = 0.0
        for i in range(m):
            for j in range(n):
                change = max(change, abs(work[i, j] - dt[i, j]))
                dt[i, j] = work[i, j]
        if change < tol:
            return lam
        if not change < 1e300:  # diverged (or NaN)
            return np.inf
    return lam


@numba.njit(cache=True)
def tile_sum(c: int, power: np.ndarray, gx: np.ndarray, gy: np.ndarray, occ3: np.ndarray,
             off: np.ndarray) -> float:  # pragma: no cover - numba
    """``sum kappa^d P`` over the crossbars within 2 tile steps of cluster ``c`` (itself too)."""
    h, w, cpt = occ3.shape
    s = 0.0
    for k in range(off.shape[0]):
        x, y = gx[c] + int(off[k, 0]), gy[c] + int(off[k, 1])
        if 0 <= x < w and 0 <= y < h:
            for q in range(cpt):
                o = occ3[y, x, q]
                if o >= 0:
                    s += off[k, 2] * power[o]
    return s


@numba.njit(cache=True)
def reduced(tx: np.ndarray, d: np.ndarray, lam: np.ndarray, gx: np.ndarray, gy: np.ndarray,
            occ3: np.ndarray, dev: np.ndarray, off: np.ndarray, tol: float, max_iter: int,
            max_rise: float, power: np.ndarray) -> bool:  # pragma: no cover - numba
    """Crossbar-level fixed point from the warm start ``tx``; False on a runaway.

    ``T = amb + R_self sum kappa^d (d + lam exp(beta (T - T0)))``; ``power`` is left at the
    solution's crossbar powers.
    """
    tamb, r_self, beta, t0 = dev[0], dev[1], dev[4], dev[5]
    k = tx.shape[0]
    for _ in range(max_iter):
        for c in range(k):
            power[c] = d[c] + lam[c] * np.exp(beta * (tx[c] - t0))
        change, worst = 0.0, 0.0
        for c in range(k):
            new = tamb + r_self * tile_sum(c, power, gx, gy, occ3, off)
            change = max(change, abs(new - tx[c]))
            worst = max(worst, new - tamb)
            tx[c] = new
        if not worst <= max_rise:
            return False
        if change < tol:
            for c in range(k):
                power[c] = d[c] + lam[c] * np.exp(beta * (tx[c] - t0))
            return True
    return False


@numba.njit(cache=True)
def steady(pdyn: np.ndarray, periph: np.ndarray, gx: np.ndarray, gy: np.ndarray,
           occ3: np.ndarray, dev: np.ndarray, off_x: np.ndarray, off_c: np.ndarray, tol: float,
           max_iter: int, max_rise: float, tx: np.ndarray, dt: np.ndarray, lam: np.ndarray
           ) -> int:  # pragma: no cover - numba
    """The full fixed point from ambient; the iterations it took, or -1 on a runaway.

    Alternately the cell rises of every crossbar at its base temperature, and the crossbar-level
    fixed point with those rises. Out: ``tx`` base temperatures, ``dt`` cell rises, ``lam``
    ``sum leak exp(beta dt)`` per crossbar.
    """
    k, m, n = pdyn.shape
    src, work = np.empty((m, n)), np.empty((m, n))
    d = np.empty(k)
    power = np.empty(k)
    prev = np.empty(k)
    tx[:] = dev[0]
    dt[:] = 0.0
    for c in range(k):
        d[c] = periph[c] + pdyn[c].sum()
    for it in range(max_iter):
        for c in range(k):
            lam[c] = _cells(pdyn[c], tx[c], dev, off_c, tol * 1e-2, max_iter, dt[c], src, work)
        prev[:] = tx
        if not reduced(tx, d, lam, gx, gy, occ3, dev, off_x, tol * 1e-2, max_iter, max_rise,
                       power):
            return -1
        change = 0.0
        for c in range(k):
            change = max(change, abs(tx[c] - prev[c]))
        if change < tol:
            return it + 1
    return -1


@numba.njit(cache=True)
def _score(tx: np.ndarray, omean: np.ndarray, power: np.ndarray, w_peak: float,
           energy: np.ndarray, noc: float) -> float:  # pragma: no cover - numba
    """Objective; ``energy`` = (Kelvin per %, reference joules, seconds per inference)."""
    s, top, total = 0.0, -np.inf, 0.0
    for c in range(tx.shape[0]):
        t = tx[c] + omean[c]
        s += t
        top = max(top, t)
        total += power[c]
    out = s / max(tx.shape[0], 1) + w_peak * top
    if energy[0] > 0:
        out += energy[0] * 100.0 * ((total * energy[2] + noc) / energy[1] - 1.0)
    return out


@numba.njit(cache=True)
def _put(occ3: np.ndarray, gx: np.ndarray, gy: np.ndarray, c: int, s: int, sx: np.ndarray,
         sy: np.ndarray, sk: np.ndarray) -> None:  # pragma: no cover - numba
    gx[c], gy[c] = sx[s], sy[s]
    occ3[sy[s], sx[s], sk[s]] = c


@numba.njit(cache=True)
def _shift(trial: np.ndarray, x: int, y: int, amount: float, gx: np.ndarray, gy: np.ndarray,
           occ3: np.ndarray, off: np.ndarray, r_self: float) -> None:  # pragma: no cover
    """Add the rise of ``amount`` watts at tile (x, y) to the crossbars around it."""
    h, w, cpt = occ3.shape
    for k in range(off.shape[0]):
        xx, yy = x + int(off[k, 0]), y + int(off[k, 1])
        if 0 <= xx < w and 0 <= yy < h:
            for q in range(cpt):
                o = occ3[yy, xx, q]
                if o >= 0:
                    trial[o] += r_self * off[k, 2] * amount


@numba.njit(cache=True)
def climb(assign: np.ndarray, occ: np.ndarray, occ3: np.ndarray, gx: np.ndarray, gy: np.ndarray,
          sx: np.ndarray, sy: np.ndarray, sk: np.ndarray, st: np.ndarray, d: np.ndarray,
          lam: np.ndarray, omean: np.ndarray, dev: np.ndarray, off: np.ndarray, tol: float,
          max_iter: int, max_rise: float, w_peak: float, energy: np.ndarray, noc: float,
          noc_scale: float, ptr: np.ndarray, nbr: np.ndarray, wsym: np.ndarray, ep: np.ndarray,
          mx: int, my: int, moves: int, radius: int, rng: np.random.Generator,
          hist: np.ndarray) -> int:  # pragma: no cover - numba
    """Cluster moves that lower the objective; returns the moves accepted.

    A move takes a random cluster to a random slot (half of them within ``radius`` tiles), swapping
    with its occupant; ``hist[t]`` is the objective after move ``t``. A move is screened with the
    temperatures it would give at frozen crossbar powers (exact for the linear part, O(1) updates),
    then evaluated by the crossbar-level fixed point from there. ``noc`` is the NoC energy per
    inference now; a move changes it by its change of XY pair energy times ``noc_scale``.
    """
    k, slots = assign.shape[0], occ.shape[0]
    h, w, cpt = occ3.shape
    r_self = dev[1]
    tx = np.full(k, dev[0])
    power = np.empty(k)
    tpow = np.empty(k)
    if not reduced(tx, d, lam, gx, gy, occ3, dev, off, tol, max_iter, max_rise, power):
        hist[:] = np.inf
        return 0
    cur = _score(tx, omean, power, w_peak, energy, noc)
    trial = np.empty(k)
    accepted = 0
    for t in range(moves):
        u = int(rng.integers(0, k))
        a = assign[u]
        if rng.random() < 0.5:
            s = int(rng.integers(0, slots))
        else:
            x = min(max(sx[a] + int(rng.integers(-radius, radius + 1)), 0), w - 1)
            y = min(max(sy[a] + int(rng.integers(-radius, radius + 1)), 0), h - 1)
            s = (y * w + x) * cpt + int(rng.integers(0, cpt))
        if s == a:
            hist[t] = cur
            continue
        v = occ[s]
        de = 0.0
        if energy[0] > 0:
            de = noc_scale * move_delta(u, s, assign, occ, ptr, nbr, wsym, sx, sy, st, ep,
                                        mx, my)
        # screen: the linear change with every crossbar's power frozen
        trial[:] = tx
        _shift(trial, sx[a], sy[a], -power[u], gx, gy, occ3, off, r_self)
        _shift(trial, sx[s], sy[s], power[u], gx, gy, occ3, off, r_self)
        if v >= 0:
            _shift(trial, sx[s], sy[s], -power[v], gx, gy, occ3, off, r_self)
            _shift(trial, sx[a], sy[a], power[v], gx, gy, occ3, off, r_self)
        occ3[sy[a], sx[a], sk[a]] = -1
        occ3[sy[s], sx[s], sk[s]] = -1
        apply_move(u, s, assign, occ)
        _put(occ3, gx, gy, u, s, sx, sy, sk)
        if v >= 0:
            _put(occ3, gx, gy, v, a, sx, sy, sk)
        trial[u] = dev[0] + r_self * tile_sum(u, power, gx, gy, occ3, off)
        if v >= 0:
            trial[v] = dev[0] + r_self * tile_sum(v, power, gx, gy, occ3, off)
        new = np.inf
        if _score(trial, omean, power, w_peak, energy, noc + de) < cur - 1e-12:
            if reduced(trial, d, lam, gx, gy, occ3, dev, off, tol, max_iter, max_rise, tpow):
                new = _score(trial, omean, tpow, w_peak, energy, noc + de)
        if new < cur - 1e-12:
            cur, noc = new, noc + de
            tx[:] = trial
            power[:] = tpow
            accepted += 1
        else:  # undo: u back to a, swapping v back to s
            occ3[sy[a], sx[a], sk[a]] = -1
            occ3[sy[s], sx[s], sk[s]] = -1
            apply_move(u, a, assign, occ)
            _put(occ3, gx, gy, u, a, sx, sy, sk)
            if v >= 0:
                _put(occ3, gx, gy, v, s, sx, sy, sk)
        hist[t] = cur
    return accepted


@numba.njit(cache=True)
def _row_cost(r: int, i: int, q: np.ndarray, qsum: np.ndarray, used: np.ndarray, p: np.ndarray,
              ratio: float, cols: np.ndarray) -> float:  # pragma: no cover - numba
    s = ratio * qsum[i]
    for c in range(used.shape[1]):
        if used[r, c]:
            s += (1.0 - ratio) * q[i, cols[c]]
    return p[r] * s


@numba.njit(cache=True)
def _col_cost(c: int, j: int, q: np.ndarray, used: np.ndarray, p: np.ndarray, ratio: float,
              rows: np.ndarray) -> float:  # pragma: no cover - numba
    s = 0.0
    for r in range(used.shape[0]):
        if used[r, c]:
            s += (1.0 - ratio) * p[r] * q[rows[r], j]
    return s


@numba.njit(cache=True)
def cell_climb(q: np.ndarray, used: np.ndarray, p: np.ndarray, ratio: float, rows: np.ndarray,
               cols: np.ndarray, moves: int, rng: np.random.Generator,
               hist: np.ndarray) -> int:  # pragma: no cover - numba
    """Row/column swaps (in place) that lower ``sum_r p_r sum_j Q[rows_r, j] s_rj``.

    ``s`` is 1 on a synapse's cell and ``ratio`` elsewhere in a driven row; ``hist[t]`` is the
    objective after swap ``t``; returns the swaps accepted.
    """
    m, n = q.shape
    a, b = used.shape
    row_at = np.full(m, -1)
    col_at = np.full(n, -1)
    for r in range(a):
        row_at[rows[r]] = r
    for c in range(b):
        col_at[cols[c]] = c
    qsum = q.sum(axis=1)
    cur = 0.0
    for r in range(a):
        cur += _row_cost(r, rows[r], q, qsum, used, p, ratio, cols)
    accepted = 0
    for t in range(moves):
        if a > 0 and (b == 0 or rng.random() < 0.5):  # input r to row i (swap its occupant)
            r, i = int(rng.integers(0, a)), int(rng.integers(0, m))
            o, old = row_at[i], rows[r]
            if i != old:
                delta = (_row_cost(r, i, q, qsum, used, p, ratio, cols)
                         - _row_cost(r, old, q, qsum, used, p, ratio, cols))
                if o >= 0:
                    delta += (_row_cost(o, old, q, qsum, used, p, ratio, cols)
                              - _row_cost(o, i, q, qsum, used, p, ratio, cols))
                if delta < -1e-12 * abs(cur):
                    rows[r], row_at[i], row_at[old] = i, r, o
                    if o >= 0:
                        rows[o] = old
                    cur += delta
                    accepted += 1
        elif b > 0:  # neuron c to column j
            c, j = int(rng.integers(0, b)), int(rng.integers(0, n))
            o, old = col_at[j], cols[c]
            if j != old:
                delta = (_col_cost(c, j, q, used, p, ratio, rows)
                         - _col_cost(c, old, q, used, p, ratio, rows))
                if o >= 0:
                    delta += (_col_cost(o, old, q, used, p, ratio, rows)
                              - _col_cost(o, j, q, used, p, ratio, rows))
                if delta < -1e-12 * abs(cur):
                    cols[c], col_at[j], col_at[old] = j, c, o
                    if o >= 0:
                        cols[o] = old
                    cur += delta
                    accepted += 1
        hist[t] = cur
    return accepted

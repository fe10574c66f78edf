"""Endurance-aware placement of synapses on crossbar cells, after eSpine (papers.md §2).

Electrical model (constants from the chip file's ``[device]``): every row is driven from its left
end (column 0) through one wire segment, every column is sensed at its bottom end (row
``rows - 1``, a virtual ground) through one segment; neighbouring cells are joined by wire
segments of ``wire_resistance_ohm``; a cell is a conductance between its row and column wires.
:func:`cell_currents` solves this resistive network (``2 rows cols`` nodes) with a sparse LU
factorisation, or with a closed-form first-order approximation in the wire resistance. The
endurance map is computed for a full read — every row driven at ``read_voltage_V``, every cell in
its low-resistance state — the largest current each cell sees in operation, so currents (and
wear) are upper bounds; cells far from the driver and the sense amplifier carry less current.

Endurance of cell ``(i, j)``: ``E_ij = E_0 (I_ref / I_ij) ** k`` with ``E_0 =
endurance_cycles``, ``k = endurance_exponent`` and ``I_ref = read_voltage_V / cell_r_on_ohm`` (the
current of a cell without wire resistance, so ``E_ij >= E_0``). Wear rate of a synapse: the reads
of its row per second (a read passes current through every cell of the driven row), plus with
learning one write per presynaptic read and per postsynaptic spike (pair-based STDP), each write
counting ``write_cycles`` cycles. Lifetime of a synapse = ``E / wear``; of the chip = the minimum
over used cells.

Placement: rows (inputs) and columns (neurons) of each crossbar are permuted freely. Starting from
the better of the unaware layout (input ``r`` on row ``r``, neuron ``c`` on column ``c``) and a
sorted layout (the most worn rows and columns on the highest-endurance positions), a local search
moves the bottleneck synapse's row or column to the position (swapping with its occupant) that
raises the crossbar's minimum lifetime most, until no move does. The tile placer has no lifetime
term: every crossbar has the same endurance map, so which tile a cluster sits on does not change
its lifetime.

Example:
    >>> from snncc.hw import load_hw
    >>> dev = load_hw("pcm-crossbar").device
    >>> i = cell_currents(dev)
    >>> bool(i[-1, 0] > i[0, -1])  # near the driver and the sense amplifier: more current
    True
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from snncc.errors import MappingError
from snncc.mapping._crossbar import CellMap, cell_maps

__all__ = [
    "EnduranceOptions",
    "EnduranceResult",
    "cell_currents",
    "device_maps",
    "endurance_map",
    "endurance_pass",
    "lifetimes",
    "place_cells",
    "require_device",
    "wear_rates",
]

METHODS = ("solve", "approx")


def require_device(hw: Any, what: str, key: str = "endurance_cycles") -> Any:
    """``hw.device``, or MappingError naming the pass, the chip and the key it lacks."""
    if getattr(hw, "device", None) is None:
        raise MappingError(f"{what}: {hw.name} has no device.{key} (no [device] section: "
                           f"core.kind is {hw.core.kind!r}) — use a crossbar chip such as "
                           f"pcm-crossbar")
    return hw.device


@dataclass(frozen=True, slots=True)
class EnduranceOptions:
    """Options of :func:`endurance_pass`.

    Attributes:
        inference_s: Wall-clock time per inference (the presentation time), turning reads per
            inference into wear per second.
        learning: Count writes (on-chip learning): one per presynaptic read and per
            postsynaptic spike.
        write_cycles: Endurance cycles one write costs.
        method: ``"solve"`` (sparse network solve) or ``"approx"`` (first-order closed form).
        max_moves: Most local-search moves per crossbar; 0 = ``4 (inputs + neurons)``.
    """

    inference_s: float = 0.1
    learning: bool = False
    write_cycles: float = 1.0
    method: str = "solve"
    max_moves: int = 0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.inference_s) and self.inference_s > 0):
            raise MappingError(f"EnduranceOptions: inference_s must be positive "
                               f"(got {self.inference_s})")
        if not (np.isfinite(self.write_cycles) and self.write_cycles >= 0):
            raise MappingError(f"EnduranceOptions: write_cycles must be >= 0 "
                               f"(got {self.write_cycles})")
        if self.method not in METHODS:
            raise MappingError(f"EnduranceOptions: method must be one of {', '.join(METHODS)} "
                               f"(got {self.method!r})")
        if self.max_moves < 0:
            raise MappingError(f"EnduranceOptions: max_moves must be >= 0 (got {self.max_moves})")


# --- the electrical model --------------------------------------------------------------------


def _laplacian(g: np.ndarray, gw: float) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray]:
    """Nodal conductance matrix of the crossbar; row-wire and column-wire node numbers."""
    m, n = g.shape
    cell = np.arange(m * n).reshape(m, n)
    rw, cw = 2 * cell, 2 * cell + 1  # interleaved: a cell's two nodes are neighbours
    a = np.concatenate([rw.ravel(), rw[:, :-1].ravel(), cw[:-1, :].ravel()])
    b = np.concatenate([cw.ravel(), rw[:, 1:].ravel(), cw[1:, :].ravel()])
    w = np.concatenate([g.ravel(), np.full(m * (n - 1), gw), np.full((m - 1) * n, gw)])
    diag = np.bincount(a, w, 2 * m * n) + np.bincount(b, w, 2 * m * n)
    diag[rw[:, 0]] += gw  # the segment to the row driver
    diag[cw[-1, :]] += gw  # the segment to the sense amplifier (ground)
    off = sp.coo_matrix((np.r_[-w, -w], (np.r_[a, b], np.r_[b, a])), shape=(2 * m * n,) * 2)
    return (off + sp.diags(diag)).tocsc(), rw, cw


def cell_currents(device: Any, conductance: np.ndarray | None = None,
                  drive: np.ndarray | None = None, method: str = "solve") -> np.ndarray:
    """Current through every cell of one crossbar (amperes, ``(rows, cols)``).

    Args:
        device: The chip's :class:`~snncc.hw.DeviceSpec`.
        conductance: Cell conductances in siemens; default every cell at ``1 / cell_r_on_ohm``.
        drive: Voltage of each row driver; default every row at ``read_voltage_V``.
        method: ``"solve"``: the resistive network by sparse LU (scipy SuperLU); ``"approx"``:
            first order in the wire resistance — every cell's current at its driven voltage,
            less the drops those currents cause along its row wire (from the driver) and its
            column wire (to the sense amplifier). Its relative error grows like
            ``(r_w g n^2 / 2)^2``; it is clipped at 0 where the first-order drop exceeds the drive.

    Returns:
        The cell currents.

    Raises:
        MappingError: Unknown method or shapes that do not match the device.
    """
    m, n = device.rows, device.cols
    g = (np.full((m, n), 1.0 / device.cell_r_on_ohm) if conductance is None
         else np.asarray(conductance, np.float64))
    v = (np.full(m, device.read_voltage_V) if drive is None else np.asarray(drive, np.float64))
    if g.shape != (m, n) or v.shape != (m,):
        raise MappingError(f"cell_currents: conductance must be ({m}, {n}) and drive ({m},) "
                           f"(got {g.shape} and {v.shape})")
    if method not in METHODS:
        raise MappingError(f"cell_currents: method must be one of {', '.join(METHODS)} "
                           f"(got {method!r})")
    rw = device.wire_resistance_ohm
    i0 = g * v[:, None]
    if rw == 0:
        return i0
    if method == "approx":
        row_drop = rw * np.cumsum(np.cumsum(i0[:, ::-1], axis=1)[:, ::-1], axis=1)
        col_rise = rw * np.cumsum(np.cumsum(i0, axis=0)[::-1], axis=0)[::-1]
        return np.maximum(g * (v[:, None] - row_drop - col_rise), 0.0)
    a, rnode, cnode = _laplacian(g, 1.0 / rw)
    rhs = np.zeros(2 * m * n)
    rhs[rnode[:, 0]] = v / rw
    # symmetric positive definite: a symmetric fill-reducing order, no pivoting
    lu = spl.splu(a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                  options={"SymmetricMode": True})
    x = lu.solve(rhs)
    return g * (x[rnode] - x[cnode])


@functools.lru_cache(maxsize=8)
def device_maps(device: Any, method: str = "solve") -> tuple[np.ndarray, np.ndarray]:
    """(cell currents of a full read, endurance map) of a device, cached; read-only arrays."""
    i = cell_currents(device, method=method)
    e = endurance_map(device, i)
    i.setflags(write=False)
    e.setflags(write=False)
    return i, e


def endurance_map(device: Any, currents: np.ndarray) -> np.ndarray:
    """Endurance in cycles of every cell: ``E_0 (I_ref / I) ** k`` (inf where no current flows).

    ``I_ref = read_voltage_V / cell_r_on_ohm``.
    """
    i_ref = device.read_voltage_V / device.cell_r_on_ohm
    with np.errstate(divide="ignore"):
        ratio = np.where(currents > 0, i_ref / np.maximum(currents, 1e-300), np.inf)
    return device.endurance_cycles * ratio ** device.endurance_exponent


def wear_rates(cm: CellMap, inference_s: float, learning: bool = False,
               write_cycles: float = 1.0) -> np.ndarray:
    """Wear (cycles per second) of every synapse of a crossbar in its unaware layout; 0 off it."""
    w = np.broadcast_to(cm.row_reads[:, None], cm.shape).astype(np.float64)
    if learning:
        w = w + write_cycles * (cm.row_reads[:, None] + cm.col_spikes[None, :])
    return np.where(cm.used, w / inference_s, 0.0)


def lifetimes(e: np.ndarray, wear: np.ndarray, rows: np.ndarray, cols: np.ndarray
              ) -> np.ndarray:
    """Lifetime in seconds of every synapse (``inf`` where it does not wear) under a layout.

    ``rows[r]`` / ``cols[c]`` are the crossbar row / column of input ``r`` / neuron ``c``.
    """
    cell = e[np.ix_(rows, cols)]
    with np.errstate(divide="ignore"):
        return np.where(wear > 0, cell / np.where(wear > 0, wear, 1.0), np.inf)


# --- the placement search --------------------------------------------------------------------


@numba.njit(cache=True)
def _line_min(e: np.ndarray, w: np.ndarray, r: int, pos: int, cols: np.ndarray
              ) -> float:  # pragma: no cover - numba
    """Smallest lifetime of input ``r`` if it sat on row ``pos``."""
    best = np.inf
    for c in range(w.shape[1]):
        if w[r, c] > 0:
            best = min(best, e[pos, cols[c]] / w[r, c])
    return best


@numba.njit(cache=True)
def _mins(e: np.ndarray, w: np.ndarray, rows: np.ndarray, cols: np.ndarray,
          rmin: np.ndarray, cmin: np.ndarray) -> None:  # pragma: no cover - numba
    rmin[:] = np.inf
    cmin[:] = np.inf
    for r in range(w.shape[0]):
        for c in range(w.shape[1]):
            if w[r, c] > 0:
                x = e[rows[r], cols[c]] / w[r, c]
                rmin[r] = min(rmin[r], x)
                cmin[c] = min(cmin[c], x)


@numba.njit(cache=True)
def _rest(v: np.ndarray, a: int, b: int) -> float:  # pragma: no cover - numba
    """Min of ``v`` over indices other than ``a`` and ``b``."""
    best = np.inf
    for k in range(v.shape[0]):
        if k != a and k != b:
            best = min(best, v[k])
    return best


@numba.njit(cache=True)
def _search(e: np.ndarray, w: np.ndarray, rows: np.ndarray, cols: np.ndarray,
            max_moves: int) -> int:  # pragma: no cover - numba
    """Bottleneck local search in place on ``rows``/``cols``; returns the moves made."""
    m, n = e.shape
    a, b = w.shape
    et = np.ascontiguousarray(e.T)
    wt = np.ascontiguousarray(w.T)
    row_at = np.full(m, -1)
    col_at = np.full(n, -1)
    for r in range(a):
        row_at[rows[r]] = r
    for c in range(b):
        col_at[cols[c]] = c
    rmin = np.empty(a)
    cmin = np.empty(b)
    moves = 0
    while moves < max_moves:
        _mins(e, w, rows, cols, rmin, cmin)
        r0 = int(np.argmin(rmin))
        cur = rmin[r0]
        if not np.isfinite(cur):
            break
        c0 = int(np.argmin(cmin))
        best, kind, target = cur, -1, -1
        for pos in range(m):  # move input r0 to row pos, swapping with its occupant
            if pos == rows[r0]:
                continue
            o = int(row_at[pos])
            x = min(_rest(rmin, r0, o), _line_min(e, w, r0, pos, cols))
            if o >= 0:
                x = min(x, _line_min(e, w, o, rows[r0], cols))
            if x > best:
                best, kind, target = x, 0, pos
        for pos in range(n):  # move neuron c0 to column pos
            if pos == cols[c0]:
                continue
            o = int(col_at[pos])
            x = min(_rest(cmin, c0, o), _line_min(et, wt, c0, pos, rows))
            if o >= 0:
                x = min(x, _line_min(et, wt, o, cols[c0], rows))
            if x > best:
                best, kind, target = x, 1, pos
        if kind < 0:
            break
        if kind == 0:
            o, old = row_at[target], rows[r0]
            rows[r0], row_at[target], row_at[old] = target, r0, o
            if o >= 0:
                rows[o] = old
        else:
            o, old = col_at[target], cols[c0]
            cols[c0], col_at[target], col_at[old] = target, c0, o
            if o >= 0:
                cols[o] = old
        moves += 1
    return moves


def _sorted_layout(e: np.ndarray, wear: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The most worn inputs / neurons on the rows / columns of highest (log) endurance."""
    a, b = wear.shape
    loge = np.log(np.minimum(e, np.finfo(np.float64).max))
    row_q, col_q = loge.mean(axis=1), loge.mean(axis=0)
    rows = np.empty(a, np.int64)
    cols = np.empty(b, np.int64)
    rows[np.argsort(-wear.max(axis=1, initial=0), kind="stable")] = \
        np.argsort(-row_q, kind="stable")[:a]
    cols[np.argsort(-wear.max(axis=0, initial=0), kind="stable")] = \
        np.argsort(-col_q, kind="stable")[:b]
    return rows, cols


def place_cells(e: np.ndarray, wear: np.ndarray, max_moves: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of one crossbar's inputs and neurons that maximise its minimum lifetime.

    Args:
        e: Endurance map of the crossbar, ``(rows, cols)``.
        wear: Wear per second of each synapse in the unaware layout, ``(inputs, neurons)``; 0
            where there is no synapse.
        max_moves: Most local-search moves; 0 = ``4 (inputs + neurons)``.

    Returns:
        ``(rows, cols)``: the row of each input and the column of each neuron (injective). The
        minimum lifetime is never below the unaware layout's (``arange``).

    Example:
        >>> e = np.array([[1.0, 2.0], [3.0, 4.0]])
        >>> place_cells(e, np.array([[1.0, 0.0], [0.0, 0.0]]))  # the one synapse on the best cell
        (array([1, 0]), array([1, 0]))
    """
    a, b = wear.shape
    m, n = e.shape
    if a > m or b > n:
        raise MappingError(f"place_cells: {a} inputs x {b} neurons do not fit a {m} x {n} "
                           f"crossbar")
    w = np.ascontiguousarray(wear, np.float64)
    ident = (np.arange(a, dtype=np.int64), np.arange(b, dtype=np.int64))
    best = ident
    if (w > 0).any():
        srt = _sorted_layout(e, w)
        if lifetimes(e, w, *srt).min() > lifetimes(e, w, *ident).min():
            best = srt
    rows, cols = best[0].copy(), best[1].copy()
    _search(np.ascontiguousarray(e, np.float64), w, rows, cols,
            max_moves or 4 * (a + b))
    return rows, cols


# --- the pass --------------------------------------------------------------------------------


def _quantiles(x: np.ndarray) -> dict[str, float | None]:
    x = x[np.isfinite(x)]
    if not x.size:
        return {"p1": None, "p10": None, "p50": None}
    q = np.quantile(x, [0.01, 0.1, 0.5])
    return {"p1": float(q[0]), "p10": float(q[1]), "p50": float(q[2])}


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


@dataclass(frozen=True, eq=False)
class EnduranceResult:
    """Outcome of :func:`endurance_pass`.

    Attributes:
        rows: Per crossbar (cluster), the row of each input (aware layout).
        cols: Per crossbar, the column of each neuron.
        lifetime_s: Per crossbar, its minimum synapse lifetime, aware layout (inf: no wear).
        baseline_lifetime_s: The same in the unaware layout.
        synapse_lifetime_s: Lifetimes of all worn synapses, aware (float32, for distributions).
        baseline_synapse_lifetime_s: The same, unaware.
        currents: Cell currents of the full read (amperes).
        endurance: Endurance map (cycles).
        options: The options used.
        seconds: Wall time of the pass.
    """

    rows: list[np.ndarray]
    cols: list[np.ndarray]
    lifetime_s: np.ndarray
    baseline_lifetime_s: np.ndarray
    synapse_lifetime_s: np.ndarray
    baseline_synapse_lifetime_s: np.ndarray
    currents: np.ndarray
    endurance: np.ndarray
    options: EnduranceOptions
    seconds: float

    @property
    def min_lifetime_s(self) -> float:
        """Chip lifetime: the minimum over used cells (inf when nothing wears)."""
        return float(self.lifetime_s.min(initial=np.inf))

    @property
    def baseline_min_lifetime_s(self) -> float:
        """The same for the unaware layout."""
        return float(self.baseline_lifetime_s.min(initial=np.inf))

    def summary(self) -> dict[str, Any]:
        """The ``endurance`` section of report.json (``None`` for an infinite lifetime)."""
        lo, hi = self.min_lifetime_s, self.baseline_min_lifetime_s
        i = self.currents
        return {
            "min_lifetime_s": _finite(lo), "baseline_min_lifetime_s": _finite(hi),
            "improvement": _finite(lo / hi) if np.isfinite(hi) and hi > 0 else None,
            "crossbars": int(self.lifetime_s.size),
            "worn_synapses": int(self.synapse_lifetime_s.size),
            "synapse_lifetime_s": _quantiles(self.synapse_lifetime_s),
            "baseline_synapse_lifetime_s": _quantiles(self.baseline_synapse_lifetime_s),
            "crossbar_lifetime_s": _quantiles(self.lifetime_s),
            "baseline_crossbar_lifetime_s": _quantiles(self.baseline_lifetime_s),
            "cell_current_A": {"min": float(i.min()), "max": float(i.max())},
            "cell_endurance_cycles": {"min": float(self.endurance.min()),
                                      "max": float(self.endurance.max())},
            "inference_s": self.options.inference_s, "learning": self.options.learning,
            "method": self.options.method, "seconds": self.seconds,
        }


def endurance_pass(net: Any, mapping: Any, hw: Any, options: EnduranceOptions | None = None,
                   maps: list[CellMap] | None = None) -> EnduranceResult:
    """Place every crossbar's synapses on its cells by endurance (eSpine's intra-crossbar step).

    Args:
        net: The SpikingNet of the mapping.
        mapping: A :class:`snncc.mapping.Mapping` on a crossbar chip (one cluster per crossbar).
        hw: The chip; needs a ``[device]`` section.
        options: Time base, learning, electrical method, search effort.
        maps: The cell maps of ``mapping`` if already built (:func:`~._crossbar.cell_maps`).

    Returns:
        The aware layout of every crossbar and the lifetimes, with the unaware baseline.

    Raises:
        MappingError: The chip has no ``[device]`` section.
    """
    t0 = time.perf_counter()
    dev = require_device(hw, "endurance")
    options = options or EnduranceOptions()
    maps = maps if maps is not None else cell_maps(net, mapping.graph, mapping.part)
    cur, e = device_maps(dev, options.method)
    rows, cols, life, base, syn, syn0 = [], [], [], [], [], []
    for cm in maps:
        w = wear_rates(cm, options.inference_s, options.learning, options.write_cycles)
        r, c = place_cells(e, w, options.max_moves)
        lt = lifetimes(e, w, r, c)
        lt0 = lifetimes(e, w, np.arange(cm.shape[0]), np.arange(cm.shape[1]))
        rows.append(r)
        cols.append(c)
        life.append(lt.min(initial=np.inf))
        base.append(lt0.min(initial=np.inf))
        worn = w > 0
        syn.append(lt[worn].astype(np.float32))
        syn0.append(lt0[worn].astype(np.float32))
    cat = (lambda x: np.concatenate(x) if x else np.zeros(0, np.float32))  # noqa: E731
    return EnduranceResult(rows=rows, cols=cols, lifetime_s=np.asarray(life, np.float64),
                           baseline_lifetime_s=np.asarray(base, np.float64),
                           synapse_lifetime_s=cat(syn), baseline_synapse_lifetime_s=cat(syn0),
                           currents=cur, endurance=e,
                           options=options, seconds=time.perf_counter() - t0)

"""The cells of each crossbar: where its synapses are, how often rows are read, neurons spike.

Which (row = input, column = neuron) cells hold a synapse, how often each row is read and how often
each column's neuron spikes. On a crossbar chip one cluster is one crossbar. Its rows are the
cluster's distinct inputs (per source, in order of first use, indices sorted), its columns the
neurons of its units in unit order (each unit's box row-major). A cell holds a synapse when its
input is in its neuron's receptive field — per axis ``lo <= pre < hi``
(:mod:`snncc.mapping._footprint`), or the exact nonzero pattern of a sparse dense layer. A
partial-sum *part* unit's columns are its compartments (one per neuron of its block, reading its
channel slice); a *soma* reads compartment ``k`` of each of its parts on row ``k`` of that part's
rows, a diagonal.

Reads per inference of a row: the spikes of its input (``UnitGraph.counts``); an input from the
host is driven in every timestep (the analog ``current`` encoder; an upper bound under
``poisson``); a partial-sum row is driven in the timesteps in which its compartment's slice
receives a spike, ``T (1 - exp(-S / T))`` for ``S`` input spikes over ``T`` timesteps (as the unit
graph counts partial-sum packets). Matrices are built per crossbar, at most rows x cols booleans
each: never one object per synapse of the whole network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snncc.convert.net import SpikingNet
from snncc.mapping._footprint import Field, receptive_field
from snncc.mapping.units import PSUM, UnitGraph

__all__ = ["CellMap", "cell_maps"]


@dataclass(frozen=True, slots=True, eq=False)
class CellMap:
    """The synapses of one crossbar in its unaware layout.

    Row ``r`` holds input ``r`` and column ``c`` neuron ``c``, both from 0.

    Attributes:
        cluster: The cluster (crossbar) index.
        used: Bool ``(inputs, neurons)``: the cells holding a synapse.
        row_reads: Reads per inference of each row (float64, inputs).
        col_spikes: Spikes per inference of each column's neuron (float64, neurons); a partial-sum
            compartment counts its neuron's spikes.
        timesteps: Timesteps per inference.
    """

    cluster: int
    used: np.ndarray
    row_reads: np.ndarray
    col_spikes: np.ndarray
    timesteps: int

    @property
    def shape(self) -> tuple[int, int]:
        """(inputs, neurons) of the crossbar."""
        return (int(self.used.shape[0]), int(self.used.shape[1]))

    @property
    def row_prob(self) -> np.ndarray:
        """Probability that each row is driven in a timestep (reads / timesteps, at most 1)."""
        return np.minimum(self.row_reads / max(self.timesteps, 1), 1.0)


def _coords(flat: np.ndarray, shape: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    _, h, w = shape
    return flat // (h * w), (flat // w) % h, flat % w


def _connect(f: Field, post: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """Bool ``(len(pre), len(post))``: pre flat index ``pre[r]`` reaches post ``post[c]``."""
    if f.sparse is not None:
        return f.sparse[np.ix_(post, pre)].T
    pc = _coords(post, f.post_shape)
    qc = _coords(pre, f.pre_shape)
    out = np.ones((pre.size, post.size), bool)
    for d in range(3):
        lo, hi = f.lo[d][pc[d]], f.hi[d][pc[d]]
        out &= (qc[d][:, None] >= lo[None, :]) & (qc[d][:, None] < hi[None, :])
    return out


class _Builder:
    """Per-unit connectivity and partial-sum activity, shared by every crossbar."""

    def __init__(self, net: SpikingNet, graph: UnitGraph) -> None:
        self.graph = graph
        self.fields: dict[str, list[Field]] = {}
        for proj in net.projections:
            self.fields.setdefault(proj.post, []).append(receptive_field(proj))
        self.flat = {k: np.asarray(v, np.float64).ravel() for k, v in graph.counts.items()}
        self._busy: dict[int, np.ndarray] = {}

    def post_rows(self, u: int) -> np.ndarray:
        """Flat post indices of unit ``u``'s block, in column order (row-major in the box)."""
        unit = self.graph.units[u]
        _, h, w = self.graph.counts[unit.population].shape
        (c0, c1), (y0, y1), (x0, x1) = unit.box
        return ((np.arange(c0, c1)[:, None, None] * h + np.arange(y0, y1)[None, :, None]) * w
                + np.arange(x0, x1)[None, None, :]).ravel()

    def reads(self, source: str, idx: np.ndarray) -> np.ndarray:
        """Reads per inference of the inputs ``idx`` of ``source``."""
        part = int(source[len(PSUM):]) if source.startswith(PSUM) else None
        if part is not None:
            return self.busy(part)[idx]
        counts = self.flat.get(source)
        if counts is None:  # from the host: driven every timestep
            return np.full(idx.size, float(self.graph.timesteps))
        return counts[idx]

    def unit_cells(self, u: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Per source: (source, sorted input indices, bool (inputs, unit neurons))."""
        unit = self.graph.units[u]
        n = unit.neurons
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for source, idx in self.graph.inputs_of(u):
            if source.startswith(PSUM):
                conn = np.zeros((idx.size, n), bool)
                conn[np.arange(idx.size), idx] = True  # compartment k -> neuron k
            else:
                post = self.post_rows(u)
                conn = np.zeros((idx.size, n), bool)
                for f in self.fields[unit.population]:
                    if f.pre == source:
                        conn |= _connect(f, post, idx)
            out[source] = (idx, conn)
        return [(s, i, c) for s, (i, c) in out.items()]

    def busy(self, part: int) -> np.ndarray:
        """Timesteps per inference in which each compartment of part unit ``part`` sends."""
        hit = self._busy.get(part)
        if hit is None:
            t = float(max(self.graph.timesteps, 1))
            spikes = np.zeros(self.graph.units[part].neurons)
            for source, idx, conn in self.unit_cells(part):
                if source in self.flat or source.startswith(PSUM):
                    spikes += conn.T.astype(np.float64) @ self.reads(source, idx)
                else:  # from the host: busy in every timestep
                    spikes[conn.any(axis=0)] = np.inf
            hit = t * -np.expm1(-spikes / t)
            self._busy[part] = hit
        return hit

    def col_spikes(self, u: int) -> np.ndarray:
        """Spikes per inference of the neurons of unit ``u`` (a part's: its neurons')."""
        unit = self.graph.units[u]
        counts = self.flat.get(unit.population)
        return counts[self.post_rows(u)] if counts is not None else np.zeros(unit.neurons)


def cell_maps(net: SpikingNet, graph: UnitGraph, part: np.ndarray) -> list[CellMap]:
    """The :class:`CellMap` of every cluster of ``part`` (cluster ``k`` at index ``k``).

    Args:
        net: The spiking network the unit graph was built from.
        graph: Its unit graph.
        part: Cluster (crossbar) per unit.

    Returns:
        One cell map per cluster, in cluster order.
    """
    b = _Builder(net, graph)
    part = np.asarray(part, np.int64)
    k = int(part.max()) + 1 if part.size else 0
    members = [np.flatnonzero(part == c) for c in range(k)]
    out: list[CellMap] = []
    for c in range(k):
        per_unit = [(u, b.unit_cells(int(u))) for u in members[c]]
        pools: dict[str, list[np.ndarray]] = {}
        for _, cells in per_unit:
            for source, idx, _ in cells:
                pools.setdefault(source, []).append(idx)
        rows = {s: np.unique(np.concatenate(v)) for s, v in pools.items()}
        offset, start = 0, {}
        for s, idx in rows.items():
            start[s] = offset
            offset += idx.size
        n_cols = int(graph.neurons[members[c]].sum())
        used = np.zeros((offset, n_cols), bool)
        col = 0
        spikes = np.zeros(n_cols)
        for u, cells in per_unit:
            n = int(graph.neurons[u])
            for source, idx, conn in cells:
                r = start[source] + np.searchsorted(rows[source], idx)
                used[r, col:col + n] |= conn
            spikes[col:col + n] = b.col_spikes(int(u))
            col += n
        reads = np.concatenate([b.reads(s, idx) for s, idx in rows.items()]) if rows else \
            np.zeros(0)
        out.append(CellMap(cluster=c, used=used, row_reads=reads, col_spikes=spikes,
                           timesteps=graph.timesteps))
    return out

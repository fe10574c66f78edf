"""Spike traffic of a partition, exact per neuron: packets, core-to-core matrix, multicast flows.

A spike of neuron ``n`` costs one packet to each *other* core that holds a target of ``n``
(multicast; DESIGN.md "Mapping"). Given the unit graph and an assignment of units to cores, the
targets of ``n`` on core ``b`` exist exactly when ``n`` lies in the union of the receptive fields
of ``b``'s units, so the neuron-exact traffic is computed from per-core unions of boxes, never
from per-synapse edges. Partial sums of split neurons travel from each part to its soma when they
sit on different cores.

The same pass yields each neuron's number of destination cores (checked against the chip's
``core.fanout``) and the multicast *flows*: groups of neurons of one core with the same set of
destination cores, which the router turns into multicast trees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from snncc.errors import MappingError
from snncc.mapping.route import Flows
from snncc.mapping.units import UnitGraph

__all__ = ["Flows", "Traffic", "evaluate"]

_H1 = np.uint64(0x9E3779B97F4A7C15)
_H2 = np.uint64(0xC2B2AE3D27D4EB4F)


@dataclass(frozen=True, eq=False)
class Traffic:
    """Traffic of a partition, per inference.

    Attributes:
        inter_core_packets: (spike, other destination core) pairs plus partial-sum packets.
        intra_core_spikes: Spikes whose targets are all on their own core.
        edge_cut: Unit-graph edge weight between different cores (the plain proxy).
        matrix: ``(k, k)`` packets from core i to core j (scipy sparse CSR).
        flows: Multicast groups for routing.
        max_destinations: Population -> largest number of cores holding targets of one neuron
            (own core included).
        psum_packets: Partial-sum packets between different cores (included above).
    """

    inter_core_packets: float
    intra_core_spikes: float
    edge_cut: float
    matrix: np.ndarray
    flows: Flows
    max_destinations: dict[str, int]
    psum_packets: float


def _mix(b: int) -> tuple[np.uint64, np.uint64]:
    """Two 64-bit hashes of a core id; a set of cores hashes to their wrap-around sums."""
    x = np.uint64(b + 1)
    with np.errstate(over="ignore"):
        return (x * _H1) ^ (x << np.uint64(17)), (x * _H2) ^ ((x >> np.uint64(3)) * x)


def evaluate(graph: UnitGraph, part: np.ndarray, *, fanout: int = 0, chip: str = "") -> Traffic:
    """Neuron-exact traffic of assigning unit ``u`` to core ``part[u]``.

    Args:
        graph: The unit graph.
        part: Core index per unit, ``0 .. k-1``.
        fanout: The chip's destination cores per neuron (0 = unlimited); more raises.
        chip: Chip name for messages.

    Returns:
        The traffic.

    Raises:
        MappingError: A neuron has targets on more cores than ``fanout``.
    """
    part = np.asarray(part, np.int64)
    k = int(part.max()) + 1 if part.size else 0
    f_src: list[np.ndarray] = []
    f_pk: list[np.ndarray] = []
    f_len: list[np.ndarray] = []
    f_dst: list[np.ndarray] = []
    max_dest: dict[str, int] = {}
    intra = psum = 0.0
    per_source: dict[str, dict[int, list[int]]] = {}  # source -> core -> units reading it
    for v, unit in enumerate(graph.units):
        for foot in unit.feet:
            u = foot.psum_part
            if u is not None:
                if part[u] != part[v]:
                    psum += graph.activity[u]
                    f_src.append(part[[u]])
                    f_pk.append(graph.activity[[u]])
                    f_len.append(np.array([1]))
                    f_dst.append(part[[v]])
            elif foot.source in graph.owner:
                per_source.setdefault(foot.source, {}).setdefault(int(part[v]), []).append(v)
    for source, cores in per_source.items():
        # stream over destination cores: per neuron, destinations, away-destinations and a
        # hash of the set of away cores (no (neuron, core) pair list is ever materialised)
        counts = graph.counts[source].ravel()
        src_core = part[graph.owner[source]]
        dests = np.zeros(counts.size, np.int32)
        away_n = np.zeros(counts.size, np.int32)
        h1 = np.zeros(counts.size, np.uint64)
        h2 = np.zeros(counts.size, np.uint64)
        reached: dict[int, np.ndarray] = {}
        for core in sorted(cores):
            lists = [idx for v in cores[core] for s_, idx in graph.inputs_of(v) if s_ == source]
            idx = lists[0] if len(lists) == 1 else np.unique(np.concatenate(lists))
            dests[idx] += 1
            away = idx[src_core[idx] != core]
            reached[core] = away.astype(np.int32)
            away_n[away] += 1
            m1, m2 = _mix(core)
            with np.errstate(over="ignore"):
                h1[away] += m1
                h2[away] += m2
        max_dest[source] = int(dests.max(initial=0))
        if fanout and max_dest[source] > fanout:
            bad = int(np.argmax(dests))
            raise MappingError(
                f"{source}: neuron {bad} has targets on {max_dest[source]} cores, a {chip} neuron "
                f"can reach {fanout} (core.fanout) — a partitioner that keeps each neuron's "
                f"targets together, or a chip with more destinations per neuron")
        intra += float(counts[(dests > 0) & (away_n == 0)].sum())
        n = np.flatnonzero(away_n)
        if not n.size:
            continue
        key = np.stack([src_core[n].astype(np.uint64), h1[n], h2[n],
                        away_n[n].astype(np.uint64)], 1)
        _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
        group_of = np.full(counts.size, -1, np.int64)
        group_of[n[first]] = np.arange(first.size)  # one representative neuron per flow
        g_parts, c_parts = [], []
        for core, away in reached.items():
            g = group_of[away]
            g = g[g >= 0]
            g_parts.append(g)
            c_parts.append(np.full(g.size, core, np.int64))
        g_all, c_all = np.concatenate(g_parts), np.concatenate(c_parts)
        order = np.lexsort((c_all, g_all))
        f_src.append(src_core[n[first]])
        f_pk.append(np.bincount(inv.ravel(), weights=counts[n], minlength=first.size))
        f_len.append(np.bincount(g_all, minlength=first.size))
        f_dst.append(c_all[order])

    def cat(xs: list[np.ndarray], dt: type) -> np.ndarray:
        return np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)

    lens_all = cat(f_len, np.int64)
    flows = Flows(src=cat(f_src, np.int64), packets=cat(f_pk, np.float64),
                  dst_ptr=np.r_[0, np.cumsum(lens_all)].astype(np.int64), dst=cat(f_dst, np.int64))
    w = graph.out_edges.tocoo()
    cut = float(w.data[part[w.row] != part[w.col]].sum())
    fid = np.repeat(np.arange(flows.n_flows), np.diff(flows.dst_ptr))
    matrix = sp.coo_matrix((flows.packets[fid], (flows.src[fid], flows.dst)), shape=(k, k)
                           ).tocsr()  # sums duplicates; sparse: k may be tens of thousands
    return Traffic(inter_core_packets=float(matrix.sum()), intra_core_spikes=intra,
                   edge_cut=cut, matrix=matrix, flows=flows, max_destinations=max_dest,
                   psum_packets=psum)

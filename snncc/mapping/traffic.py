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
        matrix: ``(k, k)`` packets from core i to core j.
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


def _group_hash(n: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per neuron (pairs sorted by neuron): start offsets and two hashes of its core set."""
    start = np.flatnonzero(np.r_[True, n[1:] != n[:-1]])
    x = b.astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        h1 = np.add.reduceat(x * _H1 ^ (x << np.uint64(17)), start)
        h2 = np.add.reduceat((x * _H2) ^ (x >> np.uint64(3)) * x, start)
    return start, h1, h2


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
    matrix = np.zeros((k, k))
    f_src: list[np.ndarray] = []
    f_pk: list[np.ndarray] = []
    f_len: list[np.ndarray] = []
    f_dst: list[np.ndarray] = []
    max_dest: dict[str, int] = {}
    intra = 0.0
    # per source population: (neuron, destination core) pairs from per-core unions
    per_source: dict[str, dict[int, list[np.ndarray]]] = {}
    psum = 0.0
    for v, unit in enumerate(graph.units):
        for foot in unit.feet:
            if foot.source.startswith("psum:"):
                u = int(foot.source[5:])
                if part[u] != part[v]:
                    psum += graph.activity[u]
                    matrix[part[u], part[v]] += graph.activity[u]
                    f_src.append(part[[u]])
                    f_pk.append(graph.activity[[u]])
                    f_len.append(np.array([1]))
                    f_dst.append(part[[v]])
            elif foot.source in graph.owner:
                per_source.setdefault(foot.source, {}).setdefault(int(part[v]), []).append(
                    foot.indices())
    for source, cores in per_source.items():
        ns, bs = [], []
        for core, lists in cores.items():
            idx = lists[0] if len(lists) == 1 else np.unique(np.concatenate(lists))
            ns.append(idx)
            bs.append(np.full(idx.size, core, np.int64))
        n, b = np.concatenate(ns), np.concatenate(bs)
        counts = graph.counts[source].ravel()
        dests = np.bincount(n, minlength=counts.size)
        max_dest[source] = int(dests.max(initial=0))
        if fanout and max_dest[source] > fanout:
            bad = int(np.argmax(dests))
            raise MappingError(
                f"{source}: neuron {bad} has targets on {max_dest[source]} cores, a {chip} neuron "
                f"can reach {fanout} (core.fanout) — a partitioner that keeps each neuron's "
                f"targets together, or a chip with more destinations per neuron")
        src_core = part[graph.owner[source][n]]
        away = src_core != b
        w = counts[n]
        away_any = np.bincount(n[away], minlength=counts.size) > 0
        intra += float(counts[(dests > 0) & ~away_any].sum())
        np.add.at(matrix, (src_core[away], b[away]), w[away])
        n, b, src_core, w = n[away], b[away], src_core[away], w[away]
        if not n.size:
            continue
        order = np.lexsort((b, n))
        n, b, src_core, w = n[order], b[order], src_core[order], w[order]
        start, h1, h2 = _group_hash(n, b)
        lens = np.diff(np.r_[start, n.size])
        key = np.stack([src_core[start].astype(np.uint64), h1, h2, lens.astype(np.uint64)], 1)
        _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
        packets = np.bincount(inv.ravel(), weights=w[start])
        f_src.append(src_core[start][first])
        f_pk.append(packets)
        f_len.append(lens[first])
        s0, ln = start[first], lens[first]
        f_dst.append(b[np.repeat(s0 - np.r_[0, np.cumsum(ln)[:-1]], ln) + np.arange(ln.sum())])
    def cat(xs: list[np.ndarray], dt: type) -> np.ndarray:
        return np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)

    lens_all = cat(f_len, np.int64)
    flows = Flows(src=cat(f_src, np.int64), packets=cat(f_pk, np.float64),
                  dst_ptr=np.r_[0, np.cumsum(lens_all)].astype(np.int64), dst=cat(f_dst, np.int64))
    w = graph.out_edges.tocoo()
    cut = float(w.data[part[w.row] != part[w.col]].sum())
    np.fill_diagonal(matrix, 0.0)
    return Traffic(inter_core_packets=float(matrix.sum()), intra_core_spikes=intra,
                   edge_cut=cut, matrix=matrix, flows=flows, max_destinations=max_dest,
                   psum_packets=psum)

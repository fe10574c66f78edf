"""Where each neuron's spikes go: destination clusters and synaptic events per spike, as CSR.

The backend replays a spike trace, so for every neuron (numbered as in :class:`SpikeTrace`:
populations in the net's order, row-major within each) it needs the clusters holding its targets
and how many synaptic events one spike causes there. Both come from the unit graph: unit ``v``
reads the neurons ``inputs_of(v)``; a spike of one of them reaches ``v``'s core and costs
``synapses[v] / inputs[v]`` synaptic events there (the unit's mean fan-out per input — exact for
dense blocks, the mean over border effects for convolutions; totals per unit are exact).

Entries are kept per (neuron, cluster, receiving layer), and separately per *part* unit of a split
neuron, whose input triggers a partial-sum packet to its soma.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SynapseMap", "synapse_map"]


@dataclass(frozen=True, eq=False)
class SynapseMap:
    """Per global neuron, its destination entries (CSR) and its own cluster.

    Attributes:
        ptr: int64 (N + 1): entries of neuron ``n`` are ``ptr[n]:ptr[n+1]``.
        cluster: int32 (E): cluster holding the targets.
        layer: int32 (E): receiving population (index into the layer names).
        part: int32 (E): the part unit receiving the spike (split neurons), else -1.
        synops: float64 (E): synaptic events per spike.
        neuron_cluster: int32 (N): cluster emitting each neuron's spikes.
        neuron_layer: int32 (N): population of each neuron.
    """

    ptr: np.ndarray
    cluster: np.ndarray
    layer: np.ndarray
    part: np.ndarray
    synops: np.ndarray
    neuron_cluster: np.ndarray
    neuron_layer: np.ndarray

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for a Program (prefixed ``syn_``)."""
        return {"syn_ptr": self.ptr, "syn_cluster": self.cluster, "syn_layer": self.layer,
                "syn_part": self.part, "syn_synops": self.synops,
                "syn_neuron_cluster": self.neuron_cluster, "syn_neuron_layer": self.neuron_layer}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SynapseMap:
        """Inverse of :meth:`to_arrays`."""
        return cls(ptr=arrays["syn_ptr"], cluster=arrays["syn_cluster"],
                   layer=arrays["syn_layer"], part=arrays["syn_part"],
                   synops=arrays["syn_synops"], neuron_cluster=arrays["syn_neuron_cluster"],
                   neuron_layer=arrays["syn_neuron_layer"])


def synapse_map(graph: Any, part: np.ndarray, populations: list[tuple[str, int]]) -> SynapseMap:
    """Build the map from a unit graph and the cluster of every unit.

    Args:
        graph: The :class:`~snncc.mapping.units.UnitGraph`.
        part: Cluster of every unit.
        populations: (name, size) of every population in the net's order (the trace numbering).
    """
    part = np.asarray(part, np.int64)
    offsets = np.cumsum([0] + [n for _, n in populations]).astype(np.int64)
    base = {name: int(offsets[i]) for i, (name, _) in enumerate(populations)}
    layer_index = {name: i for i, name in enumerate(graph.layer_names)}
    n_total = int(offsets[-1])
    neu_cl = np.full(n_total, -1, np.int32)
    neu_layer = np.full(n_total, -1, np.int32)
    for i, (name, _size) in enumerate(populations):
        neu_layer[offsets[i]:offsets[i + 1]] = layer_index.get(name, -1)
        if name in graph.owner:
            neu_cl[offsets[i]:offsets[i + 1]] = part[np.asarray(graph.owner[name]).ravel()]
    keys_n, keys_c, keys_l, keys_p, weights = [], [], [], [], []
    for v, unit in enumerate(graph.units):
        inputs = [(s, idx) for s, idx in graph.inputs_of(v) if s in base]
        total = sum(idx.size for _, idx in inputs)
        if not total:
            continue
        w = float(graph.synapses[v]) / total
        p = v if unit.kind == "part" else -1
        for s, idx in inputs:
            keys_n.append(idx.astype(np.int64) + base[s])
            m = idx.size
            keys_c.append(np.full(m, part[v], np.int64))
            keys_l.append(np.full(m, graph.layer_of[v], np.int64))
            keys_p.append(np.full(m, p, np.int64))
            weights.append(np.full(m, w))
    if keys_n:
        n = np.concatenate(keys_n)
        c, lay, pp = np.concatenate(keys_c), np.concatenate(keys_l), np.concatenate(keys_p)
        wt = np.concatenate(weights)
        order = np.lexsort((pp, lay, c, n))
        n, c, lay, pp, wt = n[order], c[order], lay[order], pp[order], wt[order]
        new = np.ones(n.size, bool)
        new[1:] = (n[1:] != n[:-1]) | (c[1:] != c[:-1]) | (lay[1:] != lay[:-1]) | (
            pp[1:] != pp[:-1])
        starts = np.flatnonzero(new)
        wt = np.add.reduceat(wt, starts)
        n, c, lay, pp = n[starts], c[starts], lay[starts], pp[starts]
    else:
        n = c = lay = pp = np.zeros(0, np.int64)
        wt = np.zeros(0)
    ptr = np.zeros(n_total + 1, np.int64)
    np.cumsum(np.bincount(n, minlength=n_total), out=ptr[1:])
    return SynapseMap(ptr=ptr, cluster=c.astype(np.int32), layer=lay.astype(np.int32),
                      part=pp.astype(np.int32), synops=wt, neuron_cluster=neu_cl,
                      neuron_layer=neu_layer)

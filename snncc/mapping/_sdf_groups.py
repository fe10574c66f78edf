"""Packet groups of a traced run: per-timestep packet counts by source and receiving clusters.

The cycle-level backend sends one packet per spike to the cores holding its targets (multicast,
or one copy per core) and one partial sum per part unit reached in the previous step; grouping
neurons (and part units) by their source and receiving clusters gives, for any binding, the exact
packets of every timestep and the links they cross — what the dataflow analysis bounds delays
with (:mod:`snncc.mapping._sdf_noc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from snncc.mapping import _sdf_noc as K

__all__ = ["PacketGroups", "group_packets", "packet_groups"]


@dataclass(frozen=True, slots=True, eq=False)
class PacketGroups:
    """Spikes per timestep of groups of neurons with one source and the same receiving clusters.

    A spike of a group-``g`` neuron is one multicast packet to the cores of ``dst[dst_ptr[g]:
    dst_ptr[g+1]]`` other than its own (or one copy per such core without multicast), whatever
    the binding: with them the analysis knows each timestep's link loads exactly.

    Attributes:
        src: Source cluster of each group (int64, G).
        dst_ptr: Offsets into ``dst`` (int64, G + 1).
        dst: Receiving clusters, other than the source (int64).
        count: (T, G) spikes of each group in each traced timestep.
    """

    src: np.ndarray
    dst_ptr: np.ndarray
    dst: np.ndarray
    count: np.ndarray


def packet_groups(trace: Any, arrays: Any) -> PacketGroups:
    """Group a program's packets by source and receiving clusters; count them per timestep.

    Spikes: neurons grouped by their cluster and the clusters holding their targets. Partial
    sums: a part unit of a split neuron that receives a spike at step t sends one partial sum to
    its soma's cluster at t + 1 (the backend's rule), grouped by (part cluster, soma cluster).

    Args:
        trace: A :class:`snncc.sim.SpikeTrace` (``steps``, ``neurons`` per input, ``n_steps``).
        arrays: A program's arrays (``Program.mapping``): ``syn_ptr``, ``syn_cluster``,
            ``syn_part``, ``syn_neuron_cluster``, ``unit_cluster``, ``unit_psum_target``.

    Returns:
        The groups, with rows ``i * n_steps + t`` for input ``i``, timestep ``t``.
    """
    ptr = np.asarray(arrays["syn_ptr"], np.int64)
    ncl = np.asarray(arrays["syn_neuron_cluster"], np.int64)
    n = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    c = np.asarray(arrays["syn_cluster"], np.int64)
    part = np.asarray(arrays["syn_part"], np.int64)
    unit_cl = np.asarray(arrays["unit_cluster"], np.int64)
    target = np.asarray(arrays["unit_psum_target"], np.int64)
    keep = (ncl[n] >= 0) & (c != ncl[n])
    k = int(max(c.max(initial=-1), ncl.max(initial=-1), unit_cl.max(initial=-1))) + 1
    pair = np.unique(n[keep] * k + c[keep])
    pn, pc = pair // k, pair % k
    # a set of clusters hashes to the wrap-around sums of two 64-bit mixes of its members
    x = pc.astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        m1 = (x * np.uint64(0x9E3779B97F4A7C15)) ^ (x << np.uint64(17))
        m2 = (x * np.uint64(0xC2B2AE3D27D4EB4F)) ^ ((x >> np.uint64(3)) * x)
    h1 = np.zeros(ncl.size, np.uint64)
    h2 = np.zeros(ncl.size, np.uint64)
    np.add.at(h1, pn, m1)
    np.add.at(h2, pn, m2)
    size = np.bincount(pn, minlength=ncl.size)
    live = np.flatnonzero(size > 0)
    key = np.stack([ncl[live].astype(np.uint64), h1[live], h2[live],
                    size[live].astype(np.uint64)], 1)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    group = np.full(ncl.size, -1, np.int64)
    group[live] = inv.ravel()
    rep = live[first]  # one neuron per group: its receivers are the group's
    lens = size[rep]
    at = np.repeat(np.searchsorted(pn, rep) - np.r_[0, np.cumsum(lens)[:-1]], lens)
    dst = pc[at + np.arange(lens.sum())]
    # partial sums: part unit -> (part cluster, soma cluster) group
    parts = np.flatnonzero(target >= 0)
    ps_key = unit_cl[parts] * k + unit_cl[target[parts]]
    ps_pairs, ps_of = np.unique(ps_key, return_inverse=True)
    pgroup = np.full(unit_cl.size, -1, np.int64)
    pgroup[parts] = rep.size + ps_of.ravel()
    n_groups = rep.size + ps_pairs.size
    steps = int(trace.n_steps)
    count = np.zeros((len(trace) * steps, n_groups))
    for i in range(len(trace)):
        nn = np.asarray(trace.neurons[i], np.int64)
        t = np.asarray(trace.steps[i], np.int64)
        g = group[nn]
        ok = g >= 0
        np.add.at(count, (i * steps + t[ok], g[ok]), 1.0)
        # a part unit reached at t sends one partial sum at t + 1 (within the presentation)
        e_of = np.repeat(np.arange(nn.size), ptr[nn + 1] - ptr[nn])
        e = ptr[nn][e_of] + np.arange(e_of.size) - np.repeat(
            np.r_[0, np.cumsum(ptr[nn + 1] - ptr[nn])[:-1]], ptr[nn + 1] - ptr[nn])
        hit = (part[e] >= 0) & (t[e_of] + 1 < steps)
        marks = np.unique((t[e_of][hit] + 1) * unit_cl.size + part[e][hit])
        mt, mu = marks // unit_cl.size, marks % unit_cl.size
        ok = pgroup[mu] >= 0
        np.add.at(count, (i * steps + mt[ok], pgroup[mu][ok]), 1.0)
    return PacketGroups(
        src=np.r_[ncl[rep], ps_pairs // k].astype(np.int64),
        dst_ptr=np.r_[0, np.cumsum(np.r_[lens, np.ones(ps_pairs.size, np.int64)])
                      ].astype(np.int64),
        dst=np.r_[dst, ps_pairs % k].astype(np.int64), count=count)


def group_packets(groups: PacketGroups, core: np.ndarray, k: int, multicast: bool) -> np.ndarray:
    """(T, k) packets the groups' spikes cost under the binding ``core``."""
    gdp, _ = K.dest_cores(core, groups.dst_ptr, groups.dst, int(core.max(initial=0)) + 1,
                          groups.src)
    nd = np.diff(gdp).astype(np.float64)
    mult = (nd > 0).astype(np.float64) if multicast else nd
    out = np.zeros((k, groups.count.shape[0]))
    np.add.at(out, groups.src, (groups.count * mult[None, :]).T)
    return out.T

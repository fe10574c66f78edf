"""Timing terms of the dataflow analysis: the chip in cycles, actor times of a binding.

The delivery bounds are computed by :mod:`snncc.mapping._sdf_delay`; :func:`chain` evaluates one
barrier timestep from per-cluster actor times (the critical path of the SDF graph, fast, for the
binding search).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from snncc.errors import MappingError
from snncc.mapping._sdf_delay import tails
from snncc.mapping.route import Flows
from snncc.mapping.topology import Topology

__all__ = ["Chip", "Terms", "chain", "dest_cores", "receivers", "terms"]


@dataclass(frozen=True, slots=True)
class Chip:
    """The chip's timing and geometry in NoC cycles (barrier and tick rounded up)."""

    clock_hz: float
    barrier: float
    tick: float
    gap: int
    flits: int
    router: int
    link: int
    ilink: int
    multicast: bool
    depth: int
    topo: Topology
    buffer_spikes: int

    @classmethod
    def of(cls, hw: Any) -> Chip:
        """The constants of a :class:`snncc.hw.HardwareModel`."""
        t, noc = hw.timing, hw.noc
        return cls(t.clock_hz, float(np.ceil(t.barrier_s * t.clock_hz - 1e-9)),
                   float(np.ceil(hw.neuron.tick_s * t.clock_hz - 1e-9)),
                   max(1, -(-noc.flits_per_spike // noc.ni_packets_per_cycle)),
                   noc.flits_per_spike, t.router_cycles, t.link_cycles, t.interchip_link_cycles,
                   bool(noc.multicast), noc.buffer_depth, Topology.from_hw(hw),
                   2 * hw.cores_per_tile * hw.core.input_axons)


def receivers(flows: Flows, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct receiving clusters of each of the ``k`` clusters (CSR), from multicast flows."""
    fid = np.repeat(np.arange(flows.n_flows), np.diff(flows.dst_ptr))
    pairs = (np.unique(np.stack([flows.src[fid], flows.dst]), axis=1) if fid.size
             else np.zeros((2, 0), np.int64))
    if pairs.size and pairs.max() >= k:
        raise MappingError(f"flows name cluster {int(pairs.max())}, the profile has {k} clusters")
    ptr = np.r_[0, np.cumsum(np.bincount(pairs[0], minlength=k))].astype(np.int64)
    return ptr, pairs[1].astype(np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class Terms:
    """Actor times of one binding, per cluster: segment, NI, worst delivery bound.

    ``dptr``/``dcore``: distinct destination cores per cluster; ``pair``: the bound per
    (cluster, destination core); ``packets``: (T, k) packets per timestep under the binding;
    ``max_load``: the largest per-timestep link load; ``step_end``: per timestep, the bound on
    its last segment end or delivery (before the barrier); ``stopped``: the analysis gave up
    early (:func:`terms`' ``stop``).
    """

    run: np.ndarray
    send: np.ndarray
    tail: np.ndarray
    dptr: np.ndarray
    dcore: np.ndarray
    pair: np.ndarray
    packets: np.ndarray
    max_load: float
    step_end: np.ndarray
    stopped: bool = False


def terms(profile: Any, rptr: np.ndarray, rcl: np.ndarray, core: np.ndarray, order: np.ndarray,
          chip: Chip, exact: bool = True, window_work: float = 2e6,
          stop: float = np.inf) -> Terms:
    """Actor times of ``profile`` (a :class:`snncc.mapping.sdf.Profile`) under a binding.

    ``exact=False`` analyses one made-up timestep holding every cluster's and group's peak over
    the profile (one pass instead of T: the binding search's objective; not a bound).
    ``window_work``: see :mod:`snncc.mapping._sdf_delay`. ``stop``: give up after the first
    timestep whose bound (before the barrier) exceeds it; the terms then bound only the
    timesteps analysed (``Terms.stopped``).
    """
    topo = chip.topo
    g = profile.groups
    n_t = profile.cycles.shape[0]
    gcount = g.count if g is not None else np.zeros((n_t, 0))
    extra, cycles = profile.extra, profile.cycles
    if not exact and n_t:
        gcount, extra, cycles = (a.max(axis=0, keepdims=True) for a in (gcount, extra, cycles))
    gsrc, gptr, gdst = ((g.src, g.dst_ptr, g.dst) if g is not None else
                        (np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64)))
    k = core.size
    dptr, dcore = dest_cores(core, rptr, rcl, topo.n_cores, np.arange(k))
    gdp, gdc = dest_cores(core, np.asarray(gptr, np.int64), np.asarray(gdst, np.int64),
                          topo.n_cores, np.asarray(gsrc, np.int64))
    seq = np.lexsort((np.arange(k), order, core))
    tail, pair, packets, max_load, step_end = tails(
        core, seq, np.ascontiguousarray(cycles, np.float64), np.asarray(gsrc, np.int64), gdp,
        gdc, np.ascontiguousarray(gcount, np.float64), np.ascontiguousarray(extra, np.float64),
        dptr, dcore, topo.cores_per_tile, *topo.grid, *topo.mesh, chip.router, chip.link,
        chip.ilink, chip.flits, chip.gap, chip.depth, chip.multicast, window_work, stop)
    peak = packets.max(axis=0) if packets.shape[0] else np.zeros(k)
    run = profile.cycles.max(axis=0) if n_t else np.zeros(k)
    return Terms(run, peak * chip.gap, tail, dptr, dcore, pair, packets, float(max_load),
                 step_end, bool(step_end.max(initial=0.0) > stop))


@numba.njit(cache=True)
def dest_cores(core: np.ndarray, dptr: np.ndarray, dcl: np.ndarray, n_cores: int,
               src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    """Distinct destination cores per row of a CSR of clusters, without the row's own core.

    Row ``r`` lists the clusters ``dcl[dptr[r]:dptr[r+1]]``; its own core is ``core[src[r]]``.
    """
    n = dptr.shape[0] - 1
    ptr = np.zeros(n + 1, np.int64)
    out = np.empty(dcl.shape[0], np.int64)
    stamp = np.full(n_cores, -1, np.int64)
    m = 0
    for r in range(n):
        own = core[src[r]]
        stamp[own] = r
        for j in range(dptr[r], dptr[r + 1]):
            d = core[dcl[j]]
            if stamp[d] != r:
                stamp[d] = r
                out[m] = d
                m += 1
        ptr[r + 1] = m
    return ptr, out[:m]


@numba.njit(cache=True)
def chain(seq: np.ndarray, core: np.ndarray, run: np.ndarray, send: np.ndarray,
          tail: np.ndarray) -> tuple[float, int, bool]:  # pragma: no cover - numba
    """Length of one barrier step before the barrier, for clusters run in the order ``seq``.

    ``seq`` lists the clusters core by core, each core's in its static order. Each core runs its
    clusters back to back; a cluster's packets leave the network interface after its segment and
    after the previous cluster's packets; the step's work ends at the last segment or the last
    delivery bound.

    Returns:
        ``(length, cluster, delivery)``: the length in cycles, the cluster that ends it and
        whether its delivery (not its segment) does.
    """
    best, who, deliv = 0.0, -1, False
    t_run = t_send = 0.0
    for i in range(seq.shape[0]):
        c = seq[i]
        if i == 0 or core[c] != core[seq[i - 1]]:
            t_run = t_send = 0.0
        t_run += run[c]
        if t_run > best:
            best, who, deliv = t_run, c, False
        if send[c] > 0 or tail[c] > 0:
            t_send = max(t_send, t_run) + send[c]
            if t_send + tail[c] > best:
                best, who, deliv = t_send + tail[c], c, True
    return best, who, deliv

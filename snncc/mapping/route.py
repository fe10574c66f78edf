"""Dimension-order (XY) multicast routing of spike flows between placed clusters.

A flow is a neuron group's spikes: ``packets`` per inference from a source cluster to a set of
destination clusters. On a chip with multicast (``hw.noc.multicast``) each flow follows the XY
multicast tree from its source tile — the union of the XY paths to the destination tiles, each
link counted once: the row segment of the source tile, then one column segment per destination
column; destination cores on the source tile are intra-tile deliveries (0 hops, ``intra_tile_J``
each), and several destination cores on one remote tile share the tree's last link. Without
multicast the source sends one unicast copy per destination core along its XY path, and hops add
up. Energies are per packet and link, from :meth:`snncc.mapping.topology.Topology.link_energy`
(east-west, north-south, chip-crossing); a destination on the source's own core costs nothing.

Routing tables are source-keyed, as on SpiNNaker and Loihi: a router holds one entry per source
cluster whose tree passes through, starts or ends at its tile, so the entries of a router are
the number of distinct source clusters using it. On XY unicast chips (TrueNorth) routers need no
tables; the count is still reported. The work is one pass over the flows, grouped by source
cluster, in numba: O(total tree size), seconds for 1e5 flows on a 64x64 mesh.

Example:
    >>> import numpy as np
    >>> from snncc.hw import load_hw
    >>> flows = Flows(src=np.array([0]), packets=np.array([10.0]), dst_ptr=np.array([0, 2]),
    ...               dst=np.array([1, 2]))
    >>> r = route(flows, np.array([0, 3, 12]), load_hw("pcm-crossbar"))  # tiles (0,0) (3,0) (12,0)
    >>> r.spike_hops, r.unicast_spike_hops
    (120.0, 150.0)

References:
    Furber et al., "The SpiNNaker project" (Proc. IEEE 2014): source-keyed multicast routing
    tables. Davies et al., "Loihi" (IEEE Micro 2018): dimension-order mesh routing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from snncc.errors import MappingError
from snncc.mapping.topology import Topology

__all__ = ["Flows", "Routing", "flows_from_matrix", "route"]


@dataclass(frozen=True, slots=True, eq=False)
class Flows:
    """Spike flows in CSR form: flow ``f`` goes from ``src[f]`` to ``dst[dst_ptr[f]:dst_ptr[f+1]]``.

    Attributes:
        src: Source cluster of each flow (int, F).
        packets: Spikes per inference of each flow (float, F, >= 0).
        dst_ptr: Offsets into ``dst`` (int64, F + 1), from 0 to ``len(dst)``.
        dst: Destination clusters (int, M): each listed once per flow, never the source.
    """

    src: np.ndarray
    packets: np.ndarray
    dst_ptr: np.ndarray
    dst: np.ndarray

    def __post_init__(self) -> None:
        src, packets = np.asarray(self.src, np.int64), np.asarray(self.packets, np.float64)
        ptr, dst = np.asarray(self.dst_ptr, np.int64), np.asarray(self.dst, np.int64)
        n = src.shape[0] if src.ndim == 1 else -1
        if packets.shape != (n,) or ptr.shape != (n + 1,) or dst.ndim != 1:
            raise MappingError(f"Flows: src {src.shape}, packets {packets.shape}, dst_ptr "
                               f"{ptr.shape}, dst {dst.shape}: need (F,), (F,), (F+1,), (M,)")
        if ptr[0] != 0 or ptr[-1] != dst.size or (np.diff(ptr) < 0).any():
            raise MappingError(f"Flows: dst_ptr must rise from 0 to len(dst) = {dst.size}")
        bad = ~np.isfinite(packets) | (packets < 0)
        if bad.any():
            f = int(np.argmax(bad))
            raise MappingError(f"Flows: flow {f} has {packets[f]} packets (need finite, >= 0)")
        for name, value in (("src", src), ("packets", packets), ("dst_ptr", ptr), ("dst", dst)):
            object.__setattr__(self, name, value)

    @property
    def n_flows(self) -> int:
        """Number of flows F."""
        return int(self.src.shape[0])


def flows_from_matrix(traffic: np.ndarray) -> Flows:
    """One single-destination flow per nonzero off-diagonal ``traffic[i, j]`` (for tests)."""
    t = np.array(traffic, dtype=np.float64)
    np.fill_diagonal(t, 0.0)
    i, j = np.nonzero(t)
    return Flows(src=i, packets=t[i, j], dst_ptr=np.arange(i.size + 1), dst=j)


@dataclass(frozen=True, slots=True, eq=False)
class Routing:
    """Routed flows: NoC load, energy and routing-table use.

    Attributes:
        spike_hops: Σ packets × links of the flow's tree (unicast: of its copies' paths).
        unicast_spike_hops: Σ packets × XY hops to each destination, for comparison.
        energy_J: NoC energy per inference: links × per-link energy + intra-tile deliveries.
        link_load: Packets per inference on each directed link, (n_tiles, 4) over E, W, N, S.
        max_link_load: Largest entry of ``link_load``.
        routing_entries: Source-keyed table entries per router (int64, n_tiles).
        routing_entries_max: Largest entry of ``routing_entries``.
        intra_tile_packets: Σ packets × destination cores on the source's tile (other cores).
        multicast: Whether the flows were routed as multicast trees.
    """

    spike_hops: float
    unicast_spike_hops: float
    energy_J: float
    link_load: np.ndarray
    max_link_load: float
    routing_entries: np.ndarray
    routing_entries_max: int
    intra_tile_packets: float
    multicast: bool

    def check(self, hw: object) -> list[str]:
        """One message per router whose entries exceed ``hw.noc.routing_entries`` (0: no limit)."""
        limit = int(hw.noc.routing_entries)  # type: ignore[attr-defined]
        if limit <= 0:
            return []
        topo = Topology.from_hw(hw)
        return [f"{topo.name}: router at {topo.tile_name(int(t))} needs "
                f"{int(self.routing_entries[t])} routing entries, the chip has {limit} — spread "
                f"the clusters or use fewer source clusters"
                for t in np.flatnonzero(self.routing_entries > limit)]


@numba.njit(cache=True)
def _first_bad_flow(src: np.ndarray, ptr: np.ndarray, dst: np.ndarray,
                    k: int) -> int:  # pragma: no cover - numba
    """The first flow listing its source cluster or a destination twice, else -1."""
    seen = np.full(k, -1, dtype=np.int64)
    for f in range(src.shape[0]):
        seen[src[f]] = f
        for j in range(ptr[f], ptr[f + 1]):
            if seen[dst[j]] == f:
                return f
            seen[dst[j]] = f
    return -1


@numba.njit(cache=True)
def _stamp(t: int, c: int, stamp: np.ndarray, entries: np.ndarray) -> None:  # pragma: no cover
    if stamp[t] != c:
        stamp[t] = c
        entries[t] += 1


@numba.njit(cache=True)
def _tree(p: float, c: int, xs: int, ys: int, xmin: int, xmax: int, cols: np.ndarray,
          colmin: np.ndarray, colmax: np.ndarray, gx: int, load: np.ndarray, stamp: np.ndarray,
          entries: np.ndarray) -> int:  # pragma: no cover - numba
    """Load the multicast tree: the source row, then one segment per column; return its links."""
    for x in range(xs, xmax):
        load[(ys * gx + x) * 4] += p
    for x in range(xmin + 1, xs + 1):
        load[(ys * gx + x) * 4 + 1] += p
    for x in range(xmin, xmax + 1):
        _stamp(ys * gx + x, c, stamp, entries)
    links = xmax - xmin
    for x in cols:
        y0, y1 = min(colmin[x], ys), max(colmax[x], ys)
        for y in range(ys, y1):
            load[(y * gx + x) * 4 + 2] += p
        for y in range(y0 + 1, ys + 1):
            load[(y * gx + x) * 4 + 3] += p
        for y in range(y0, y1 + 1):
            _stamp(y * gx + x, c, stamp, entries)
        links += y1 - y0
        colmax[x] = -1  # reset the scratch column
    return links


@numba.njit(cache=True)
def _route(order: np.ndarray, src: np.ndarray, s_core: np.ndarray, packets: np.ndarray,
           ptr: np.ndarray, d_core: np.ndarray, cpt: int, gx: int, n_tiles: int,
           multicast: bool):  # pragma: no cover - numba
    load = np.zeros(n_tiles * 4)
    entries = np.zeros(n_tiles, dtype=np.int64)
    stamp = np.full(n_tiles, -1, dtype=np.int64)
    colmin = np.zeros(gx, dtype=np.int64)
    colmax = np.full(gx, -1, dtype=np.int64)
    cols = np.empty(gx, dtype=np.int64)
    hops = 0.0
    intra = 0.0
    for f in order:
        p, c, ts = packets[f], src[f], s_core[f] // cpt
        xs, ys = ts % gx, ts // gx
        ncol, xmin, xmax, links, used = 0, xs, xs, 0, False
        for j in range(ptr[f], ptr[f + 1]):
            if d_core[j] == s_core[f]:
                continue  # same core: no NoC traffic
            used = True
            td = d_core[j] // cpt
            if td == ts:
                intra += p
                continue
            xd, yd = td % gx, td // gx
            if multicast:  # collect the tree's extent: row span, per-column y span
                if colmax[xd] < 0:
                    cols[ncol] = xd
                    ncol += 1
                    colmin[xd] = colmax[xd] = yd
                colmin[xd], colmax[xd] = min(colmin[xd], yd), max(colmax[xd], yd)
                xmin, xmax = min(xmin, xd), max(xmax, xd)
                continue
            x, y = xs, ys  # unicast copy: walk the XY path
            while x != xd:
                load[(y * gx + x) * 4 + (0 if xd > x else 1)] += p
                _stamp(y * gx + x, c, stamp, entries)
                x += 1 if xd > x else -1
            while y != yd:
                load[(y * gx + x) * 4 + (2 if yd > y else 3)] += p
                _stamp(y * gx + x, c, stamp, entries)
                y += 1 if yd > y else -1
            _stamp(td, c, stamp, entries)
            links += abs(xd - xs) + abs(yd - ys)
        if not used:
            continue
        _stamp(ts, c, stamp, entries)
        if multicast:
            links += _tree(p, c, xs, ys, xmin, xmax, cols[:ncol], colmin, colmax, gx, load, stamp,
                           entries)
        hops += p * links
    return load, entries, hops, intra


def route(flows: Flows, core_of_cluster: np.ndarray, hw: object) -> Routing:
    """Route ``flows`` between the clusters placed at ``core_of_cluster`` on chip ``hw``.

    Args:
        flows: The spike flows (cluster ids index ``core_of_cluster``).
        core_of_cluster: Core slot of each cluster (e.g. ``Placement.core_of_cluster``).
        hw: The chip model: grid, energies and ``noc.multicast``.

    Returns:
        The :class:`Routing`: per-link load, energy, hops and routing-table entries.

    Raises:
        MappingError: A cluster id or core slot out of range, a flow listing its own source
            cluster or a destination twice.
    """
    topo = Topology.from_hw(hw)
    core = np.asarray(core_of_cluster, dtype=np.int64)
    k = core.shape[0]
    if core.size and (core.min() < 0 or core.max() >= topo.n_cores):
        raise MappingError(f"route: core_of_cluster has slots outside 0..{topo.n_cores - 1} "
                           f"({topo.name})")
    for name, ids in (("src", flows.src), ("dst", flows.dst)):
        if ids.size and (ids.min() < 0 or ids.max() >= k):
            raise MappingError(f"route: flows.{name} has cluster ids outside 0..{k - 1}")
    f = _first_bad_flow(flows.src, flows.dst_ptr, flows.dst, k)
    if f >= 0:
        dst = flows.dst[flows.dst_ptr[f]:flows.dst_ptr[f + 1]]
        raise MappingError(f"route: flow {f} (source cluster {flows.src[f]}) lists its source or "
                           f"a destination twice: {dst}")
    fid = np.repeat(np.arange(flows.n_flows), np.diff(flows.dst_ptr))
    multicast = bool(hw.noc.multicast)  # type: ignore[attr-defined]
    s_core, d_core = core[flows.src], core[flows.dst]
    load, entries, hops, intra = _route(
        np.argsort(flows.src, kind="stable"), flows.src, s_core, flows.packets, flows.dst_ptr,
        d_core, topo.cores_per_tile, topo.grid[0], topo.n_tiles, multicast)
    load = load.reshape(topo.n_tiles, 4)
    unicast = float((flows.packets[fid] * topo.hops(s_core[fid], d_core)).sum())
    energy = float((load * topo.link_energy()).sum() + intra * topo.energy[3])
    return Routing(spike_hops=float(hops), unicast_spike_hops=unicast, energy_J=energy,
                   link_load=load, max_link_load=float(load.max(initial=0.0)),
                   routing_entries=entries, routing_entries_max=int(entries.max(initial=0)),
                   intra_tile_packets=float(intra), multicast=multicast)

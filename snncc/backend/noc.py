"""Cycle-accurate simulation of spike packets on a 2D-mesh network-on-chip.

Routers sit on a ``width x height`` grid (router ``r`` at ``x = r % width``, ``y = r // width``,
as in :mod:`snncc.mapping.route`). Each router has five input ports, each an input buffer of
``buffer_depth`` flits: four fed by the neighbours' links and ``local``, fed one flit per cycle by
an unbounded FIFO injection queue. Output ports are the four links E (+x), W (-x), N (+y), S (-y)
and ``eject`` (delivery to the tile's cores). A packet is ``flits`` flits moved by virtual
cut-through. The model, per packet and router:

- a packet whose head enters an input buffer at cycle ``a`` may request outputs from cycle
  ``a + router_cycles`` (the router pipeline) once it is at the head of its buffer;
- an output grants one packet per cycle, round-robin over the requesting inputs, and is then busy
  for ``flits`` cycles; a link output grants only if the downstream input buffer has ``flits``
  free slots, counting flits in flight to it (credits);
- a packet granted link ``o`` of router ``r`` at cycle ``c`` enters the downstream buffer at
  ``c + link_cycles[r, o]``; one granted ``eject`` at ``c`` is delivered when its tail leaves, at
  ``c + flits - 1``; ejection never back-pressures;
- routing is dimension order (XY) with multicast: a packet travels its source row, branches into
  each destination column, and ejects at each destination router — the tree of
  :func:`snncc.mapping.route.route`. A branching router replicates asynchronously: each output is
  granted on its own; the packet leaves its buffer when all its branches are granted. Branches
  of one packet may be granted in the same cycle (the crossbar broadcasts a flit), but an input
  starts its next packet only after the previous packet's tail has left: from ``c + flits`` for a
  last grant at ``c``. Its ``flits`` buffer slots are returned to the upstream router then (for
  1-flit packets, a credit is usable the cycle after the grant that frees it);
- the injection queue serves packets in order of ready cycle, then packet index; a packet enters
  the local input buffer when it has ``flits`` free slots, one packet per ``flits`` cycles.

Zero-load latency, from the cycle the packet is ready in its source's injection queue to the
cycle its tail is delivered at a destination ``h`` links away (for uniform ``link_cycles``)::

    h * (router_cycles + link_cycles) + router_cycles + (flits - 1)

(the last ``router_cycles`` is the destination router's pipeline before ejection; for a
destination on the source tile ``h = 0``). With per-link cycles, ``h * link_cycles`` becomes the
sum over the XY path; :func:`zero_load_latency` computes it.

Packets are grouped in independent phases (one phase = one algorithmic timestep): the network
starts empty and the phase ends when all its packets are delivered; cycles are relative to the
phase start. The simulation is event-driven: it jumps over cycles in which no flit is ready and,
in each cycle, visits only the routers with a ready flit (a timing wheel holds the cycle at which
each buffer's head becomes ready). XY routing with virtual cut-through and asynchronous
replication has an acyclic channel-dependency graph, so it cannot deadlock; the watchdog
(``max_idle_cycles`` cycles without a grant or an injection while a ready flit waits) guards
against model bugs and pathological parameters. Results are deterministic and do not depend on
the order in which routers are visited within a cycle (a test checks them cycle for cycle against
a naive every-router-every-cycle implementation).

Example:
    >>> import numpy as np
    >>> mesh = NocMesh(4, 4, router_cycles=2, link_cycles=1, buffer_depth=4)
    >>> res = simulate_noc(mesh, np.array([0, 1]), np.array([0]), np.array([0]),
    ...                    np.array([0, 2]), np.array([3, 15]))  # (0,0) -> (3,0) and (3,3)
    >>> res.deliver.tolist(), res.flit_hops  # 3*3+2 and 6*3+2 cycles; a 6-link tree
    ([11, 20], 6)

References:
    Dally & Towles, "Principles and Practices of Interconnection Networks" (2004): credit-based
    flow control, virtual cut-through, zero-load latency and the bisection bound. Jiang et al.,
    "A detailed and flexible cycle-accurate network-on-chip simulator" (BookSim 2, ISPASS 2013).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from snncc.errors import SimulationError

__all__ = ["NocMesh", "NocResult", "simulate_noc", "zero_load_latency"]

INPUTS = ("from W", "from E", "from S", "from N", "local")  # indexed by the link's direction
_STEP = ((1, 0), (-1, 0), (0, 1), (0, -1))
LOW = np.array([0] + [(m & -m).bit_length() - 1 for m in range(1, 32)], dtype=np.int64)
XY_BIT = np.array([16, 4, 2, 8, 1], dtype=np.int64)  # eject N W S E: see _xy_bit
POP = np.array([m.bit_count() for m in range(32)], dtype=np.int64)  # 5-bit port sets
# columns of the kernel's state tables: per router; per (router, port) — input buffer ``port``
# and output ``port``; per buffer slot
QHEAD, QTAIL, QLEN, INJ_BUSY, MARK, SEEN, NEMP = range(7)
HEAD, COUNT, OCC, PEND, PEND_AT, IN_BUSY, OUT_BUSY, RR = range(8)
PKT, READY, MASK = range(3)


@dataclass(frozen=True, slots=True, eq=False)
class NocMesh:
    """A 2D mesh of routers and its timing (see the module docstring for the router model).

    Attributes:
        width: Routers along x.
        height: Routers along y.
        router_cycles: Router pipeline cycles before a flit may request an output (>= 0).
        link_cycles: Cycles to traverse each output link E/W/N/S of each router, int64
            ``(width * height, 4)``; an int is broadcast. Entries of links off the grid are unused.
        buffer_depth: Flits per input buffer (>= ``flits``).
        flits: Flits per packet (>= 1).
    """

    width: int
    height: int
    router_cycles: int
    link_cycles: np.ndarray
    buffer_depth: int
    flits: int = 1

    def __post_init__(self) -> None:
        w, h, rc, d, f = (int(v) for v in (self.width, self.height, self.router_cycles,
                                           self.buffer_depth, self.flits))
        if min(w, h, f) < 1 or rc < 0:
            raise SimulationError(f"NocMesh: need width, height, flits >= 1 and router_cycles "
                                  f">= 0 (got {w}x{h}, flits {f}, router_cycles {rc})")
        if d < f:
            raise SimulationError(f"NocMesh: buffer_depth {d} cannot hold a packet of {f} flits "
                                  f"(virtual cut-through needs buffer_depth >= flits)")
        lc = np.asarray(self.link_cycles)
        if (lc.ndim and lc.shape != (w * h, 4)) or not np.issubdtype(lc.dtype, np.integer):
            raise SimulationError(f"NocMesh: link_cycles must be an int or integers of shape "
                                  f"({w * h}, 4) (got shape {lc.shape}, dtype {lc.dtype})")
        lc = np.array(np.broadcast_to(lc, (w * h, 4)), dtype=np.int64)
        if (lc < 0).any() or (rc == 0 and (lc == 0).any()):
            raise SimulationError(f"NocMesh: link_cycles must be >= 0 with router_cycles + "
                                  f"link_cycles >= 1 per hop (got min {lc.min()}, "
                                  f"router_cycles {rc})")
        lc.setflags(write=False)
        for name, value in (("width", w), ("height", h), ("router_cycles", rc),
                            ("link_cycles", lc), ("buffer_depth", d), ("flits", f)):
            object.__setattr__(self, name, value)

    @classmethod
    def from_hw(cls, hw: Any) -> NocMesh:
        """The NoC of chip model ``hw`` (its global tile grid, timing and ``noc`` section).

        Links whose two tiles lie on different chips take ``timing.interchip_link_cycles``, the
        others ``timing.link_cycles``; buffers and packets are ``noc.buffer_depth`` and
        ``noc.flits_per_spike`` flits.
        """
        from snncc.mapping.topology import Topology

        topo = Topology.from_hw(hw)
        gx, gy = topo.grid
        chip = topo.core_chip[::topo.cores_per_tile]
        t = np.arange(gx * gy)
        x, y = t % gx, t // gx
        cross = np.zeros((gx * gy, 4), dtype=bool)
        for o, (dx, dy) in enumerate(_STEP):
            on = (x + dx >= 0) & (x + dx < gx) & (y + dy >= 0) & (y + dy < gy)
            cross[on, o] = chip[t[on]] != chip[t[on] + dx + dy * gx]
        tm = hw.timing
        lc = np.where(cross, int(tm.interchip_link_cycles), int(tm.link_cycles))
        return cls(gx, gy, int(tm.router_cycles), lc, int(hw.noc.buffer_depth),
                   int(hw.noc.flits_per_spike))

    @property
    def n_routers(self) -> int:
        """Number of routers (tiles)."""
        return self.width * self.height

    def router_name(self, r: int) -> str:
        """``"router 9 (x 1, y 1)"``, for messages."""
        return f"router {r} (x {r % self.width}, y {r // self.width})"


@dataclass(frozen=True, slots=True, eq=False)
class NocResult:
    """What :func:`simulate_noc` measured. Cycles are relative to each phase's start.

    Attributes:
        deliver: Cycle at which packet ``p``'s copy reached ``dst[j]`` (its tail was ejected),
            int64 (M,), aligned with ``dst``.
        drain: Last delivery cycle of each phase, int64 (n_phases,); 0 for a phase without
            deliveries.
        link_flits: Flits sent on each output link E/W/N/S of each router, int64 (n_routers, 4).
        router_flits: Flits switched by each router, int64 (n_routers,): every output grant
            (links and ejection) counts ``flits``, so a packet's source, every router on its
            tree and each ejection count.
        flit_hops: Total flit link traversals (``link_flits.sum()``).
        cycles: Simulated cycles, the sum of ``drain``.
        max_buffer: Largest input-buffer occupancy seen, in flits, counting flits in flight to the
            buffer (what credits bound: never above ``buffer_depth``).
        stall_cycles: Input-port cycles in which a ready head packet won no output (contention or
            back-pressure).
        max_queue: Longest injection queue seen, in packets.
    """

    deliver: np.ndarray
    drain: np.ndarray
    link_flits: np.ndarray
    router_flits: np.ndarray
    flit_hops: int
    cycles: int
    max_buffer: int
    stall_cycles: int
    max_queue: int

    def latency(self, inject: np.ndarray, dst_ptr: np.ndarray) -> np.ndarray:
        """Delivery minus ready cycle of every (packet, destination), int64 (M,)."""
        return self.deliver - np.repeat(np.asarray(inject, np.int64), np.diff(dst_ptr))


@numba.njit(cache=True)
def _lower(a: np.ndarray, lo: int, hi: int, v: int) -> int:  # pragma: no cover - numba
    """First index in ``[lo, hi)`` with ``a[i] >= v`` (``a`` sorted there)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True)
def _xy_bit(dx: int, dy: int) -> int:  # pragma: no cover - numba
    """The output bit of a unicast packet whose destination is ``(dx, dy)`` away (branch-free)."""
    return XY_BIT[4 * (dx > 0) + 2 * (dx < 0) + (dx == 0) * ((dy > 0) + 3 * (dy < 0))]


@numba.njit(cache=True)
def _outputs(lo: int, hi: int, skey: np.ndarray, sx: np.ndarray, sy: np.ndarray, x: int, y: int,
             port: int, gy: int) -> int:  # pragma: no cover - numba
    """Output bits (E W N S eject) of a packet at router ``(x, y)`` that came in on ``port``.

    ``skey[lo:hi]`` are the packet's destinations as ``x * gy + y``, sorted; ``sx``, ``sy`` their
    coordinates.
    """
    m = 0
    north = south = True
    if port == 4 or port <= 1:  # still on the source row
        if port != 1 and sx[hi - 1] > x:
            m |= 1
        if port != 0 and sx[lo] < x:
            m |= 2
    else:
        north, south = port == 2, port == 3
    a = _lower(skey, lo, hi, x * gy)
    b = _lower(skey, a, hi, x * gy + gy)
    if a < b:
        if north and sy[b - 1] > y:
            m |= 4
        if south and sy[a] < y:
            m |= 8
        k = _lower(skey, a, b, x * gy + y)
        if k < b and skey[k] == x * gy + y:
            m |= 16
    return m


@numba.njit(cache=True)
def _run(gx: int, gy: int, rc: int, link: np.ndarray, depth: int, nf: int,
         phase_ptr: np.ndarray, inject: np.ndarray, src: np.ndarray, dst_ptr: np.ndarray,
         skey: np.ndarray, sperm: np.ndarray, order: np.ndarray,
         max_idle: int):  # pragma: no cover - numba
    n = gx * gy
    cap = depth // nf  # packets per input buffer
    n_ph = phase_ptr.shape[0] - 1
    rx = np.arange(n) % gx
    ry = np.arange(n) // gx
    sx = skey // gy
    sy = skey - sx * gy
    nbr = np.full((n, 4), -1, dtype=np.int64)
    for r in range(n):
        if rx[r] + 1 < gx:
            nbr[r, 0] = r + 1
        if rx[r] > 0:
            nbr[r, 1] = r - 1
        if ry[r] + 1 < gy:
            nbr[r, 2] = r + gx
        if ry[r] > 0:
            nbr[r, 3] = r - gx
    wsize = 2
    while wsize < link.max() + rc + 2:
        wsize *= 2
    wmask = wsize - 1
    # state tables, one cache line per row (columns: the constants above the function)
    rt = np.zeros((n, 8), dtype=np.int64)
    rt[:, QHEAD] = rt[:, QTAIL] = rt[:, MARK] = rt[:, SEEN] = -1
    pt = np.zeros((n * 5, 8), dtype=np.int64)
    pt[:, RR] = 4
    ent = np.empty((n * 5 * cap, 4), dtype=np.int64)  # a ring of cap slots per input buffer
    qnext = np.full(inject.shape[0], -1, dtype=np.int64)  # injection queues: linked lists
    touched = np.empty(n, dtype=np.int64)
    # timing wheel of wake-ups: at most one pending per input buffer (its head, not yet ready)
    wheel = np.full(wsize, -1, dtype=np.int64)
    ev_r = np.zeros(n * 5 + 1, dtype=np.int64)
    ev_next = np.arange(1, n * 5 + 2, dtype=np.int64)
    ev_next[-1] = -1
    free = 0
    n_ev = 0
    awake = np.empty(2 * n, dtype=np.int64)  # routers to visit this cycle / the next: halves
    reqin = np.zeros(5, dtype=np.int64)
    deliver = np.full(skey.shape[0], -1, dtype=np.int64)
    drain = np.zeros(n_ph, dtype=np.int64)
    link_flits = np.zeros((n, 4), dtype=np.int64)
    router_flits = np.zeros(n, dtype=np.int64)
    stats = np.zeros(5, dtype=np.int64)  # flit_hops, cycles, max_buffer, stall, max_queue
    err = np.full(5, -1, dtype=np.int64)  # phase, cycle, router, port, packet
    for k in range(n_ph):
        p0 = phase_ptr[k]
        p1 = phase_ptr[k + 1]
        expected = dst_ptr[p1] - dst_ptr[p0]
        if expected == 0:
            continue
        ip = p0
        t = inject[order[p0]]
        done = 0
        last = 0
        idle = 0
        n_nxt = 0
        n_touched = 0
        cur = n
        nxt = 0
        while True:
            cur = nxt  # swap halves: the routers still awake from the last cycle (marked t)
            nxt = n - cur
            n_cur = n_nxt
            while ip < p1 and inject[order[ip]] == t:
                p = order[ip]
                ip += 1
                if dst_ptr[p + 1] == dst_ptr[p]:
                    continue
                r = src[p]
                if rt[r, QTAIL] < 0:
                    rt[r, QHEAD] = p
                else:
                    qnext[rt[r, QTAIL]] = p
                rt[r, QTAIL] = p
                rt[r, QLEN] += 1
                if rt[r, QLEN] > stats[4]:
                    stats[4] = rt[r, QLEN]
                if rt[r, MARK] != t:
                    rt[r, MARK] = t
                    awake[cur + n_cur] = r
                    n_cur += 1
            node = wheel[t & wmask]
            wheel[t & wmask] = -1
            while node >= 0:
                r = ev_r[node]
                nn = ev_next[node]
                ev_next[node] = free
                free = node
                n_ev -= 1
                node = nn
                if rt[r, MARK] != t:
                    rt[r, MARK] = t
                    awake[cur + n_cur] = r
                    n_cur += 1
            moved = False
            n_nxt = 0
            for a in range(n_cur):
                r = awake[cur + a]
                base = r * 5
                if rt[r, SEEN] != k:
                    rt[r, SEEN] = k
                    touched[n_touched] = r
                    n_touched += 1
                # injection queue -> local input buffer, one flit per cycle
                b = base + 4
                p = rt[r, QHEAD]
                if p >= 0 and rt[r, INJ_BUSY] <= t:
                    o_eff = pt[b, OCC] - (pt[b, PEND] if pt[b, PEND_AT] <= t else 0)
                    if o_eff + nf <= depth:
                        rt[r, QHEAD] = qnext[p]
                        if qnext[p] < 0:
                            rt[r, QTAIL] = -1
                        rt[r, QLEN] -= 1
                        e = pt[b, HEAD] + pt[b, COUNT]
                        e = b * cap + (e - cap if e >= cap else e)
                        ent[e, PKT] = p
                        ent[e, READY] = t + rc
                        lo = dst_ptr[p]
                        hi = dst_ptr[p + 1]
                        if hi - lo == 1:  # unicast: plain XY
                            ent[e, MASK] = _xy_bit(sx[lo] - rx[r], sy[lo] - ry[r])
                        else:
                            ent[e, MASK] = _outputs(lo, hi, skey, sx, sy, rx[r], ry[r], 4, gy)
                        if pt[b, COUNT] == 0:
                            rt[r, NEMP] |= 16
                            if rc > 0:  # wake router r when the packet is ready
                                node = free
                                free = ev_next[node]
                                ev_r[node] = r
                                ev_next[node] = wheel[(t + rc) & wmask]
                                wheel[(t + rc) & wmask] = node
                                n_ev += 1
                        pt[b, COUNT] += 1
                        pt[b, OCC] += nf
                        if o_eff + nf > stats[2]:
                            stats[2] = o_eff + nf
                        rt[r, INJ_BUSY] = t + nf
                        moved = True
                # requests: the ready head packet of each input not still sending a tail;
                # reqin[o] = the inputs requesting output o (bit sets, scanned with LOW)
                anyreq = 0
                asked = 0
                bits = rt[r, NEMP]
                while bits:
                    i = LOW[bits]
                    bits &= bits - 1
                    if pt[base + i, IN_BUSY] <= t:
                        e = (base + i) * cap + pt[base + i, HEAD]
                        if ent[e, READY] <= t:
                            m = ent[e, MASK]
                            anyreq |= m
                            asked |= 1 << i
                            while m:
                                reqin[LOW[m]] |= 1 << i
                                m &= m - 1
                won = 0
                while anyreq:
                    o = LOW[anyreq]
                    anyreq &= anyreq - 1
                    cand = reqin[o]
                    reqin[o] = 0
                    if pt[base + o, OUT_BUSY] > t:
                        continue
                    db = 0
                    d_eff = 0
                    if o < 4:
                        db = nbr[r, o] * 5 + o
                        d_eff = pt[db, OCC] - (pt[db, PEND] if pt[db, PEND_AT] <= t else 0)
                        if d_eff + nf > depth:
                            continue
                    after = cand & ~((2 << pt[base + o, RR]) - 1)  # round robin: first after RR
                    i = LOW[after] if after else LOW[cand]
                    pt[base + o, RR] = i
                    pt[base + o, OUT_BUSY] = t + nf
                    router_flits[r] += nf
                    won |= 1 << i
                    moved = True
                    b = base + i
                    e = b * cap + pt[b, HEAD]
                    p = ent[e, PKT]
                    if o < 4:
                        link_flits[r, o] += nf
                        stats[0] += nf
                        nb = nbr[r, o]
                        ready = t + link[r, o] + rc
                        f = pt[db, HEAD] + pt[db, COUNT]
                        f = db * cap + (f - cap if f >= cap else f)
                        ent[f, PKT] = p
                        ent[f, READY] = ready
                        lo = dst_ptr[p]
                        hi = dst_ptr[p + 1]
                        if hi - lo == 1:
                            ent[f, MASK] = _xy_bit(sx[lo] - rx[nb], sy[lo] - ry[nb])
                        else:
                            ent[f, MASK] = _outputs(lo, hi, skey, sx, sy, rx[nb], ry[nb], o, gy)
                        if pt[db, COUNT] == 0:  # wake router nb when the packet is ready
                            rt[nb, NEMP] |= 1 << o
                            node = free
                            free = ev_next[node]
                            ev_r[node] = nb
                            ev_next[node] = wheel[ready & wmask]
                            wheel[ready & wmask] = node
                            n_ev += 1
                        pt[db, COUNT] += 1
                        pt[db, OCC] += nf
                        if d_eff + nf > stats[2]:
                            stats[2] = d_eff + nf
                    else:
                        lo = dst_ptr[p]
                        hi = dst_ptr[p + 1]
                        j = lo if hi - lo == 1 else _lower(skey, lo, hi, rx[r] * gy + ry[r])
                        deliver[sperm[j]] = t + nf - 1
                        if t + nf - 1 > last:
                            last = t + nf - 1
                        done += 1
                    ent[e, MASK] &= ~(1 << o)
                    if ent[e, MASK] == 0:  # all branches granted: the packet leaves its buffer
                        pt[b, HEAD] = 0 if pt[b, HEAD] == cap - 1 else pt[b, HEAD] + 1
                        pt[b, COUNT] -= 1
                        pt[b, IN_BUSY] = t + nf
                        pt[b, OCC] -= pt[b, PEND]  # the last release is due (IN_BUSY kept us out)
                        pt[b, PEND] = nf
                        pt[b, PEND_AT] = t + nf
                        if pt[b, COUNT] == 0:
                            rt[r, NEMP] &= ~(1 << i)
                        else:
                            e = b * cap + pt[b, HEAD]
                            if ent[e, READY] > t:  # wake router r when the next is ready
                                node = free
                                free = ev_next[node]
                                ev_r[node] = r
                                ev_next[node] = wheel[ent[e, READY] & wmask]
                                wheel[ent[e, READY] & wmask] = node
                                n_ev += 1
                stats[3] += POP[asked & ~won]
                stay = rt[r, QHEAD] >= 0
                bits = rt[r, NEMP]
                while bits and not stay:  # a ready head that must retry next cycle
                    i = LOW[bits]
                    bits &= bits - 1
                    stay = ent[(base + i) * cap + pt[base + i, HEAD], READY] <= t
                if stay:
                    rt[r, MARK] = t + 1
                    awake[nxt + n_nxt] = r
                    n_nxt += 1
            if done == expected:
                break
            if n_nxt > 0:
                idle = 0 if moved else idle + 1
                if idle > max_idle:  # name a stuck flit
                    err[0] = k
                    err[1] = t
                    for a in range(n_nxt):
                        r = awake[nxt + a]
                        for i in range(5):
                            if pt[r * 5 + i, COUNT] > 0:
                                err[2] = r
                                err[3] = i
                                err[4] = ent[(r * 5 + i) * cap + pt[r * 5 + i, HEAD], PKT]
                                break
                        if err[2] < 0 and rt[r, QHEAD] >= 0:
                            err[2] = r
                            err[3] = 5
                            err[4] = rt[r, QHEAD]
                        if err[2] >= 0:
                            break
                    return deliver, drain, link_flits, router_flits, stats, err
                t += 1
                continue
            idle = 0
            tn = inject[order[ip]] if ip < p1 else -1
            if n_ev > 0:
                for d in range(1, wsize):
                    if wheel[(t + d) & wmask] >= 0:
                        if tn < 0 or t + d < tn:
                            tn = t + d
                        break
            if tn < 0:  # nothing left to happen, yet deliveries are missing
                err[0] = k
                err[1] = t
                return deliver, drain, link_flits, router_flits, stats, err
            t = tn
        drain[k] = last
        stats[1] += last
        for a in range(n_touched):  # the network is empty again: reset the routers' clocks
            r = touched[a]
            rt[r, MARK] = -1
            rt[r, INJ_BUSY] = 0
            for i in range(r * 5, r * 5 + 5):
                pt[i, OCC:] = 0  # OCC, PEND, PEND_AT, IN_BUSY, OUT_BUSY
                pt[i, RR] = 4
    return deliver, drain, link_flits, router_flits, stats, err


@numba.njit(cache=True)
def _sorted_segments(ptr: np.ndarray, key: np.ndarray) -> bool:  # pragma: no cover - numba
    """Whether ``key`` is non-decreasing within each segment ``ptr[k]:ptr[k+1]``."""
    for k in range(ptr.shape[0] - 1):
        for i in range(ptr[k] + 1, ptr[k + 1]):
            if key[i] < key[i - 1]:
                return False
    return True


def _sort_segments(ptr: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Indices sorting ``key`` stably within each segment (O(n) when it already is)."""
    if _sorted_segments(ptr, key):
        return np.arange(key.shape[0])
    return np.lexsort((key, np.repeat(np.arange(ptr.shape[0] - 1), np.diff(ptr))))


def _check(mesh: NocMesh, phase_ptr: Any, inject: Any, src: Any, dst_ptr: Any,
           dst: Any) -> tuple[np.ndarray, ...]:
    """Validate and convert the inputs of :func:`simulate_noc` (raises SimulationError)."""
    arrays = {}
    for name, value in (("phase_ptr", phase_ptr), ("inject", inject), ("src", src),
                        ("dst_ptr", dst_ptr), ("dst", dst)):
        a = np.asarray(value)
        if a.ndim != 1 or not (a.size == 0 or np.issubdtype(a.dtype, np.integer)):
            raise SimulationError(f"simulate_noc: {name} must be a 1-D integer array "
                                  f"(got shape {a.shape}, dtype {a.dtype})")
        arrays[name] = a.astype(np.int64)
    ph, inj, s, ptr, d = arrays.values()
    n_p, n = inj.shape[0], mesh.n_routers
    if s.shape != (n_p,) or ptr.shape != (n_p + 1,) or ph.shape[0] < 1:
        raise SimulationError(f"simulate_noc: inject {inj.shape}, src {s.shape}, dst_ptr "
                              f"{ptr.shape}, phase_ptr {ph.shape}: need (P,), (P,), (P+1,), "
                              f"(n_phases+1,)")
    for name, ptr_, size in (("phase_ptr", ph, n_p), ("dst_ptr", ptr, d.shape[0])):
        if ptr_[0] != 0 or ptr_[-1] != size or (np.diff(ptr_) < 0).any():
            raise SimulationError(f"simulate_noc: {name} must rise from 0 to {size}")
    if n_p and inj.min() < 0:
        p = int(np.argmin(inj))
        raise SimulationError(f"simulate_noc: inject[{p}] = {inj[p]} is negative")
    for name, ids in (("src", s), ("dst", d)):
        bad = (ids < 0) | (ids >= n)
        if bad.any():
            i = int(np.argmax(bad))
            raise SimulationError(f"simulate_noc: {name}[{i}] = {ids[i]} is not a router of the "
                                  f"{mesh.width}x{mesh.height} mesh (0..{n - 1})")
    return ph, inj, s, ptr, d


def simulate_noc(mesh: NocMesh, phase_ptr: Any, inject: Any, src: Any, dst_ptr: Any, dst: Any,
                 *, max_idle_cycles: int = 100_000) -> NocResult:
    """Simulate packets on ``mesh`` cycle by cycle, phase by phase (see the module docstring).

    Args:
        mesh: The routers, links and their timing.
        phase_ptr: int64 (n_phases + 1): packets ``phase_ptr[k]:phase_ptr[k+1]`` form phase k.
        inject: int64 (P): cycle, from its phase's start, at which each packet is ready in its
            source's injection queue (served in order of this cycle, then of packet index).
        src: int (P): source router of each packet.
        dst_ptr: int64 (P + 1): packet ``p`` goes to ``dst[dst_ptr[p]:dst_ptr[p+1]]``.
        dst: int (M): destination routers, distinct per packet; the source router itself means
            delivery to another core of its tile. A packet without destinations is dropped.
        max_idle_cycles: Raise if no flit moves for this many cycles while flits wait.

    Returns:
        The :class:`NocResult`: delivery cycles, drain per phase, link and router loads.

    Raises:
        SimulationError: Bad shapes, a router out of range, a destination listed twice, or the
            watchdog fired (naming the phase, router, input port and packet).
    """
    ph, inj, s, ptr, d = _check(mesh, phase_ptr, inject, src, dst_ptr, dst)
    gx, gy = mesh.width, mesh.height
    key = (d % gx) * gy + d // gx  # x-major, so a destination column is one sorted run
    perm = _sort_segments(ptr, key)
    skey = key[perm]
    dup = np.flatnonzero(skey[1:] == skey[:-1]) + 1
    dup = dup[np.searchsorted(ptr, dup, side="right") - 1 == np.searchsorted(ptr, dup - 1,
                                                                           side="right") - 1]
    if dup.size:
        p = int(np.searchsorted(ptr, dup[0], side="right") - 1)
        raise SimulationError(f"simulate_noc: packet {p} lists destination router "
                              f"{d[perm[dup[0]]]} twice")
    order = _sort_segments(ph, inj)
    deliver, drain, link_flits, router_flits, stats, err = _run(
        gx, gy, mesh.router_cycles, mesh.link_cycles, mesh.buffer_depth, mesh.flits, ph, inj,
        s, ptr, skey, perm, order, int(max_idle_cycles))
    if err[0] >= 0:
        k, t, r, port, p = (int(v) for v in err)
        if r < 0:
            raise SimulationError(f"simulate_noc: phase {k} stopped at cycle {t} with "
                                  f"deliveries missing (internal error)")
        where = ("its injection queue" if port == 5 else f"input {INPUTS[port]}")
        raise SimulationError(f"simulate_noc: phase {k}: no flit moved for {max_idle_cycles} "
                              f"cycles (cycle {t}); {mesh.router_name(r)} holds packet {p} in "
                              f"{where} (deadlock or livelock)")
    return NocResult(deliver=deliver, drain=drain, link_flits=link_flits,
                     router_flits=router_flits, flit_hops=int(stats[0]), cycles=int(stats[1]),
                     max_buffer=int(stats[2]), stall_cycles=int(stats[3]),
                     max_queue=int(stats[4]))


@numba.njit(cache=True)
def _path_cycles(gx: int, rc: int, link: np.ndarray, s: np.ndarray,
                 d: np.ndarray) -> np.ndarray:  # pragma: no cover - numba
    out = np.empty(s.shape[0], dtype=np.int64)
    for k in range(s.shape[0]):
        r, x1, y1 = s[k], d[k] % gx, d[k] // gx
        c = 0
        while r % gx != x1:
            o = 0 if x1 > r % gx else 1
            c += rc + link[r, o]
            r += 1 if o == 0 else -1
        while r // gx != y1:
            o = 2 if y1 > r // gx else 3
            c += rc + link[r, o]
            r += gx if o == 2 else -gx
        out[k] = c
    return out


def zero_load_latency(mesh: NocMesh, src: Any, dst: Any) -> np.ndarray:
    """Zero-load latency in cycles from router ``src`` to router ``dst`` (broadcast, int64).

    ``sum over the XY path of (router_cycles + link_cycles) + router_cycles + flits - 1``.
    """
    s, d = np.broadcast_arrays(np.asarray(src, np.int64), np.asarray(dst, np.int64))
    c = _path_cycles(mesh.width, mesh.router_cycles, mesh.link_cycles, s.ravel(), d.ravel())
    return (c + mesh.router_cycles + mesh.flits - 1).reshape(s.shape)

"""Delivery bounds of one barrier timestep on the mesh NoC, router by router (numba).

Mirrors the cycle-level backend (:mod:`snncc.backend.replay`, :mod:`snncc.backend.noc`). In a
timestep each core runs its clusters back to back; a cluster's packets are ready when its segment
ends and leave the core's network interface one every ``gap = max(1, ceil(flits / ni))`` cycles
after the previous cluster's; so with the timestep's counts cluster ``c`` injects exactly within
``[f_c, e_c)``. Its packets (a *train*, kept in order: one route, FIFO inputs) pass ports: the
tile's injection queue, one router output per XY hop, the ejection port of each destination tile
(multicast: the XY tree; a packet leaves a router input when all its branches there are
granted). Ready at an output at ``A`` it is granted at ``D >= A``, is ready at the next router
``D + link + router``; ejected at ``D`` it is delivered at ``D + flits - 1``.

Per timestep, the latest grant ``D`` of each train's last packet at each of its outputs is the
least fixed point, found by sweeps in a topological order of XY routes, of

    D = D_upstream + link + router
        + flits * min(packets from other inputs at this train's outputs here (they merge into
                      it) + those at the outputs of the other trains of its input buffer (they
                      hold it back, head of line),  4 per packet of its input buffer's stream)
        + (svc - flits) * packets of trains that joined its input buffer one router back

counting only packets that can be at the router while the train is (windows: packet ``j`` of a
train arrives no earlier than its zero-load time ``+ j * gap`` and is granted no later than
``D - (n - 1 - j) * flits``). Round robin over five inputs grants a waiting packet within four
others. ``svc`` is the cycles per packet one input sustains: ``flits``, or the credit loop — a
buffer slot is held from the upstream grant through the link and the router pipeline until the
tail leaves: ``(link + router + flits) / (depth // flits)``; a train falls ``svc - gap`` per
packet behind its interface once. A packet that merged into the train is charged where it
merges (it then moves ahead of it, paced, charged once: "pay multiplexing only once").

The least fixed point is reached by sweeps that revisit only the trains whose inputs grew (a
worklist; the same iterates as full sweeps). Windows cost about ``m^2`` per input buffer of
``m`` trains and sweep; past ``window_work`` (summed over buffers, smallest first) a buffer's
trains are charged every packet of the timestep that enters it or uses its outputs from other
inputs, without windows (larger, so still a bound; one pass): the dense multicast trees of
``random_3000_0.02`` have buffers of up to 420 trains.

Not bounded: back-pressure from buffers filled by packets waiting further on (beyond the credit
pace and one router of head-of-line blocking). The tests check the bound against the backend's
NoC on random dense traffic; the benchmark on every run.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["tails"]

_INJ, _EJ = 4, 5  # port kinds after the four link directions E W N S


@numba.njit(cache=True)
def _port(tile: int, kind: int) -> int:  # pragma: no cover - numba
    return tile * 6 + kind


@numba.njit(cache=True)
def _rank(port: int, gx: int, gy: int) -> int:  # pragma: no cover - numba
    """Position of a port in a topological order of XY routes."""
    tile, kind = port // 6, port % 6
    x, y = tile % gx, tile // gx
    n = gx * gy
    if kind == _INJ:
        return tile
    if kind == 0:  # E: increasing x
        return n + x * gy + y
    if kind == 1:  # W: decreasing x
        return 2 * n + (gx - 1 - x) * gy + y
    if kind == 2:  # N: increasing y
        return 3 * n + y * gx + x
    if kind == 3:  # S: decreasing y
        return 4 * n + (gy - 1 - y) * gx + x
    return 5 * n + tile


@numba.njit(cache=True)
def _parent(port: int, src: int, gx: int) -> int:  # pragma: no cover - numba
    """The port before ``port`` on the XY route from tile ``src`` (-1 for the injection)."""
    tile, kind = port // 6, port % 6
    if kind == _INJ:
        return -1
    x, y = tile % gx, tile // gx
    xa, ya = src % gx, src // gx
    if tile == src and kind != _INJ:
        return _port(src, _INJ)
    if kind == 0 or kind == 1 or y == ya:  # on the source row: came along it
        return _port(tile - 1, 0) if x > xa else _port(tile + 1, 1)
    return _port(tile - gx, 2) if y > ya else _port(tile + gx, 3)


@numba.njit(cache=True)
def _route(src: int, dst: int, gx: int, out: np.ndarray, m: int) -> int:  # pragma: no cover
    """Append the ports of the XY route from tile ``src`` to ``dst`` (ejection included)."""
    x, y, xb, yb = src % gx, src // gx, dst % gx, dst // gx
    out[m] = _port(src, _INJ)
    m += 1
    while x != xb or y != yb:
        if x != xb:
            d = 0 if xb > x else 1
        else:
            d = 2 if yb > y else 3
        out[m] = _port(y * gx + x, d)
        m += 1
        if d == 0:
            x += 1
        elif d == 1:
            x -= 1
        elif d == 2:
            y += 1
        else:
            y -= 1
    out[m] = _port(dst, _EJ)
    return m + 1


@numba.njit(cache=True)
def _present(n: float, lo_f: float, dep: float, w0: float, w1: float, gap: int,
             flits: int) -> float:  # pragma: no cover - numba
    """How many of a train's ``n`` packets can be at a router during ``[w0, w1]``.

    Packet ``j`` (in order) arrives no earlier than ``lo_f + j * gap`` (the interface's pace) and
    is granted no later than ``dep - (n - 1 - j) * flits`` (one grant per ``flits`` cycles).
    """
    n1 = n - 1.0
    hi = min(n1, np.floor((w1 - lo_f) / gap + 1e-9))
    lo = max(0.0, np.ceil(n1 - (dep - w0) / flits - 1e-9))
    return hi - lo + 1.0 if hi >= lo else 0.0


@numba.njit(cache=True)
def _in(port: int) -> int:  # pragma: no cover - numba
    """The router input a packet from ``port`` enters: its link direction, 4 from injection."""
    return port % 6 if port % 6 < 4 else 4


@numba.njit(cache=True)
def _up(port: int) -> int:  # pragma: no cover - numba
    """:func:`_in` of an upstream port, 7 for none (the train's first router)."""
    return _in(port) if port >= 0 else 7


@numba.njit(cache=True)
def _totals(n_here: np.ndarray, cp_port: np.ndarray, pport: np.ndarray, parent: np.ndarray,
            ig_ptr: np.ndarray, ig_ent: np.ndarray, cp_c: np.ndarray, gp_ptr: np.ndarray,
            gp_port: np.ndarray, big: np.ndarray, gport: np.ndarray, at_port: np.ndarray,
            at_in: np.ndarray, g_stream: np.ndarray, g_up: np.ndarray,
            g_wait: np.ndarray) -> None:  # pragma: no cover - numba
    """A timestep's packet totals per output (by input) and per big input buffer."""
    at_port[:] = 0.0
    at_in[:] = 0.0
    for v in range(n_here.shape[0]):
        if n_here[v] > 0 and pport[v] >= 0:
            at_port[cp_port[v]] += n_here[v]
            at_in[cp_port[v] * 5 + _in(pport[v])] += n_here[v]
    for g in range(big.shape[0]):
        if not big[g]:
            continue
        g_stream[g] = 0.0
        g_up[g * 8:g * 8 + 8] = 0.0
        r = ig_ptr[g]
        while r < ig_ptr[g + 1]:  # one stream per train with a live branch here
            u = ig_ent[r]
            cu = cp_c[u]
            live = False
            while r < ig_ptr[g + 1] and cp_c[ig_ent[r]] == cu:
                live = live or n_here[ig_ent[r]] > 0
                r += 1
            if live:
                n = n_here[parent[u]]
                g_stream[g] += n
                g_up[g * 8 + _up(pport[parent[u]])] += n
        w = 0.0
        for r in range(gp_ptr[g], gp_ptr[g + 1]):
            o = gp_port[r]
            w += at_port[o] - at_in[o * 5 + _in(gport[g])]
        g_wait[g] = w


@numba.njit(cache=True)
def _mark(v: int, dirty: np.ndarray, n_here: np.ndarray) -> int:  # pragma: no cover - numba
    if n_here[v] > 0 and not dirty[v]:
        dirty[v] = True
        return 1
    return 0


@numba.njit(cache=True)
def _touch(x: int, dirty: np.ndarray, n_here: np.ndarray, parent: np.ndarray,
           ch_ptr: np.ndarray, ch: np.ndarray, gi: np.ndarray, ig_ptr: np.ndarray,
           ig_ent: np.ndarray, rg_ptr: np.ndarray, rg: np.ndarray, cp_port: np.ndarray,
           port_block: np.ndarray, blocks: np.ndarray, topo: np.ndarray,
           big: np.ndarray) -> int:  # pragma: no cover - numba
    """Mark dirty every live entry whose bound reads ``dep[x]``; the number newly marked."""
    m = _mark(x, dirty, n_here)  # its own window
    for r in range(ch_ptr[x], ch_ptr[x + 1]):  # the outputs its grants feed
        m += _mark(ch[r], dirty, n_here)
    if parent[x] < 0:  # the other trains of its injection queue
        bb = port_block[cp_port[x]]
        for r in range(blocks[bb], blocks[bb + 1]):
            m += _mark(topo[r], dirty, n_here)
        return m
    g = gi[x]  # the other trains of its input buffer
    if not big[g]:
        for r in range(ig_ptr[g], ig_ptr[g + 1]):
            m += _mark(ig_ent[r], dirty, n_here)
    p = cp_port[x]  # the buffers whose trains wait at its output
    for r in range(rg_ptr[p], rg_ptr[p + 1]):
        g2 = rg[r]
        if big[g2]:
            continue
        for r2 in range(ig_ptr[g2], ig_ptr[g2 + 1]):
            m += _mark(ig_ent[r2], dirty, n_here)
    return m


@numba.njit(cache=True)
def tails(core: np.ndarray, seq: np.ndarray, cycles: np.ndarray, gsrc: np.ndarray,
          gdp: np.ndarray, gdc: np.ndarray, gcount: np.ndarray, extra: np.ndarray,
          dptr: np.ndarray, dcore: np.ndarray, cpt: int, gx: int, gy: int, mx: int, my: int,
          router: int, link: int, ilink: int, flits: int, gap: int, depth: int,
          multicast: bool, window_work: float = 2e6,
          stop: float = np.inf):  # pragma: no cover - numba
    """Delivery bounds of every cluster under the binding ``core`` and order ``seq``.

    Args:
        core: Core slot per cluster.
        seq: The clusters core by core, each core's in its static order.
        cycles: (T, k) segment cycles per timestep.
        gsrc: Source cluster of each packet group.
        gdp: Offsets of each group's destination cores in ``gdc`` (CSR).
        gdc: Destination cores of the groups, off the source's core.
        gcount: (T, G) packets per timestep of each group.
        extra: (T, k) other packets per cluster, taken to cross every port of its routes.
        dptr: Offsets of each cluster's destination cores in ``dcore`` (CSR).
        dcore: Distinct destination cores of the clusters.
        cpt: Cores per tile.
        gx: Tiles along x (global grid).
        gy: Tiles along y.
        mx: Tiles per chip along x.
        my: Tiles per chip along y.
        router: Router pipeline cycles.
        link: On-chip link cycles.
        ilink: Inter-chip link cycles.
        flits: Flits per packet.
        gap: Cycles between two packets leaving a network interface.
        depth: Flits per router input buffer.
        multicast: Multicast trees, else one copy per destination core.
        window_work: Budget of the time-window counts (module docstring).
        stop: Give up after the first timestep whose bound exceeds it (the results then cover
            the timesteps up to it: lower bounds of the whole run's).

    Returns:
        ``(tail, pair, packets, max_load, step_end)``: per cluster the largest delivery bound
        over its destinations and timesteps, counted from its last injection ``e_c`` (0 without
        destinations); the same per (cluster, destination core), aligned with ``dcore``; (T, k)
        packets; the largest per-timestep link load; per timestep the bound on its last segment
        end or delivery.
    """
    k = core.shape[0]
    n_tiles = gx * gy
    n_ports = n_tiles * 6
    n_t, n_g = extra.shape[0], gsrc.shape[0]
    cap = max(depth // flits, 1)
    svc_link = max(float(flits), (max(link, ilink) + router + flits) / cap)
    svc_inj = max(float(flits), (router + flits) / cap)
    # groups by source cluster
    gsp = np.zeros(k + 1, np.int64)
    for g in range(n_g):
        gsp[gsrc[g] + 1] += 1
    for c in range(k):
        gsp[c + 1] += gsp[c]
    gord = np.argsort(gsrc, kind="mergesort")
    # every cluster's ports: the union of its routes (static); and link cycles per port
    plen = 0
    for c in range(k):
        ta = core[c] // cpt
        for j in range(dptr[c], dptr[c + 1]):
            tb = dcore[j] // cpt
            plen += abs(ta % gx - tb % gx) + abs(ta // gx - tb // gx) + 2
    route = np.empty(max(plen, 1), np.int64)
    cp_ptr = np.zeros(k + 1, np.int64)   # (cluster, port) entries, CSR by cluster
    cp_port = np.empty(max(plen, 1), np.int64)
    stamp = np.full(n_ports, -1, np.int64)
    m = 0
    for c in range(k):
        ta = core[c] // cpt
        for j in range(dptr[c], dptr[c + 1]):
            r1 = _route(ta, dcore[j] // cpt, gx, route, 0)
            for i in range(r1):
                p = route[i]
                if stamp[p] != c:
                    stamp[p] = c
                    cp_port[m] = p
                    m += 1
        cp_ptr[c + 1] = m
    n_cp = m
    cp_port = cp_port[:n_cp]
    cp_c = np.empty(n_cp, np.int64)
    for c in range(k):
        cp_c[cp_ptr[c]:cp_ptr[c + 1]] = c
    # each entry's parent entry (the output before it on the cluster's route)
    where = np.full(n_ports, -1, np.int64)  # scratch: entry of (c, port) for the current c
    parent = np.full(n_cp, -1, np.int64)
    pport = np.full(n_cp, -1, np.int64)  # the input a flow arrives on: its parent port
    hop = np.zeros(n_cp)  # cycles from the parent's grant to being ready here
    for c in range(k):
        ta = core[c] // cpt
        for i in range(cp_ptr[c], cp_ptr[c + 1]):
            where[cp_port[i]] = i
        for i in range(cp_ptr[c], cp_ptr[c + 1]):
            pp = _parent(cp_port[i], ta, gx)
            pport[i] = pp
            if pp >= 0:
                parent[i] = where[pp]
                pt, pk_ = pp // 6, pp % 6
                if pk_ < 4:  # through a link
                    x, y = pt % gx, pt // gx
                    x2 = x + (1 if pk_ == 0 else -1 if pk_ == 1 else 0)
                    y2 = y + (1 if pk_ == 2 else -1 if pk_ == 3 else 0)
                    crosses = x // mx != x2 // mx or y // my != y2 // my
                    hop[i] = (ilink if crosses else link) + router
                else:  # from the injection queue into the local buffer
                    hop[i] = router
        for i in range(cp_ptr[c], cp_ptr[c + 1]):
            where[cp_port[i]] = -1
    # pair -> its ejection entry
    pair_ej = np.empty(dcore.shape[0], np.int64)
    for c in range(k):
        for i in range(cp_ptr[c], cp_ptr[c + 1]):
            where[cp_port[i]] = i
        for j in range(dptr[c], dptr[c + 1]):
            pair_ej[j] = where[_port(dcore[j] // cpt, _EJ)]
        for i in range(cp_ptr[c], cp_ptr[c + 1]):
            where[cp_port[i]] = -1
    # children of each entry: the outputs one router on that its grants feed (the branches of
    # the same packets there)
    ch_ptr = np.zeros(n_cp + 1, np.int64)
    for i in range(n_cp):
        if parent[i] >= 0:
            ch_ptr[parent[i] + 1] += 1
    for i in range(n_cp):
        ch_ptr[i + 1] += ch_ptr[i]
    ch = np.empty(max(ch_ptr[n_cp], 1), np.int64)
    fill = ch_ptr[:-1].copy()
    for i in range(n_cp):
        if parent[i] >= 0:
            ch[fill[parent[i]]] = i
            fill[parent[i]] += 1
    # entries grouped by port, ports in a topological order of XY routes (parents first)
    rank = np.empty(n_cp, np.int64)
    for i in range(n_cp):
        rank[i] = _rank(cp_port[i], gx, gy)
    topo = np.argsort(rank, kind="mergesort")
    blocks = np.zeros(n_cp + 1, np.int64)
    nb = 0
    for q in range(n_cp):
        if q == 0 or cp_port[topo[q]] != cp_port[topo[q - 1]]:
            blocks[nb] = q
            nb += 1
    blocks[nb] = n_cp
    port_block = np.full(n_ports, -1, np.int64)
    for b in range(nb):
        port_block[cp_port[topo[blocks[b]]]] = b
    # input buffers: the entries fed by one upstream port (one router input), by cluster; and
    # the distinct outputs they use
    ig_ent = np.argsort(pport * (k + 1) + cp_c, kind="mergesort")
    n_ig = 0
    ig_ptr = np.zeros(n_cp + 1, np.int64)
    gi = np.full(n_cp, -1, np.int64)
    for q in range(n_cp):
        i = ig_ent[q]
        if q == 0 or pport[i] != pport[ig_ent[q - 1]]:
            ig_ptr[n_ig] = q
            n_ig += 1
        gi[i] = n_ig - 1
    ig_ptr[n_ig] = n_cp
    gp_ptr = np.zeros(n_ig + 1, np.int64)
    gp_port = np.empty(n_cp, np.int64)
    m = 0
    for g in range(n_ig):
        for q in range(ig_ptr[g], ig_ptr[g + 1]):
            p = cp_port[ig_ent[q]]
            seen = False
            for r in range(gp_ptr[g], m):
                if gp_port[r] == p:
                    seen = True
                    break
            if not seen:
                gp_port[m] = p
                m += 1
        gp_ptr[g + 1] = m
    # readers: the groups whose trains wait at each port (a grant there may hold them)
    rg_ptr = np.zeros(n_ports + 1, np.int64)
    for r in range(gp_ptr[n_ig]):
        rg_ptr[gp_port[r] + 1] += 1
    for p in range(n_ports):
        rg_ptr[p + 1] += rg_ptr[p]
    rg = np.empty(max(gp_ptr[n_ig], 1), np.int64)
    fill2 = rg_ptr[:-1].copy()
    for g in range(n_ig):
        for r in range(gp_ptr[g], gp_ptr[g + 1]):
            rg[fill2[gp_port[r]]] = g
            fill2[gp_port[r]] += 1
    big = np.zeros(max(n_ig, 1), np.bool_)  # input buffers counted without time windows
    gport = np.full(max(n_ig, 1), -1, np.int64)
    size = np.zeros(max(n_ig, 1), np.int64)
    for g in range(n_ig):
        gport[g] = pport[ig_ent[ig_ptr[g]]]
        size[g] = ig_ptr[g + 1] - ig_ptr[g] if gport[g] >= 0 else 0
    # windows cost ~ size^2 per buffer and sweep: keep them for the smallest buffers within
    # ``window_work``, count every packet of the larger ones
    acc = 0.0
    limit = 0
    for g in np.argsort(size, kind="mergesort"):
        acc += float(size[g]) ** 2
        if acc > window_work:
            break
        limit = size[g]
    for g in range(n_ig):
        big[g] = size[g] > limit
    at_port = np.zeros(n_ports)       # live packets at each output, this timestep
    at_in = np.zeros(n_ports * 5)     # ... by the router input they come from
    g_stream = np.zeros(max(n_ig, 1))  # packets entering each (big) input buffer
    g_up = np.zeros(max(n_ig, 1) * 8)  # ... by the input they used one router back
    g_wait = np.zeros(max(n_ig, 1))    # packets from other inputs at the buffer's outputs
    has_big = bool(big.any())
    dirty = np.zeros(n_cp, np.bool_)
    n_here = np.zeros(n_cp)     # packets of the entry's cluster through its port, this timestep
    lo_f = np.zeros(n_cp)       # earliest arrival of the cluster's first packet
    lo_l = np.zeros(n_cp)       # earliest arrival of its last packet
    dep = np.zeros(n_cp)        # latest grant of its last packet
    gstamp = np.full(n_ports, -1, np.int64)
    f = np.zeros(k)
    e = np.zeros(k)
    packets = np.zeros((n_t, k))
    pair = np.zeros(dcore.shape[0])
    step_end = np.zeros(n_t)
    tile_load = np.zeros(n_ports)
    max_load = 0.0
    tag = 0
    for t in range(n_t):
        # packets of each cluster through each of its ports
        n_here[:] = 0.0
        for c in range(k):
            ta = core[c] // cpt
            for i in range(cp_ptr[c], cp_ptr[c + 1]):
                where[cp_port[i]] = i
            pk = 0.0
            for i in range(gsp[c], gsp[c + 1]):
                g = gord[i]
                n = gcount[t, g]
                if n <= 0 or gdp[g + 1] == gdp[g]:
                    continue
                pk += n if multicast else n * (gdp[g + 1] - gdp[g])
                tag += 1
                for j in range(gdp[g], gdp[g + 1]):
                    r1 = _route(ta, gdc[j] // cpt, gx, route, 0)
                    for q in range(r1):
                        p = route[q]
                        if not multicast or gstamp[p] != tag:
                            gstamp[p] = tag
                            n_here[where[p]] += n
            x_ = extra[t, c]
            if x_ > 0 and cp_ptr[c + 1] > cp_ptr[c]:
                pk += x_
                for i in range(cp_ptr[c], cp_ptr[c + 1]):
                    n_here[i] += x_
            packets[t, c] = pk
            for i in range(cp_ptr[c], cp_ptr[c + 1]):
                where[cp_port[i]] = -1
        if has_big:
            _totals(n_here, cp_port, pport, parent, ig_ptr, ig_ent, cp_c, gp_ptr, gp_port, big,
                    gport, at_port, at_in, g_stream, g_up, g_wait)
        # the timestep's schedule: segments back to back, packets after them in order
        busy = 0.0
        t_run = ni = 0.0
        for i in range(k):
            c = seq[i]
            if i == 0 or core[c] != core[seq[i - 1]]:
                t_run = ni = 0.0
            t_run += cycles[t, c]
            busy = max(busy, t_run)
            f[c] = e[c] = 0.0
            if packets[t, c] > 0 and cp_ptr[c + 1] > cp_ptr[c]:
                f[c] = max(t_run, ni)
                e[c] = f[c] + packets[t, c] * gap
                ni = e[c]
        # earliest arrivals of each cluster's first and last packet at its ports (zero-load)
        tile_load[:] = 0.0
        for q in range(n_cp):
            i = topo[q]
            if n_here[i] <= 0:
                continue
            tile_load[cp_port[i]] += n_here[i]
            pi = parent[i]
            if pi < 0:  # the injection queue: the last packet enters at e - gap
                lo_f[i], lo_l[i] = f[cp_c[i]], e[cp_c[i]] - gap
            else:
                lo_f[i], lo_l[i] = lo_f[pi] + hop[i], lo_l[pi] + hop[i]
            dep[i] = lo_l[i]
        # latest grants: sweeps in topological order until nothing grows (a least fixed point).
        # A router input is one FIFO: a train waits for the other trains ahead of it in that
        # buffer (the credit loop's pace each) and, at every output the buffer's trains use
        # (its own branches included: a packet leaves when all its branches are granted), for
        # packets from other inputs (one grant each; round robin over 5 inputs bounds that by
        # 4 grants per packet of the buffer's stream)
        pending = 0
        for i in range(n_cp):
            dirty[i] = n_here[i] > 0
            pending += dirty[i]
        while pending > 0:  # sweeps in topological order over the entries whose inputs grew
            for q in range(n_cp):
                i = topo[q]
                if not dirty[i]:
                    continue
                dirty[i] = False
                pending -= 1
                pi = parent[i]
                if pi < 0:  # the tile's injection queue, in injection order
                    d = e[cp_c[i]] - gap + max(0.0, (svc_link - gap) * (n_here[i] - 1))
                    bb = port_block[cp_port[i]]
                    for r in range(blocks[bb], blocks[bb + 1]):
                        u = topo[r]
                        if u != i and n_here[u] > 0:
                            d += svc_inj * _present(n_here[u], lo_f[u], dep[u], lo_f[i], dep[i],
                                                    gap, flits)
                elif big[gi[i]]:  # every packet of the buffer and its outputs, no windows
                    g = gi[i]
                    my = n_here[pi]
                    same = g_stream[g] - my
                    merged = same - (g_up[g * 8 + _up(pport[pi])] - my)
                    d = (dep[pi] + hop[i] + flits * min(g_wait[g], 4.0 * g_stream[g])
                         + (svc_link - flits) * merged)
                else:
                    g = gi[i]
                    pi_in = pport[pi]  # the input this train used one router back
                    merged = 0.0
                    same = 0.0
                    r = ig_ptr[g]
                    while r < ig_ptr[g + 1]:  # the other trains in this input buffer
                        u = ig_ent[r]
                        cu = cp_c[u]
                        du = -1e300
                        while r < ig_ptr[g + 1] and cp_c[ig_ent[r]] == cu:
                            v = ig_ent[r]
                            if n_here[v] > 0:
                                du = max(du, dep[v])
                            r += 1
                        if cu != cp_c[i] and du > -1e300:
                            n_u = _present(n_here[parent[u]], lo_f[u], du, lo_f[i], dep[i],
                                           gap, flits)
                            same += n_u
                            if pport[parent[u]] != pi_in:  # joined this train one router back
                                merged += n_u
                    mine = 0.0  # packets from other inputs at this train's outputs here
                    hol = 0.0   # ... and at the outputs of the other trains of its buffer
                    for r in range(gp_ptr[g], gp_ptr[g + 1]):
                        o = gp_port[r]
                        own = False
                        for r2 in range(ch_ptr[pi], ch_ptr[pi + 1]):
                            if cp_port[ch[r2]] == o and n_here[ch[r2]] > 0:
                                own = True
                        bb = port_block[o]
                        n_o = 0.0
                        for r2 in range(blocks[bb], blocks[bb + 1]):
                            v = topo[r2]
                            if n_here[v] > 0 and pport[v] != pport[i]:
                                n_o += _present(n_here[v], lo_f[v], dep[v], lo_f[i], dep[i],
                                                gap, flits)
                        if own:
                            mine += n_o
                        else:
                            hol += n_o
                    stream = n_here[pi] + same
                    d = (dep[pi] + hop[i] + flits * min(mine + hol, 4.0 * stream)
                         + (svc_link - flits) * merged)
                if d > dep[i] + 1e-9:
                    dep[i] = d
                    pending += _touch(i, dirty, n_here, parent, ch_ptr, ch, gi, ig_ptr, ig_ent,
                                      rg_ptr, rg, cp_port, port_block, blocks, topo, big)
        end_t = busy
        for pt in range(n_tiles):
            for kk in range(4):
                max_load = max(max_load, tile_load[pt * 6 + kk])
        for c in range(k):
            if packets[t, c] <= 0:
                continue
            for j in range(dptr[c], dptr[c + 1]):
                i = pair_ej[j]
                if n_here[i] <= 0:
                    continue
                deliver = dep[i] + flits - 1
                pair[j] = max(pair[j], deliver - e[c])
                end_t = max(end_t, deliver)
        step_end[t] = end_t
        if end_t > stop:  # the caller only needs to know the bound exceeds ``stop``
            break
    tail = np.zeros(k)
    for c in range(k):
        ta = core[c] // cpt
        for j in range(dptr[c], dptr[c + 1]):
            tb = dcore[j] // cpt
            h = abs(ta % gx - tb % gx) + abs(ta // gx - tb // gx)
            hx = abs((ta % gx) // mx - (tb % gx) // mx) + abs((ta // gx) // my - (tb // gx) // my)
            zero = (h + 1) * router + (h - hx) * link + hx * ilink + (flits - 1) - gap
            pair[j] = max(pair[j], zero)
            tail[c] = max(tail[c], pair[j])
    return tail, pair, packets, max_load, step_end

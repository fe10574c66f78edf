"""numba kernels of the trace replay: per-step counts, and the packets the cores send."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def step_counts(steps, neurons, n_steps, ptr, ecl, elay, epart, esyn, ncl, core_of, part_slot,
                psum_cl, psum_lay, psum_w, psum_src_cl, multicast, n_cores,
                synops, recv, spikes, packets, deliveries, layer_syn, psum_mark,
                layer_spk, layer_pk):  # pragma: no cover - numba
    """Counts of one inference, per step and cluster (outputs are zeroed by the caller).

    A spike at step ``t`` is delivered during ``t`` and its synaptic events happen at ``t + 1``
    (dropped after the last step). A part unit that receives input at ``t`` sends one partial
    sum to its soma at ``t`` (events at the soma at ``t + 1``).
    """
    stamp = np.full(n_cores, -1, np.int64)
    for s in range(steps.size):
        t, n = steps[s], neurons[s]
        c = ncl[n]
        if c < 0:
            continue
        spikes[t, c] += 1
        src = core_of[c]
        nd = 0
        for e in range(ptr[n], ptr[n + 1]):
            d = ecl[e]
            if t + 1 < n_steps:
                synops[t + 1, d] += esyn[e]
                recv[t + 1, d] = True
                layer_syn[elay[e]] += esyn[e]
                if epart[e] >= 0:
                    psum_mark[t + 1, part_slot[epart[e]]] = True
            dc = core_of[d]
            if dc != src and stamp[dc] != s:
                stamp[dc] = s
                nd += 1
        if nd:
            deliveries[t, c] += nd
            k = 1 if multicast else nd
            packets[t, c] += k
            layer_pk[layer_spk[n]] += k
    for t in range(n_steps):
        for q in range(psum_mark.shape[1]):
            if not psum_mark[t, q]:
                continue
            pc, sc = psum_src_cl[q], psum_cl[q]
            if t + 1 < n_steps:
                synops[t + 1, sc] += psum_w[q]
                recv[t + 1, sc] = True
                layer_syn[psum_lay[q]] += psum_w[q]
            if core_of[pc] != core_of[sc]:
                packets[t, pc] += 1
                deliveries[t, pc] += 1


@numba.njit(cache=True)
def make_packets(ev_step, ev_src, n_steps, ptr, ecl, ncl, core_of, tile_of_core, seg_end,
                 ni_gap, multicast, psum_cl, psum_src_cl, n_cores, n_tiles, n_packets,
                 n_entries):  # pragma: no cover - numba
    """The packets of one inference, in the order the cores' network interfaces send them.

    ``ev_src[i] >= 0`` is a spiking neuron, ``-(q + 1)`` the partial sum of part slot ``q``;
    events are sorted by step, then core, then the core's execution order. A packet is ready
    at the end of its cluster's segment (``seg_end``, cycles) and leaves the interface no
    earlier than ``ni_gap`` cycles after the previous packet of the same core.

    Returns per packet: step, source tile, ready cycle, inject cycle, emitting event; and the
    CSR of destination tiles with the number of destination cores on each.
    """
    p_step = np.empty(n_packets, np.int64)
    p_src = np.empty(n_packets, np.int32)
    p_ready = np.empty(n_packets, np.int64)
    p_inj = np.empty(n_packets, np.int64)
    p_ev = np.empty(n_packets, np.int64)
    d_ptr = np.zeros(n_packets + 1, np.int64)
    d_tile = np.empty(n_entries, np.int32)
    d_cores = np.empty(n_entries, np.int32)
    core_stamp = np.full(n_cores, -1, np.int64)
    tile_stamp = np.full(n_tiles, -1, np.int64)
    tile_slot = np.zeros(n_tiles, np.int64)
    ni_free = np.zeros(n_cores, np.int64)
    ni_step = np.full(n_cores, -1, np.int64)
    dests = np.empty(n_cores, np.int64)
    k = 0
    m = 0
    for i in range(ev_step.size):
        t, n = ev_step[i], ev_src[i]
        if n >= 0:
            c = ncl[n]
            if c < 0:
                continue
            src = core_of[c]
            nd = 0
            for e in range(ptr[n], ptr[n + 1]):
                dc = core_of[ecl[e]]
                if dc != src and core_stamp[dc] != i:
                    core_stamp[dc] = i
                    dests[nd] = dc
                    nd += 1
        else:
            q = -n - 1
            c = psum_src_cl[q]
            src = core_of[c]
            dc = core_of[psum_cl[q]]
            if dc == src:
                continue
            dests[0] = dc
            nd = 1
        if nd == 0:
            continue
        if ni_step[src] != t:
            ni_step[src] = t
            ni_free[src] = 0
        ready = seg_end[t, c]
        st = tile_of_core[src]
        if multicast:
            for j in range(nd):
                tl = tile_of_core[dests[j]]
                if tile_stamp[tl] != k:
                    tile_stamp[tl] = k
                    tile_slot[tl] = m
                    d_tile[m] = tl
                    d_cores[m] = 0
                    m += 1
                d_cores[tile_slot[tl]] += 1
            inj = max(ready, ni_free[src])
            ni_free[src] = inj + ni_gap
            p_step[k], p_src[k], p_ready[k], p_inj[k], p_ev[k] = t, st, ready, inj, i
            d_ptr[k + 1] = m
            k += 1
        else:
            for j in range(nd):
                d_tile[m] = tile_of_core[dests[j]]
                d_cores[m] = 1
                m += 1
                inj = max(ready, ni_free[src])
                ni_free[src] = inj + ni_gap
                p_step[k], p_src[k], p_ready[k], p_inj[k], p_ev[k] = t, st, ready, inj, i
                d_ptr[k + 1] = m
                k += 1
    return (p_step[:k], p_src[:k], p_ready[:k], p_inj[:k], p_ev[:k], d_ptr[:k + 1],
            d_tile[:m], d_cores[:m])


@numba.njit(cache=True)
def order_metrics(p_step, d_ptr, d_tile, d_cores, p_ready, deliver, p_neuron, start,
                  n_neurons, n_tiles):  # pragma: no cover - numba
    """Inter-spike-interval distortion and spike disorder of one inference.

    ISI: for consecutive spikes of one neuron at one destination tile, |received interval -
    emitted interval| (absolute cycles). Disorder: a delivery is out of order when a spike
    that became ready later in the same step reached the same tile earlier.
    Packets must be sorted by step. Returns (isi array, disordered deliveries, deliveries).
    """
    n_pk = p_step.size
    # per neuron, the tiles it has reached so far and when: small linked slots
    head = np.full(n_neurons, -1, np.int64)
    s_tile = np.empty(d_tile.size, np.int64)
    s_ready = np.empty(d_tile.size, np.int64)
    s_deliv = np.empty(d_tile.size, np.int64)
    s_next = np.empty(d_tile.size, np.int64)
    n_slots = 0
    isi = np.empty(d_tile.size, np.int64)
    n_isi = 0
    for p in range(n_pk):
        n = p_neuron[p]
        if n < 0:
            continue
        r = start[p_step[p]] + p_ready[p]
        for j in range(d_ptr[p], d_ptr[p + 1]):
            t = d_tile[j]
            dv = start[p_step[p]] + deliver[j]
            k = head[n]
            while k >= 0 and s_tile[k] != t:
                k = s_next[k]
            if k < 0:
                k = n_slots
                n_slots += 1
                s_tile[k] = t
                s_next[k] = head[n]
                head[n] = k
            else:
                isi[n_isi] = abs((dv - s_deliv[k]) - (r - s_ready[k]))
                n_isi += 1
            s_ready[k] = r
            s_deliv[k] = dv
    late = 0
    total = 0
    p0 = 0
    while p0 < n_pk:
        p1 = p0
        while p1 < n_pk and p_step[p1] == p_step[p0]:
            p1 += 1
        a, b = d_ptr[p0], d_ptr[p1]
        m = b - a
        if m:
            key = np.empty(m, np.int64)
            rdy = np.empty(m, np.int64)
            q = 0
            for p in range(p0, p1):
                for j in range(d_ptr[p], d_ptr[p + 1]):
                    key[q] = d_tile[j] * (1 << 31) + deliver[j]
                    rdy[q] = p_ready[p]
                    q += 1
            o = np.argsort(key, kind="mergesort")
            runmax = -1
            prev_tile = -1
            group_time = -1
            for i in range(m):
                e = o[i]
                tile = key[e] >> 31
                if tile != prev_tile:
                    prev_tile = tile
                    runmax = -1
                    group_time = -1
                if rdy[e] < runmax and (key[e] & ((1 << 31) - 1)) != group_time:
                    late += 1
                if rdy[e] > runmax:
                    runmax = rdy[e]
                    group_time = key[e] & ((1 << 31) - 1)
                total += 1
        p0 = p1
    return isi[:n_isi], late, total

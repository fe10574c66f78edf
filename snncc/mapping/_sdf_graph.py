"""The homogeneous SDF graph of a bound clustered SNN and its maximum cycle ratio.

Built and analysed as :mod:`snncc.mapping.sdf` describes: actors ``run c`` / ``send c`` per
cluster plus ``start``, ``barrier``, ``tick``; edges for static order, spike channels (with their
buffers) and the barrier. The maximum cycle ratio is Howard's policy iteration
(:mod:`snncc.mapping._howard`) after a check that every cycle holds a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from snncc.errors import MappingError
from snncc.mapping import _sdf_noc as K
from snncc.mapping._howard import howard, zero_token_cycle
from snncc.mapping.route import Flows

__all__ = ["EDGE_KINDS", "CycleRatio", "DataflowGraph", "graph_of", "max_cycle_ratio"]

#: Edge kinds of a :class:`DataflowGraph`.
EDGE_KINDS = ("order", "ni_order", "send", "channel", "buffer", "deliver", "sync")


@dataclass(frozen=True, slots=True, eq=False)
class DataflowGraph:
    """A homogeneous SDFG: actors with execution times, edges with tokens and delays.

    Attributes:
        actors: Actor names (``"run 3"``, ``"send 3"``, ``"start"``, ``"barrier"``, ``"tick"``).
        exec_cycles: Execution time of each actor per firing (cycles).
        src, dst: Edge endpoints (int64, m).
        tokens: Initial tokens of each edge, in iterations (int64, m).
        delay: Cycles an edge adds to its source's execution time (communication delay).
        kind: Index into :data:`EDGE_KINDS` per edge.
        packets: Token size of spike channels: packets per timestep, mean over the run (others 0).
        clock_hz: The clock the cycles count.
    """

    actors: tuple[str, ...]
    exec_cycles: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    tokens: np.ndarray
    delay: np.ndarray
    kind: np.ndarray
    packets: np.ndarray
    clock_hz: float

    @property
    def weight(self) -> np.ndarray:
        """Edge weights: source execution time plus delay."""
        return self.exec_cycles[self.src] + self.delay


def graph_of(profile: Any, flows: Flows, binding: Any, chip: K.Chip, tm: K.Terms,
             rptr: np.ndarray, rcl: np.ndarray, barrier: bool, buffer_steps: int
             ) -> DataflowGraph:
    """The SDFG of a binding whose actor times are ``tm`` (see :mod:`snncc.mapping.sdf`)."""
    if buffer_steps < 1:
        raise MappingError(f"buffer_steps must be >= 1 (got {buffer_steps})")
    k = profile.clusters
    names = [f"run {c}" for c in range(k)] + [f"send {c}" for c in range(k)]
    exe = [tm.run, tm.send]
    S, B, T = 2 * k, 2 * k + 1, 2 * k + 2
    if barrier:
        names += ["start", "barrier"] + (["tick"] if chip.tick > 0 else [])
        exe.append(np.array([0.0, chip.barrier] + ([chip.tick] if chip.tick > 0 else [])))
    edges: list[tuple[np.ndarray, ...]] = []

    def add(s: Any, d: Any, tok: Any, dl: Any, kind: str, pk: Any = 0.0) -> None:
        s, d = np.atleast_1d(s), np.atleast_1d(d)
        n = s.size
        edges.append((s, d, np.broadcast_to(tok, n), np.broadcast_to(dl, n),
                      np.full(n, EDGE_KINDS.index(kind)), np.broadcast_to(pk, n)))

    seq = binding.sequence()
    cs = binding.core[seq]
    same = cs[1:] == cs[:-1]
    first, last = seq[np.r_[True, ~same]], seq[np.r_[~same, True]]
    add(seq[:-1][same], seq[1:][same], 0, 0.0, "order")
    add(last, first, 1, 0.0, "order")
    add(k + seq[:-1][same], k + seq[1:][same], 0, 0.0, "ni_order")
    add(k + last, k + first, 1, 0.0, "ni_order")
    add(np.arange(k), k + np.arange(k), 0, 0.0, "send")
    # spike channels (sender c, receiver d): delay = the bound from c to d's core (0 on c's core)
    n_cores = chip.topo.n_cores
    c_of = np.repeat(np.arange(k), np.diff(rptr))
    owner = np.repeat(np.arange(k), np.diff(tm.dptr))
    keys = owner * n_cores + tm.dcore
    o = np.argsort(keys)
    want = c_of * n_cores + binding.core[rcl]
    pos = np.clip(np.searchsorted(keys[o], want), 0, max(keys.size - 1, 0))
    hit = keys[o][pos] == want if keys.size else np.zeros(want.size, bool)
    delay = np.where(hit, tm.pair[o][pos] if keys.size else 0.0, 0.0)
    fid = np.repeat(np.arange(flows.n_flows), np.diff(flows.dst_ptr))
    mean = np.zeros(rcl.size)
    if fid.size:  # mean packets per timestep of each channel: its token size
        fkey = flows.src[fid] * k + flows.dst
        ckey = c_of * k + rcl  # sorted: rptr/rcl come from np.unique
        np.add.at(mean, np.searchsorted(ckey, fkey), flows.packets[fid] / profile.steps)
    add(k + c_of, rcl, 1, delay, "channel", mean)
    add(rcl, c_of, buffer_steps - 1, 0.0, "buffer")
    if barrier:
        add(k + np.arange(k), np.full(k, B), 0, tm.tail, "deliver")
        add(last, np.full(last.size, B), 0, 0.0, "sync")
        add(B, S, 1, 0.0, "sync")
        add(np.full(first.size, S), first, 0, 0.0, "sync")
        if chip.tick > 0:
            add(S, T, 0, 0.0, "sync")
            add(T, S, 1, 0.0, "sync")
    src, dst, tok, dl, kind, pkt = (np.concatenate([e[i] for e in edges]) for i in range(6))
    return DataflowGraph(tuple(names), np.concatenate(exe).astype(np.float64),
                         src.astype(np.int64), dst.astype(np.int64), tok.astype(np.int64),
                         dl.astype(np.float64), kind.astype(np.int8), pkt.astype(np.float64),
                         chip.clock_hz)


@dataclass(frozen=True, slots=True)
class CycleRatio:
    """The maximum cycle ratio of a graph and one critical cycle (actor indices, in order)."""

    ratio: float
    cycle: tuple[int, ...]
    iterations: int


def max_cycle_ratio(graph: DataflowGraph) -> CycleRatio:
    """Maximum over cycles of Σ weight / Σ tokens: the iteration period (Howard's algorithm).

    Args:
        graph: The dataflow graph.

    Returns:
        The ratio (0 for a graph without cycles) and a critical cycle.

    Raises:
        MappingError: A cycle without tokens (the graph deadlocks), naming its actors.

    References:
        Cochet-Terrasson, Cohen, Gaubert, McGettrick, Quadrat, "Numerical computation of spectral
        elements in max-plus algebra" (IFAC 1998); Dasdan, "Experimental analysis of the fastest
        optimum cycle ratio and mean algorithms" (ACM TODAES 2004).

    Example:
        >>> g = DataflowGraph(("a", "b"), np.array([3.0, 5.0]), np.array([0, 1]),
        ...                   np.array([1, 0]), np.array([0, 2]), np.zeros(2), np.zeros(2, np.int8),
        ...                   np.zeros(2), 1e9)
        >>> max_cycle_ratio(g).ratio  # (3 + 5) / 2 tokens
        4.0
    """
    n = len(graph.actors)
    src, dst, w, tok = graph.src, graph.dst, graph.weight, graph.tokens
    keep = np.ones(n, bool)  # drop actors that reach no cycle (no out-edge), repeatedly
    while True:
        outdeg = np.bincount(src[keep[src] & keep[dst]], minlength=n)
        drop = keep & (outdeg == 0)
        if not drop.any():
            break
        keep &= ~drop
    if not keep.any():
        return CycleRatio(0.0, (), 0)
    live = keep[src] & keep[dst]
    idx = np.flatnonzero(keep)
    new = np.full(n, -1, np.int64)
    new[idx] = np.arange(idx.size)
    s, d = new[src[live]], new[dst[live]]
    o = np.argsort(s, kind="stable")
    s, d, ww, tt = s[o], d[o], w[live][o], tok[live][o]
    ptr = np.r_[0, np.cumsum(np.bincount(s, minlength=idx.size))].astype(np.int64)
    dead = zero_token_cycle(ptr, d, tt)
    if dead.size:
        names = " -> ".join(graph.actors[idx[v]] for v in dead[:8])
        raise MappingError(f"dataflow graph deadlocks: the cycle {names}"
                           f"{' -> ...' if dead.size > 8 else ''} holds no token")
    ratio, pol, its = howard(ptr, d, ww.astype(np.float64), tt.astype(np.float64),
                             100 * idx.size + 100)
    if its < 0:
        raise MappingError(f"Howard's algorithm did not converge on {idx.size} actors")
    return CycleRatio(float(ratio), _critical(pol, d, ww, tt, float(ratio), idx), int(its))


def _critical(pol: np.ndarray, d: np.ndarray, w: np.ndarray, t: np.ndarray, ratio: float,
              idx: np.ndarray) -> tuple[int, ...]:
    """A policy cycle whose ratio is ``ratio`` (original actor indices, in order)."""
    succ = d[pol]
    done = np.zeros(succ.size, bool)
    for s in range(succ.size):
        if done[s]:
            continue
        seen: dict[int, int] = {}
        path: list[int] = []
        v = s
        while v not in seen and not done[v]:
            seen[v] = len(path)
            path.append(v)
            v = int(succ[v])
        done[path] = True
        if v in seen:
            cyc = path[seen[v]:]
            if abs(w[pol[cyc]].sum() / t[pol[cyc]].sum() - ratio) <= 1e-9 * max(1.0, ratio):
                return tuple(int(idx[u]) for u in cyc)
    return ()

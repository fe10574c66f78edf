"""Maximum cycle ratio of a weighted graph with tokens: Howard's policy iteration (numba).

The cycle ratio of a cycle C is ``sum(weight[e]) / sum(tokens[e])`` over its edges; the maximum
over all cycles is the iteration period of a homogeneous dataflow graph whose edge weights are the
execution times of the source actors and whose tokens are the initial tokens of the channels
(Dasdan & Gupta, "Faster maximum and minimum mean cycle algorithms for system-performance
analysis", IEEE TCAD 1998; Cochet-Terrasson et al., "Numerical computation of spectral elements in
max-plus algebra", IFAC 1998). Every cycle must hold a token (else the graph deadlocks): the caller
checks that with :func:`zero_token_cycle` first.

Howard's algorithm keeps a policy (one out-edge per node), evaluates it (the ratio of the cycle
each node's policy path reaches and a potential), and improves it until no edge improves the
ratio or the potential: a handful of iterations in practice, each O(nodes + edges), so graphs of
tens of thousands of actors take milliseconds.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["howard", "zero_token_cycle"]


@numba.njit(cache=True)
def _evaluate(n: int, succ: np.ndarray, pw: np.ndarray, pt: np.ndarray, eta: np.ndarray,
              x: np.ndarray, order: np.ndarray) -> None:  # pragma: no cover - numba
    """Ratio ``eta`` and potential ``x`` of every node under the policy ``succ``."""
    color = np.zeros(n, np.int64)  # 0 new, 1 on the current walk, 2 done
    done = np.zeros(n, np.bool_)
    for s in range(n):
        if color[s]:
            continue
        v = s
        while color[v] == 0:  # walk the policy until a known node
            color[v] = 1
            v = succ[v]
        if color[v] == 1:  # a new cycle through v: its ratio, potentials around it
            w, t, u = pw[v], pt[v], succ[v]
            while u != v:
                w += pw[u]
                t += pt[u]
                u = succ[u]
            r = w / t
            x[v] = 0.0
            eta[v] = r
            done[v] = True
            # potentials backwards around the cycle: x[u] = pw[u] - r pt[u] + x[succ[u]]
            k = 0
            u = succ[v]
            while u != v:
                order[k] = u
                k += 1
                u = succ[u]
            for i in range(k - 1, -1, -1):
                u = order[i]
                x[u] = pw[u] - r * pt[u] + x[succ[u]]
                eta[u] = r
                done[u] = True
        # the rest of the walk hangs off a finished node: fill it backwards
        k = 0
        v = s
        while not done[v]:
            order[k] = v
            k += 1
            v = succ[v]
        for i in range(k - 1, -1, -1):
            u = order[i]
            eta[u] = eta[succ[u]]
            x[u] = pw[u] - eta[u] * pt[u] + x[succ[u]]
            done[u] = True
        v = s
        while color[v] == 1:
            color[v] = 2
            v = succ[v]


@numba.njit(cache=True)
def howard(ptr: np.ndarray, dst: np.ndarray, w: np.ndarray, t: np.ndarray,
           max_iter: int) -> tuple[float, np.ndarray, int]:  # pragma: no cover - numba
    """Maximum cycle ratio of a graph in CSR form (out-edges of node v: ``ptr[v]:ptr[v+1]``).

    Every node must have an out-edge and every cycle a positive token count.

    Returns:
        ``(ratio, policy, iterations)``: the maximum ratio, the final policy (edge index per
        node; the critical cycle is the policy cycle of the node with the largest ratio) and the
        number of iterations; ``iterations == -1`` when ``max_iter`` was reached.
    """
    n = ptr.shape[0] - 1
    pol = np.empty(n, np.int64)
    for v in range(n):  # start: the heaviest out-edge
        best = ptr[v]
        for e in range(ptr[v] + 1, ptr[v + 1]):
            if w[e] > w[best]:
                best = e
        pol[v] = best
    succ = np.empty(n, np.int64)
    pw = np.empty(n)
    pt = np.empty(n)
    eta = np.empty(n)
    x = np.empty(n)
    order = np.empty(n, np.int64)
    scale = 1.0
    for e in range(w.shape[0]):
        scale = max(scale, abs(w[e]))
    eps = 1e-10 * scale
    for it in range(max_iter):
        for v in range(n):
            e = pol[v]
            succ[v], pw[v], pt[v] = dst[e], w[e], t[e]
        _evaluate(n, succ, pw, pt, eta, x, order)
        changed = False
        for v in range(n):  # first: reach a cycle of larger ratio
            best, be = eta[v], -1
            for e in range(ptr[v], ptr[v + 1]):
                if eta[dst[e]] > best + eps:
                    best, be = eta[dst[e]], e
            if be >= 0:
                pol[v] = be
                changed = True
        if not changed:  # then: a larger potential at the same ratio
            for v in range(n):
                best, be = x[v], -1
                for e in range(ptr[v], ptr[v + 1]):
                    u = dst[e]
                    if abs(eta[u] - eta[v]) <= eps:
                        val = w[e] - eta[v] * t[e] + x[u]
                        if val > best + eps:
                            best, be = val, e
                if be >= 0:
                    pol[v] = be
                    changed = True
        if not changed:
            return eta.max(), pol, it + 1
    return eta.max(), pol, -1


@numba.njit(cache=True)
def zero_token_cycle(ptr: np.ndarray, dst: np.ndarray,
                     t: np.ndarray) -> np.ndarray:  # pragma: no cover - numba
    """Nodes of one cycle made of token-free edges (a deadlock), or an empty array."""
    n = ptr.shape[0] - 1
    state = np.zeros(n, np.int64)  # 0 new, 1 on the stack, 2 done
    stack = np.empty(n, np.int64)
    edge = np.empty(n, np.int64)
    for s in range(n):
        if state[s]:
            continue
        depth = 0
        stack[0], edge[0], state[s] = s, ptr[s], 1
        while depth >= 0:
            v = stack[depth]
            if edge[depth] == ptr[v + 1]:
                state[v] = 2
                depth -= 1
                continue
            e = edge[depth]
            edge[depth] += 1
            if t[e] != 0:
                continue
            u = dst[e]
            if state[u] == 1:  # back edge: the cycle is the stack from u
                k = 0
                while stack[k] != u:
                    k += 1
                return stack[k:depth + 1].copy()
            if state[u] == 0:
                depth += 1
                stack[depth], edge[depth], state[u] = u, ptr[u], 1
    return np.empty(0, np.int64)

"""Simulated annealing placement with O(degree) incremental energy updates.

A move picks a random cluster ``u`` and a random candidate slot ``s``; ``u`` moves there, swapping
with the occupant if there is one. The energy change touches only the edges of ``u`` (and of the
occupant), so a move costs O(degree), never a full re-evaluation. The move is accepted with the
Metropolis rule ``exp(-w_energy * dE / T)``; the temperature falls geometrically from ``T0`` to
``T0 * sa_t_final`` over the run (``T0``: 4.5 × the mean uphill energy change of random moves
from the start, i.e. about 80 % of them accepted, unless ``sa_t0`` is given).

The congestion term (maximum link load, a global quantity) is not updated per move: every
``sa_check_every`` moves (default ``k``) the full cost of the current state is evaluated and the
best state by full cost is kept, so congestion chooses among the states the annealer visits. The
run starts from the greedy placement and finishes with the local swap refinement on the full cost
(:mod:`snncc.mapping.place._refine`), which is where congestion is traded against energy.

References:
    Kirkpatrick, Gelatt & Vecchi, "Optimization by simulated annealing", Science 1983. Annealing is
    the placer of classic VLSI flows (TimberWolf) and of NoC core mapping (Lu et al. 2008).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from snncc.mapping.place._cost import Problem, apply_move, evaluate, move_delta
from snncc.mapping.place._refine import refine
from snncc.mapping.place.greedy import place_greedy

__all__ = ["place_sa"]


@numba.njit(cache=True)
def _anneal(assign: np.ndarray, occ: np.ndarray, eu: np.ndarray, ev: np.ndarray, ew: np.ndarray,
            ptr: np.ndarray, nbr: np.ndarray, wsym: np.ndarray, sx: np.ndarray, sy: np.ndarray,
            st: np.ndarray, ep: np.ndarray, mx: int, my: int, w_e: float, wcn: float,
            steps: int, t0: float, t_final: float, check_every: int,
            rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - numba
    k, m = assign.shape[0], occ.shape[0]
    w = w_e if w_e > 0 else 1.0  # a congestion-only objective anneals on raw energy
    if t0 <= 0:  # 4.5 x the mean uphill move: ~80 % of uphill moves accepted at the start
        up, n_up = 0.0, 0
        for _ in range(200):
            u, s = int(rng.integers(0, k)), int(rng.integers(0, m))
            d = move_delta(u, s, assign, occ, ptr, nbr, wsym, sx, sy, st, ep, mx, my)
            if d > 0:
                up += d
                n_up += 1
        t0 = 4.5 * w * up / n_up if n_up else 1e-30
    alpha = t_final ** (1.0 / max(steps, 1))
    energy, _, peak = evaluate(assign, eu, ev, ew, sx, sy, st, ep, mx, my)
    best = assign.copy()
    best_cost = w_e * energy + wcn * peak
    temp = t0
    for step in range(steps):
        temp *= alpha
        u = int(rng.integers(0, k))
        s = int(rng.integers(0, m))
        if s != assign[u]:
            d = w * move_delta(u, s, assign, occ, ptr, nbr, wsym, sx, sy, st, ep, mx, my)
            if d <= 0 or rng.random() < math.exp(-d / temp):
                apply_move(u, s, assign, occ)
        if (step + 1) % check_every == 0 or step == steps - 1:
            energy, _, peak = evaluate(assign, eu, ev, ew, sx, sy, st, ep, mx, my)
            cost = w_e * energy + wcn * peak
            if cost < best_cost:
                best_cost = cost
                best[:] = assign
    return best


def place_sa(problem: Problem, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Simulated annealing from the greedy placement, then local refinement (module docstring).

    Args:
        problem: The placement instance (``problem.options`` holds ``sa_steps``, ``sa_t0``,
            ``sa_t_final``, ``sa_check_every``, ``refine``).
        rng: The seeded generator; the annealer (numba) draws its moves from it.

    Returns:
        ``(assign, evaluations)``: candidate-slot index per cluster, and moves + full
        evaluations spent.

    Example:
        >>> import numpy as np
        >>> from snncc.hw import load_hw
        >>> from snncc.mapping.place import place
        >>> traffic = np.random.default_rng(0).random((12, 12))
        >>> p = place(traffic, load_hw("loihi"), "sa", seed=3)
        >>> p.cost <= place(traffic, load_hw("loihi"), "sequential").cost
        True
    """
    opts = problem.options
    start, _ = place_greedy(problem, rng)
    if problem.k < 2:
        return start, 0
    steps = opts.sa_steps or max(100_000, 2000 * problem.k)
    every = opts.sa_check_every or problem.k
    p = problem
    assign = np.array(start, dtype=np.int64)
    best = _anneal(assign, p.occupancy(assign), p.eu, p.ev, p.ew, p.ptr, p.nbr, p.wsym,
                   *p.geometry(), p.w_e, p.wcn, steps, opts.sa_t0, opts.sa_t_final, every,
                   rng)
    evals = steps + steps // every
    if opts.refine:
        best, more = refine(problem, best)
        evals += more
    return best, evals

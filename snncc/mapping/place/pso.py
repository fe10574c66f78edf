"""Particle swarm placement (SpiNePlacer / eSpine) with a random-key encoding, via pyswarms.

A particle is a vector of ``m`` keys in [0, 1], one per candidate slot. It decodes by sorting:
the slot with the smallest key takes cluster 0, the next cluster 1, and so on — the first ``k``
slots of ``argsort(keys)``. Every particle therefore decodes to a valid injective placement and
the swarm moves in a continuous box, as global-best PSO expects. One particle starts from the
greedy placement (keys that decode to it), one from the sequential one, the rest uniform.

The loop is pyswarms' global-best update (star topology, ``compute_velocity`` /
``compute_position`` with periodic boundaries), written with the pyswarms backend so that it can
be memetic: every ``pso_local_every`` iterations each particle's placement is improved by a short
energy-only swap/move descent (O(degree) per move, :mod:`snncc.mapping.place._refine`) and
written back into its keys (a rearrangement of its own key values, so it stays where it was in
the box). The final global best is refined on the full cost (energy + congestion). Plain
random-key PSO was measured 3-4 % above the optimum on average and up to 10 % on 9-cluster
instances, little better than its greedy start with the same refinement; the memetic version
finds the optimum of nearly all of them (see benchmarks/bench_place.py).

pyswarms draws from numpy's global random state and, when imported or when an optimiser is
built, reconfigures the root logger (a stderr handler and a ``report.log`` file in the working
directory). Here the global random state is seeded from ``seed`` for the run and restored after
it, and ``logging.config.dictConfig`` is disabled while pyswarms is imported and its objects are
built, so placing has no global side effects.

References:
    Balaji et al., "Mapping spiking neural networks to neuromorphic hardware" (SpiNeMap, IEEE
    TVLSI 2020): SpiNePlacer, PSO placement of clusters minimising energy and latency.
    Titirsha et al., "Endurance-aware mapping of spiking neural networks to neuromorphic
    hardware" (eSpine, IEEE TPDS 2021, arXiv 2103.05707): PSO mapping of clusters to tiles.
    Bean, "Genetic algorithms and random keys for sequencing and optimization" (ORSA J. Comput.
    1994): the random-key encoding. Liu, Wang & Jin, "An effective PSO-based memetic algorithm
    for flow shop scheduling" (IEEE TSMC-B 2007): random-key PSO with local search.
"""

from __future__ import annotations

import logging.config
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from snncc.mapping.place._cost import Problem
from snncc.mapping.place._refine import refine
from snncc.mapping.place.greedy import place_greedy
from snncc.mapping.place.simple import place_sequential

__all__ = ["decode", "encode", "place_pso"]


def encode(assign: np.ndarray, m: int, values: np.ndarray | None = None) -> np.ndarray:
    """Keys over ``m`` slots that :func:`decode` to ``assign``.

    ``values`` (sorted, length ``m``) are the key values to hand out, e.g. the sorted keys of the
    particle being replaced, so that the new keys stay near the swarm; default evenly in (0, 1).
    """
    k = assign.shape[0]
    if values is None:
        values = (np.arange(m) + 1) / (m + 1)
    keys = np.empty(m)
    free = np.ones(m, dtype=bool)
    free[assign] = False
    keys[assign] = values[:k]
    keys[free] = values[k:]
    return keys


def decode(keys: np.ndarray, k: int) -> np.ndarray:
    """The placement of random keys (..., m): the first ``k`` slots in key order."""
    return np.argsort(keys, axis=-1, kind="stable")[..., :k].astype(np.int64)


@contextmanager
def _quiet_seeded(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG (pyswarms draws from it) and freeze logging.config; restore both."""
    state = np.random.get_state()  # noqa: NPY002 - pyswarms uses the legacy global RNG
    real = logging.config.dictConfig
    logging.config.dictConfig = lambda config: None
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        logging.config.dictConfig = real
        np.random.set_state(state)  # noqa: NPY002


def place_pso(problem: Problem, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Memetic global-best PSO over random keys, then local refinement (module docstring).

    Args:
        problem: The placement instance (``problem.options`` holds ``pso_particles``,
            ``pso_iterations``, ``pso_c1``, ``pso_c2``, ``pso_w``, ``pso_local_every``,
            ``pso_local_passes``, ``refine``).
        rng: The seeded generator: initial keys and the seed of the swarm's random stream.

    Returns:
        ``(assign, evaluations)``: candidate-slot index per cluster, and full cost evaluations.

    Example:
        >>> import numpy as np
        >>> from snncc.hw import load_hw
        >>> from snncc.mapping.place import place
        >>> traffic = np.random.default_rng(0).random((12, 12))
        >>> a = place(traffic, load_hw("loihi"), "pso", seed=3)
        >>> b = place(traffic, load_hw("loihi"), "pso", seed=3)
        >>> bool((a.core_of_cluster == b.core_of_cluster).all())
        True
    """
    opts = problem.options
    k, m = problem.k, problem.m
    starts = [place_greedy(problem, rng)[0], place_sequential(problem, rng)[0]]
    n = opts.pso_particles
    keys = rng.random((n, m))
    for i, start in enumerate(starts[:n]):
        keys[i] = encode(start, m)
    evals = 0
    with _quiet_seeded(int(rng.integers(2**32 - 1))):
        from pyswarms.backend import compute_pbest, create_swarm
        from pyswarms.backend.handlers import BoundaryHandler, VelocityHandler
        from pyswarms.backend.topology import Star

        bounds = (np.zeros(m), np.ones(m))
        swarm = create_swarm(n, m, options={"c1": opts.pso_c1, "c2": opts.pso_c2,
                                            "w": opts.pso_w}, bounds=bounds, init_pos=keys)
        star = Star()
        bh, vh = BoundaryHandler(strategy="periodic"), VelocityHandler(strategy="unmodified")
        bh.memory = vh.memory = swarm.position
        swarm.pbest_cost = np.full(n, np.inf)
        swarm.best_cost = np.inf
        for it in range(opts.pso_iterations):
            if opts.pso_local_every and it % opts.pso_local_every == 0:
                _improve_particles(problem, swarm.position, opts.pso_local_passes)
            swarm.current_cost = problem.costs(decode(swarm.position, k))
            evals += n
            swarm.pbest_pos, swarm.pbest_cost = compute_pbest(swarm)
            swarm.best_pos, swarm.best_cost = star.compute_gbest(swarm)
            swarm.velocity = star.compute_velocity(swarm, None, vh, bounds)
            swarm.position = star.compute_position(swarm, bounds, bh)
        best = decode(np.asarray(swarm.best_pos), k)
    if opts.refine:
        best, more = refine(problem, best)
        evals += more
    return best, evals


def _improve_particles(problem: Problem, position: np.ndarray, passes: int) -> None:
    """Energy-only local search on each particle's placement, written back into its keys."""
    for i in range(position.shape[0]):
        assign, _ = refine(problem, decode(position[i], problem.k), passes, energy_only=True)
        position[i] = encode(assign, problem.m, np.sort(position[i]))

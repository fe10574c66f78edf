"""Placement: clusters onto the chip's core slots, minimising NoC energy and congestion.

``place(traffic, hw, method)`` puts cluster ``i`` on core slot ``core_of_cluster[i]`` (one
cluster per slot). The objective, its normalisation and the candidate region are described in
:class:`PlaceOptions`; the geometry (XY hops, per-direction, inter-chip and intra-tile energies)
in :mod:`snncc.mapping.topology`. Placers:

- ``pso``: particle swarm over random keys (SpiNePlacer, eSpine), :mod:`.pso`;
- ``sa``: simulated annealing with O(degree) moves, :mod:`.sa`;
- ``greedy``: cluster growth from the centre, :mod:`.greedy`;
- ``sequential``: row-major baseline; ``random``: seeded permutation, :mod:`.simple`;
- ``exact``: branch and bound, the optimum for up to ~9 clusters, :mod:`.exact`.

Every placer is deterministic for a given ``seed``.

Example:
    >>> import numpy as np
    >>> from snncc.hw import load_hw
    >>> from snncc.mapping.place import place
    >>> traffic = np.random.default_rng(0).random((16, 16)) * 100
    >>> p = place(traffic, load_hw("loihi"), "sa", seed=0)
    >>> p.core_of_cluster.shape, p.cost <= place(traffic, load_hw("loihi"), "sequential").cost
    ((16,), True)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from snncc.errors import MappingError
from snncc.mapping.place._cost import Problem
from snncc.mapping.place._options import Placement, PlaceOptions
from snncc.mapping.place.exact import place_exact
from snncc.mapping.place.greedy import place_greedy
from snncc.mapping.place.pso import place_pso
from snncc.mapping.place.sa import place_sa
from snncc.mapping.place.simple import place_random, place_sequential
from snncc.mapping.topology import Topology

__all__ = ["PLACERS", "PlaceOptions", "Placement", "place"]

PLACERS = ("pso", "sa", "greedy", "sequential", "random", "exact")

_IMPL: dict[str, Callable[[Problem, np.random.Generator], tuple[np.ndarray, int]]] = {
    "pso": place_pso,
    "sa": place_sa,
    "greedy": place_greedy,
    "sequential": place_sequential,
    "random": place_random,
    "exact": place_exact,
}


def check_traffic(traffic: object, where: str = "place") -> np.ndarray | sp.csr_matrix:
    """``traffic`` as a float64 (k, k) array (or CSR matrix), or MappingError naming the fault."""
    if sp.issparse(traffic):
        t = sp.csr_matrix(traffic, dtype=np.float64)
        if t.shape[0] != t.shape[1]:
            raise MappingError(f"{where}: traffic must be a square k x k matrix (got shape "
                               f"{t.shape})")
        bad = ~np.isfinite(t.data) | (t.data < 0)
        if bad.any():
            raise MappingError(f"{where}: traffic has {int(bad.sum())} negative or non-finite "
                               f"entries")
        return t
    try:
        t = np.array(traffic, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MappingError(f"{where}: traffic is not a numeric matrix ({exc})") from None
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise MappingError(f"{where}: traffic must be a square k x k matrix (got shape {t.shape})")
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise MappingError(f"{where}: traffic has {int(bad.sum())} negative or non-finite "
                           f"entries (first at [{i}, {j}]: {t[i, j]})")
    return t


def place(traffic: np.ndarray, hw: object, method: str = "pso", *, seed: int = 0,
          options: PlaceOptions | None = None) -> Placement:
    """Place ``k`` clusters on the core slots of ``hw``.

    Args:
        traffic: ``traffic[i, j]`` = packets per inference from cluster i to cluster j (k, k),
            non-negative; the diagonal is ignored.
        hw: The chip model (``snncc.hw.load_hw``).
        method: One of :data:`PLACERS`.
        seed: Seed of the placer's random choices; same seed, same placement.
        options: Objective weights, region and algorithm knobs (default ``PlaceOptions()``).

    Returns:
        The :class:`Placement`: core slot per cluster and the objective's terms.

    Raises:
        MappingError: Unknown method, bad traffic (shape, negative or NaN entries), more clusters
            than core slots, or ``exact`` above its size limit.
    """
    t0 = time.perf_counter()
    if method not in _IMPL:
        raise MappingError(f"place: unknown method {method!r} (known: {', '.join(PLACERS)})")
    options = options or PlaceOptions()
    t = check_traffic(traffic)
    topo = Topology.from_hw(hw)
    k = t.shape[0]
    if k > topo.n_cores:
        raise MappingError(f"place: {k} clusters do not fit {topo.name}'s {topo.n_cores} core "
                           f"slots")
    if method == "exact" and k > options.exact_max_clusters:
        raise MappingError(f"place: exact is limited to {options.exact_max_clusters} clusters "
                           f"(got {k}); use pso or sa, or raise "
                           f"PlaceOptions.exact_max_clusters")
    problem = Problem(t, topo, options)
    if k == 0:
        assign, evals = np.empty(0, dtype=np.int64), 0
    else:
        assign, evals = _IMPL[method](problem, np.random.default_rng(seed))
    if k and (np.unique(assign).size != k or assign.min() < 0 or assign.max() >= problem.m):
        raise MappingError(f"place: {method} returned an invalid placement (internal error)")
    energy, hops, peak, cost = problem.measure(assign)
    core = problem.candidates[assign].astype(np.int64)
    core.setflags(write=False)
    return Placement(method=method, core_of_cluster=core, spike_hops=float(hops),
                     energy_J=float(energy), max_link_load=float(peak), cost=float(cost),
                     seconds=time.perf_counter() - t0, evaluations=int(evals),
                     candidates=problem.m)

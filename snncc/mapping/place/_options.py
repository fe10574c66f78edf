"""The options of the placers and the placement they return."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snncc.errors import MappingError

__all__ = ["PlaceOptions", "Placement"]

REGIONS = ("compact", "chip")


@dataclass(frozen=True, slots=True)
class PlaceOptions:
    """Objective weights, candidate region and per-algorithm knobs of :func:`place`.

    The objective of a placement is::

        cost = w_energy * energy_J + w_congestion * max_link_load * e_ref * side

    ``energy_J`` is the NoC energy of one inference (every packet priced by its XY path, see
    :mod:`snncc.mapping.topology`); ``max_link_load`` is the largest load of a directed link under
    XY routing, in packets per inference. The normaliser turns it into joules: ``e_ref`` is the mean
    of the chip's east-west and north-south hop energies and ``side = sqrt(ceil(k /
    cores_per_tile))`` the side of the smallest square of tiles that holds the ``k`` clusters. A
    mesh carries traffic across its bisection of about ``side`` links, so ``max_link_load * side``
    grows like the hop-weighted traffic (the energy term); with ``w_congestion = 1`` the
    congestion term is a quarter to two fifths of the energy term on the placement benchmark.
    There (``sa``, 64 clusters of layered traffic) the default 1 lowers the busiest link's load
    by 22-36 % against ``w_congestion = 0`` for 1.6 % more energy; 0.5 buys only 4-6 %. Set
    ``w_congestion = 0`` for a pure energy objective.

    Attributes:
        w_energy: Weight of the energy term (>= 0).
        w_congestion: Weight of the congestion term (>= 0); see above.
        region: ``"compact"``: the candidate slots are the smallest near-square block of tiles at
            the grid's origin that holds ``k * (1 + slack)`` clusters; ``"chip"``: every slot.
        slack: Spare room of the compact region, as a fraction of the clusters.
        refine: Finish ``pso`` and ``sa`` with a pairwise swap/move local search on the full cost.
        refine_passes: Maximum passes of that local search.
        refine_radius: On large instances the local search tries each cluster on the tiles
            within this Chebyshev radius of its neighbours' centroid (see ``_refine``).
        pso_particles: Swarm size of ``pso``.
        pso_iterations: Iterations of ``pso``.
        pso_c1: Cognitive coefficient of ``pso``.
        pso_c2: Social coefficient of ``pso``.
        pso_w: Inertia of ``pso``.
        pso_local_every: Every this many iterations ``pso`` improves every particle by an
            energy-only local search and writes it back (memetic PSO); 0 = never.
        pso_local_passes: Passes of that local search.
        sa_steps: Moves of ``sa``; 0 = ``max(100_000, 2000 * k)``.
        sa_t0: Start temperature of ``sa`` in joules; 0 = from the mean uphill move of the start.
        sa_t_final: Final temperature as a fraction of the start temperature (geometric cooling).
        sa_check_every: ``sa`` evaluates the full cost (with congestion) every this many moves;
            0 = every ``k`` moves.
        exact_max_clusters: Largest instance ``exact`` accepts.
        exact_max_nodes: Search-tree nodes after which ``exact`` gives up.
    """

    w_energy: float = 1.0
    w_congestion: float = 1.0
    region: str = "compact"
    slack: float = 0.25
    refine: bool = True
    refine_passes: int = 4
    refine_radius: int = 3
    pso_particles: int = 40
    pso_iterations: int = 200
    pso_c1: float = 1.5
    pso_c2: float = 1.5
    pso_w: float = 0.7
    pso_local_every: int = 50
    pso_local_passes: int = 2
    sa_steps: int = 0
    sa_t0: float = 0.0
    sa_t_final: float = 1e-3
    sa_check_every: int = 0
    exact_max_clusters: int = 9
    exact_max_nodes: int = 20_000_000

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise MappingError(f"PlaceOptions: region must be one of {', '.join(REGIONS)} "
                               f"(got {self.region!r})")
        for name in ("w_energy", "w_congestion", "slack", "sa_t0"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise MappingError(f"PlaceOptions: {name} must be finite and >= 0 (got {value})")
        for name in ("pso_particles", "pso_iterations", "exact_max_clusters", "exact_max_nodes",
                     "refine_radius"):
            if getattr(self, name) < 1:
                raise MappingError(f"PlaceOptions: {name} must be >= 1 "
                                   f"(got {getattr(self, name)})")
        for name in ("sa_steps", "sa_check_every", "refine_passes", "pso_local_every",
                     "pso_local_passes"):
            if getattr(self, name) < 0:
                raise MappingError(f"PlaceOptions: {name} must be >= 0 "
                                   f"(got {getattr(self, name)})")
        if not 0 < self.sa_t_final <= 1:
            raise MappingError(f"PlaceOptions: sa_t_final must be in (0, 1] "
                               f"(got {self.sa_t_final})")
        if self.w_energy == 0 and self.w_congestion == 0:
            raise MappingError("PlaceOptions: w_energy and w_congestion are both 0")


@dataclass(frozen=True, slots=True, eq=False)
class Placement:
    """Clusters placed on core slots, with the objective's terms.

    Attributes:
        method: The placer that made it.
        core_of_cluster: Core slot of each cluster (int64, k), injective.
        spike_hops: Σ packets × XY hops per inference (intra-tile packets count 0 hops).
        energy_J: NoC energy per inference of point-to-point (unicast) delivery.
        max_link_load: Largest directed-link load under XY routing, packets per inference.
        cost: ``w_energy * energy_J + w_congestion * max_link_load * e_ref * side``.
        seconds: Wall time of the placer.
        evaluations: The placer's work: cost evaluations (``sa``: moves; ``exact``: search
            nodes).
        candidates: Number of candidate core slots (the region).
    """

    method: str
    core_of_cluster: np.ndarray
    spike_hops: float
    energy_J: float
    max_link_load: float
    cost: float
    seconds: float
    evaluations: int
    candidates: int

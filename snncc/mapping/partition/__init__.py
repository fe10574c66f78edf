"""Partitioners: cut a network's units into groups that each fit one core of the chip.

The atoms are the *units* of a :class:`~snncc.mapping.units.UnitGraph` (blocks of neurons of one
layer). Every method returns a :class:`Partition` in which each unit is on exactly one core and
every core respects every per-core limit of the chip (neurons, input axons, synapses); this is
checked at the end, and a violation (a bug) raises :class:`~snncc.errors.MappingError`.

========== =================================================================================
method     what it does
========== =================================================================================
sequential PACMAN-like contiguous slices in network order, one layer per core (the baseline)
spinemap   SpiNeCluster (SpiNeMap): grow each core around the most active unplaced unit
kl         Kernighan–Lin recursive bisection until pieces fit, then merge and refine (eSpine)
metis      METIS k-way (pymetis), then capacity repair, merge and refine
random     shuffled units packed first-fit
========== =================================================================================

The objective is the multicast cost (:func:`snncc.mapping.units.multicast_cost`): spikes per
inference times the number of *other* cores each spike must reach. The edge cut is reported too.

Example:
    >>> import numpy as np, snncc
    >>> from snncc.examples import example_path
    >>> from snncc.mapping import CoreLimits, build_units
    >>> from snncc.mapping.partition import partition
    >>> x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    >>> net = snncc.convert(snncc.load_onnx(example_path("digits_cnn")), calibration=x)
    >>> graph = build_units(net, CoreLimits("demo", 64, 512, 8192))
    >>> p = partition(graph, "metis", seed=0)
    >>> p.part.shape == (graph.n_units,) and p.n_cores == int(p.part.max()) + 1
    True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from snncc.errors import MappingError
from snncc.mapping.partition._cores import edge_cut, finish
from snncc.mapping.partition.kl import kl_partition
from snncc.mapping.partition.metis import metis_partition
from snncc.mapping.partition.random import random_partition
from snncc.mapping.partition.sequential import sequential_partition
from snncc.mapping.partition.spinemap import spinemap_partition
from snncc.mapping.units import multicast_cost

if TYPE_CHECKING:
    from collections.abc import Callable

    from snncc.mapping.units import UnitGraph

__all__ = [
    "PARTITIONERS",
    "Partition",
    "PartitionOptions",
    "kl_partition",
    "metis_partition",
    "partition",
    "random_partition",
    "sequential_partition",
    "spinemap_partition",
]

PARTITIONERS = ("sequential", "spinemap", "kl", "metis", "random")


@dataclass(frozen=True, slots=True)
class PartitionOptions:
    """Knobs of the partitioners (each used only by the methods named).

    Attributes:
        fill: Target fraction of a core's neurons and synapses (all methods; input axons are
            always held to the full limit).
        refine_passes: Passes of greedy multicast-lowering unit moves and swaps (kl, metis;
            0: none).
        merge: Merge cores that fit together (kl, metis).
        kl_max_iter: KL swap passes per bisection (kl).
        kl_metis_above: Pieces with more units are bisected by pymetis instead of KL (kl).
        metis_ufactor: METIS load imbalance in thousandths; None: a part may grow to one core
            (metis).
        metis_k_multiplier: Factor on METIS's starting number of parts (metis).
        metis_retries: Extra METIS runs with more parts when repair was heavy (metis).
        metis_objective: ``"cut"`` (edge cut) or ``"vol"`` (communication volume) (metis).
        spinemap_max_fails: Unconnected units that may fail in a row before a core closes
            (spinemap).
    """

    fill: float = 1.0
    refine_passes: int = 4
    merge: bool = True
    kl_max_iter: int = 10
    kl_metis_above: int = 2000
    metis_ufactor: int | None = None
    metis_k_multiplier: float = 1.0
    metis_retries: int = 3
    metis_objective: str = "cut"
    spinemap_max_fails: int = 16

    def __post_init__(self) -> None:
        if not 0.0 < self.fill <= 1.0:
            raise MappingError(f"partition options: fill must be in (0, 1], got {self.fill}")
        if self.metis_objective not in ("cut", "vol"):
            raise MappingError(f"partition options: metis_objective must be 'cut' or 'vol', "
                               f"got {self.metis_objective!r}")
        for name in ("refine_passes", "kl_max_iter", "kl_metis_above", "metis_ufactor",
                     "metis_retries", "spinemap_max_fails"):
            if (getattr(self, name) or 0) < 0:
                raise MappingError(f"partition options: {name} must be >= 0, "
                                   f"got {getattr(self, name)}")
        if self.metis_k_multiplier <= 0:
            raise MappingError(f"partition options: metis_k_multiplier must be > 0, "
                               f"got {self.metis_k_multiplier}")


@dataclass(frozen=True, slots=True, eq=False)
class Partition:
    """A partition of a unit graph's units into cores.

    Attributes:
        method: The partitioner that made it.
        part: int64 ``(n_units,)``: the core of each unit, 0..n_cores-1, every index used,
            numbered in order of each core's lowest unit.
        n_cores: Number of cores used.
        seconds: Wall-clock time of the partitioner.
        cost: Multicast cost: spikes per inference × other cores reached.
        edge_cut: Spikes per inference on unit edges between cores.
    """

    method: str
    part: np.ndarray
    n_cores: int
    seconds: float
    cost: float
    edge_cut: float

    def units_of(self, core: int) -> np.ndarray:
        """The units on ``core``, ascending."""
        return np.flatnonzero(self.part == core)


def _kwargs(method: str, o: PartitionOptions) -> dict[str, Any]:
    if method == "spinemap":
        return {"max_fails": o.spinemap_max_fails}
    if method == "kl":
        return {"max_iter": o.kl_max_iter, "metis_above": o.kl_metis_above,
                "refine_passes": o.refine_passes, "merge": o.merge}
    if method == "metis":
        return {"ufactor": o.metis_ufactor, "k_multiplier": o.metis_k_multiplier,
                "retries": o.metis_retries, "objective": o.metis_objective,
                "refine_passes": o.refine_passes, "merge": o.merge}
    return {}


_METHODS: dict[str, Callable[..., np.ndarray]] = {
    "sequential": sequential_partition,
    "spinemap": spinemap_partition,
    "kl": kl_partition,
    "metis": metis_partition,
    "random": random_partition,
}


def partition(graph: UnitGraph, method: str = "metis", *, seed: int = 0,
              options: PartitionOptions | None = None,
              progress: Callable[[int, int], None] | None = None) -> Partition:
    """Partition ``graph``'s units into cores with one of :data:`PARTITIONERS`.

    Args:
        graph: The unit graph.
        method: One of :data:`PARTITIONERS`.
        seed: Seed of the method's random choices (same seed, same partition).
        options: Knobs; defaults to ``PartitionOptions()``.
        progress: Called ``(done, total)`` as the method advances (its main phase).

    Returns:
        The partition, checked: every unit on one core, every core within every limit.

    Raises:
        MappingError: Unknown method, or (a bug) a core that breaks a limit.
    """
    if method not in _METHODS:
        raise MappingError(f"unknown partitioner {method!r}; available: "
                           f"{', '.join(PARTITIONERS)}")
    opts = options if options is not None else PartitionOptions()
    t0 = time.perf_counter()
    raw = _METHODS[method](graph, seed=seed, fill=opts.fill, progress=progress,
                           **_kwargs(method, opts))
    seconds = time.perf_counter() - t0
    part = finish(graph, raw, method)
    return Partition(method=method, part=part, n_cores=int(part.max(initial=-1)) + 1,
                     seconds=seconds, cost=multicast_cost(graph, part),
                     edge_cut=edge_cut(graph, part))


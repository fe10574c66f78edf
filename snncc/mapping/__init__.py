"""Stage: mapping — a SpikingNet and its activity onto a chip's cores.

``units`` cuts populations into blocks that fit a core and builds the spike-weighted graph between
them from the layer geometry; ``partition`` groups units into cores (clusters); ``traffic``
evaluates a partition neuron-exactly (multicast packets, cluster-to-cluster matrix, flows);
``place`` puts clusters on the chip's core slots; ``route`` builds the XY multicast trees;
``drc`` checks every chip limit. :func:`map_network` runs them in that order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from snncc.convert.net import SpikingNet
from snncc.mapping.traffic import Flows, Traffic, evaluate
from snncc.mapping.units import CoreLimits, UnitGraph, build_units, describe

__all__ = ["CoreLimits", "Flows", "Mapping", "Traffic", "UnitGraph", "build_units", "evaluate",
           "limits_of", "map_network"]


def limits_of(hw: Any) -> CoreLimits:
    """The per-core limits of a :class:`snncc.hw.HardwareModel`."""
    return CoreLimits(hw.name, hw.core.neurons, hw.core.input_axons, hw.core.synapses)


@dataclass(frozen=True, eq=False)
class Mapping:
    """A partitioned network: units, their cores, and the traffic.

    Attributes:
        graph: The unit graph.
        part: Core index per unit.
        traffic: Neuron-exact traffic of the partition.
        partitioner: Algorithm name.
        seconds: Time per stage (``units``, ``partition``, ``traffic``).
    """

    graph: UnitGraph
    part: np.ndarray
    traffic: Traffic
    partitioner: str
    seconds: dict[str, float]
    placement: Any = None
    routing: Any = None

    @property
    def placer(self) -> str | None:
        """Placement algorithm, if placed."""
        return None if self.placement is None else str(self.placement.method)

    def core_of_unit(self) -> np.ndarray:
        """Core slot of every unit (cluster index when not placed)."""
        if self.placement is None:
            return self.part.copy()
        return np.asarray(self.placement.core_of_cluster)[self.part]

    @property
    def cores_used(self) -> int:
        """Cores holding at least one unit."""
        return int(self.part.max()) + 1 if self.part.size else 0

    def summary(self) -> dict[str, Any]:
        """The ``mapping`` fields of report.json this stage fills."""
        per_layer: dict[str, Any] = describe(self.graph)
        for i, name in enumerate(self.graph.layer_names):
            per_layer[name]["cores"] = int(np.unique(self.part[self.graph.layer_of == i]).size)
            per_layer[name]["max_destinations"] = self.traffic.max_destinations.get(name, 0)
        out: dict[str, Any] = {
            "partitioner": self.partitioner, "placer": self.placer,
            "cores_used": self.cores_used, "units": self.graph.n_units,
            "inter_core_packets": self.traffic.inter_core_packets,
            "partial_sum_packets": self.traffic.psum_packets,
            "edge_cut": self.traffic.edge_cut, "multicast_flows": self.traffic.flows.n_flows}
        if self.routing is not None:
            r = self.routing
            out.update(spike_hops=r.spike_hops, unicast_spike_hops=r.unicast_spike_hops,
                       noc_energy_per_inference_J=r.energy_J, max_link_load=r.max_link_load,
                       routing_entries_max=r.routing_entries_max,
                       intra_tile_packets=r.intra_tile_packets, multicast=r.multicast)
        out["layers"] = per_layer
        return out


def map_network(net: SpikingNet, hw: Any, *, counts: dict[str, np.ndarray] | None = None,
                timesteps: int = 1, partitioner: str = "metis", seed: int = 0,
                granularity: int = 4, options: Any = None, placer: str | None = None,
                place_options: Any = None, check_cores: bool = True) -> Mapping:
    """Partition ``net`` onto ``hw``'s cores (and, with ``placer``, place and route it).

    Cuts the net into units, partitions them into clusters of one core each, evaluates the
    neuron-exact traffic; with ``placer``, places the clusters on core slots and routes the flows.

    Args:
        net: The spiking network.
        hw: The chip (:func:`snncc.hw.load_hw`).
        counts: Activity profile: population -> mean spikes per neuron per inference.
        timesteps: Timesteps per inference.
        partitioner: One of :data:`snncc.mapping.partition.PARTITIONERS`.
        seed: Random seed.
        granularity: Units per core to aim for.
        options: ``PartitionOptions`` for the partitioner.
        placer: One of :data:`snncc.mapping.place.PLACERS`, or None to stop after partitioning.
        place_options: ``PlaceOptions`` for the placer.
        check_cores: Refuse a partition with more cores than the chip has (off: measure
            partition quality on as many cores of this kind as needed; no placement then).

    Returns:
        The mapping.

    Raises:
        MappingError: The network does not fit the chip (named layer, limit, needed vs
            available).
    """
    from snncc.errors import MappingError
    from snncc.mapping.partition import partition

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    graph = build_units(net, limits_of(hw), counts=counts, timesteps=timesteps,
                        granularity=granularity, fanin_per_neuron=hw.core.fanin_per_neuron,
                        fanin_split=hw.core.fanin_split)
    seconds["units"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = partition(graph, partitioner, seed=seed, options=options)
    seconds["partition"] = time.perf_counter() - t0
    if check_cores and result.n_cores > hw.n_cores:
        raise MappingError(
            f"{partitioner}: the network needs {result.n_cores} cores, {hw.name} has "
            f"{hw.n_cores} — a chip (or system) with more cores")
    t0 = time.perf_counter()
    traffic = evaluate(graph, result.part, fanout=hw.core.fanout, chip=hw.name)
    seconds["traffic"] = time.perf_counter() - t0
    placement = routing = None
    if placer is not None:
        from snncc.mapping.place import place
        from snncc.mapping.route import route

        t0 = time.perf_counter()
        placement = place(traffic.matrix, hw, placer, seed=seed, options=place_options)
        seconds["place"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        routing = route(traffic.flows, placement.core_of_cluster, hw)
        seconds["route"] = time.perf_counter() - t0
    return Mapping(graph=graph, part=np.asarray(result.part), traffic=traffic,
                   partitioner=partitioner, seconds=seconds, placement=placement,
                   routing=routing)

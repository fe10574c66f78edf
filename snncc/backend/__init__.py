"""Stage: the cycle-level backend — cores and network-on-chip replaying a spike trace.

:func:`run` replays the functional simulator's spike trace on a compiled
:class:`~snncc.program.Program`: per timestep, every core's work at the chip's per-operation times
(:mod:`snncc.backend.costs`), its packets through the network-on-chip cycle by cycle
(:mod:`snncc.backend.noc`), and a barrier. It reports energy (per category and layer), latency,
throughput, spike latency, link loads and the SpiNeMap metrics, and checks conservation.
"""

from snncc.backend.costs import CoreCosts, core_costs
from snncc.backend.replay import BackendResult, ClusterCounts, cluster_counts, run

__all__ = ["BackendResult", "ClusterCounts", "CoreCosts", "cluster_counts", "core_costs", "run"]

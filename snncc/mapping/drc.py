"""Design-rule check: every limit of a chip file, checked before anything is simulated.

Each violation names the layer (its ONNX nodes), the resource, needed vs available, and what would
fix it. Checked: the neuron model and timestep the chip implements; per layer, inputs per neuron,
input axons and synapse memory of one block (with fan-in splitting where the chip allows it); for
the whole network, the cores a partition needs and each neuron's destination cores (fan-out);
after placement and routing, routing-table entries per router (:func:`routing_violations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from snncc.convert.net import SpikingNet
from snncc.mapping._blocks import LimitError
from snncc.mapping.traffic import evaluate
from snncc.mapping.units import build_units, origin

__all__ = ["Violation", "design_rule_check", "routing_violations"]


def _fmt(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


@dataclass(frozen=True)
class Violation:
    """One broken limit."""

    layer: str
    resource: str
    needed: Any
    available: Any
    fix: str
    chip: str = ""

    @property
    def needed_text(self) -> str:
        """``needed`` for people (thousands separated)."""
        return _fmt(self.needed)

    @property
    def available_text(self) -> str:
        """``available`` for people (thousands separated)."""
        return _fmt(self.available)

    def __str__(self) -> str:
        return (f"{self.layer}: {self.resource}: needs {self.needed_text}, "
                f"{self.chip or 'the chip'} has {self.available_text} — {self.fix}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"layer": self.layer, "resource": self.resource, "needed": self.needed,
                "available": self.available, "fix": self.fix}


def design_rule_check(net: SpikingNet, hw: Any, *, counts: dict[str, np.ndarray] | None = None,
                      partitioner: str = "sequential", seed: int = 0,
                      granularity: int = 4) -> list[Violation]:
    """Every violation of ``hw``'s limits by ``net`` (empty when it fits).

    Args:
        net: The spiking network.
        hw: The chip (:func:`snncc.hw.load_hw`).
        counts: Activity profile (only used to weigh the partition; limits do not depend on it).
        partitioner: Partitioner used to count cores and destinations per neuron.
        seed: Its seed.
        granularity: Units per core.

    Returns:
        The violations, in network order.

    Example:
        >>> # [str(v) for v in design_rule_check(net, load_hw("truenorth"))]
    """
    from snncc.mapping import limits_of
    from snncc.mapping.partition import partition

    chip = hw.name
    out: list[Violation] = []
    for pop in net.populations:
        if pop.model == "lif" and hw.neuron.model == "if":
            out.append(Violation(origin(net, pop.name), "neuron model", "LIF (leaky)",
                                 "IF only (neuron.model)", "train with ReLU (IF neurons)", chip))
    tick = hw.neuron.tick_s
    if tick > 0 and not np.isclose(net.dt, tick, rtol=1e-9, atol=0):
        out.append(Violation("network", "timestep", f"dt {net.dt * 1e3:g} ms",
                             f"a fixed tick of {tick * 1e3:g} ms (neuron.tick_s)",
                             f"convert with dt = {tick * 1e3:g} ms", chip))
    errors: list[LimitError] = []
    try:
        graph = build_units(net, limits_of(hw), counts=counts, granularity=granularity,
                            fanin_per_neuron=hw.core.fanin_per_neuron,
                            fanin_split=hw.core.fanin_split, errors=errors)
    except LimitError:
        out += [Violation(e.layer, e.resource, e.needed, e.available, e.fix, chip)
                for e in errors]
        return out
    result = partition(graph, partitioner, seed=seed)
    if result.n_cores > hw.n_cores:
        out.append(Violation("network", "cores", result.n_cores, hw.n_cores,
                             "a chip or multi-chip system with more cores, or fewer neurons "
                             f"(counted with the {partitioner} partitioner)", chip))
    traffic = evaluate(graph, result.part)
    if hw.core.fanout:
        for name in graph.layer_names:
            need = traffic.max_destinations.get(name, 0)
            if need > hw.core.fanout:
                out.append(Violation(
                    origin(net, name), "destination cores per neuron (core.fanout)", need,
                    hw.core.fanout, "splitter neurons / a chip with more destinations per "
                    "neuron, or layers whose targets fit one core", chip))
    return out


def routing_violations(entries: np.ndarray, hw: Any) -> list[Violation]:
    """Routers whose routing table needs more entries than ``noc.routing_entries``."""
    cap = hw.noc.routing_entries
    if not cap:
        return []
    bad = np.flatnonzero(np.asarray(entries) > cap)
    gx = hw.grid[0]
    return [Violation(f"router of tile {t} (x {t % gx}, y {t // gx})", "routing-table entries",
                      int(entries[t]), cap, "a placer with a lower congestion weight, or "
                      "fewer source clusters (coarser partition)", hw.name) for t in bad]


def check_or_raise(net: SpikingNet, hw: Any, **kwargs: Any) -> None:
    """Raise :class:`snncc.errors.DRCError` listing every violation, if any."""
    from snncc.errors import DRCError

    found = design_rule_check(net, hw, **kwargs)
    if found:
        raise DRCError(f"{len(found)} design-rule violation(s) on {hw.name}: {found[0]}"
                       + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""),
                       [str(v) for v in found])


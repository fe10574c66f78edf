"""Units: the blocks of neurons that partitioners assign to cores, and the graph between them.

:func:`build_units` cuts every population of a SpikingNet into blocks (a channel slice × spatial
tile of its ``(C, H, W)`` volume, sized by :mod:`snncc.mapping._blocks`) and computes, from the
layer geometry and the activity profile, the weighted graph between blocks. No per-synapse edge is
ever built: a block's inputs are the boxes of presynaptic neurons its receptive fields cover.

Semantics of a split neuron (chips with ``core.fanin_split``): the neuron's inputs are cut into
channel slices; each slice is a *part* unit holding one partial-sum compartment per neuron of the
block, which accumulates the synaptic input of its slice and, in every timestep in which that input
is nonzero, sends the partial sum as one packet to the *soma* unit. The soma holds the neuron
itself: it integrates the partial sums (one input axon and one synapse per part per neuron) and
emits the spikes. Extra traffic per part neuron and inference is the expected number of timesteps
in which its slice receives a spike, ``T (1 - exp(-S / T))`` for ``S`` input spikes spread over
``T`` timesteps (every timestep for inputs from the host). Inputs that come from the network
input (not spiking on chip) are sent by the host and are counted as input axons but not as
on-chip traffic.

Units are numbered in network order: population by population, and within a population
channel-slice-major then row then column (each split block: its parts, then its soma).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from snncc.convert.net import SpikingNet
from snncc.errors import MappingError
from snncc.mapping._blocks import Blocking, LimitError, choose_blocking
from snncc.mapping._footprint import Field, canonical, receptive_field

__all__ = ["CoreLimits", "CoreState", "Foot", "UnitGraph", "build_units", "multicast_cost"]

Box = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]

#: Source-name prefix of the partial-sum inputs of a soma (``"psum:<part unit>"``).
PSUM = "psum:"

#: Most input indices (int64) the unit graph keeps cached (~400 MB).
INPUT_CACHE_ELEMENTS = 50_000_000


@dataclass(frozen=True, slots=True)
class CoreLimits:
    """Per-core limits of a chip."""

    name: str
    neurons: int
    input_axons: int
    synapses: int


@dataclass(frozen=True, slots=True, eq=False)
class Foot:
    """Inputs of a unit from one source: a box of the source's ``(C, H, W)`` volume, or indices.

    ``source`` is a node name (population or input), or ``"psum:<unit>"`` for partial sums.
    """

    source: str
    shape: tuple[int, int, int]
    box: Box | None = None
    index: np.ndarray | None = None

    def indices(self) -> np.ndarray:
        """Flat (row-major) indices into the source volume, sorted, unique."""
        if self.index is not None:
            return self.index
        assert self.box is not None
        (c0, c1), (y0, y1), (x0, x1) = self.box
        _, h, w = self.shape
        c = np.arange(c0, c1, dtype=np.int64)[:, None, None] * (h * w)
        y = np.arange(y0, y1, dtype=np.int64)[None, :, None] * w
        x = np.arange(x0, x1, dtype=np.int64)[None, None, :]
        return (c + y + x).ravel()

    @property
    def psum_part(self) -> int | None:
        """For the partial sums a soma receives: the part unit sending them; else None."""
        return int(self.source[len(PSUM):]) if self.source.startswith(PSUM) else None

    @property
    def size(self) -> int:
        """Number of inputs."""
        if self.index is not None:
            return int(self.index.size)
        assert self.box is not None
        return int(np.prod([b - a for a, b in self.box]))


@dataclass(frozen=True, slots=True, eq=False)
class Unit:
    """One block: a box of a population, its inputs, and what it stores."""

    population: str
    box: Box
    kind: str  # "neurons" | "part" | "soma"
    neurons: int
    synapses: int
    feet: tuple[Foot, ...]


@dataclass(eq=False)
class UnitGraph:
    """Units of a network on a chip and the spikes they exchange per inference.

    Attributes:
        units: The units, in network order.
        neurons, synapses: Per unit, neuron slots and synapses it takes on a core.
        activity: Per unit, packets it emits per inference (spikes; partial sums for parts).
        layer_of: Per unit, index into ``layer_names``.
        layer_names: Population names in network order.
        out_edges: ``w[u, v]`` = spikes per inference of ``u``'s neurons with a target in ``v``.
        limits: The chip's per-core limits.
        blockings: Population -> how it was cut.
        counts: Population -> mean spikes per neuron per inference (canonical shape).
        owner: Population -> per neuron (flat) the unit that emits its spikes.
        input_spikes: Spikes per inference arriving from the host (0 for current inputs).
        timesteps: Timesteps per inference used for the partial-sum traffic.
    """

    units: list[Unit]
    neurons: np.ndarray
    synapses: np.ndarray
    activity: np.ndarray
    layer_of: np.ndarray
    layer_names: tuple[str, ...]
    out_edges: sp.csr_matrix
    limits: CoreLimits
    blockings: dict[str, Blocking] = field(default_factory=dict)
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    owner: dict[str, np.ndarray] = field(default_factory=dict)
    timesteps: int = 1
    _inputs: dict[int, list[tuple[str, np.ndarray]]] = field(default_factory=dict, repr=False)
    _cached: int = field(default=0, repr=False)

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.units)

    @property
    def adjacency(self) -> sp.csr_matrix:
        """Symmetric edge weights ``out_edges + out_edges.T`` with a zero diagonal."""
        a = (self.out_edges + self.out_edges.T).tocsr()
        a.setdiag(0)
        a.eliminate_zeros()
        return a

    @functools.cached_property
    def input_bound(self) -> np.ndarray:
        """Per unit, the sum of its feet's sizes: an upper bound of its distinct inputs."""
        return np.array([sum(f.size for f in u.feet) for u in self.units], np.int64)

    def inputs_of(self, u: int) -> list[tuple[str, np.ndarray]]:
        """Unit ``u``'s distinct inputs per source (sorted flat indices); cached within a budget."""
        hit = self._inputs.get(u)
        if hit is not None:
            return hit
        pools: dict[str, list[np.ndarray]] = {}
        for f in self.units[u].feet:
            pools.setdefault(f.source, []).append(f.indices())
        out = [(k, v[0] if len(v) == 1 else np.unique(np.concatenate(v)))
               for k, v in pools.items()]
        size = sum(v.size for _, v in out)
        if self._cached + size <= INPUT_CACHE_ELEMENTS:
            self._inputs[u] = out
            self._cached += size
        return out

    def new_core(self) -> CoreState:
        """An empty core."""
        return CoreState(self)

    def usage(self, units: Sequence[int]) -> tuple[int, int, int]:
        """(neurons, distinct input axons, synapses) of a set of units on one core."""
        units = list(units)
        pools: dict[str, list[np.ndarray]] = {}
        for u in units:
            for source, idx in self.inputs_of(u):
                pools.setdefault(source, []).append(idx)
        axons = sum(int(np.unique(np.concatenate(v)).size) for v in pools.values())
        return (int(self.neurons[units].sum()), axons, int(self.synapses[units].sum()))

    def why_not(self, units: Sequence[int]) -> str | None:
        """None if ``units`` fit one core, else which limit fails, needed vs available."""
        n, a, s = self.usage(units)
        lim = self.limits
        for what, need, have in (("neurons", n, lim.neurons), ("input axons", a, lim.input_axons),
                                 ("synapses", s, lim.synapses)):
            if need > have:
                return f"{what}: needs {need}, a {lim.name} core has {have}"
        return None

    def fits(self, units: Sequence[int]) -> bool:
        """Whether ``units`` fit one core."""
        return self.why_not(units) is None


class CoreState:
    """A core being filled one unit at a time; input axons are counted as distinct sources."""

    def __init__(self, graph: UnitGraph) -> None:
        self.graph = graph
        self.units: list[int] = []
        self.neurons = 0
        self.synapses = 0
        self.axons = 0
        self._seen: dict[str, np.ndarray] = {}

    def _extra_axons(self, u: int) -> int:
        """Input axons unit ``u`` would add (its inputs not yet on this core)."""
        extra = 0
        for source, idx in self.graph.inputs_of(u):
            cur = self._seen.get(source)
            if cur is None or not cur.size:
                extra += idx.size
                continue
            pos = np.searchsorted(cur, idx)
            np.minimum(pos, cur.size - 1, out=pos)
            extra += idx.size - int(np.count_nonzero(cur[pos] == idx))
        return extra

    def can_add(self, u: int) -> bool:
        """Whether unit ``u`` still fits."""
        g, lim = self.graph, self.graph.limits
        if (self.neurons + g.neurons[u] > lim.neurons
                or self.synapses + g.synapses[u] > lim.synapses):
            return False
        if self.axons + g.input_bound[u] <= lim.input_axons:
            return True
        return self.axons + self._extra_axons(u) <= lim.input_axons

    def add(self, u: int) -> None:
        """Add unit ``u`` (no check: call :meth:`can_add` first)."""
        for source, idx in self.graph.inputs_of(u):
            cur = self._seen.get(source)
            new = idx if cur is None else np.union1d(cur, idx)
            self.axons += new.size - (0 if cur is None else cur.size)
            self._seen[source] = new
        self.neurons += int(self.graph.neurons[u])
        self.synapses += int(self.graph.synapses[u])
        self.units.append(u)

    def copy(self) -> CoreState:
        """An independent copy."""
        c = CoreState(self.graph)
        c.units, c.neurons, c.synapses, c.axons = list(self.units), self.neurons, self.synapses, \
            self.axons
        c._seen = dict(self._seen)
        return c


def multicast_cost(graph: UnitGraph, part: np.ndarray) -> float:
    """Unit-level multicast objective of an assignment of units to cores.

    For each unit ``u``: the sum over the other cores ``p`` of ``max_{v on p} w[u, v]`` — a spike
    is sent once to each other core holding one of its targets. Exact when the target sets of a
    unit's neurons are nested; :func:`snncc.mapping.traffic.evaluate` gives the neuron-exact value.
    """
    w = graph.out_edges.tocoo()
    part = np.asarray(part)
    keep = part[w.row] != part[w.col]
    if not keep.any():
        return 0.0
    r, p, d = w.row[keep], part[w.col[keep]], w.data[keep]
    key = r.astype(np.int64) * (int(part.max()) + 1) + p
    order = np.lexsort((d, key))
    key, d = key[order], d[order]
    last = np.r_[key[1:] != key[:-1], True]
    return float(d[last].sum())


def build_units(net: SpikingNet, limits: CoreLimits, *, counts: dict[str, np.ndarray] | None
                = None, timesteps: int = 1, granularity: int = 4, fanin_per_neuron: int = 0,
                fanin_split: bool = False, max_units: int = 20000,
                errors: list[LimitError] | None = None) -> UnitGraph:
    """Cut ``net`` into units for a chip and build the unit graph.

    Args:
        net: The spiking network.
        limits: Per-core limits of the chip.
        counts: Population name -> mean spikes per neuron per inference (``SimResult.rates``);
            missing populations count as silent.
        timesteps: Timesteps per inference (bounds the partial-sum traffic of split neurons).
        granularity: Units per core to aim for (blocks of ``core neurons / granularity``).
        fanin_per_neuron: The chip's per-neuron input limit (0 = none).
        fanin_split: Whether the chip may split a neuron's fan-in across cores.
        max_units: Blocks are made larger (fewer than ``granularity`` per core) above this.
        errors: If given, every layer that cannot be placed is appended to it (for the
            design-rule check) before the first is raised.

    Returns:
        The unit graph.

    Raises:
        MappingError: A neuron cannot be placed on the chip (named, with needed vs available).

    Example:
        >>> # graph = build_units(net, CoreLimits("loihi", 1024, 4096, 131072), counts=res.rates)
    """
    from snncc.mapping._edges import assemble

    counts = counts or {}
    total = sum(p.size for p in net.populations)
    target = max(1, limits.neurons // max(1, granularity))
    if total / target > max_units:
        target = min(limits.neurons, int(np.ceil(total / max_units)))
    fields: dict[str, list[Field]] = {}
    for proj in net.projections:
        fields.setdefault(proj.post, []).append(receptive_field(proj))
    shapes: dict[str, tuple[int, int, int]] = {s.name: canonical(s.shape) for s in net.inputs}
    blockings: dict[str, Blocking] = {}
    failed: list[LimitError] = []
    for pop in net.populations:
        shapes[pop.name] = canonical(pop.shape)
        try:
            blockings[pop.name] = choose_blocking(
                origin(net, pop.name), shapes[pop.name], fields.get(pop.name, []),
                neurons=target, axons=limits.input_axons, synapses=limits.synapses,
                fanin_per_neuron=fanin_per_neuron, fanin_split=fanin_split, chip=limits.name)
        except LimitError as exc:
            if errors is None:
                raise
            failed.append(exc)
    if failed:
        assert errors is not None
        errors.extend(failed)
        raise failed[0]
    canon_counts = {p.name: np.asarray(counts.get(p.name, np.zeros(p.shape)), np.float64
                                       ).reshape(shapes[p.name]) for p in net.populations}
    graph = assemble(net, limits, fields, shapes, blockings, canon_counts, timesteps)
    for u, unit in enumerate(graph.units):  # the blocking guarantees it; a cheap bound first
        if (unit.neurons > limits.neurons or unit.synapses > limits.synapses
                or sum(f.size for f in unit.feet) > limits.input_axons):
            why = graph.why_not([u])
            if why:
                raise MappingError(f"{unit.population}: a block of {unit.neurons} neurons does "
                                   f"not fit a core alone ({why}) — please report this")
    return graph


def origin(net: SpikingNet, population: str) -> str:
    """A population named by the ONNX nodes it came from: its weighted layers and activation.

    ``"conv2 (Conv2d) -> relu2"``, for messages.
    """
    ops = [op for p in net.into(population) for op in p.ops
           if op.op in ("Conv2d", "Dense")] or [op for p in net.into(population) for op in p.ops]
    names = [f"{'/'.join(op.onnx_nodes) or op.name} ({op.op})" for op in ops[-2:]]
    pop = next(p for p in net.populations if p.name == population)
    act = "/".join(pop.onnx_nodes) or pop.name
    return " + ".join(dict.fromkeys(names)) + f" -> {act}" if names else act


def describe(graph: UnitGraph) -> dict[str, Any]:
    """Per population: block shape, units, neurons, synapses (for reports)."""
    out: dict[str, Any] = {}
    for i, name in enumerate(graph.layer_names):
        sel = graph.layer_of == i
        b = graph.blockings[name]
        out[name] = {"block": [b.cs, b.th, b.tw], "parts": b.n_parts, "units": int(sel.sum()),
                     "neurons": int(graph.neurons[sel].sum()),
                     "synapses": int(graph.synapses[sel].sum())}
    return out

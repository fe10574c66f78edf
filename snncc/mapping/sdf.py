"""Dataflow analysis and crossbar scheduling when clusters outnumber crossbars (DFSynthesizer).

After Song, Balaji, Das et al., "DFSynthesizer" (ACM TECS 2022; reference/papers.md §5): the
clustered SNN is a synchronous dataflow graph (SDFG) in which one iteration is one algorithmic
timestep, so every actor fires once per iteration (a homogeneous SDFG):

- ``run c``, one per cluster: its crossbar's work in a timestep; execution time = the largest busy
  time of the cluster over the profiled timesteps, :meth:`snncc.backend.costs.CoreCosts.cycles`
  of its counts, so analysis and cycle-level backend charge the same cycles;
- ``send c``: the network interface injecting the cluster's packets, one every
  ``max(1, ceil(flits_per_spike / ni_packets_per_cycle))`` cycles, worst count over the profile;
- ``start``, ``barrier`` (``barrier_s`` of the chip) and ``tick`` (``tick_s``, clocked chips).

Edges carry ``tokens`` (initial tokens, in iterations) and a ``delay`` in cycles; an edge's
weight is its source actor's execution time plus its delay:

- static order of each crossbar: ``run a -> run b`` for consecutive clusters (0 tokens), the last
  back to the first (1 token); the same for the ``send`` actors (the NI sends in order);
- ``run c -> send c``;
- spike channels ``send c -> run d`` for every cluster ``d`` that receives spikes of ``c``:
  1 token (spikes of step t are consumed at t + 1), delay = the delivery bound from ``c``'s core
  to ``d``'s (:mod:`snncc.mapping._sdf_delay`), token size = packets per timestep; each channel's
  buffer holds ``buffer_steps`` timesteps of spikes: ``run d -> run c`` with ``buffer_steps - 1``
  tokens;
- the barrier: ``send c -> barrier`` (delay = c's worst delivery bound over the profiled
  timesteps, counted from its last injection), the last ``run`` of every
  crossbar ``-> barrier``, ``barrier -> start`` (1 token), ``start ->`` the first ``run`` of every
  crossbar; ``start -> tick -> start`` (1 token).

The iteration period is the maximum cycle ratio (Howard's policy iteration,
:mod:`snncc.mapping._howard`); throughput = clock / period timesteps per second. With the barrier
the critical cycle is ``start -> ... -> barrier -> start`` and the period bounds every timestep of
the barrier-synchronous backend run on the profiled activity: each actor's time bounds its work
in every profiled step, the NoC term bounds each delivery, and max-plus composition is monotone.
The NoC term is computed per profiled timestep from the exact packets (:func:`packet_groups`)
and injection times, port by port with time windows (:mod:`snncc.mapping._sdf_delay`); it
bounds direct interference (and back-pressure at the credit loop's pace) — its assumptions are
stated there and tested against the backend's NoC on random dense traffic.
``barrier=False`` gives DFSynthesizer's self-timed model (timesteps overlap; analysis only — the
NoC bound assumes one timestep in flight).

Modelling choices (see also :func:`bind`):

- time-multiplexing a crossbar rewrites its cells before each cluster's segment; the chip files
  give no write time, so none is charged (the backend charges none either), but the writes, their
  energy (``device.write_J``) and the resulting cell lifetime are reported by :func:`summary`;
- buffer space: a tile keeps the spikes for its clusters from their arrival (step t) to their
  consumption (step t + 1) while the next step's arrive; the chip files give no tile memory, so
  the capacity defaults to two timesteps of its crossbars' rows, ``2 * cores_per_tile *
  input_axons`` spikes, shared by the clusters bound to the tile (``BindOptions.buffer_spikes``);
- bandwidth (``ni_packets_per_cycle``, one flit per link and cycle) enters as time: the ``send``
  actors and the waiting term of the delivery bound.

Example:
    >>> import numpy as np
    >>> from snncc.hw import load_hw
    >>> prof = Profile(cycles=np.array([[100, 50, 80, 30]]), packets=np.array([[4, 0, 2, 0]]),
    ...                spikes=np.array([[4, 0, 2, 0]]))
    >>> flows = Flows(src=np.array([0, 2]), packets=np.array([1.0, 1.0]),
    ...               dst_ptr=np.array([0, 1, 2]), dst=np.array([1, 3]))
    >>> hw = load_hw("pcm-crossbar")
    >>> b = Binding(core=np.array([0, 0, 1, 1]), order=np.array([0, 1, 0, 1]), method="hand")
    >>> a = analyse(prof, flows, b, hw)
    >>> a.period_cycles  # barrier 1000 + crossbar 0: 100 + 50 cycles of work
    1150.0
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snncc.errors import MappingError
from snncc.mapping import _sdf_noc as K
from snncc.mapping._sdf_graph import (
    EDGE_KINDS,
    CycleRatio,
    DataflowGraph,
    graph_of,
    max_cycle_ratio,
)
from snncc.mapping._sdf_groups import PacketGroups, group_packets, packet_groups
from snncc.mapping.route import Flows

__all__ = ["EDGE_KINDS", "Analysis", "BindOptions", "BindResult", "Binding", "CycleRatio",
           "DataflowGraph", "PacketGroups", "Profile", "analyse", "bind", "build_graph",
           "max_cycle_ratio", "packet_groups", "profile_from_counts", "summary"]


@dataclass(frozen=True, slots=True, eq=False)
class Profile:
    """Per-timestep work of every cluster over a profiled run (rows: all traced timesteps).

    Attributes:
        cycles: (T, k) busy cycles of each cluster in each timestep.
        packets: (T, k) packets its network interface sends (under the binding of the counts).
        spikes: (T, k) spikes its neurons emit (for the buffer bound).
        steps: Timesteps per traced input (rows ``i*steps .. (i+1)*steps-1`` are input ``i``).
        groups: Spike groups, for exact per-timestep link loads (else every packet of a cluster
            is taken to cross every link of the union of its paths).
        extra: (T, k) packets the groups do not explain (partial sums; all without groups).
    """

    cycles: np.ndarray
    packets: np.ndarray
    spikes: np.ndarray
    steps: int = 0
    groups: PacketGroups | None = None
    extra: np.ndarray | None = None

    def __post_init__(self) -> None:
        arrs = [np.atleast_2d(np.asarray(getattr(self, n), np.float64))
                for n in ("cycles", "packets", "spikes")]
        if len({a.shape for a in arrs}) != 1 or arrs[0].ndim != 2:
            raise MappingError(f"Profile: cycles, packets and spikes must be equal (T, k) arrays, "
                               f"got {[a.shape for a in arrs]}")
        if any((~np.isfinite(a) | (a < 0)).any() for a in arrs):
            raise MappingError("Profile: counts must be finite and >= 0")
        for name, a in zip(("cycles", "packets", "spikes"), arrs, strict=True):
            object.__setattr__(self, name, np.ceil(a - 1e-9) + 0.0)  # no -0.0
        object.__setattr__(self, "steps", int(self.steps) or arrs[0].shape[0])
        if self.groups is not None and self.groups.count.shape[0] != arrs[0].shape[0]:
            raise MappingError(f"Profile: groups count {self.groups.count.shape[0]} timesteps, "
                               f"the counts {arrs[0].shape[0]}")
        extra = self.packets if self.extra is None else np.asarray(self.extra, np.float64)
        if extra.shape != arrs[0].shape:
            raise MappingError(f"Profile: extra must be {arrs[0].shape}, got {extra.shape}")
        object.__setattr__(self, "extra", extra)

    @property
    def clusters(self) -> int:
        """Number of clusters k."""
        return int(self.cycles.shape[1])


def profile_from_counts(counts: Any, costs: Any, *, groups: PacketGroups | None = None,
                        core: np.ndarray | None = None, multicast: bool = True) -> Profile:
    """The :class:`Profile` of the backend's per-cluster counts and the chip's core costs.

    Args:
        counts: ``snncc.backend.cluster_counts(program, trace, binding=core)``: ``synops``,
            ``reads``, ``active``, ``idle``, ``spikes``, ``packets``, each (inputs, steps, k).
        costs: ``snncc.backend.costs.core_costs(hw)``.
        groups: :func:`packet_groups` of the same trace (exact link loads).
        core: The binding the counts were made with (needed with ``groups``).
        multicast: The chip's ``noc.multicast``.
    """
    shape = np.shape(counts.packets)
    k = shape[-1]
    cycles = costs.cycles(counts.synops, counts.reads, counts.active, counts.idle,
                          counts.spikes, counts.packets)
    packets = np.reshape(counts.packets, (-1, k))
    extra = None
    if groups is not None:
        if core is None:
            raise MappingError("profile_from_counts: groups need the binding of the counts")
        extra = np.maximum(packets - group_packets(groups, np.asarray(core, np.int64), k,
                                                    multicast), 0.0)
    return Profile(cycles=np.reshape(cycles, (-1, k)), packets=packets,
                   spikes=np.reshape(counts.spikes, (-1, k)), steps=shape[-2], groups=groups,
                   extra=extra)


@dataclass(frozen=True, slots=True, eq=False)
class Binding:
    """Clusters bound to physical cores, with a static order per core.

    Attributes:
        core: Core slot of each cluster (int64, k); several clusters may share one.
        order: Rank of each cluster among those of its core (int64, k).
        method: ``"sdf"``, ``"balance"``, ``"placement"`` or a caller's name.
    """

    core: np.ndarray
    order: np.ndarray
    method: str = ""

    def __post_init__(self) -> None:
        core, order = np.asarray(self.core, np.int64), np.asarray(self.order, np.int64)
        if core.ndim != 1 or order.shape != core.shape:
            raise MappingError(f"Binding: core {core.shape} and order {order.shape} must be equal "
                               f"(k,) arrays")
        object.__setattr__(self, "core", core)
        object.__setattr__(self, "order", order)

    def sequence(self) -> np.ndarray:
        """Clusters core by core, each core's in its static order."""
        return np.lexsort((np.arange(self.core.size), self.order, self.core))

    @property
    def crossbars(self) -> int:
        """Distinct cores used."""
        return int(np.unique(self.core).size)


def build_graph(profile: Profile, flows: Flows, binding: Binding, hw: Any, *,
                barrier: bool = True, buffer_steps: int = 2) -> DataflowGraph:
    """The SDFG of a bound and ordered clustered SNN (module docstring).

    Args:
        profile: Per-timestep work of each cluster.
        flows: Multicast flows between clusters (``Traffic.flows`` or the program's ``flow_*``).
        binding: Core and static order of each cluster.
        hw: The chip.
        barrier: Model the barrier that ends each timestep (the backend's semantics).
        buffer_steps: Timesteps of spikes each channel's buffer holds (>= 1).

    Returns:
        The graph.

    Raises:
        MappingError: A binding of another size than the profile, ``buffer_steps < 1``.
    """
    chip = K.Chip.of(hw)
    rptr, rcl = _check(profile, flows, binding)
    tm = K.terms(profile, rptr, rcl, binding.core, binding.order, chip)
    return graph_of(profile, flows, binding, chip, tm, rptr, rcl, barrier, buffer_steps)


def _check(profile: Profile, flows: Flows, binding: Binding) -> tuple[np.ndarray, np.ndarray]:
    k = profile.clusters
    if binding.core.size != k:
        raise MappingError(f"binding has {binding.core.size} clusters, the profile {k}")
    return K.receivers(flows, k)


@dataclass(frozen=True, slots=True, eq=False)
class Analysis:
    """Guaranteed throughput of a bound SNN.

    Attributes:
        period_cycles: Guaranteed timestep period (cycles): the maximum cycle ratio.
        period_s: The same in seconds.
        throughput: Guaranteed timesteps per second.
        critical: Actor names of the critical cycle.
        graph: The dataflow graph.
        max_link_load: Largest per-timestep link load over the profile (packets).
        buffer_peak: Largest number of spikes a tile buffers in a timestep.
        buffer_spikes: The tile buffer capacity.
        step_bound_cycles: The largest per-timestep bound over the profile (each timestep's own
            counts, not every actor's worst): never above ``period_cycles``; the gap is what
            composing per-actor worst cases costs.
    """

    period_cycles: float
    period_s: float
    throughput: float
    critical: tuple[str, ...]
    graph: DataflowGraph
    max_link_load: float
    buffer_peak: float
    buffer_spikes: int
    step_bound_cycles: float = 0.0


def analyse(profile: Profile, flows: Flows, binding: Binding, hw: Any, *, barrier: bool = True,
            buffer_steps: int = 2, buffer_spikes: int | None = None) -> Analysis:
    """Build the SDFG of ``binding`` and compute its guaranteed throughput (module docstring).

    Args:
        profile: Per-timestep work of each cluster, under this binding.
        flows: Multicast flows between clusters.
        binding: Core and static order of each cluster.
        hw: The chip.
        barrier: Model the barrier that ends each timestep (the backend's semantics).
        buffer_steps: Timesteps of spikes each channel's buffer holds (>= 1).
        buffer_spikes: Tile buffer capacity to check against (default: :class:`BindOptions`).

    Returns:
        The analysis.

    Raises:
        MappingError: A tile buffers more spikes than its capacity, or the graph deadlocks.
    """
    chip = K.Chip.of(hw)
    rptr, rcl = _check(profile, flows, binding)
    tm = K.terms(profile, rptr, rcl, binding.core, binding.order, chip)
    g = graph_of(profile, flows, binding, chip, tm, rptr, rcl, barrier, buffer_steps)
    mcr = max_cycle_ratio(g)
    cap = chip.buffer_spikes if buffer_spikes is None else buffer_spikes
    cpt = chip.topo.cores_per_tile
    peak = _tile_peak(_held(profile, rptr, rcl), binding.core, cpt)
    worst = int(np.argmax(peak)) if peak.size else 0
    if peak.size and peak[worst] > cap:
        raise MappingError(f"binding {binding.method or ''}: tile {worst} buffers up to "
                           f"{peak[worst]:.0f} spikes in a timestep, its buffer holds {cap}")
    period = max(mcr.ratio, 1.0)
    crit = [g.actors[v] for v in mcr.cycle]
    if "start" in crit:  # read it from the start of a timestep
        i = crit.index("start")
        crit = crit[i:] + crit[:i]
    step = max(chip.tick, float(tm.step_end.max(initial=0.0)) + chip.barrier)
    return Analysis(period, period / chip.clock_hz, chip.clock_hz / period, tuple(crit), g,
                    tm.max_load, float(peak.max(initial=0.0)), cap, step)


def _held(profile: Profile, rptr: np.ndarray, rcl: np.ndarray) -> np.ndarray:
    """(T, k): spikes held for each cluster in each timestep: its arrivals of steps t-1 and t.

    With packet groups, exactly what reaches each cluster; without, at most what its senders
    emit (spikes, or packets such as partial sums).
    """
    k = profile.clusters
    g = profile.groups
    if g is not None:
        recv = np.zeros((k, g.count.shape[0]))
        np.add.at(recv, g.dst, g.count.T[np.repeat(np.arange(g.src.size), np.diff(g.dst_ptr))])
    else:
        out = np.maximum(profile.spikes, profile.packets)
        c_of = np.repeat(np.arange(k), np.diff(rptr))
        recv = np.zeros((k, out.shape[0]))
        np.add.at(recv, rcl, out.T[c_of])
    held = recv.T.copy()
    held[1:] += recv.T[:-1]
    held[::profile.steps] = recv.T[::profile.steps]  # each traced input starts empty
    return held


def _tile_peak(held: np.ndarray, core: np.ndarray, cpt: int) -> np.ndarray:
    """Per tile, the most spikes it holds in one timestep."""
    tile = core // cpt
    per_tile = np.zeros((int(tile.max(initial=0)) + 1, held.shape[0]))
    np.add.at(per_tile, tile, held.T)
    return per_tile.max(axis=1) if held.shape[0] else np.zeros(per_tile.shape[0])


@dataclass(frozen=True, slots=True)
class BindOptions:
    """Options of :func:`bind`.

    Attributes:
        buffer_spikes: Spikes a tile can buffer (default: two timesteps of its crossbars' rows,
            ``2 * cores_per_tile * input_axons``; the chip files give no tile memory).
        rounds: Most improving moves of the local search.
        candidates: Least-loaded crossbars tried per move.
    """

    buffer_spikes: int | None = None
    rounds: int = 200
    candidates: int = 8


@dataclass(frozen=True, slots=True, eq=False)
class BindResult:
    """A binding and what the binder measured: the exact guaranteed period of each candidate.

    ``pruned`` candidates were ruled out before their analysis ended: their ``candidates``
    entry is a lower bound of their period, already above the chosen one.
    """

    binding: Binding
    period_cycles: float
    candidates: dict[str, float] = field(default_factory=dict)
    moves: int = 0
    seconds: float = 0.0
    pruned: tuple[str, ...] = ()


def bind(profile: Profile, flows: Flows, hw: Any, crossbars: int, *, method: str = "sdf",
         options: BindOptions | None = None, placement: np.ndarray | None = None) -> BindResult:
    """Bind ``k`` clusters to ``crossbars`` crossbars with a static order per crossbar.

    Args:
        profile: Per-timestep work of each cluster (the binding's guarantee holds for it).
        flows: Multicast flows between clusters.
        hw: The chip.
        crossbars: Crossbars to use (>= 1). With ``crossbars >= k`` nothing is shared: the
            clusters keep ``placement`` (or the most compact slots).
        method: ``"sdf"`` (maximise the guaranteed throughput: local search on the period from
            the load-balanced binding, crossbars ordered by Jackson's rule; of the candidates it
            generates — the balanced binding in index and in Jackson order, the search's result,
            and with ``placement`` a binding that keeps its geometry (:func:`_sdf_bind.local`)
            — the one whose exact analysis is best) or ``"balance"`` (the baseline: LPT load
            balancing on the most compact crossbars, index order).
        options: :class:`BindOptions`.
        placement: Core slot per cluster from the placer (used when nothing is shared).

    Returns:
        The :class:`BindResult`.

    Raises:
        MappingError: ``crossbars`` < 1 or more than the chip has, an unknown method, or the tile
            buffers cannot hold the clusters' spikes.

    Example:
        >>> from snncc.hw import load_hw
        >>> prof = Profile(cycles=np.array([[300, 200, 200, 100]]), packets=np.zeros((1, 4)),
        ...                spikes=np.zeros((1, 4)))
        >>> none = Flows(np.zeros(0, np.int64), np.zeros(0), np.zeros(1, np.int64),
        ...              np.zeros(0, np.int64))
        >>> r = bind(prof, none, load_hw("pcm-crossbar"), 2)
        >>> r.period_cycles  # barrier 1000 + max(300 + 100, 200 + 200)
        1400.0
    """
    from snncc.mapping import _sdf_bind as SB

    t0 = time.perf_counter()
    opts = options or BindOptions()
    if method not in ("sdf", "balance"):
        raise MappingError(f"bind: unknown method {method!r}; known: sdf, balance")
    chip = K.Chip.of(hw)
    topo, k = chip.topo, profile.clusters
    if crossbars < 1 or crossbars > topo.n_cores:
        raise MappingError(f"bind: {crossbars} crossbars requested; {hw.name} has "
                           f"{topo.n_cores} (need 1 .. {topo.n_cores})")
    rptr, rcl = K.receivers(flows, k)
    cap = float(chip.buffer_spikes if opts.buffer_spikes is None else opts.buffer_spikes)
    cpt = topo.cores_per_tile

    def exact(core: np.ndarray, order: np.ndarray, best: float = np.inf,
              peak: bool = False) -> tuple[float, bool]:
        """(period, pruned) of a binding (``peak``: of the made-up peak timestep).

        Pruned when a timestep's own bound alone exceeds ``best``; the period is then a lower
        bound (the timesteps analysed).
        """
        tm = K.terms(profile, rptr, rcl, core, order, chip, not peak,
                     stop=best - chip.barrier)
        seq = np.lexsort((np.arange(k), order, core))
        p = max(chip.tick, K.chain(seq, core, tm.run, tm.send, tm.tail)[0] + chip.barrier)
        return p, tm.stopped

    frozen: dict[str, np.ndarray] = {}

    def refresh(core: np.ndarray) -> None:
        """Hold the delivery bounds of ``core`` (peak timestep, Jackson order) for the search."""
        tm = K.terms(profile, rptr, rcl, core, SB.jackson(core, -np.arange(k, dtype=float)),
                     chip, False)
        tm = K.terms(profile, rptr, rcl, core, SB.jackson(core, tm.send + tm.tail), chip, False)
        frozen.update(tail=tm.tail, send=tm.send)

    def objective(core: np.ndarray) -> tuple[float, np.ndarray, int]:
        """(period, order, critical cluster) of the peak timestep with the held bounds."""
        tail, send = frozen["tail"], frozen["send"]
        order = SB.jackson(core, send + tail)
        seq = np.lexsort((np.arange(k), order, core))
        length, who, _ = K.chain(seq, core, run, send, tail)
        return max(chip.tick, length + chip.barrier), order, int(who)

    if crossbars >= k:
        core = (np.asarray(placement, np.int64) if placement is not None
                else SB.slots(topo, k))
        order = np.zeros(k, np.int64)
        p = exact(core, order)[0]
        return BindResult(Binding(core, order, "placement"), p, {"placement": p}, 0,
                          time.perf_counter() - t0)
    need = _held(profile, rptr, rcl).max(axis=0)  # summed per tile: never below its true peak
    where = SB.slots(topo, crossbars)
    run = profile.cycles.max(axis=0)
    base = SB.balance(run, need, cap, where, cpt)
    index_order = SB.jackson(base, -np.arange(k, dtype=np.float64))
    cands = {"balance": (base, index_order)}
    moves = 0
    if method == "sdf":
        refresh(base)
        cands["balance+jackson"] = (base, objective(base)[1])
        core, order, _, moves = SB.improve(base, objective, refresh, run, need, cap, cpt,
                                           opts.rounds, opts.candidates)
        cands["search"] = (core, order)
        near = (SB.local(run, need, cap, np.asarray(placement, np.int64), crossbars, topo)
                if placement is not None else None)
        if near is not None:  # the placement's geometry, spread traffic
            refresh(near)
            cands["local"] = (near, objective(near)[1])
    periods, pruned = _rank(cands, exact)
    name = min((n for n in periods if n not in pruned),
               key=lambda n: (periods[n], list(cands).index(n)))
    core, order = cands[name]
    return BindResult(Binding(core, order, method), periods[name], periods, moves,
                      time.perf_counter() - t0, tuple(pruned))


def _rank(cands: dict[str, tuple[np.ndarray, np.ndarray]], exact: Any
          ) -> tuple[dict[str, float], list[str]]:
    """Exact periods of the candidate bindings, and those pruned.

    The most promising first (by their peak-timestep estimate); each analysis stops as soon as
    one of its timesteps alone rules it out (``pruned``: its period is then a lower bound).
    Identical candidates are analysed once.
    """
    names = list(cands)
    est = {n: exact(*cands[n], peak=True)[0] for n in names}
    periods: dict[str, float] = {}
    pruned: list[str] = []
    best = np.inf
    for n in sorted(names, key=lambda n: (est[n], names.index(n))):
        c, o = cands[n]
        twin = next((m for m in periods if np.array_equal(cands[m][0], c)
                     and np.array_equal(cands[m][1], o)), None)
        if twin is not None:
            periods[n] = periods[twin]
            if twin in pruned:
                pruned.append(n)
            continue
        periods[n], cut = exact(c, o, best)
        if cut:
            pruned.append(n)
        else:
            best = min(best, periods[n])
    return {n: periods[n] for n in names}, pruned


def summary(analysis: Analysis, binding: Binding, *, clusters: int,
            baseline: Analysis | None = None, simulated_s: float | None = None,
            max_simulated_s: float | None = None, synapses: np.ndarray | None = None,
            hw: Any = None) -> dict[str, Any]:
    """The ``dataflow`` section of report.json (throughputs in timesteps per second).

    Args:
        analysis: Analysis of the chosen binding.
        binding: The binding.
        clusters: Number of clusters.
        baseline: Analysis of the load-balancing baseline binding.
        simulated_s: Mean timestep of the cycle-level backend on the same binding.
        max_simulated_s: Its longest timestep.
        synapses: Synapses per cluster (for the cost of rewriting shared crossbars).
        hw: The chip (``device.write_J``, ``device.endurance_cycles``).
    """
    out: dict[str, Any] = {
        "throughput_guaranteed": analysis.throughput,
        "throughput_simulated": None if simulated_s is None else 1.0 / simulated_s,
        "crossbars": binding.crossbars, "clusters": clusters,
        "baseline_throughput_guaranteed": None if baseline is None else baseline.throughput,
        "binding": binding.method, "period_guaranteed_s": analysis.period_s,
        "period_simulated_s": simulated_s, "max_period_simulated_s": max_simulated_s,
        "critical_cycle": list(analysis.critical[:12]),
        "period_per_timestep_bound_s": analysis.step_bound_cycles / analysis.graph.clock_hz,
        "max_link_load_per_timestep": analysis.max_link_load,
        "buffer_peak_spikes": analysis.buffer_peak, "buffer_spikes": analysis.buffer_spikes}
    if simulated_s is not None:
        out["guarantee_held"] = bool((max_simulated_s or simulated_s) <= analysis.period_s
                                     * (1 + 1e-12))
        out["guarantee_slack"] = analysis.period_s / simulated_s - 1.0
    per_core = np.bincount(np.unique(binding.core, return_inverse=True)[1])
    shared = per_core[np.unique(binding.core, return_inverse=True)[1]] > 1
    writes = float(np.asarray(synapses)[shared].sum()) if synapses is not None else None
    dev = getattr(hw, "device", None)
    out["cell_writes_per_timestep"] = writes
    out["reprogram_J_per_timestep"] = (writes * dev.write_J if dev is not None
                                       and writes is not None else None)
    m = int(per_core.max(initial=0))
    out["cell_lifetime_s"] = (dev.endurance_cycles / (m * analysis.throughput)
                              if dev is not None and m > 1 else None)
    return out

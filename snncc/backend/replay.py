"""Replay a functional spike trace on a placed and routed Program, cycle by cycle.

Per inference and algorithmic timestep ``t`` (barrier-synchronous, like Loihi):

1. Every core runs its clusters one after another (static order). A cluster's segment lasts
   :class:`~snncc.backend.costs.CoreCosts` time for its counts at ``t``: synaptic events of the
   spikes delivered at ``t - 1``, crossbar reads, neuron updates (active when the cluster received
   input at ``t`` or its neurons have a bias current or analogue input, else idle), spikes out and
   packets out.
2. The spikes of a cluster are ready at the end of its segment. The core's network interface sends
   one packet per ``ceil(flits / ni_packets_per_cycle)`` cycles: one multicast packet per spike to
   the tiles holding its other destination cores, or one unicast copy per destination core where
   the chip has no multicast. Parts of split neurons send one partial sum to their soma in every
   step with input. Destinations on the sending core are local (no packet).
3. The network-on-chip (:mod:`snncc.backend.noc`) delivers the packets cycle by cycle.
4. The step lasts until the last core is done and the last packet is delivered, plus the barrier;
   on a clocked chip (``neuron.tick_s > 0``) at least one tick, and longer steps are overruns.

Counted: synaptic events, reads, neuron updates, spikes, packets, link traversals, deliveries.
Energy = counts × the chip's per-event costs + static power × run time, per category and per layer.
Conservation: every (spike, other destination core) pair and partial sum is delivered exactly once,
or :class:`~snncc.errors.SimulationError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snncc.backend._kernels import make_packets, order_metrics, step_counts
from snncc.backend.costs import CoreCosts, core_costs
from snncc.backend.synmap import SynapseMap
from snncc.errors import SimulationError

__all__ = ["BackendResult", "ClusterCounts", "cluster_counts", "run"]

CATEGORIES = ("synaptic_J", "adc_J", "neuron_active_J", "neuron_idle_J", "spike_out_J",
              "packet_out_J", "noc_hops_J", "intra_tile_J", "static_core_J", "static_router_J")


@dataclass(frozen=True, eq=False)
class ClusterCounts:
    """Per-step counts of every cluster over the traced inputs.

    Attributes:
        synops, reads, active, idle, spikes, packets: float64 ``(n_inputs, n_steps, n_clusters)``.
        deliveries: Destination cores reached through the network (per emitting cluster).
        columns: Neurons per cluster.
        layer_synops, layer_spikes, layer_packets: float64 ``(n_inputs, n_layers)``.
        layer_active, layer_idle: Neuron updates per layer, ``(n_inputs, n_layers)``.
    """

    synops: np.ndarray
    reads: np.ndarray
    active: np.ndarray
    idle: np.ndarray
    spikes: np.ndarray
    packets: np.ndarray
    deliveries: np.ndarray
    columns: np.ndarray
    layer_synops: np.ndarray
    layer_spikes: np.ndarray
    layer_packets: np.ndarray
    layer_active: np.ndarray
    layer_idle: np.ndarray


@dataclass(frozen=True, eq=False)
class BackendResult:
    """What the cycle-level backend measured over the traced inputs (per inference = mean).

    Attributes:
        inputs: Inferences replayed.
        clock_hz: Cycle clock.
        step_cycles: int64 ``(inputs, steps)``: length of every timestep including the barrier.
        busy_cycles, noc_cycles: ``(inputs, steps)``: last core finish; last delivery.
        timestep_s, max_timestep_s: Mean and longest timestep.
        latency_per_inference_s: Mean time of one inference (its timesteps back to back).
        throughput_inferences_per_s: ``1 / latency_per_inference_s``.
        energy_per_inference_J: Mean energy of one inference.
        energy_breakdown_J: Category -> joules per inference (sums to the total).
        energy_per_layer_J: Layer -> category -> joules per inference (NoC energy attributed by
            the emitting layer's packet-hops).
        spike_latency_cycles: mean / p99 / max cycles from a spike being ready in its core to its
            delivery at each destination core.
        latency_histogram: (counts, edges) of spike latency in cycles.
        packets_injected, packets_delivered, deliveries_expected, spikes_emitted: Totals.
        link_flits: ``(n_tiles, 4)`` flits per directed link over all inputs (E, W, N, S).
        router_flits: ``(n_tiles,)`` flits switched per router.
        isi_distortion_cycles: mean / max |received ISI - emitted ISI| per (neuron, destination
            tile) pair of consecutive spikes.
        spike_disorder: Fraction of deliveries that arrived after a later-emitted spike at the
            same destination tile in the same step.
        tick_overruns: Timesteps whose work exceeded the chip's tick (clocked chips; else 0).
        counts: The :class:`ClusterCounts`.
        events: Total event counts by kind (for checking energy = counts × costs).
    """

    inputs: int
    clock_hz: float
    step_cycles: np.ndarray
    busy_cycles: np.ndarray
    noc_cycles: np.ndarray
    timestep_s: float
    max_timestep_s: float
    latency_per_inference_s: float
    throughput_inferences_per_s: float
    energy_per_inference_J: float
    energy_breakdown_J: dict[str, float]
    energy_per_layer_J: dict[str, dict[str, float]]
    spike_latency_cycles: dict[str, float]
    latency_histogram: tuple[list[int], list[float]]
    packets_injected: int
    packets_delivered: int
    deliveries_expected: int
    spikes_emitted: int
    link_flits: np.ndarray
    router_flits: np.ndarray
    isi_distortion_cycles: dict[str, float]
    spike_disorder: float
    tick_overruns: int
    counts: ClusterCounts
    events: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The report.json ``simulation`` keys of the backend."""
        return {
            "backend_inputs": self.inputs,
            "energy_per_inference_J": self.energy_per_inference_J,
            "energy_breakdown_J": dict(self.energy_breakdown_J),
            "energy_per_layer_J": self.energy_per_layer_J,
            "latency_per_inference_s": self.latency_per_inference_s,
            "timestep_s": self.timestep_s, "max_timestep_s": self.max_timestep_s,
            "throughput_inferences_per_s": self.throughput_inferences_per_s,
            "spike_latency_cycles": dict(self.spike_latency_cycles),
            "spike_latency_histogram": {"counts": self.latency_histogram[0],
                                        "edges": self.latency_histogram[1]},
            "spikes_emitted": self.spikes_emitted,
            "packets_injected": self.packets_injected,
            "packets_delivered": self.packets_delivered,
            "deliveries_expected": self.deliveries_expected,
            "isi_distortion_cycles": dict(self.isi_distortion_cycles),
            "spike_disorder": self.spike_disorder,
            "tick_overruns": self.tick_overruns,
            "max_link_flits": int(self.link_flits.max(initial=0)),
            # per directed link (tile, E/W/N/S), per inference; omitted on very large systems
            "link_flits_per_inference": (self.link_flits / max(self.inputs, 1)).tolist()
            if self.link_flits.shape[0] <= 4096 else None,
            "max_router_flits": int(self.router_flits.max(initial=0)),
            "events": dict(self.events),
        }


@dataclass(frozen=True, eq=False)
class _Setup:
    """Everything the replay needs, resolved from a Program and a binding."""

    hw: Any
    costs: CoreCosts
    syn: SynapseMap
    n_clusters: int
    core_of: np.ndarray      # cluster -> physical core
    rank: np.ndarray         # cluster -> execution rank on its core
    tile_of_core: np.ndarray
    columns: np.ndarray      # neurons per cluster
    cl_layer: np.ndarray     # (n_clusters, n_layers) neurons
    always: np.ndarray       # cluster has neurons updating every step
    part_units: np.ndarray   # part slot -> unit
    part_slot: np.ndarray    # unit -> part slot (or -1)
    psum_cl: np.ndarray
    psum_src_cl: np.ndarray
    psum_lay: np.ndarray
    psum_w: np.ndarray
    layer_names: tuple[str, ...]
    multicast: bool
    ni_gap: int


def _setup(program: Any, binding: np.ndarray | None, order: np.ndarray | None) -> _Setup:
    from snncc.hw import HardwareModel
    from snncc.mapping.topology import Topology

    a = program.mapping
    if "syn_ptr" not in a:
        raise SimulationError("the program has no synapse map (syn_* arrays): compile it again "
                              "with this version of snncc")
    hw = HardwareModel.from_dict(program.hw, path=f"program hw {program.hw.get('name', '?')}")
    unit_cluster = np.asarray(a["unit_cluster"], np.int64)
    n_clusters = int(unit_cluster.max()) + 1 if unit_cluster.size else 0
    if binding is None:
        binding = a.get("cluster_core", np.arange(n_clusters))
    core_of = np.asarray(binding, np.int64)
    if core_of.shape != (n_clusters,):
        raise SimulationError(f"binding: need one core per cluster ({n_clusters}), "
                              f"got shape {core_of.shape}")
    if n_clusters and (core_of.min() < 0 or core_of.max() >= hw.n_cores):
        raise SimulationError(f"binding: cores must lie in [0, {hw.n_cores}) on {hw.name}, got "
                              f"{int(core_of.min())}..{int(core_of.max())}")
    if order is None:
        order = a.get("cluster_order", np.arange(n_clusters))
    rank = np.asarray(order, np.int64)
    if rank.shape != (n_clusters,):
        raise SimulationError(f"order: need one rank per cluster ({n_clusters}), "
                              f"got shape {rank.shape}")
    topo = Topology.from_hw(hw)
    layer_names = tuple(program.meta.get("layer_names", ()))
    n_layers = len(layer_names)
    unit_layer = np.asarray(a["unit_layer"], np.int64)
    unit_neurons = np.asarray(a["unit_neurons"], np.float64)
    cl_layer = np.zeros((n_clusters, max(n_layers, 1)))
    np.add.at(cl_layer, (unit_cluster, unit_layer), unit_neurons)
    columns = cl_layer.sum(axis=1)
    net = program.net
    pops = {p.name: p for p in net.populations}
    analog = {pr.post for pr in net.projections if pr.pre in {s.name for s in net.inputs}}
    hot_layers = np.array([name in analog or bool(np.any(pops[name].bias != 0))
                           if name in pops else False for name in layer_names], bool)
    always = (cl_layer[:, :n_layers] * hot_layers[None, :]).sum(axis=1) > 0 if n_layers \
        else np.zeros(n_clusters, bool)
    kind = np.asarray(a["unit_kind"])
    target = np.asarray(a["unit_psum_target"], np.int64)
    parts = np.flatnonzero((kind == 1) & (target >= 0))
    slot = np.full(kind.size, -1, np.int64)
    slot[parts] = np.arange(parts.size)
    feeds = np.bincount(target[parts], minlength=kind.size) if parts.size else np.zeros(
        kind.size, np.int64)
    syn = np.asarray(a["unit_synapses"], np.float64)
    psum_w = syn[target[parts]] / np.maximum(feeds[target[parts]], 1) if parts.size else \
        np.zeros(0)
    noc = hw.noc
    gap = max(1, math.ceil(noc.flits_per_spike / max(noc.ni_packets_per_cycle, 1)))
    return _Setup(hw=hw, costs=core_costs(hw), syn=SynapseMap.from_arrays(a),
                  n_clusters=n_clusters, core_of=core_of, rank=rank,
                  tile_of_core=np.asarray(topo.core_tile, np.int64), columns=columns,
                  cl_layer=cl_layer[:, :n_layers], always=always, part_units=parts,
                  part_slot=slot, psum_cl=unit_cluster[target[parts]],
                  psum_src_cl=unit_cluster[parts], psum_lay=unit_layer[target[parts]],
                  psum_w=psum_w, layer_names=layer_names, multicast=bool(noc.multicast),
                  ni_gap=gap)


def _check_trace(program: Any, trace: Any) -> None:
    names = tuple(p.name for p in program.net.populations)
    if tuple(trace.populations) != names:
        raise SimulationError(f"the spike trace's populations {list(trace.populations)[:4]}... "
                              f"do not match the program's {list(names)[:4]}...")
    n = int(program.mapping["syn_ptr"].size - 1)
    if int(trace.offsets[-1]) != n:
        raise SimulationError(f"the spike trace numbers {int(trace.offsets[-1])} neurons, the "
                              f"program {n}")


def _counts_one(s: _Setup, steps: np.ndarray, neurons: np.ndarray, n_steps: int
                ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    k, n_layers = s.n_clusters, len(s.layer_names)
    out = {name: np.zeros((n_steps, k)) for name in ("synops", "spikes", "packets",
                                                       "deliveries")}
    recv = np.zeros((n_steps, k), bool)
    lay = {name: np.zeros(max(n_layers, 1)) for name in ("synops", "packets")}
    psum_mark = np.zeros((n_steps, s.part_units.size), bool)
    n_cores = int(s.core_of.max()) + 1 if k else 1
    step_counts(steps.astype(np.int64), neurons.astype(np.int64), n_steps, s.syn.ptr,
                s.syn.cluster, s.syn.layer, s.syn.part, s.syn.synops, s.syn.neuron_cluster,
                s.core_of, s.part_slot, s.psum_cl, s.psum_lay, s.psum_w, s.psum_src_cl,
                s.multicast, n_cores, out["synops"], recv, out["spikes"], out["packets"],
                out["deliveries"], lay["synops"], psum_mark, s.syn.neuron_layer.astype(np.int64),
                lay["packets"])
    active_mask = recv | s.always[None, :] | (out["spikes"] > 0)
    out["active"] = active_mask * s.columns[None, :]
    out["idle"] = (~active_mask) * s.columns[None, :]
    out["reads"] = recv.astype(np.float64) if s.hw.device is not None else np.zeros((n_steps, k))
    spk_layer = np.bincount(s.syn.neuron_layer[neurons], minlength=max(n_layers, 1)
                            ).astype(np.float64) if neurons.size else np.zeros(max(n_layers, 1))
    out["layer_synops"] = lay["synops"][:n_layers]
    out["layer_packets"] = lay["packets"][:n_layers]
    out["layer_spikes"] = spk_layer[:n_layers]
    out["layer_active"] = active_mask.sum(axis=0) @ s.cl_layer
    out["layer_idle"] = (~active_mask).sum(axis=0) @ s.cl_layer
    return out, psum_mark


def cluster_counts(program: Any, trace: Any, *, binding: np.ndarray | None = None
                   ) -> ClusterCounts:
    """Per-step counts of every cluster for the traced inputs (see :class:`ClusterCounts`).

    ``binding`` only changes which destinations are local (same core: no packet).
    """
    _check_trace(program, trace)
    s = _setup(program, binding, None)
    rows = [_counts_one(s, trace.steps[i], trace.neurons[i], trace.n_steps)[0]
            for i in range(len(trace))]
    return _stack(s, rows, trace.n_steps)


def _stack(s: _Setup, rows: list[dict[str, np.ndarray]], n_steps: int) -> ClusterCounts:
    def st(name: str, shape: tuple[int, ...]) -> np.ndarray:
        return np.stack([r[name] for r in rows]) if rows else np.zeros((0, *shape))

    k, nl = s.n_clusters, len(s.layer_names)
    return ClusterCounts(
        synops=st("synops", (n_steps, k)), reads=st("reads", (n_steps, k)),
        active=st("active", (n_steps, k)), idle=st("idle", (n_steps, k)),
        spikes=st("spikes", (n_steps, k)), packets=st("packets", (n_steps, k)),
        deliveries=st("deliveries", (n_steps, k)), columns=s.columns,
        layer_synops=st("layer_synops", (nl,)), layer_spikes=st("layer_spikes", (nl,)),
        layer_packets=st("layer_packets", (nl,)), layer_active=st("layer_active", (nl,)),
        layer_idle=st("layer_idle", (nl,)))


def _segments(s: _Setup, c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Segment end (cycles) of every (step, cluster) and busy cycles per step."""
    cyc = s.costs.cycles(c["synops"], c["reads"], c["active"], c["idle"], c["spikes"],
                         c["packets"])
    order = np.lexsort((np.arange(s.n_clusters), s.rank, s.core_of))
    cs = np.cumsum(cyc[:, order], axis=1)
    core_sorted = s.core_of[order]
    first = np.r_[True, core_sorted[1:] != core_sorted[:-1]]
    start_idx = np.maximum.accumulate(np.where(first, np.arange(order.size), 0))
    before = np.where(start_idx > 0, cs[:, np.maximum(start_idx - 1, 0)], 0)
    seg = np.empty_like(cyc)
    seg[:, order] = cs - before
    busy = seg.max(axis=1, initial=0)
    return seg, busy


def _percentile(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if x.size else 0.0


def run(program: Any, trace: Any, *, binding: np.ndarray | None = None,
        order: np.ndarray | None = None, progress: bool | None = None) -> BackendResult:
    """Replay ``trace`` (a :class:`~snncc.sim.SpikeTrace`) on ``program``, cycle by cycle.

    Args:
        program: A :class:`~snncc.program.Program` (from ``snncc compile``).
        trace: The functional simulator's spike trace of the inputs to replay.
        binding: Physical core per cluster (default: the program's placement); clusters on one
            core run one after another.
        order: Execution rank of each cluster on its core (default: program's, else index).
        progress: Show a progress bar (default: when more than 20 inputs).

    Raises:
        SimulationError: Trace and program disagree, or a delivery went missing.
    """
    from snncc.backend.noc import NocMesh, simulate_noc
    from snncc.mapping.topology import Topology

    _check_trace(program, trace)
    s = _setup(program, binding, order)
    hw = s.hw
    clock = hw.timing.clock_hz
    n_in, n_steps = len(trace), trace.n_steps
    mesh = NocMesh.from_hw(hw)
    n_tiles = hw.n_tiles
    n_cores = int(hw.n_cores)
    barrier = math.ceil(hw.timing.barrier_s * clock - 1e-9)
    tick = math.ceil(hw.neuron.tick_s * clock - 1e-9) if hw.neuron.tick_s > 0 else 0
    topo = Topology.from_hw(hw)
    link_energy = topo.link_energy()
    gx = hw.grid[0]

    rows: list[dict[str, np.ndarray]] = []
    step_cycles = np.zeros((n_in, n_steps), np.int64)
    busy_all = np.zeros((n_in, n_steps), np.int64)
    noc_all = np.zeros((n_in, n_steps), np.int64)
    link_flits = np.zeros((n_tiles, 4), np.int64)
    router_flits = np.zeros(n_tiles, np.int64)
    lat_parts: list[np.ndarray] = []
    isi: list[np.ndarray] = []
    disorder = [0, 0]
    injected = delivered = expected = 0
    intra = 0.0
    layer_hops = np.zeros(max(len(s.layer_names), 1))
    layer_intra = np.zeros(max(len(s.layer_names), 1))
    overruns = 0
    show = progress if progress is not None else n_in > 20
    from rich.progress import Progress

    with Progress(disable=not show, transient=True) as bar:
        task = bar.add_task("cycle-level backend", total=n_in)
        for i in range(n_in):
            steps = np.asarray(trace.steps[i], np.int64)
            neurons = np.asarray(trace.neurons[i], np.int64)
            c, psum_mark = _counts_one(s, steps, neurons, n_steps)
            rows.append(c)
            seg, busy = _segments(s, c)
            # events in the order the interfaces send them: step, core, rank, neuron/partial sum
            pt, pq = np.nonzero(psum_mark)
            ev_step = np.concatenate([steps, pt])
            ev_src = np.concatenate([neurons, -(pq.astype(np.int64) + 1)])
            ev_cl = np.concatenate([s.syn.neuron_cluster[neurons], s.psum_src_cl[pq]])
            ev_kind = np.r_[np.zeros(steps.size, np.int64), np.ones(pt.size, np.int64)]
            srt = np.lexsort((ev_src, ev_kind, s.rank[ev_cl], s.core_of[ev_cl], ev_step))
            n_pk = int(c["packets"].sum())
            n_dl = int(c["deliveries"].sum())
            (p_step, p_src, p_ready, p_inj, p_ev, d_ptr, d_tile, d_cores) = make_packets(
                ev_step[srt], ev_src[srt], n_steps, s.syn.ptr, s.syn.cluster,
                s.syn.neuron_cluster, s.core_of, s.tile_of_core, seg, s.ni_gap, s.multicast,
                s.psum_cl, s.psum_src_cl, n_cores, n_tiles, n_pk, n_dl)
            if p_step.size != n_pk:
                raise SimulationError(f"input {i}: {p_step.size} packets built, {n_pk} counted")
            phase_ptr = np.searchsorted(p_step, np.arange(n_steps + 1)).astype(np.int64)
            res = simulate_noc(mesh, phase_ptr, p_inj, p_src, d_ptr, d_tile)
            got = int(d_cores[res.deliver >= 0].sum())
            injected += n_pk
            expected += n_dl
            delivered += got
            if got != n_dl:
                raise SimulationError(f"conservation: input {i} expected {n_dl} deliveries to "
                                      f"destination cores, the network made {got}")
            link_flits += res.link_flits
            router_flits += res.router_flits
            noc_end = np.zeros(n_steps, np.int64)
            noc_end[:] = res.drain
            work = np.maximum(busy, noc_end) + barrier
            if tick:
                overruns += int((work > tick).sum())
                work = np.maximum(work, tick)
            step_cycles[i], busy_all[i], noc_all[i] = work, busy, noc_end
            # spike latency per (packet, destination tile), weighted by destination cores
            entry_pk = np.repeat(np.arange(p_step.size), np.diff(d_ptr))
            lat = res.deliver - p_ready[entry_pk]
            lat_parts.append(np.repeat(lat, d_cores))
            same = d_tile == p_src[entry_pk]
            intra += float(d_cores[same].sum())
            # per-layer NoC attribution: the emitting layer's packet-hops (Manhattan, per entry)
            ev_sorted = ev_src[srt][p_ev]
            src_layer = np.where(ev_sorted >= 0,
                                 s.syn.neuron_layer[np.maximum(ev_sorted, 0)],
                                 s.psum_lay[np.maximum(-ev_sorted - 1, 0)]
                                 if s.psum_lay.size else 0)
            hx = np.abs(d_tile % gx - p_src[entry_pk] % gx) + np.abs(
                d_tile // gx - p_src[entry_pk] // gx)
            if src_layer.size:
                sl = src_layer[entry_pk]
                layer_hops += np.bincount(sl, weights=hx, minlength=layer_hops.size)
                layer_intra += np.bincount(sl, weights=np.where(same, d_cores, 0),
                                           minlength=layer_intra.size)
            # inter-spike-interval distortion and disorder, on absolute times
            start = np.r_[0, np.cumsum(work)[:-1]].astype(np.int64)
            isi_i, late, total_d = order_metrics(
                p_step, d_ptr, d_tile, d_cores, p_ready, res.deliver, ev_sorted, start,
                int(s.syn.ptr.size - 1), n_tiles)
            isi.append(isi_i)
            disorder[0] += int(late)
            disorder[1] += int(total_d)
            bar.advance(task)

    counts = _stack(s, rows, n_steps)
    lat_all = np.concatenate(lat_parts) if lat_parts else np.zeros(0, np.int64)
    isi_all = np.concatenate(isi) if isi else np.zeros(0)
    total_cycles = float(step_cycles.sum())
    run_s = total_cycles / clock
    per_inf = 1.0 / max(n_in, 1)
    # energy = event counts x costs
    cost = s.costs
    cols = counts.columns[None, None, :]
    core_J = {k: float(np.sum(v)) * per_inf for k, v in cost.joules(
        counts.synops, counts.reads, cols, counts.active, counts.idle, counts.spikes,
        counts.packets).items()}
    flits = max(hw.noc.flits_per_spike, 1)
    hops_J = float((link_flits * link_energy).sum()) / flits * per_inf
    intra_J = intra * hw.energy.intra_tile_J * per_inf
    cores_used = np.unique(s.core_of)
    tiles_used = np.union1d(s.tile_of_core[cores_used], np.flatnonzero(router_flits))
    static_core = hw.energy.static_core_W * cores_used.size * run_s * per_inf
    static_router = hw.energy.static_router_W * tiles_used.size * run_s * per_inf
    breakdown = {**core_J, "noc_hops_J": hops_J, "intra_tile_J": intra_J,
                 "static_core_J": static_core, "static_router_J": static_router}
    breakdown = {k: breakdown[k] for k in CATEGORIES}
    total = float(sum(breakdown.values()))
    # per layer
    per_layer: dict[str, dict[str, float]] = {}
    neurons_l = s.cl_layer.sum(axis=0)
    share = neurons_l / max(neurons_l.sum(), 1.0)
    hop_share = layer_hops / max(layer_hops.sum(), 1.0)
    col_l = s.cl_layer  # neurons per (cluster, layer)
    reads_l = (counts.reads.sum(axis=(0, 1))[:, None] * col_l).sum(axis=0) if col_l.size else \
        np.zeros(0)
    for j, name in enumerate(s.layer_names):
        e = {"synaptic_J": counts.layer_synops[:, j].sum() * cost.synop_J,
             "adc_J": reads_l[j] * cost.adc_J if reads_l.size else 0.0,
             "neuron_active_J": counts.layer_active[:, j].sum() * cost.active_J,
             "neuron_idle_J": counts.layer_idle[:, j].sum() * cost.idle_J,
             "spike_out_J": counts.layer_spikes[:, j].sum() * cost.spike_J,
             "packet_out_J": counts.layer_packets[:, j].sum() * cost.packet_J}
        row = {k: float(v) * per_inf for k, v in e.items()}
        row["noc_hops_J"] = hops_J * float(hop_share[j])
        row["intra_tile_J"] = float(layer_intra[j]) * hw.energy.intra_tile_J * per_inf
        row["static_J"] = (static_core + static_router) * float(share[j])
        per_layer[name] = row
    hist_counts, edges = (np.histogram(lat_all, bins=30) if lat_all.size
                          else (np.zeros(0, np.int64), np.zeros(0)))
    events = {"synops": float(counts.synops.sum()), "reads": float(counts.reads.sum()),
              "adc_conversions": float((counts.reads * cols).sum()),
              "neuron_updates_active": float(counts.active.sum()),
              "neuron_updates_idle": float(counts.idle.sum()),
              "spikes": float(counts.spikes.sum()), "packets": float(counts.packets.sum()),
              "link_traversals": float(link_flits.sum()) / flits,
              "intra_tile_deliveries": intra, "run_s": run_s,
              "cores_used": float(cores_used.size), "routers_powered": float(tiles_used.size)}
    lat_f = lat_all.astype(np.float64)
    return BackendResult(
        inputs=n_in, clock_hz=clock, step_cycles=step_cycles, busy_cycles=busy_all,
        noc_cycles=noc_all,
        timestep_s=float(step_cycles.mean()) / clock if step_cycles.size else 0.0,
        max_timestep_s=float(step_cycles.max(initial=0)) / clock,
        latency_per_inference_s=run_s * per_inf,
        throughput_inferences_per_s=(1.0 / (run_s * per_inf)) if run_s > 0 else math.inf,
        energy_per_inference_J=total, energy_breakdown_J=breakdown,
        energy_per_layer_J=per_layer,
        spike_latency_cycles={"mean": float(lat_f.mean()) if lat_f.size else 0.0,
                              "p99": _percentile(lat_f, 99), "max": float(lat_f.max(initial=0))},
        latency_histogram=([int(v) for v in hist_counts], [float(v) for v in edges]),
        packets_injected=injected, packets_delivered=delivered, deliveries_expected=expected,
        spikes_emitted=int(counts.spikes.sum()), link_flits=link_flits,
        router_flits=router_flits,
        isi_distortion_cycles={"mean": float(isi_all.mean()) if isi_all.size else 0.0,
                               "max": float(isi_all.max(initial=0))},
        spike_disorder=disorder[0] / disorder[1] if disorder[1] else 0.0,
        tick_overruns=overruns, counts=counts, events=events)

"""The default pipelines, top to bottom like the data-flow diagram: what the CLI runs.

``simulate_model``: ONNX -> LayerGraph -> SpikingNet (-> quantised) -> functional simulation ->
report dict (the ``network`` and ``simulation`` sections of report.json).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snncc.convert import ConvertOptions, SpikingNet, convert, quantize
from snncc.data import Dataset
from snncc.frontend import load_onnx
from snncc.ir import LayerGraph
from snncc.report import efficiency, network_section, new_report
from snncc.sim import SimResult, simulate

__all__ = [
    "CompileSettings", "SimulationSettings", "ann_accuracy", "compile_model", "schedule_crossbars",
    "simulate_model"]


@dataclass(frozen=True)
class SimulationSettings:
    """Everything ``snncc simulate`` can be told, with the paper's defaults."""

    convert: ConvertOptions = field(default_factory=ConvertOptions)
    presentation_s: float = 0.2
    encoder: str = "current"
    weight_bits: int | None = None
    calibration: int = 256
    batch_size: int = 256
    seed: int = 0
    progress: bool | None = None


def ann_accuracy(graph: LayerGraph, data: Dataset, batch: int = 512) -> float:
    """Accuracy of the ANN (the reference interpreter, equal to onnxruntime) on ``data``."""
    hits = 0
    for k in range(0, len(data.x), batch):
        y = graph.run(data.x[k:k + batch])
        assert isinstance(y, np.ndarray)
        hits += int(np.sum(y.reshape(len(y), -1).argmax(axis=1) == data.y[k:k + batch]))
    return hits / len(data.x)


def simulate_model(model: str | Path, data: Dataset, settings: SimulationSettings, *,
                   trace_inputs: int = 0) -> tuple[dict[str, Any], SpikingNet, SimResult]:
    """Import, convert and simulate ``model`` on ``data``; return the report and the pieces.

    ``trace_inputs``: record the spike trace of the first this many inputs (for the backend).
    """
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    graph = load_onnx(model)
    times["frontend"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    calib = data.x[: settings.calibration]
    net = convert(graph, calibration=calib, options=settings.convert)
    quant_rows: list[dict[str, Any]] = []
    if settings.weight_bits is not None:
        net, rows = quantize(net, settings.weight_bits)
        quant_rows = [dataclasses.asdict(r) for r in rows]
    times["convert"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = simulate(net, data.x, data.y, presentation_s=settings.presentation_s,
                      encoder=settings.encoder, batch_size=settings.batch_size,
                      seed=settings.seed, progress=settings.progress,
                      trace_inputs=trace_inputs)
    times["simulate"] = time.perf_counter() - t0
    ann = ann_accuracy(graph, data)

    n = len(data.x)
    spikes_per_layer = {k: float(v.sum()) for k, v in result.rates.items()}
    first = sum(p.synapses for p in net.projections if p.pre == net.inputs[0].name)
    events = float(np.mean(result.synaptic_events))
    report = new_report(str(model), seed=settings.seed)
    report["network"] = network_section(graph, spikes_per_layer)
    report["simulation"] = {
        "data": data.name, "inputs": n, "timesteps": result.steps, "dt_s": net.dt,
        "presentation_s": settings.presentation_s, "encoder": settings.encoder,
        "synapse": net.synapse, "tau_s": net.tau_s, "weight_bits": settings.weight_bits,
        "accuracy": result.accuracy, "ann_accuracy": ann,
        "spikes_emitted": int(np.sum(result.spikes)),
        "spikes_per_inference": float(np.mean(result.spikes)),
        "synaptic_events_per_inference": events,
        "neuron_updates_per_inference": int(result.neuron_updates),
        "input_macs_per_inference": int(result.input_macs),
        "efficiency": efficiency(graph, first, events, float(result.neuron_updates)),
        "silent_populations": list(result.silent),
        "quantisation": quant_rows,
        "normalisation": {k: float(v) for k, v in net.metadata.get("relu_scales", {}).items()},
        "seconds": times,
    }
    return report, net, result



@dataclass(frozen=True)
class CompileSettings:
    """Everything ``snncc compile`` can be told."""

    simulation: SimulationSettings = field(default_factory=SimulationSettings)
    partitioner: str = "metis"
    placer: str | None = "sa"
    granularity: int = 4
    activity_inputs: int = 64
    random_inputs: int = 16
    endurance: bool = False  # endurance-aware cell placement (mapping.endurance, eSpine)
    thermal: bool = False  # thermal-aware hill climbing (mapping.thermal, Titirsha & Das)


def compile_model(model: str | Path, hw: Any, data: Dataset | None, settings: CompileSettings
                  ) -> tuple[dict[str, Any], Any, SpikingNet]:
    """Frontend -> convert -> activity -> partition -> place -> route.

    Returns report.json's dict, the :class:`snncc.mapping.Mapping` and the SpikingNet.

    The activity profile comes from the functional simulation of ``data`` (its first
    ``activity_inputs`` samples), or of uniform random inputs when ``data`` is None (a warning in
    the report: traffic then reflects no real workload).
    """
    sim = settings.simulation
    warnings: list[str] = []
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    graph = load_onnx(model)
    times["frontend"] = time.perf_counter() - t0
    if data is None:
        rng = np.random.default_rng(sim.seed)
        x = rng.random((settings.random_inputs, *graph.inputs[0].shape), dtype=np.float32)
        data = Dataset(x=x, y=np.full(len(x), -1), name=f"{len(x)} random inputs")
        warnings.append(f"no --data: activity from {len(x)} uniform random inputs, so traffic "
                        "figures do not reflect a real workload")
    t0 = time.perf_counter()
    net = convert(graph, calibration=data.x[: sim.calibration], options=sim.convert)
    if sim.weight_bits is not None:
        net, _ = quantize(net, sim.weight_bits)
    times["convert"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    xs, ys = data.x[: settings.activity_inputs], data.y[: settings.activity_inputs]
    result = simulate(net, xs, ys if (ys >= 0).all() else None,
                      presentation_s=sim.presentation_s, encoder=sim.encoder,
                      batch_size=sim.batch_size, seed=sim.seed, progress=sim.progress)
    times["activity"] = time.perf_counter() - t0
    mapping = map_activity(net, hw, result.rates, result.steps, settings)
    device: dict[str, Any] = {}
    if settings.endurance or settings.thermal:
        from snncc.mapping.thermal import device_passes

        mapping, device = device_passes(net, mapping, hw, endurance=settings.endurance,
                                        thermal=settings.thermal,
                                        inference_s=sim.presentation_s, seed=sim.seed)
    times.update(mapping.seconds)
    spikes = {k: float(v.sum()) for k, v in result.rates.items()}
    report = new_report(str(model), hw=hw.name, seed=sim.seed)
    report["network"] = network_section(graph, spikes)
    report["mapping"] = {**mapping.summary(), "compile_seconds": times}
    report.update(device)
    report["activity"] = {"data": data.name, "inputs": len(xs), "timesteps": result.steps,
                          "spikes_per_inference": float(np.mean(result.spikes)),
                          "accuracy": result.accuracy}
    report["warnings"] = warnings + ([f"silent layers: {list(result.silent)}"]
                                     if result.silent else [])
    return report, mapping, net


def map_activity(net: SpikingNet, hw: Any, rates: dict[str, np.ndarray], steps: int,
                 settings: CompileSettings) -> Any:
    """Partition, place and route ``net`` on ``hw`` for the activity ``rates``.

    ``rates``: spikes per neuron per inference. Routing tables over the chip's limit raise
    :class:`DRCError`.
    """
    from snncc.errors import DRCError
    from snncc.mapping import map_network
    from snncc.mapping.drc import routing_violations

    mapping = map_network(net, hw, counts=rates, timesteps=steps,
                          partitioner=settings.partitioner, seed=settings.simulation.seed,
                          granularity=settings.granularity, placer=settings.placer)
    if mapping.routing is not None:
        bad = routing_violations(mapping.routing.routing_entries, hw)
        if bad:
            raise DRCError(f"{len(bad)} router(s) over their routing table on {hw.name}; "
                           f"first: {bad[0]}", [str(v) for v in bad])
    return mapping


def build_program(net: SpikingNet, hw: Any, mapping: Any, report: dict[str, Any]) -> Any:
    """The :class:`snncc.program.Program` of a compiled network (deterministic: no timings)."""
    from snncc.backend.synmap import synapse_map
    from snncc.program import Program

    g = mapping.graph
    kinds = {"neurons": 0, "part": 1, "soma": 2}
    psum_to = np.full(g.n_units, -1, np.int64)
    for v, unit in enumerate(g.units):
        for foot in unit.feet:
            if foot.psum_part is not None:
                psum_to[foot.psum_part] = v
    fl = mapping.traffic.flows
    arrays: dict[str, np.ndarray] = {
        "unit_layer": g.layer_of.astype(np.int32),
        "unit_box": np.array([[a for r in u.box for a in r] for u in g.units], np.int64
                             ).reshape(-1, 6),
        "unit_kind": np.array([kinds[u.kind] for u in g.units], np.int8),
        "unit_neurons": g.neurons, "unit_synapses": g.synapses, "unit_activity": g.activity,
        "unit_psum_target": psum_to, "unit_cluster": mapping.part.astype(np.int64),
        "unit_core": mapping.core_of_unit().astype(np.int64),
        "flow_src": fl.src, "flow_packets": fl.packets, "flow_dst_ptr": fl.dst_ptr,
        "flow_dst": fl.dst,
    }
    syn = synapse_map(g, mapping.part, [(p.name, p.size) for p in net.populations])
    arrays.update(syn.to_arrays())
    if mapping.placement is not None:
        arrays["cluster_core"] = np.asarray(mapping.placement.core_of_cluster, np.int64)
    if mapping.routing is not None:
        arrays["link_load"] = mapping.routing.link_load
        arrays["routing_entries"] = mapping.routing.routing_entries
    summary = {k: v for k, v in report["mapping"].items() if k != "compile_seconds"}
    meta = {"model": Path(report["model"]).name, "hw": hw.name, "seed": report["seed"],
            "layer_names": list(g.layer_names), "unit_kinds": list(kinds),
            "timesteps": g.timesteps, "mapping": summary}
    return Program(net=net, hw=hw.to_dict(), mapping=arrays, meta=meta)


def simulate_program(program: Any, data: Dataset, settings: SimulationSettings, *,
                     trace_inputs: int = 0) -> tuple[dict[str, Any], SimResult]:
    """Simulate a compiled Program's network on ``data`` (no ONNX graph: no ANN accuracy)."""
    net = program.net
    t0 = time.perf_counter()
    result = simulate(net, data.x, data.y, presentation_s=settings.presentation_s,
                      encoder=settings.encoder, batch_size=settings.batch_size,
                      seed=settings.seed, progress=settings.progress,
                      trace_inputs=trace_inputs)
    seconds = time.perf_counter() - t0
    report = new_report(str(program.meta.get("model", "program")), hw=program.meta.get("hw"),
                        seed=settings.seed)
    report["network"] = {"neurons": net.neurons,
                         "synapses": int(sum(p.synapses for p in net.projections)),
                         "layers": [{"name": p.name, "shape": list(p.shape), "neurons": p.size,
                                     "spikes_per_inference": float(result.rates[p.name].sum())}
                                    for p in net.populations]}
    report["mapping"] = dict(program.meta.get("mapping", {}))
    report["simulation"] = {
        "data": data.name, "inputs": len(data.x), "timesteps": result.steps, "dt_s": net.dt,
        "presentation_s": settings.presentation_s, "encoder": settings.encoder,
        "accuracy": result.accuracy, "ann_accuracy": None,
        "spikes_emitted": int(np.sum(result.spikes)),
        "spikes_per_inference": float(np.mean(result.spikes)),
        "synaptic_events_per_inference": float(np.mean(result.synaptic_events)),
        "neuron_updates_per_inference": int(result.neuron_updates),
        "silent_populations": list(result.silent), "seconds": {"simulate": seconds}}
    return report, result


def run_backend(report: dict[str, Any], program: Any, result: SimResult,
                progress: bool | None = None) -> Any:
    """Replay ``result``'s spike trace on ``program`` and add the backend's keys to ``report``.

    ``simulation.spikes_emitted`` and ``packets_*`` then count the replayed inputs
    (``simulation.backend_inputs``); the functional figures keep their own keys.
    """
    from snncc.backend import run
    from snncc.errors import SimulationError

    if result.trace is None or not len(result.trace):
        raise SimulationError("the cycle-level backend needs a spike trace (trace_inputs > 0)")
    t0 = time.perf_counter()
    res = run(program, result.trace, progress=progress)
    sim = report.setdefault("simulation", {})
    sim["functional_spikes_emitted"] = sim.get("spikes_emitted")
    sim.update(res.summary())
    sim.setdefault("seconds", {})["backend"] = time.perf_counter() - t0
    return res


def schedule_crossbars(program: Any, hw: Any, report: dict[str, Any], crossbars: int,
                       data: Dataset | None, settings: SimulationSettings, *,
                       trace_inputs: int = 8) -> Any:
    """Run ``program``'s clusters on ``crossbars`` crossbars (DFSynthesizer, mapping.sdf).

    Profiles the first ``trace_inputs`` inputs of ``data`` (or the random inputs
    :func:`compile_model` used), binds the clusters with a static order per crossbar
    (``sdf``, and the load-balancing baseline for comparison), checks the guaranteed throughput
    against the cycle-level backend running the same binding and adds ``report["dataflow"]``.

    Returns:
        The program with the binding (``cluster_core``, ``cluster_order``) and its routing.
    """
    from snncc.backend import cluster_counts, core_costs, run
    from snncc.errors import DRCError, MappingError
    from snncc.mapping import sdf
    from snncc.mapping.drc import routing_violations
    from snncc.mapping.route import Flows, route
    from snncc.program import Program

    a = program.mapping
    if "cluster_core" not in a:
        raise MappingError("--crossbars needs placed clusters (a --placer other than none)")
    if not 1 <= crossbars <= hw.n_cores:
        raise MappingError(f"--crossbars {crossbars}: {hw.name} has {hw.n_cores} crossbars "
                           f"(cores); need 1 .. {hw.n_cores}")
    t0 = time.perf_counter()
    if data is None:  # the inputs compile_model profiled
        rng = np.random.default_rng(settings.seed)
        shape = program.net.inputs[0].shape
        x = rng.random((trace_inputs, *shape), dtype=np.float32)
    else:
        x = data.x[:trace_inputs]
    trace = simulate(program.net, x, presentation_s=settings.presentation_s,
                     encoder=settings.encoder, batch_size=settings.batch_size,
                     seed=settings.seed, progress=False, trace_inputs=len(x)).trace
    flows = Flows(a["flow_src"], a["flow_packets"], a["flow_dst_ptr"], a["flow_dst"])
    groups = sdf.packet_groups(trace, a)
    costs = core_costs(hw)

    def profile(core: np.ndarray) -> sdf.Profile:
        counts = cluster_counts(program, trace, binding=core)
        return sdf.profile_from_counts(counts, costs, groups=groups, core=core,
                                       multicast=hw.noc.multicast)

    placed = np.asarray(a["cluster_core"], np.int64)
    base = profile(placed)
    found = {m: sdf.bind(base, flows, hw, crossbars, method=m, placement=placed)
             for m in ("balance", "sdf")}
    checked = {m: sdf.analyse(profile(r.binding.core), flows, r.binding, hw)
               for m, r in found.items()}
    b = found["sdf"].binding
    routing = route(flows, b.core, hw)
    bad = routing_violations(routing.routing_entries, hw)
    if bad:
        raise DRCError(f"{len(bad)} router(s) over their routing table on {hw.name} with "
                       f"{crossbars} crossbars; first: {bad[0]}", [str(v) for v in bad])
    arrays = {**a, "cluster_core": b.core, "cluster_order": b.order,
              "unit_core": b.core[np.asarray(a["unit_cluster"], np.int64)],
              "link_load": routing.link_load, "routing_entries": routing.routing_entries}
    bound = Program(net=program.net, hw=program.hw, mapping=arrays,
                    meta={**program.meta, "crossbars": crossbars})
    res = run(bound, trace, progress=False)
    synapses = np.bincount(np.asarray(a["unit_cluster"], np.int64),
                           weights=np.asarray(a["unit_synapses"], np.float64),
                           minlength=placed.size)
    report["dataflow"] = {
        **sdf.summary(checked["sdf"], b, clusters=int(placed.size), baseline=checked["balance"],
                      simulated_s=res.timestep_s, max_simulated_s=res.max_timestep_s,
                      synapses=synapses, hw=hw),
        "trace_inputs": len(x), "bind_seconds": found["sdf"].seconds,
        "seconds": time.perf_counter() - t0}
    return bound

"""Running a suite's tasks, here or on a Dask cluster, into flat result rows.

A task prepares its workload (import, convert, functional simulation of ``inputs`` inputs with
the spike trace of the first ``backend_inputs``; cached per process), maps it with the task's
partitioner, placer and seed, and replays the trace on the cycle-level backend. The row holds
what was measured, flat (one value per column) so that it fits a CSV file. A task that fails
(a chip too small, a layer the chip refuses) gives a row with an ``error`` and the suite goes on.

Rows depend only on the task (every random choice is seeded), never on where or in what order
tasks ran, except the ``*_seconds`` columns: a Dask run gives the same rows as a local one.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from snncc.bench.suites import Task

__all__ = ["TIMING_COLUMNS", "run_task", "run_tasks"]

#: Columns that measure the machine rather than the result (excluded from comparisons).
TIMING_COLUMNS = ("prepare_seconds", "map_seconds", "backend_seconds", "device_seconds")


@dataclass(frozen=True, eq=False)
class _Prepared:
    net: Any
    rates: dict[str, np.ndarray]
    steps: int
    trace: Any
    accuracy: float | None
    data: Any
    synapses: int
    seconds: float


@functools.lru_cache(maxsize=2)
def _prepare(workload: str, inputs: int, backend_inputs: int, presentation_s: float,
             ) -> _Prepared:
    from snncc.bench import workloads
    from snncc.convert import convert
    from snncc.data import Dataset, load_data
    from snncc.frontend import load_onnx
    from snncc.sim import simulate

    t0 = time.perf_counter()
    model, spec = workloads.model(workload)
    graph = load_onnx(model)
    shape = graph.inputs[0].shape
    if spec is None:
        x = np.random.default_rng(0).random((inputs, *shape), dtype=np.float32)
        data = Dataset(x=x, y=np.full(inputs, -1), name=f"{inputs} random inputs")
    else:
        data = load_data(spec, shape, limit=inputs)
    net = convert(graph, calibration=data.x)
    labels = data.y if (data.y >= 0).all() else None
    res = simulate(net, data.x, labels, presentation_s=presentation_s, progress=False,
                   trace_inputs=min(backend_inputs, len(data.x)))
    return _Prepared(net=net, rates=res.rates, steps=res.steps, trace=res.trace,
                     accuracy=res.accuracy, data=data,
                     synapses=int(sum(p.synapses for p in net.projections)),
                     seconds=time.perf_counter() - t0)


def run_task(task: Task) -> dict[str, Any]:
    """Measure one task; returns its row (with ``error`` instead of figures when it failed)."""
    row: dict[str, Any] = asdict(task)
    try:
        row.update({k: _finite(v) for k, v in _measure(task).items()})
    except Exception as exc:  # a failed run is a result; the suite goes on
        from snncc.errors import SnnccError

        text = str(exc) if isinstance(exc, SnnccError) else f"{type(exc).__name__}: {exc}"
        row["error"] = text.splitlines()[0] if text else type(exc).__name__
    return row


def _finite(value: Any) -> Any:
    """Numbers as plain JSON-able Python values; NaN and infinities as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _measure(task: Task) -> dict[str, Any]:
    from snncc.backend import run
    from snncc.hw import load_hw
    from snncc.pipeline import CompileSettings, SimulationSettings, build_program, map_activity

    prep = _prepare(task.workload, task.inputs, task.backend_inputs, task.presentation_s)
    out: dict[str, Any] = {"neurons": prep.net.neurons, "synapses": prep.synapses,
                           "accuracy": prep.accuracy, "prepare_seconds": prep.seconds}
    hw = load_hw(task.chip)
    settings = CompileSettings(simulation=SimulationSettings(presentation_s=task.presentation_s,
                                                             seed=task.seed, progress=False),
                               partitioner=task.partitioner, placer=task.placer)
    t0 = time.perf_counter()
    mapping = map_activity(prep.net, hw, prep.rates, prep.steps, settings)
    out["map_seconds"] = time.perf_counter() - t0
    summary = mapping.summary()
    out.update({k: summary.get(k) for k in (
        "cores_used", "inter_core_packets", "partial_sum_packets", "edge_cut", "spike_hops",
        "max_link_load", "noc_energy_per_inference_J", "routing_entries_max")})
    report: dict[str, Any] = {"model": task.workload, "seed": task.seed,
                              "mapping": {k: v for k, v in summary.items() if k != "layers"}}
    program = build_program(prep.net, hw, mapping, report)
    t0 = time.perf_counter()
    res = run(program, prep.trace, progress=False)
    out["backend_seconds"] = time.perf_counter() - t0
    s = res.summary()
    out.update(
        backend_inputs=s["backend_inputs"], energy_per_inference_J=s["energy_per_inference_J"],
        latency_per_inference_s=s["latency_per_inference_s"],
        throughput_inferences_per_s=s["throughput_inferences_per_s"],
        spike_latency_mean_cycles=s["spike_latency_cycles"]["mean"],
        spike_latency_p99_cycles=s["spike_latency_cycles"]["p99"],
        spike_latency_max_cycles=s["spike_latency_cycles"]["max"],
        isi_distortion_mean_cycles=s["isi_distortion_cycles"]["mean"],
        spike_disorder=s["spike_disorder"], packets_injected=s["packets_injected"],
        packets_delivered=s["packets_delivered"],
        deliveries_expected=s["deliveries_expected"], tick_overruns=s["tick_overruns"])
    if not s["deliveries_expected"]:  # one core: no spike travels, latency is undefined
        for k in ("spike_latency_mean_cycles", "spike_latency_p99_cycles",
                  "spike_latency_max_cycles", "isi_distortion_mean_cycles"):
            out[k] = None
    out.update({f"energy_{k}": v for k, v in s["energy_breakdown_J"].items()})
    if task.device and getattr(hw, "device", None) is not None:
        t0 = time.perf_counter()
        out.update(_device(task, prep, hw, mapping, program, report))
        out["device_seconds"] = time.perf_counter() - t0
    return out


#: The dataflow schedule (its binding search) runs on programs of at most this many clusters.
MAX_SCHEDULED_CLUSTERS = 128
#: Device-aware figures copied into the row: (report section, key).
DEVICE_KEYS = (
    ("endurance", "min_lifetime_s"), ("endurance", "baseline_min_lifetime_s"),
    ("thermal", "avg_temperature_K"), ("thermal", "baseline_avg_temperature_K"),
    ("thermal", "max_temperature_K"), ("thermal", "baseline_max_temperature_K"),
    ("thermal", "leakage_W"), ("thermal", "baseline_leakage_W"),
    ("thermal", "total_energy_J"), ("thermal", "baseline_total_energy_J"),
    ("dataflow", "crossbars"), ("dataflow", "throughput_guaranteed"),
    ("dataflow", "throughput_simulated"), ("dataflow", "guarantee_held"),
    ("dataflow", "baseline_throughput_guaranteed"))


def _device(task: Task, prep: _Prepared, hw: Any, mapping: Any, program: Any,
            report: dict[str, Any]) -> dict[str, Any]:
    """The device-aware passes, each against its own baseline as ``snncc compile`` reports them.

    eSpine endurance, thermal hill climbing, and the DFSynthesizer schedule on half as many
    crossbars as clusters (up to :data:`MAX_SCHEDULED_CLUSTERS` clusters: its binding search
    takes minutes beyond).
    """
    from snncc.mapping.thermal import device_passes
    from snncc.pipeline import SimulationSettings, schedule_crossbars

    _, sections = device_passes(prep.net, mapping, hw, endurance=True, thermal=True,
                                inference_s=task.presentation_s, seed=task.seed)
    rep = {**report, **sections}
    clusters = int(np.asarray(program.mapping["cluster_core"]).size)
    if clusters <= MAX_SCHEDULED_CLUSTERS:
        settings = SimulationSettings(presentation_s=task.presentation_s, seed=task.seed,
                                      progress=False)
        schedule_crossbars(program, hw, rep, max(1, math.ceil(clusters / 2)), prep.data,
                           settings, trace_inputs=min(task.backend_inputs, len(prep.data.x)))
    return {f"{sec}_{key}": rep[sec].get(key) for sec, key in DEVICE_KEYS if sec in rep}


def run_tasks(tasks: Sequence[Task], *, scheduler: str | None = None,
              on_done: Callable[[Task, dict[str, Any]], None] | None = None
              ) -> list[dict[str, Any]]:
    """Run ``tasks`` in this process, or on the Dask cluster at ``scheduler``; rows in order.

    Args:
        tasks: The tasks.
        scheduler: None (run here, one after another), a Dask scheduler address
            (``tcp://host:8786``), or ``local`` / ``local:N`` for a Dask LocalCluster of N worker
            processes (default: one per CPU).
        on_done: Called with each task and its row as it finishes (progress bars).

    Returns:
        One row per task, in the order of ``tasks``.
    """
    rows: list[dict[str, Any] | None] = [None] * len(tasks)
    if scheduler is None:
        for i, task in enumerate(tasks):
            rows[i] = run_task(task)
            if on_done is not None:
                on_done(task, rows[i])  # type: ignore[arg-type]
        return rows  # type: ignore[return-value]
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        from snncc.errors import SnnccError

        raise SnnccError("--scheduler needs Dask: pip install 'distributed'") from None
    cluster = None
    if scheduler == "local" or scheduler.startswith("local:"):
        import os

        n = int(scheduler.partition(":")[2] or os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        address: Any = cluster
    else:
        address = scheduler
    try:
        with Client(address) as client:
            futures = client.map(run_task, list(tasks), pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            for fut in as_completed(futures):
                i = index[fut.key]
                rows[i] = fut.result()
                if on_done is not None:
                    on_done(tasks[i], rows[i])  # type: ignore[arg-type]
    finally:
        if cluster is not None:
            cluster.close()
    return rows  # type: ignore[return-value]

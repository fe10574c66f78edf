"""Dataflow scheduling on fewer crossbars than clusters (DFSynthesizer): guarantee vs simulation.

Each workload of the partitioning suite that fits the pcm-crossbar chip (1024 crossbars) is
compiled as ``snncc compile`` does (metis + sa placement, seed 0). Its first ``TRACE_INPUTS``
inputs are traced (the bundled held-out digits for ``digits_softlif``; uniform random inputs
for the untrained architectures, as in the mapping benchmarks). Then, for crossbar counts from
the cluster count down to a quarter of it, both binders (:func:`snncc.mapping.sdf.bind`:
``sdf``, ours, and ``balance``, the load-balancing baseline) bind the clusters; each binding is
analysed (guaranteed timestep period: the maximum cycle ratio of its SDF graph, from the
per-cluster counts of the same trace under that binding) and run on the cycle-level backend.

Per row: guaranteed and simulated throughput (timesteps per second; simulated = 1 / mean
timestep), the longest simulated timestep against the guaranteed period (a violation if longer),
the slack ``guaranteed period / mean simulated timestep - 1``, and the binder's time.

Results: ``results/sdf.json`` (through the runner), ``results/sdf.md``, ``results/sdf.png``.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np

from benchmarks._runner import RESULTS, benchmark

CHIP = "pcm-crossbar"
SUITE = ("digits_softlif", "mlp", "random_1000_0.05", "lenet", "random_3000_0.02")
QUICK = ("digits_softlif", "mlp")
FRACTIONS = (1.0, 0.75, 0.5, 0.25)
TRACE_INPUTS = 4
PRESENTATION_S = 0.1


def _inputs(name: str, shape: tuple[int, ...], n: int) -> np.ndarray:
    if name == "digits_softlif":
        from snncc.data import load_data

        return load_data("digits", shape, limit=n).x
    return np.random.default_rng(1).random((n, *shape), dtype=np.float32)


def _workload(name: str) -> dict[str, Any]:
    """Compile one workload and trace it: program, trace, flows, packet groups."""
    from benchmarks.bench_partition import load_workload
    from snncc.hw import load_hw
    from snncc.mapping import map_network
    from snncc.mapping.route import Flows
    from snncc.mapping.sdf import packet_groups
    from snncc.pipeline import build_program
    from snncc.sim import simulate

    hw = load_hw(CHIP)
    t0 = time.perf_counter()
    net, counts, steps = load_workload(name)
    m = map_network(net, hw, counts=counts, timesteps=steps, partitioner="metis", placer="sa",
                    seed=0)
    program = build_program(net, hw, m, {"mapping": m.summary(), "model": name, "seed": 0})
    x = _inputs(name, tuple(net.inputs[0].shape), TRACE_INPUTS)
    trace = simulate(net, x, presentation_s=PRESENTATION_S, progress=False,
                     trace_inputs=len(x)).trace
    a = program.mapping
    return {"hw": hw, "program": program, "trace": trace,
            "flows": Flows(a["flow_src"], a["flow_packets"], a["flow_dst_ptr"], a["flow_dst"]),
            "groups": packet_groups(trace, a), "clusters": int(a["cluster_core"].size),
            "compile_seconds": time.perf_counter() - t0}


def _rows(name: str, quick: bool) -> list[dict[str, Any]]:
    from snncc.backend import cluster_counts, core_costs, run
    from snncc.mapping.sdf import BindOptions, analyse, bind, profile_from_counts

    w = _workload(name)
    hw, program, trace, flows = w["hw"], w["program"], w["trace"], w["flows"]
    costs = core_costs(hw)

    def profile(core: np.ndarray) -> Any:
        counts = cluster_counts(program, trace, binding=core)
        return profile_from_counts(counts, costs, groups=w["groups"], core=core,
                                   multicast=hw.noc.multicast)

    placed = np.asarray(program.mapping["cluster_core"], np.int64)
    k = placed.size
    base = profile(placed)
    opts = BindOptions(rounds=20 if quick else 60, candidates=6)
    rows = []
    fractions = (1.0, 0.5) if quick else FRACTIONS
    for n in sorted({max(1, math.ceil(f * k)) for f in fractions}, reverse=True):
        for method in ("sdf", "balance"):
            r = bind(base, flows, hw, n, method=method, options=opts, placement=placed)
            b = r.binding
            t0 = time.perf_counter()
            a = analyse(profile(b.core), flows, b, hw)
            t_an = time.perf_counter() - t0
            t0 = time.perf_counter()
            res = run(program, trace, binding=b.core, order=b.order, progress=False)
            t_run = time.perf_counter() - t0
            mean_c = float(res.step_cycles.mean())
            max_c = float(res.step_cycles.max())
            rows.append({
                "workload": name, "clusters": k, "crossbars": n,
                "crossbars_used": b.crossbars, "method": method,
                "period_guaranteed_cycles": a.period_cycles,
                "period_step_bound_cycles": a.step_bound_cycles,
                "throughput_guaranteed": a.throughput,
                "throughput_simulated": res.clock_hz / mean_c,
                "step_mean_cycles": mean_c, "step_max_cycles": max_c,
                "violated": bool(max_c > a.period_cycles),
                "slack": a.period_cycles / mean_c - 1.0,
                "critical": list(a.critical[:6]), "bind_seconds": r.seconds, "moves": r.moves,
                "candidates": r.candidates, "analyse_seconds": t_an, "backend_seconds": t_run,
                "compile_seconds": w["compile_seconds"],
                "packets_per_timestep": float(base.packets.sum(axis=1).mean()),
                "max_link_load_per_timestep": a.max_link_load})
            if not quick:
                with (RESULTS / "sdf.partial.jsonl").open("a") as f:
                    f.write(json.dumps(rows[-1]) + "\n")
    return rows


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if "error" not in r]
    ours = [r for r in ok if r["method"] == "sdf"]
    pairs = {(r["workload"], r["crossbars"]): r for r in ok if r["method"] == "balance"}
    gain = [r["throughput_guaranteed"] / pairs[(r["workload"], r["crossbars"])]
            ["throughput_guaranteed"] - 1 for r in ours if (r["workload"], r["crossbars"]) in pairs]
    return {
        "rows": len(ok), "violations": sum(r["violated"] for r in ok),
        "mean_slack_ours": float(np.mean([r["slack"] for r in ours])) if ours else None,
        "max_slack_ours": float(np.max([r["slack"] for r in ours])) if ours else None,
        "mean_slack_per_workload": {wl: float(np.mean([r["slack"] for r in ours
                                                       if r["workload"] == wl]))
                                    for wl in dict.fromkeys(r["workload"] for r in ours)},
        "ours_below_baseline": int(sum(g < -1e-12 for g in gain)),
        "mean_gain_over_baseline": float(np.mean(gain)) if gain else None,
        "max_gain_over_baseline": float(np.max(gain)) if gain else None}


def _plot(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["workload"] for r in rows if "error" not in r))
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names), 3.2), squeeze=False)
    for ax, wl in zip(axes[0], names, strict=True):
        for method, color in (("sdf", "C0"), ("balance", "0.55")):
            rs = sorted((r for r in rows if r.get("workload") == wl and r["method"] == method),
                        key=lambda r: r["crossbars"])
            x = [r["crossbars"] / r["clusters"] for r in rs]
            label = "ours (sdf)" if method == "sdf" else "baseline (balance)"
            ax.plot(x, [r["throughput_guaranteed"] / 1e3 for r in rs], "-o", color=color,
                    ms=3, label=f"{label}: guaranteed")
            ax.plot(x, [r["throughput_simulated"] / 1e3 for r in rs], "--", color=color,
                    label=f"{label}: simulated")
        k = next(r["clusters"] for r in rows if r.get("workload") == wl)
        ax.set_title(f"{wl} ({k} clusters)", fontsize=9)
        ax.set_xlabel("crossbars / clusters")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("thousand timesteps / s")
    axes[0][0].legend(fontsize=6)
    fig.suptitle(f"Guaranteed vs simulated throughput on {CHIP} (python -m benchmarks sdf)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(RESULTS / "sdf.png", dpi=130)
    plt.close(fig)


def _markdown(rows: list[dict[str, Any]], summary: dict[str, Any], seconds: float) -> str:
    s = summary
    lines = [
        "# Dataflow scheduling on fewer crossbars (python -m benchmarks sdf)", "",
        f"Chip {CHIP}; metis + sa, seed 0; {TRACE_INPUTS} traced inputs of "
        f"{PRESENTATION_S * 1000:g} ms each (digits_softlif: held-out digits; the others: "
        f"uniform random inputs); crossbars from the cluster count down to a quarter of it. "
        f"Guaranteed = 1 / maximum cycle ratio of the SDF graph; simulated = 1 / mean timestep "
        f"of the cycle-level backend on the same binding. Whole run {seconds:.0f} s. See "
        "benchmarks/bench_sdf.py.", "",
        "## Floors", "",
        f"- guarantee violated (a simulated timestep longer than the guaranteed period): "
        f"**{s['violations']}** of {s['rows']} runs",
        f"- slack of our guarantee, guaranteed period / mean simulated timestep - 1: mean "
        f"**{100 * s['mean_slack_ours']:.1f} %** (floor: within 10 %), max "
        f"{100 * s['max_slack_ours']:.1f} %; per workload: "
        + ", ".join(f"{k} {100 * v:.1f} %" for k, v in s["mean_slack_per_workload"].items()),
        f"- our guaranteed throughput below the baseline's: **{s['ours_below_baseline']}** "
        f"runs; gain over the baseline: mean {100 * s['mean_gain_over_baseline']:.1f} %, max "
        f"{100 * s['max_gain_over_baseline']:.1f} %", "",
        "![guaranteed vs simulated](sdf.png)", "",
        "## What the numbers mean", "",
        "- The guarantee holds for the profiled inputs: every actor's time is its worst over "
        "the traced timesteps (compute from the shared core cost model, exact; NoC delivery "
        "bounded port by port from the exact packets of each timestep). Slack comes from "
        "composing per-actor worst cases taken from different timesteps, and from the NoC "
        "bound, which charges every packet that may share a router input or output with a "
        "cluster's train while it is in flight: it grows with the packets per timestep "
        "(column *packets / step*). `period_step_bound_cycles` in sdf.json is each timestep's "
        "own bound, maximised over timesteps: the part of the slack the composition costs.",
        "- Sharing crossbars can raise throughput: clusters bound to one crossbar exchange "
        "spikes without the NoC. Where to put the crossbars matters most under heavy traffic: "
        "the baseline packs them into the most compact region (short routes, concentrated "
        "traffic); ours also tries the placer's geometry (`local`), which keeps lenet's "
        "traffic spread and its guarantee twice the baseline's.",
        "- Time-multiplexing a crossbar rewrites its cells before each cluster's segment; the "
        "chip file gives no write time, so neither the analysis nor the backend charges one "
        "(report.json's `dataflow` reports the cell writes, their energy and the cell "
        "lifetime).", "",
        "## Every run", "",
        "| workload | clusters | crossbars | binder | guaranteed /s | simulated /s | slack | "
        "longest step / guaranteed | packets / step | bind s |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['workload']} | | | | error: {r['error']} | | | | | |")
            continue
        lines.append(
            f"| {r['workload']} | {r['clusters']} | {r['crossbars']} | {r['method']} | "
            f"{r['throughput_guaranteed']:,.0f} | {r['throughput_simulated']:,.0f} | "
            f"{100 * r['slack']:.1f} % | "
            f"{r['step_max_cycles'] / r['period_guaranteed_cycles']:.3f} | "
            f"{r['packets_per_timestep']:,.0f} | {r['bind_seconds']:.1f} |")
    return "\n".join(lines) + "\n"


@benchmark("sdf")
def run(quick: bool = False) -> dict[str, Any]:
    """Guaranteed vs simulated throughput, ours vs the baseline binding, crossbars k .. k/4."""
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    if not quick:
        (RESULTS / "sdf.partial.jsonl").unlink(missing_ok=True)
    for name in QUICK if quick else SUITE:
        try:
            rows += _rows(name, quick)
        except Exception as exc:  # e.g. a workload that does not fit the chip
            rows.append({"workload": name, "error": f"{type(exc).__name__}: {exc}"})
    seconds = time.perf_counter() - t0
    summary = _summary(rows)
    text = _markdown(rows, summary, seconds)
    if not quick:
        (RESULTS / "sdf.md").write_text(text)
        _plot(rows)
    return {"quick": quick, "seconds": seconds, "summary": summary, "rows": rows,
            "markdown": text}

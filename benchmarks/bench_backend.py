"""Cycle-level backend: end-to-end speed, and SpiNeMap vs PACMAN-style mapping measured on it.

``python -m benchmarks backend [--quick]``

1. End to end: the trained soft-LIF MNIST model on the 32-chip Loihi system (it needs 137 cores;
   one chip has 128), spinemap + sa mapping; the functional simulation of N test images with
   their spike trace, then the backend replaying all N (N = 100; 10 with ``--quick``).
2. SpiNeMap's claim (-45 % energy, -21 % spike latency against PACMAN-style mapping): energy and
   latency per inference through the backend for PACMAN-style (sequential partition + sequential
   placement), SpiNeMap (spinemap + pso) and other mappings, on MNIST / loihi-nahuku32 and the
   digits model on pcm-crossbar (MNIST needs 16-25 k crossbars; the chip has 1024).

Each configuration runs in a child process (timeout); results are saved as they come
(benchmarks/results/backend_runs.jsonl) and summarised in backend.md with a plot.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks._runner import RESULTS, benchmark

MNIST = "benchmarks/models/mnist_softlif.onnx"
MNIST_DIR = os.environ.get("SNNCC_MNIST", str(Path(__file__).resolve().parents[2] / "shared"
                                              / "data" / "mnist"))

_CHILD = r'''
import json, sys, time
import numpy as np
import snncc
from snncc.backend import run
from snncc.data import load_data
from snncc.pipeline import CompileSettings, build_program, compile_model
from snncc.sim import simulate

model, spec, chip, partitioner, placer, n = (MODEL, SPEC, CHIP, PARTITIONER, PLACER, N)
hw = snncc.load_hw(chip)
shape = snncc.load_onnx(model).inputs[0].shape
data = load_data(spec, shape, limit=max(64, n))
t0 = time.perf_counter()
report, mapping, net = compile_model(model, hw, data, CompileSettings(
    partitioner=partitioner, placer=placer, activity_inputs=64))
program = build_program(net, hw, mapping, report)
t_map = time.perf_counter() - t0
t0 = time.perf_counter()
result = simulate(net, data.x[:n], data.y[:n], trace_inputs=n, progress=False)
t_fun = time.perf_counter() - t0
run(program, result.trace, progress=False) if n > 1 and WARM else None  # numba compile
t0 = time.perf_counter()
res = run(program, result.trace, progress=False)
t_back = time.perf_counter() - t0
s = res.summary()
s.pop("energy_per_layer_J")
s.pop("link_flits_per_inference")
s.update(model=model, chip=chip, partitioner=partitioner, placer=placer, inputs=n,
         cores_used=report["mapping"]["cores_used"], spike_hops=report["mapping"]["spike_hops"],
         map_s=t_map, functional_s=t_fun, backend_s=t_back,
         link_traversals=float(res.link_flits.sum()), accuracy=result.accuracy)
print("RESULT " + json.dumps(s))
'''


def _child(model: str, spec: str, chip: str, partitioner: str, placer: str, n: int,
           timeout: float, warm: bool = False) -> dict[str, Any]:
    import subprocess
    import sys

    params = (model, spec, chip, partitioner, placer, n, warm)
    code = f"MODEL, SPEC, CHIP, PARTITIONER, PLACER, N, WARM = {params!r}\n" + _CHILD
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"model": model, "chip": chip, "partitioner": partitioner, "placer": placer,
                "error": f"did not finish in {timeout:.0f} s"}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            row = json.loads(line[7:])
            row["wall_s"] = time.perf_counter() - t0
            return row
    return {"model": model, "chip": chip, "partitioner": partitioner, "placer": placer,
            "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "no result"}


MAPPINGS = [("sequential", "sequential", "PACMAN-style"), ("spinemap", "pso", "SpiNeMap"),
            ("spinemap", "sa", "spinemap+sa"), ("metis", "sa", "metis+sa"),
            ("kl", "sa", "kl+sa")]


@benchmark("backend")
def run(quick: bool = False) -> dict[str, Any]:
    """End-to-end backend speed and the SpiNeMap-vs-PACMAN comparison."""
    log = RESULTS / "backend_runs.jsonl"
    rows: list[dict[str, Any]] = []
    spec = f"mnist:{MNIST_DIR}"
    n_e2e = 10 if quick else 100
    e2e = _child(MNIST, spec, "loihi-nahuku32", "spinemap", "sa", n_e2e, 3600, warm=True)
    e2e["role"] = "end-to-end"
    rows.append(e2e)
    workloads = [(MNIST, spec, "loihi-nahuku32", 4 if quick else 20),
                 ("snncc/examples/digits_softlif.onnx", "digits", "pcm-crossbar", 20),
                 ("snncc/examples/digits_softlif.onnx", "digits", "loihi", 20)]
    for model, wspec, chip, n in workloads:
        for part, placer, label in MAPPINGS[:2] if quick else MAPPINGS:
            row = _child(model, wspec, chip, part, placer, n, 1200)
            row["label"] = label
            row["role"] = "mapping"
            rows.append(row)
            if not quick:
                with log.open("a") as f:
                    f.write(json.dumps(row) + "\n")
    summary = _summary(rows)
    if not quick:
        _write_md(rows, summary)
    return {"quick": quick, "rows": rows, "summary": summary}


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    e2e = next(r for r in rows if r.get("role") == "end-to-end")
    if "error" not in e2e:
        out["end_to_end"] = {
            "inputs": e2e["inputs"], "functional_s": e2e["functional_s"],
            "backend_s": e2e["backend_s"],
            "backend_s_per_inference": e2e["backend_s"] / e2e["inputs"],
            "link_traversals_per_s": e2e["link_traversals"] / e2e["backend_s"]}
    claims = {}
    for key in {(r["model"], r["chip"]) for r in rows if r.get("role") == "mapping"}:
        group = {r["label"]: r for r in rows if r.get("role") == "mapping"
                 and (r["model"], r["chip"]) == key and "error" not in r}
        base, spm = group.get("PACMAN-style"), group.get("SpiNeMap")
        if not base or not spm:
            continue
        best = min(group.values(), key=lambda r: r["energy_per_inference_J"])
        claims[f"{Path(key[0]).stem} on {key[1]}"] = {
            "spinemap_energy_change": spm["energy_per_inference_J"]
            / base["energy_per_inference_J"] - 1,
            "spinemap_spike_latency_change": spm["spike_latency_cycles"]["mean"]
            / max(base["spike_latency_cycles"]["mean"], 1e-12) - 1,
            "best": best["label"],
            "best_energy_change": best["energy_per_inference_J"]
            / base["energy_per_inference_J"] - 1,
            "best_spike_latency_change": best["spike_latency_cycles"]["mean"]
            / max(base["spike_latency_cycles"]["mean"], 1e-12) - 1}
    out["claims"] = claims
    return out


def _write_md(rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["# Cycle-level backend", "",
             "`python -m benchmarks backend` (each configuration in a fresh process; times on "
             "the shared 2-core machine).", ""]
    e2e = summary.get("end_to_end")
    if e2e:
        lines += ["## End to end: trained soft-LIF MNIST on loihi-nahuku32 (spinemap + sa)", "",
                  f"- {e2e['inputs']} MNIST test images: functional simulation with trace "
                  f"{e2e['functional_s']:.1f} s, backend replay {e2e['backend_s']:.1f} s "
                  f"({e2e['backend_s_per_inference']:.2f} s per inference, "
                  f"{e2e['link_traversals_per_s'] / 1e6:.2f} M packet-hops/s including the "
                  "cores and metrics; numba compilation excluded).", ""]
    lines += ["## Mapping comparison through the backend (energy and latency per inference)", "",
              "| workload | chip | mapping | cores | energy/inf | NoC hops | static | "
              "latency/inf | spike latency mean / p99 (cycles) | packets/inf |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    maps = [r for r in rows if r.get("role") == "mapping"]
    for r in maps:
        name = Path(r["model"]).stem
        if "error" in r:
            lines.append(f"| {name} | {r['chip']} | {r.get('label')} | {r['error']} | | | | | | |")
            continue
        b = r["energy_breakdown_J"]
        static = b["static_core_J"] + b["static_router_J"]
        lines.append(
            f"| {name} | {r['chip']} | {r['label']} ({r['partitioner']} + {r['placer']}) | "
            f"{r['cores_used']} | {r['energy_per_inference_J'] * 1e6:,.2f} µJ | "
            f"{b['noc_hops_J'] * 1e6:,.3f} µJ | {static * 1e6:,.2f} µJ | "
            f"{r['latency_per_inference_s'] * 1e3:.3f} ms | "
            f"{r['spike_latency_cycles']['mean']:,.1f} / {r['spike_latency_cycles']['p99']:,.0f}"
            f" | {r['packets_injected'] / r['inputs']:,.0f} |")
    lines += ["", "## SpiNeMap's claim (-45 % energy, -21 % spike latency vs PACMAN-style)", "",
              "| workload | SpiNeMap energy | SpiNeMap spike latency | best mapping | its energy | "
              "its spike latency |", "|---|---|---|---|---|---|"]
    for k, c in summary.get("claims", {}).items():
        lines.append(f"| {k} | {c['spinemap_energy_change']:+.1%} | "
                     f"{c['spinemap_spike_latency_change']:+.1%} | {c['best']} | "
                     f"{c['best_energy_change']:+.1%} | {c['best_spike_latency_change']:+.1%} |")
    (RESULTS / "backend.md").write_text("\n".join(lines) + "\n")
    ok = [r for r in maps if "error" not in r]
    if not ok:
        return
    groups = sorted({(Path(r["model"]).stem, r["chip"]) for r in ok})
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4), squeeze=False)
    cats = list(ok[0]["energy_breakdown_J"])
    for ax, (name, chip) in zip(axes[0], groups, strict=True):
        rs = [r for r in ok if (Path(r["model"]).stem, r["chip"]) == (name, chip)]
        bottom = [0.0] * len(rs)
        for cat in cats:
            vals = [r["energy_breakdown_J"][cat] * 1e6 for r in rs]
            if any(vals):
                ax.bar(range(len(rs)), vals, bottom=bottom, label=cat.removesuffix("_J"))
                bottom = [a + b for a, b in zip(bottom, vals, strict=True)]
        ax.set_xticks(range(len(rs)), [r["label"] for r in rs], rotation=30, ha="right")
        ax.set_ylabel("energy per inference (µJ)")
        ax.set_title(f"{name} on {chip}")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "backend.png", dpi=120)

"""What ``snncc bench`` writes: rows as CSV and JSON, a Markdown summary, plots.

Every comparison is a ratio against the PACMAN-style mapping (``sequential`` + ``sequential``)
of the same workload, chip and seed, measured in the same run: the machine cancels out.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snncc._io import atomic_write
from snncc.bench.suites import BASELINE, Suite
from snncc.report.html import fmt_value

__all__ = ["COMPARED", "summarise", "write_results"]

#: Row column -> label of the figures compared against the baseline mapping.
COMPARED = {"energy_per_inference_J": "energy", "latency_per_inference_s": "latency / inference",
            "spike_latency_mean_cycles": "spike latency", "spike_hops": "spike-hops",
            "max_link_load": "max link load", "cores_used": "cores"}


def _mapping(row: dict[str, Any]) -> str:
    return f"{row['partitioner']} + {row['placer']}"


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each mapping's mean change against the PACMAN-style one, and means per workload and chip.

    Changes are over the instances (workload, chip, seed) where both mappings ran; the per
    (workload, chip) figures are means over the seeds.

    Returns:
        ``{"baseline": "sequential + sequential", "mappings": {mapping: {"instances": n,
        column: {"mean": change, "min": .., "max": ..}}}, "instances": {"workload on chip":
        {mapping: {column: mean value, "energy_change": .., ...}}}, "failed": n}``
    """
    ok = [r for r in rows if "error" not in r]
    base_name = " + ".join(BASELINE)
    base = {(r["workload"], r["chip"], r["seed"]): r for r in ok if _mapping(r) == base_name}
    changes: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in ok:
        groups[(r["workload"], r["chip"], _mapping(r))].append(r)
        b = base.get((r["workload"], r["chip"], r["seed"]))
        if b is None or _mapping(r) == base_name:
            continue
        for col in COMPARED:
            if r.get(col) is not None and b.get(col):
                changes[_mapping(r)][col].append(r[col] / b[col] - 1)
    mappings: dict[str, dict[str, Any]] = {}
    for m, cols in changes.items():
        mappings[m] = {"instances": max((len(v) for v in cols.values()), default=0)}
        for col, vals in cols.items():
            mappings[m][col] = {"mean": float(np.mean(vals)), "min": float(np.min(vals)),
                                "max": float(np.max(vals))}
    instances: dict[str, dict[str, Any]] = defaultdict(dict)
    for (wl, chip, m), rs in sorted(groups.items()):
        means = {col: float(np.mean([r[col] for r in rs])) for col in (
            *COMPARED, "spike_latency_p99_cycles", "throughput_inferences_per_s")
            if all(r.get(col) is not None for r in rs)}
        means["seeds"] = len(rs)
        bs = groups.get((wl, chip, base_name))
        if bs and m != base_name:
            for col in ("energy_per_inference_J", "spike_latency_mean_cycles"):
                ref = float(np.mean([r[col] for r in bs]))
                if col in means and ref:
                    means[f"{col}_change"] = means[col] / ref - 1
        instances[f"{wl} on {chip}"][m] = means
    return {"baseline": base_name, "mappings": mappings, "instances": dict(instances),
            "failed": len(rows) - len(ok)}


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _num(v: float | None, spec: str = ",.0f") -> str:
    return "—" if v is None else format(v, spec)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:+.1%}"


def _markdown(suite: Suite, rows: Sequence[dict[str, Any]], summary: dict[str, Any],
              meta: dict[str, Any]) -> str:
    lines = [f"# snncc bench — suite `{suite.name}`", "",
             f"`{meta['command']}` — {len(rows)} runs ({summary['failed']} failed) in "
             f"{meta['wall_seconds']:.0f} s on {meta['where']}; snncc {meta['snncc_version']}, "
             f"{meta['date']}.", "",
             f"Workloads {', '.join(suite.workloads)}; chips {', '.join(suite.chips)}; "
             f"partitioners {', '.join(suite.partitioners)}; placers "
             f"{', '.join(suite.placers)}; seeds {', '.join(map(str, suite.seeds))}. Activity "
             f"from {suite.inputs} inputs of {suite.presentation_s * 1000:g} ms; the first "
             f"{suite.backend_inputs} replayed on the cycle-level backend.", "",
             f"## Against the PACMAN-style mapping ({summary['baseline']})", "",
             "Mean change (min … max) over the workload × chip × seed instances where both ran.",
             "", "| mapping | instances | " + " | ".join(COMPARED.values()) + " |",
             "|---|---|" + "---|" * len(COMPARED)]
    for m, s in sorted(summary["mappings"].items()):
        cells = [f"{s[c]['mean']:+.1%} ({s[c]['min']:+.0%} … {s[c]['max']:+.0%})" if c in s
                 else "—" for c in COMPARED]
        lines.append(f"| {m} | {s['instances']} | " + " | ".join(cells) + " |")
    lines += ["", "## Every workload and chip (means over seeds)", "",
              "| workload on chip | mapping | cores | energy / inf | latency / inf | spike "
              "latency mean / p99 (cycles) | spike-hops | max link load | energy vs PACMAN | "
              "spike latency vs PACMAN |", "|---|---|---|---|---|---|---|---|---|---|"]
    for inst, maps in summary["instances"].items():
        for m, v in maps.items():
            if "energy_per_inference_J" not in v:
                continue
            lines.append(
                f"| {inst} | {m} | {v['cores_used']:,.0f} | "
                f"{v['energy_per_inference_J'] * 1e6:,.3f} µJ | "
                f"{v['latency_per_inference_s'] * 1e3:,.3f} ms | "
                f"{_num(v.get('spike_latency_mean_cycles'), '.1f')} / "
                f"{_num(v.get('spike_latency_p99_cycles'), '.0f')} | "
                f"{_num(v.get('spike_hops'))} | {_num(v.get('max_link_load'))} | "
                f"{_pct(v.get('energy_per_inference_J_change'))} | "
                f"{_pct(v.get('spike_latency_mean_cycles_change'))} |")
    dev = [r for r in rows if "error" not in r and any(k.startswith(("endurance_", "thermal_"))
                                                        for k in r)]
    if dev:
        lines += ["", "## Device-aware passes (crossbar chips)", "",
                  "| workload on chip | mapping | min lifetime (vs unaware) | mean crossbar "
                  "temperature (vs) | leakage (vs) | total energy (vs) | guaranteed / simulated "
                  "throughput on crossbars | guarantee held |", "|---|---|---|---|---|---|---|---|"]
        for r in dev:
            def ratio(key: str, r: dict[str, Any] = r) -> str:
                a, b = r.get(key), r.get(f"{key.split('_', 1)[0]}_baseline_"
                                         f"{key.split('_', 1)[1]}")
                return "—" if a is None or not b else f"{fmt_value(key, a)} ({a / b - 1:+.1%})"
            t, tb = r.get("thermal_avg_temperature_K"), r.get("thermal_baseline_avg_temperature_K")
            temp = "—" if t is None or tb is None else f"{t:.2f} K ({t - tb:+.2f} K)"
            thr = (f"{r['dataflow_throughput_guaranteed']:,.0f} / "
                   f"{r['dataflow_throughput_simulated']:,.0f} /s on "
                   f"{r['dataflow_crossbars']}" if r.get("dataflow_throughput_guaranteed")
                   else "—")
            lines.append(f"| {r['workload']} on {r['chip']} | {_mapping(r)} | "
                         f"{ratio('endurance_min_lifetime_s')} | {temp} | "
                         f"{ratio('thermal_leakage_W')} | {ratio('thermal_total_energy_J')} | "
                         f"{thr} | {r.get('dataflow_guarantee_held', '—')} |")
    failed = [r for r in rows if "error" in r]
    if failed:
        lines += ["", "## Runs that did not complete", "",
                  "| workload | chip | mapping | seed | reason |", "|---|---|---|---|---|"]
        seen = set()
        for r in failed:
            key = (r["workload"], r["chip"], _mapping(r), r["error"])
            if key in seen:
                continue
            seen.add(key)
            lines.append(f"| {r['workload']} | {r['chip']} | {_mapping(r)} | {r['seed']} | "
                         f"{r['error'][:160]} |")
    return "\n".join(lines) + "\n"


def _plots(out: Path, summary: dict[str, Any]) -> list[Path]:
    from matplotlib.figure import Figure

    insts = [(k, v) for k, v in summary["instances"].items()
             if any("energy_per_inference_J" in m for m in v.values())]
    paths: list[Path] = []
    if insts:
        cols = min(3, len(insts))
        nrows = -(-len(insts) // cols)
        fig = Figure(figsize=(4.2 * cols, 3.2 * nrows), layout="constrained")
        axes = fig.subplots(nrows, cols, squeeze=False).ravel()
        for ax, (name, maps) in zip(axes, insts, strict=False):
            names = [m for m in maps if "energy_per_inference_J" in maps[m]]
            ax.bar(range(len(names)), [maps[m]["energy_per_inference_J"] * 1e6 for m in names],
                   color=["#999999" if m == summary["baseline"] else "#4c72b0" for m in names])
            ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
            ax.set_ylabel("energy / inference (µJ)")
            ax.set_title(name, fontsize=9)
        for ax in axes[len(insts):]:
            ax.set_visible(False)
        paths.append(out / "bench_energy.png")
        fig.savefig(paths[-1], dpi=110)
    maps = summary["mappings"]
    if maps:
        names = sorted(maps)
        fig = Figure(figsize=(7, 0.5 + 0.45 * len(names)), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(names))
        for k, (col, label) in enumerate((("energy_per_inference_J", "energy"),
                                          ("spike_latency_mean_cycles", "spike latency"))):
            vals = [maps[m][col]["mean"] * 100 if col in maps[m] else 0.0 for m in names]
            ax.barh(y + (k - 0.5) * 0.38, vals, height=0.38, label=label)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, names)
        ax.set_xlabel(f"mean change against {summary['baseline']} (%)")
        ax.legend(frameon=False)
        paths.append(out / "bench_vs_baseline.png")
        fig.savefig(paths[-1], dpi=110)
    return paths


def write_results(out: Path, suite: Suite, rows: Sequence[dict[str, Any]],
                  meta: dict[str, Any]) -> tuple[dict[str, Any], list[Path]]:
    """Write OUT/bench.csv, bench.json, bench.md and the plots; returns the summary and paths."""
    from dataclasses import asdict

    summary = summarise(rows)
    paths = [atomic_write(out / "bench.csv", _csv(rows)),
             atomic_write(out / "bench.json", json.dumps(
                 {"suite": asdict(suite), "meta": meta, "summary": summary, "rows": list(rows)},
                 indent=1, allow_nan=False) + "\n"),
             atomic_write(out / "bench.md", _markdown(suite, rows, summary, meta))]
    paths += _plots(out, summary)
    return summary, paths

"""Placement and routing on the partitioned workload suite: every placer on every workload.

Each workload of the partitioning suite is partitioned once per chip (``spinemap``, seed 0); then
every placer places the clusters and the flows are routed as XY multicast trees (or unicast
copies on chips without multicast). Per workload, chip and placer: routed spike-hops, NoC energy
per inference, maximum link load, routing-table entries and time; where the partition has at most
9 clusters, ``exact`` gives the optimum of the placement objective and every placer's gap to it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from benchmarks._runner import RESULTS, benchmark
from benchmarks.bench_partition import QUALITY_SUITE, QUICK_SUITE, load_workload

PLACERS = ("sequential", "random", "greedy", "sa", "pso", "exact")


def _rows(quick: bool) -> list[dict[str, Any]]:
    from rich.progress import Progress

    from snncc.errors import MappingError
    from snncc.hw import load_hw
    from snncc.mapping import map_network
    from snncc.mapping.place import place
    from snncc.mapping.route import route

    # the 32-chip Loihi system: the MNIST-size workloads need ~140 Loihi cores (one chip has 128)
    chips = ("loihi", "pcm-crossbar") if quick else ("loihi-nahuku32", "pcm-crossbar")
    suite = QUICK_SUITE if quick else QUALITY_SUITE
    rows: list[dict[str, Any]] = []
    with Progress(transient=True) as progress:
        task = progress.add_task("placement", total=len(suite) * len(chips))
        for wl in suite:
            try:
                net, counts, steps = load_workload(wl)
            except Exception as exc:  # e.g. MNIST absent
                rows.append({"workload": wl, "error": f"{type(exc).__name__}: {exc}"})
                progress.advance(task, len(chips))
                continue
            for chip in chips:
                hw = load_hw(chip)
                progress.update(task, description=f"{wl} on {chip}")
                try:
                    m = map_network(net, hw, counts=counts, timesteps=steps,
                                    partitioner="spinemap")
                except MappingError as exc:
                    rows.append({"workload": wl, "chip": chip, "error": str(exc)})
                    progress.advance(task)
                    continue
                k = m.cores_used
                for placer in PLACERS:
                    if placer == "exact" and k > 9:
                        continue
                    t0 = time.perf_counter()
                    p = place(m.traffic.matrix, hw, placer, seed=0)
                    secs = time.perf_counter() - t0
                    r = route(m.traffic.flows, p.core_of_cluster, hw)
                    rows.append({"workload": wl, "chip": chip, "clusters": k, "placer": placer,
                                 "cost": p.cost, "spike_hops": r.spike_hops,
                                 "energy_J": r.energy_J, "max_link_load": r.max_link_load,
                                 "routing_entries_max": r.routing_entries_max,
                                 "seconds": secs})
                    if not quick:
                        with (RESULTS / "mapping.partial.jsonl").open("a") as f:
                            f.write(json.dumps(rows[-1]) + "\n")
                progress.advance(task)
    return rows


@benchmark("mapping")
def run(quick: bool = False) -> dict[str, Any]:
    """Placers on the partitioned workload suite: spike-hops, energy, link load, gap to exact."""
    rows = _rows(quick)
    summary = _summary(rows)
    if not quick:
        _write(rows, summary)
    return {"quick": quick, "rows": rows, "summary": summary}


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if "placer" in r]
    keys = sorted({(r["workload"], r["chip"]) for r in ok})
    out: dict[str, Any] = {"instances": len(keys)}
    for placer in PLACERS[:-1]:
        ratios, gaps = [], []
        for key in keys:
            here = {r["placer"]: r for r in ok if (r["workload"], r["chip"]) == key}
            base = here["sequential"]["spike_hops"]
            if placer in here and base > 0:
                ratios.append(here[placer]["spike_hops"] / base)
            if "exact" in here and placer in here:
                gaps.append(here[placer]["cost"] / here["exact"]["cost"] - 1
                            if here["exact"]["cost"] > 0 else 0.0)
        out[placer] = {"spike_hops_vs_sequential_mean": float(np.mean(ratios)) if ratios
                       else None,
                       "gap_to_exact_max": float(np.max(gaps)) if gaps else None,
                       "gap_to_exact_mean": float(np.mean(gaps)) if gaps else None,
                       "exact_instances": len(gaps)}
    return out


def _write(rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    lines = ["# Placement and routing on the workload suite (python -m benchmarks mapping)", "",
             "Partition: spinemap (SpiNeCluster), seed 0. Spike-hops are routed (XY multicast "
             "trees; unicast copies on Loihi, whose NoC has no multicast).", "",
             "## Summary", "",
             "| placer | spike-hops vs sequential (mean) | gap to exact: mean / max | "
             "instances with exact |", "|---|---|---|---|"]
    for placer in PLACERS[:-1]:
        s = summary[placer]
        ratio = s["spike_hops_vs_sequential_mean"]
        gap = (f"{100 * s['gap_to_exact_mean']:.2f} % / {100 * s['gap_to_exact_max']:.2f} %"
               if s["gap_to_exact_max"] is not None else "—")
        lines.append(f"| {placer} | {ratio:.3f} | {gap} | {s['exact_instances']} |"
                     if ratio is not None else f"| {placer} | — | {gap} | 0 |")
    lines += ["", "## Every run", "",
              "| workload | chip | clusters | placer | spike-hops | NoC energy / inf | "
              "max link load | routing entries max | seconds |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "placer" not in r:
            lines.append(f"| {r['workload']} | {r.get('chip', '—')} | refused: "
                         f"{r['error'][:110]} | | | | | | |")
            continue
        lines.append(f"| {r['workload']} | {r['chip']} | {r['clusters']} | {r['placer']} | "
                     f"{r['spike_hops']:,.0f} | {r['energy_J'] * 1e9:,.1f} nJ | "
                     f"{r['max_link_load']:,.0f} | {r['routing_entries_max']} | "
                     f"{r['seconds']:.2f} |")
    (RESULTS / "mapping.md").write_text("\n".join(lines) + "\n")

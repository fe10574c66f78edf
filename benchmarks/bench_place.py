"""Placement: quality and speed of every placer on synthetic layered cluster traffic.

Traffic (packets per inference between clusters) is layered-network-like: the ``k`` clusters are
cut into about sqrt(k) layers of consecutive clusters; each cluster sends to 70 % of the next
layer's clusters with log-normal weights (median 100 packets), plus a sparse background (2 %
of pairs, median 5 packets). Two chips: loihi (8x4 tiles x 4 cores, unicast) and pcm-crossbar
(16x16 tiles x 1 crossbar, multicast).

``gap``: k = 6, 8, 9, several seeds: every placer's cost against ``exact`` (the optimum).
``quality``: k = 16, 32, 64, 100: spike-hops, energy, maximum link load, cost and seconds per
placer, as ratios to ``sequential`` (the row-major baseline) of the same instance.
``tradeoff`` (full run only): ``sa`` on k = 64 with w_congestion in 0 … 4: what a lower busiest
link costs in energy. ``scale`` (full run only): truenorth (64x64 tiles), k = 256 and 1024, the
time and cost of greedy, sa and (k = 256) pso against sequential.

Results: ``results/place.json`` (through the runner) and ``results/place.md``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks._runner import RESULTS, benchmark

CHIPS = ("loihi", "pcm-crossbar")
HEURISTICS = ("pso", "sa", "greedy", "sequential", "random")


def layered_traffic(k: int, seed: int) -> np.ndarray:
    """A (k, k) traffic matrix of a layered network cut into clusters (module docstring)."""
    rng = np.random.default_rng(seed)
    n_layers = max(2, round(np.sqrt(k)))
    cuts = np.sort(rng.choice(np.arange(1, k), size=n_layers - 1, replace=False))
    layer = np.searchsorted(cuts, np.arange(k), side="right")
    nxt = layer[None, :] == layer[:, None] + 1
    t = np.where(nxt & (rng.random((k, k)) < 0.7), rng.lognormal(np.log(100), 1, (k, k)), 0.0)
    t += np.where(rng.random((k, k)) < 0.02, rng.lognormal(np.log(5), 1, (k, k)), 0.0)
    np.fill_diagonal(t, 0.0)
    return t


def _row(chip: str, k: int, seed: int, p: Any) -> dict[str, Any]:
    return {"chip": chip, "k": k, "seed": seed, "placer": p.method, "cost": p.cost,
            "energy_J": p.energy_J, "spike_hops": p.spike_hops,
            "max_link_load": p.max_link_load, "seconds": p.seconds,
            "evaluations": p.evaluations}


def _gap(quick: bool) -> list[dict[str, Any]]:
    from snncc.hw import load_hw
    from snncc.mapping.place import place

    rows = []
    for chip in CHIPS:
        hw = load_hw(chip)
        for k in (6, 9) if quick else (6, 8, 9):
            for seed in range(2 if quick else 5):
                t = layered_traffic(k, seed)
                best = place(t, hw, "exact", seed=seed)
                rows.append({**_row(chip, k, seed, best), "gap": 0.0})
                for method in HEURISTICS:
                    p = place(t, hw, method, seed=seed)
                    rows.append({**_row(chip, k, seed, p), "gap": p.cost / best.cost - 1})
    return rows


def _quality(quick: bool) -> list[dict[str, Any]]:
    from snncc.hw import load_hw
    from snncc.mapping.place import place

    rows = []
    for chip in CHIPS:
        hw = load_hw(chip)
        for k in (16, 32) if quick else (16, 32, 64, 100):
            for seed in range(1 if quick else 2):
                t = layered_traffic(k, 1000 + seed)
                base = place(t, hw, "sequential", seed=seed)
                for method in HEURISTICS:
                    p = place(t, hw, method, seed=seed)
                    rows.append({**_row(chip, k, seed, p),
                                 **{f"{key}_vs_seq": getattr(p, key) / getattr(base, key)
                                    for key in ("cost", "energy_J", "spike_hops",
                                                "max_link_load")}})
    return rows


def _tradeoff() -> list[dict[str, Any]]:
    from snncc.hw import load_hw
    from snncc.mapping.place import PlaceOptions, place

    rows = []
    t = layered_traffic(64, 7)
    for chip in CHIPS:
        for w in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0):
            p = place(t, load_hw(chip), "sa", options=PlaceOptions(w_congestion=w))
            rows.append({**_row(chip, 64, 7, p), "w_congestion": w})
    return rows


def _scale() -> list[dict[str, Any]]:
    from snncc.hw import load_hw
    from snncc.mapping.place import place

    rows = []
    hw = load_hw("truenorth")
    for k in (256, 1024):
        t = layered_traffic(k, 11)
        base = place(t, hw, "sequential")
        for method in ("greedy", "sa", "pso") if k <= 256 else ("greedy", "sa"):
            p = place(t, hw, method)
            rows.append({**_row("truenorth", k, 0, p), "cost_vs_seq": p.cost / base.cost,
                         "edges": int(np.count_nonzero(t))})
    return rows


def _mean(rows: list[dict[str, Any]], key: str, **match: Any) -> float:
    vals = [r[key] for r in rows if all(r[m] == v for m, v in match.items())]
    return float(np.mean(vals)) if vals else float("nan")


def _summary(gap: list[dict[str, Any]], quality: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for chip in CHIPS:
        out[chip] = {
            "mean_gap_to_exact": {m: _mean(gap, "gap", chip=chip, placer=m) for m in HEURISTICS},
            "max_gap_to_exact": {m: max(r["gap"] for r in gap if r["chip"] == chip
                                        and r["placer"] == m) for m in HEURISTICS},
            "cost_vs_sequential": {m: _mean(quality, "cost_vs_seq", chip=chip, placer=m)
                                   for m in HEURISTICS},
            "spike_hops_vs_sequential": {m: _mean(quality, "spike_hops_vs_seq", chip=chip,
                                                  placer=m) for m in HEURISTICS},
        }
    return out


def _markdown(gap: list[dict[str, Any]], quality: list[dict[str, Any]],
              tradeoff: list[dict[str, Any]], scale: list[dict[str, Any]],
              seconds: float) -> str:
    lines = ["# Placement (python -m benchmarks place)", "",
             "Synthetic layered cluster traffic; see benchmarks/bench_place.py. "
             f"Whole run {seconds:.0f} s.", "",
             "## Gap to the optimum (exact), mean / max over seeds", "",
             "| chip | k | " + " | ".join(HEURISTICS) + " | exact s |",
             "|---|---|" + "---|" * (len(HEURISTICS) + 1)]
    for chip in CHIPS:
        for k in sorted({r["k"] for r in gap}):
            cells = []
            for m in HEURISTICS:
                g = [r["gap"] for r in gap if (r["chip"], r["k"], r["placer"]) == (chip, k, m)]
                cells.append(f"{100 * np.mean(g):.1f} / {100 * max(g):.1f} %")
            ex = _mean(gap, "seconds", chip=chip, k=k, placer="exact")
            lines.append(f"| {chip} | {k} | " + " | ".join(cells) + f" | {ex:.2f} |")
    lines += ["", "## Against sequential (ratios, mean over seeds; lower is better)", "",
              "| chip | k | placer | cost | energy | spike-hops | max link load | seconds |",
              "|---|---|---|---|---|---|---|---|"]
    for chip in CHIPS:
        for k in sorted({r["k"] for r in quality}):
            for m in HEURISTICS:
                q = {"chip": chip, "k": k, "placer": m}
                lines.append(
                    f"| {chip} | {k} | {m} | {_mean(quality, 'cost_vs_seq', **q):.3f} | "
                    f"{_mean(quality, 'energy_J_vs_seq', **q):.3f} | "
                    f"{_mean(quality, 'spike_hops_vs_seq', **q):.3f} | "
                    f"{_mean(quality, 'max_link_load_vs_seq', **q):.3f} | "
                    f"{_mean(quality, 'seconds', **q):.2f} |")
    if tradeoff:
        lines += ["", "## Congestion weight (sa, k = 64)", "",
                  "| chip | w_congestion | energy nJ | spike-hops | max link load |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['chip']} | {r['w_congestion']:g} | {r['energy_J'] * 1e9:.2f} | "
                  f"{r['spike_hops']:,.0f} | {r['max_link_load']:,.0f} |" for r in tradeoff]
    if scale:
        lines += ["", "## Larger instances (truenorth)", "",
                  "| k | traffic edges | placer | cost vs sequential | seconds |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['k']} | {r['edges']:,} | {r['placer']} | {r['cost_vs_seq']:.3f} | "
                  f"{r['seconds']:.1f} |" for r in scale]
    return "\n".join(lines) + "\n"


@benchmark("place")
def run(quick: bool = False) -> dict[str, Any]:
    """Gap to exact (k 6-9), quality against sequential (k 16-100), trade-off and scale."""
    t0 = time.perf_counter()
    gap = _gap(quick)
    quality = _quality(quick)
    tradeoff = [] if quick else _tradeoff()
    scale = [] if quick else _scale()
    seconds = time.perf_counter() - t0
    text = _markdown(gap, quality, tradeoff, scale, seconds)
    if not quick:
        (RESULTS / "place.md").write_text(text)
    return {"quick": quick, "seconds": seconds, "summary": _summary(gap, quality), "gap": gap,
            "quality": quality, "tradeoff": tradeoff, "scale": scale, "markdown": text}

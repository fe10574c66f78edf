"""The seed papers' claims beside snncc's measurements: one row per claim.

The paper's figures are quoted from the project's notes on the papers (``reference/papers.md``);
where the notes hold no figure the row says so rather than inventing one. The measured figures
come from results JSON: the ``snncc bench`` run itself (SpiNeMap vs PACMAN-style, and the
device-aware passes where a suite chip has a device model), and the repository's benchmark
results when found (``backend.json``, ``accuracy.json``, ``device.json``, ``sdf.json`` in the
output folder or in ``benchmarks/results``). A claim with no source says "not measured yet" and
the command that measures it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snncc._io import atomic_write
from snncc.bench.suites import SPINEMAP

__all__ = ["build_claims", "find_results", "write_claims"]

_SPINEMAP = " + ".join(SPINEMAP)


def find_results(folders: Sequence[Path]) -> dict[str, Any]:
    """The benchmark result files (``NAME.json``) found in ``folders``, first found wins."""
    found: dict[str, Any] = {}
    for name in ("backend", "accuracy", "device", "sdf"):
        for folder in folders:
            path = Path(folder) / f"{name}.json"
            if path.is_file():
                try:
                    found[name] = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                found[f"{name}_path"] = str(path)
                break
    return found


def _pairs(node: Any, key: str, other: str) -> Iterator[tuple[float, float, str]]:
    """Every (node[key], node[other], label) in a JSON tree, both numbers."""
    if isinstance(node, dict):
        a, b = node.get(key), node.get(other)
        if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
            label = " on ".join(str(node[k]) for k in ("workload", "model", "chip", "hw")
                                if isinstance(node.get(k), str))
            yield float(a), float(b), label
        for v in node.values():
            yield from _pairs(v, key, other)
    elif isinstance(node, list):
        for v in node:
            yield from _pairs(v, key, other)


def _row(claim: str, paper: str, measured: str, workloads: str, source: str,
         values: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"claim": claim, "paper": paper, "measured": measured, "workloads": workloads,
            "source": source, "values": values or {}}


def _spinemap(summary: dict[str, Any], found: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    s = summary.get("mappings", {}).get(_SPINEMAP)
    insts = sorted(k for k, v in summary.get("instances", {}).items()
                   if _SPINEMAP in v and summary["baseline"] in v)
    backend = found.get("backend", {}).get("summary", {}).get("claims", {})
    for col, label, paper in (("energy_per_inference_J", "energy", "−45 %"),
                              ("spike_latency_mean_cycles", "spike latency", "−21 %")):
        parts, values = [], {}
        if s and col in s:
            c = s[col]
            parts.append(f"{c['mean']:+.1%} mean over {s['instances']} runs "
                         f"({c['min']:+.0%} … {c['max']:+.0%})")
            values["suite_mean_change"] = c["mean"]
        key = "spinemap_energy_change" if col.startswith("energy") else \
            "spinemap_spike_latency_change"
        for wl, c in sorted(backend.items()):
            if key in c:
                parts.append(f"{c[key]:+.1%} on {wl} (backend benchmark)")
                values[f"backend: {wl}"] = c[key]
        src = ["`snncc bench` (bench.json)"] if s and col in s else []
        if backend:
            src.append(found.get("backend_path", "backend.json"))
        rows.append(_row(
            f"SpiNeMap (spinemap + pso) vs PACMAN-style (sequential + sequential): {label}",
            f"{paper} average {label} (DYNAP-SE; synthetic and realistic SNNs)",
            "; ".join(parts) if parts else "not measured yet: `snncc bench` (a suite with "
            "spinemap, pso and the sequential mapping) or `python -m benchmarks backend`",
            ", ".join(insts) + ("; MNIST soft-LIF (backend benchmark)" if backend else ""),
            ", ".join(src) or "—", values))
    return rows


def _run_pairs(rows: Sequence[dict[str, Any]], section: str, key: str
               ) -> list[tuple[float, float, str]]:
    """(value, baseline, "workload on chip") of ``section.key`` in the run's rows."""
    return [(r[f"{section}_{key}"], r[f"{section}_baseline_{key}"],
             f"{r['workload']} on {r['chip']}") for r in rows
            if r.get(f"{section}_{key}") is not None
            and r.get(f"{section}_baseline_{key}") is not None]


def _device_benchmark(found: dict[str, Any], section: str, key: str
                      ) -> list[tuple[float, float, str]]:
    """The same pairs from ``python -m benchmarks device`` (device.json), one per workload.

    Its ``thermal`` entries are variants × leakage slopes: the default pass at the lowest
    slope (the chip file's) is the one ``snncc compile --thermal`` runs.
    """
    out = []
    for row in found.get("device", {}).get("rows", []):
        sec = row.get(section)
        if isinstance(sec, list):
            default = [v for v in sec if isinstance(v, dict) and v.get("variant") == "default"]
            sec = min(default, key=lambda v: v.get("beta", 0.0)) if default else None
        if isinstance(sec, dict) and isinstance(sec.get(key), int | float) and isinstance(
                sec.get(f"baseline_{key}"), int | float):
            out.append((float(sec[key]), float(sec[f"baseline_{key}"]),
                         f"{row.get('workload', '?')} (device benchmark)"))
    return out


def _espine(rows: Sequence[dict[str, Any]], found: dict[str, Any]) -> dict[str, Any]:
    paper = "lifetime improves significantly (10 workloads, PCM crossbars; no figure in our notes)"
    claim = "eSpine: endurance-aware placement of synapses on crossbar cells, lifetime"
    parts, src, labels, values = [], [], [], {}
    for pairs, where, name in ((_run_pairs(rows, "endurance", "min_lifetime_s"),
                                "`snncc bench` (bench.json)", "suite"),
                               (_device_benchmark(found, "endurance", "min_lifetime_s"),
                                found.get("device_path", ""), "device benchmark")):
        ratios = [a / b for a, b, _ in pairs if b > 0]
        if not ratios:
            continue
        parts.append(f"×{np.mean(ratios):.2f} mean over {len(ratios)} workloads "
                     f"(×{min(ratios):.2f} … ×{max(ratios):.2f}; {name})")
        values[f"{name}: lifetime_ratio_mean"] = float(np.mean(ratios))
        src.append(where)
        labels += [p[2] for p in pairs]
    if not parts:
        return _row(claim, paper, "not measured yet: `snncc bench` with a crossbar chip, or "
                    "`snncc compile … --hw pcm-crossbar --endurance`", "—", "—")
    return _row(claim, paper, "minimum lifetime against the activity-unaware cell layout: "
                + "; ".join(parts), ", ".join(sorted(set(labels))), ", ".join(src), values)


def _thermal(rows: Sequence[dict[str, Any]], found: dict[str, Any]) -> dict[str, Any]:
    claim = "Thermal-aware mapping (Titirsha & Das): temperature, leakage, energy"
    paper = ("−11.4 K average crossbar temperature, −52 % leakage power, −11 % total energy "
             "vs a performance-oriented mapping (10 workloads)")
    parts, values, srcs, labels = [], {}, [], []
    for get, where, name in ((lambda k: _run_pairs(rows, "thermal", k),
                              "`snncc bench` (bench.json)", "suite"),
                             (lambda k: _device_benchmark(found, "thermal", k),
                              found.get("device_path", ""), "device benchmark")):
        figures = []
        for key, what in (("avg_temperature_K", "average temperature"),
                          ("leakage_W", "leakage"), ("total_energy_J", "total energy")):
            pairs = get(key)
            if not pairs:
                continue
            labels += [p[2] for p in pairs]
            if key.endswith("_K"):
                d = float(np.mean([a - b for a, b, _ in pairs]))
                figures.append(f"{what} {d:+.2f} K")
            else:
                d = float(np.mean([a / b - 1 for a, b, _ in pairs if b]))
                figures.append(f"{what} {d:+.1%}")
            values[f"{name}: {key}"] = d
        if figures:
            n = len(get("avg_temperature_K"))
            parts.append(", ".join(figures) + f" (mean over {n} workloads; {name})")
            srcs.append(where)
    if not parts:
        return _row(claim, paper, "not measured yet: `snncc bench` with a crossbar chip, or "
                    "`snncc compile … --hw pcm-crossbar --thermal`", "—", "—")
    return _row(claim, paper, "against the same placement before hill climbing: "
                + "; ".join(parts), ", ".join(sorted(set(labels))), ", ".join(srcs), values)


def _sdf_benchmark(found: dict[str, Any]) -> tuple[list[tuple[float, float, bool, str]],
                                                    list[float]]:
    """The runs of ``python -m benchmarks sdf`` (sdf.json).

    Returns the ``sdf`` binding's (guaranteed, simulated, held, workload) per run, and its
    guarantee's gain over the ``balance`` binding on the same workload and crossbar count.
    """
    rows = [r for r in found.get("sdf", {}).get("rows", [])
            if isinstance(r, dict) and "error" not in r and "throughput_guaranteed" in r]
    ours = [r for r in rows if r.get("method") == "sdf"]
    base = {(r.get("workload"), r.get("crossbars")): r for r in rows
            if r.get("method") == "balance"}
    runs = [(float(r["throughput_guaranteed"]), float(r["throughput_simulated"]),
             not r.get("violated", False), f"{r.get('workload')} (sdf benchmark)") for r in ours]
    gains = [r["throughput_guaranteed"] / b["throughput_guaranteed"] - 1 for r in ours
             if (b := base.get((r.get("workload"), r.get("crossbars"))))
             and b["throughput_guaranteed"]]
    return runs, gains


def _dataflow(rows: Sequence[dict[str, Any]], found: dict[str, Any]) -> dict[str, Any]:
    claim = "DFSynthesizer: guaranteed throughput of clusters scheduled on fewer crossbars"
    paper = ("much tighter performance guarantees than earlier mapping approaches (10 programs; "
             "no figure in our notes)")
    suite = [(float(r["dataflow_throughput_guaranteed"]),
              float(r["dataflow_throughput_simulated"]), bool(r.get("dataflow_guarantee_held")),
              f"{r['workload']} on {r['chip']}") for r in rows
             if r.get("dataflow_throughput_guaranteed") and r.get("dataflow_throughput_simulated")]
    suite_gains = [a / b - 1 for a, b, _ in _run_pairs(rows, "dataflow", "throughput_guaranteed")
                   if b]
    parts: list[str] = []
    src: list[str] = []
    labels: list[str] = []
    values: dict[str, Any] = {}
    for (runs, gains), where, name in (((suite, suite_gains), "`snncc bench` (bench.json)",
                                        "suite"),
                                       (_sdf_benchmark(found), found.get("sdf_path", ""),
                                        "sdf benchmark")):
        if not runs:
            continue
        ratio = float(np.mean([g / sim for g, sim, _, _ in runs]))
        held = sum(h for _, _, h, _ in runs)
        text = (f"guarantee {ratio:.0%} of the simulated throughput on average, held in "
                f"{held}/{len(runs)} runs")
        if gains:
            text += f", {np.mean(gains):+.1%} vs the load-balancing binding"
        parts.append(f"{text} ({name})")
        values[f"{name}: guarantee_over_simulated"] = ratio
        values[f"{name}: held"] = f"{held}/{len(runs)}"
        src.append(where)
        labels += [r[3] for r in runs]
    if not parts:
        return _row(claim, paper, "not measured yet: `snncc bench` with a crossbar chip, "
                    "`python -m benchmarks sdf`, or `snncc compile … --hw pcm-crossbar "
                    "--crossbars N`", "—", "—")
    return _row(claim, paper, "; ".join(parts), ", ".join(sorted(set(labels))), ", ".join(src),
                values)


def _hunsberger(found: dict[str, Any]) -> list[dict[str, Any]]:
    acc = found.get("accuracy", {}).get("rows", [])
    mnist = {r["presentation_ms"]: r for r in acc if r.get("model") == "mnist_softlif"
             and r.get("weight_bits") is None and r.get("maxpool", "gate") == "gate"}
    src = found.get("accuracy_path", "accuracy.json")
    not_yet = "not measured yet: `python -m benchmarks accuracy` (needs the MNIST test set)"
    rows = []
    r200 = mnist.get(200.0)
    rows.append(_row(
        "Hunsberger & Eliasmith: soft-LIF training transfers to spiking LIF (MNIST accuracy)",
        "spiking error ≈ 0.9 % on MNIST (unverified recollection in our notes)",
        f"spiking error {1 - r200['accuracy']:.2%} (ANN {1 - r200['ann_accuracy']:.2%}) at "
        f"200 ms on the {r200['inputs']:,} test images" if r200 else not_yet,
        "mnist_softlif (benchmarks/models), trained by benchmarks/train_softlif.py",
        src if r200 else "—",
        {"spiking_error": 1 - r200["accuracy"]} if r200 else None))
    eff = {ms: r["efficiency"] for ms, r in mnist.items() if r.get("efficiency")}
    rows.append(_row(
        "Hunsberger & Eliasmith: efficiency ratio (ANN FLOPs / neuromorphic cost)",
        "MNIST 5.9× (200 ms) to 14.4× (60 ms)",
        ", ".join(f"{eff[ms]:.2f}× ({ms:g} ms)" for ms in sorted(eff, reverse=True))
        if eff else not_yet,
        "mnist_softlif", src if eff else "—", {f"{ms:g}ms": v for ms, v in eff.items()}))
    return rows


def _labels(pairs: Sequence[tuple[float, float, str]]) -> str:
    return ", ".join(sorted({p[2] for p in pairs if p[2]})) or "—"


def build_claims(rows: Sequence[dict[str, Any]], summary: dict[str, Any],
                 found: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims table: rows of ``claim, paper, measured, workloads, source, values``.

    Args:
        rows: The ``snncc bench`` rows.
        summary: Their :func:`snncc.bench.results.summarise`.
        found: :func:`find_results` of the repository's benchmark results.
    """
    return [*_spinemap(summary, found), _espine(rows, found), _thermal(rows, found),
            _dataflow(rows, found), *_hunsberger(found)]


def write_claims(out: Path, claims: Sequence[dict[str, Any]], meta: dict[str, Any]
                 ) -> list[Path]:
    """Write OUT/claims.md and OUT/claims.json."""
    lines = ["# The seed papers' claims, measured by snncc", "",
             f"Regenerated by `{meta['command']}` ({meta['date']}, snncc "
             f"{meta['snncc_version']}). Paper figures are quoted from the project's notes on "
             "the papers; measurements come from the sources named in each row.", "",
             "| claim | paper | snncc measured | workloads | source |", "|---|---|---|---|---|"]
    for c in claims:
        cells = [c["claim"], c["paper"], c["measured"], c["workloads"], c["source"]]
        lines.append("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |")
    return [atomic_write(out / "claims.md", "\n".join(lines) + "\n"),
            atomic_write(out / "claims.json", json.dumps({"meta": meta, "claims": list(claims)},
                                                         indent=1) + "\n")]

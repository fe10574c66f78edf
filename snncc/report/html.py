"""report.html: one self-contained page (inline SVG, no scripts, no network) of a report.json.

Sections, each drawn only when the report holds its data: the headline figures; the network per
layer (neurons, synapses, spikes per inference, cores, energy); the mapping's quality against a
baseline mapping; a map of the chip with cores coloured by layer and a heatmap of the routed link
load (both need the :class:`~snncc.program.Program`); the energy breakdown; spike latency; accuracy
against presentation time; the device-aware results (``endurance``, ``thermal``, ``dataflow``
and any other section), shown key by key so new keys appear without a change here.

Every number taken from the report is written as ``<td data-key='["simulation", "accuracy"]'
data-value="0.99">99.00 %</td>``: the JSON path and the exact value, so tests (and scripts) can
check the page against report.json, which is also embedded verbatim in
``<script type="application/json" id="snncc-report">``.

Example:
    >>> page = render_html({"model": "m.onnx", "network": {"neurons": 10}})
    >>> page.startswith("<!DOCTYPE html>")
    True
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from snncc._io import atomic_write
from snncc.report import _plots

__all__ = ["render_html", "write_html"]

Path_ = tuple[str, ...]
_MISSING = object()
#: Sections drawn by their own code; every other dict section of the report is drawn generically.
_OWN = ("network", "mapping", "simulation", "baseline")
_TITLES = {"endurance": "Endurance (eSpine)", "thermal": "Thermal (Titirsha & Das)",
           "dataflow": "Dataflow schedule (DFSynthesizer)", "activity": "Activity profile"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right;font-variant-numeric:tabular-nums}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
.note{color:#666;font-size:.9em}.warn{color:#9a5b00}
figure{margin:.5em 0}svg{max-width:100%;height:auto}
"""


def _get(report: Any, path: Path_) -> Any:
    node = report
    for key in path:
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return _MISSING
    return node


def _si(value: float, unit: str) -> str:
    """``value`` with an SI prefix: 1.2e-6, "J" -> "1.2 µJ" (no prefix from 1 up)."""
    if value == 0:
        return f"0 {unit}"
    if abs(value) >= 1e3:
        return f"{value:,.0f} {unit}" if abs(value) < 1e15 else f"{value:.4g} {unit}"
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


_UNITS = {"_J": "J", "_W": "W", "_A": "A", "_V": "V", "_s": "s", "seconds": "s"}
_YEAR_S, _DAY_S = 3.15576e7, 86400.0


def unit_key(path: Sequence[str]) -> str:
    """The key whose suffix gives the unit of the value at ``path``.

    A leaf like ``p10`` takes its parent's: ``synapse_lifetime_s / p10`` is in seconds.
    """
    for key in reversed(path):
        if key.endswith(("_K", "accuracy")) or any(
                key.endswith(u) for u in _UNITS):
            return key
    return path[-1] if path else ""


def fmt_value(key: str, value: Any) -> str:
    """A report value for people, its unit read from the key's suffix (``_J``, ``_s``, ...)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    parts = key.split("_")
    if len(parts) > 2 and parts[-2] == "per":  # a rate: throughput_inferences_per_s, beta_per_K
        per = parts[-1]
        return f"{value:,.1f} /{per}" if abs(value) >= 100 else f"{value:.4g} /{per}"
    if key.endswith("_K"):
        return f"{value:.2f} K"
    for suffix, unit in _UNITS.items():
        if key.endswith(suffix):
            text = _si(value, unit)
            if unit == "s" and value >= _YEAR_S:
                return f"{text} ({value / _YEAR_S:.3g} years)"
            if unit == "s" and value >= _DAY_S:
                return f"{text} ({value / _DAY_S:.3g} days)"
            return text
    if "accuracy" in key or key.endswith("_fraction") or key.endswith("disorder"):
        return f"{value:.2%}" if 0 <= value <= 1 else f"{value:.4g}"
    if abs(value) >= 1e3:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _cell(report: dict[str, Any], path: Path_, text: Callable[[Any], str] | None = None) -> str:
    """A ``<td>`` holding the value at ``path`` with its path and exact value as attributes."""
    value = _get(report, path)
    if value is _MISSING:
        return "<td>—</td>"
    shown = text(value) if text is not None else fmt_value(unit_key(path), value)
    exact = json.dumps(value)
    return (f"<td data-key='{html.escape(json.dumps(list(path)), quote=True)}' "
            f"data-value=\"{html.escape(exact, quote=True)}\">{html.escape(shown)}</td>")


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table; row items are ready-made ``<td>`` strings or plain text."""
    out = ["<table><thead><tr>", *(f"<th>{html.escape(h)}</th>" for h in head), "</tr></thead>",
           "<tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(c if c.startswith("<td") else f"<td>{html.escape(c)}</td>"
                                    for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _figure(svg: str | None, caption: str) -> str:
    if svg is None:
        return ""
    return f"<figure>{svg}<figcaption class=\"note\">{html.escape(caption)}</figcaption></figure>"


def _rows(report: dict[str, Any], items: Sequence[tuple[str, Path_]]) -> list[list[str]]:
    return [[label, _cell(report, path)] for label, path in items
            if _get(report, path) is not _MISSING]


def _headline(report: dict[str, Any]) -> str:
    s, m = ("simulation",), ("mapping",)
    items = [("ANN accuracy", (*s, "ann_accuracy")), ("spiking accuracy", (*s, "accuracy")),
             ("energy / inference", (*s, "energy_per_inference_J")),
             ("latency / inference", (*s, "latency_per_inference_s")),
             ("throughput (inferences / s)", (*s, "throughput_inferences_per_s")),
             ("spikes / inference", (*s, "spikes_per_inference")),
             ("cores (crossbars) used", (*m, "cores_used")),
             ("inter-core packets / inference", (*m, "inter_core_packets")),
             ("spike-hops / inference", (*m, "spike_hops")),
             ("max link load (packets / inference)", (*m, "max_link_load")),
             ("efficiency (Hunsberger & Eliasmith)", (*s, "efficiency", "efficiency"))]
    rows = _rows(report, items)
    if rows and rows[-1][0].startswith("efficiency"):
        rows[-1][1] = _cell(report, items[-1][1], lambda v: f"{v:.2f}×")
    return "<h2>Summary</h2>" + _table(["measure", "value"], rows) if rows else ""


def _network(report: dict[str, Any]) -> str:
    layers = _get(report, ("network", "layers"))
    if not isinstance(layers, list) or not layers:
        return ""
    per_core = _get(report, ("mapping", "layers"))
    energy = _get(report, ("simulation", "energy_per_layer_J"))
    rows = []
    for i, lay in enumerate(layers):
        if not isinstance(lay, dict):
            continue
        p: Path_ = ("network", "layers", str(i))
        name = str(lay.get("name", i))
        row = [name, str(lay.get("op", "")),
               "×".join(map(str, lay.get("shape", []))),
               _cell(report, (*p, "neurons")) if "neurons" in lay else "<td></td>",
               _cell(report, (*p, "synapses")) if "synapses" in lay else "<td></td>",
               _cell(report, (*p, "spikes_per_inference")) if "spikes_per_inference" in lay
               else "<td></td>",
               _cell(report, ("mapping", "layers", name, "cores"))
               if isinstance(per_core, dict) and name in per_core else "<td></td>"]
        if isinstance(energy, dict) and name in energy:
            row.append(fmt_value("_J", float(sum(energy[name].values()))))
        else:
            row.append("<td></td>")
        rows.append(row)
    head = ["layer", "op", "shape", "neurons", "synapses", "spikes / inference", "cores",
            "dynamic energy / inference"]
    total = [["total", "", "", _cell(report, ("network", "neurons")),
              _cell(report, ("network", "synapses")), "", "", ""]]
    return ("<h2>Network</h2><p class=\"note\">One row per layer of the imported model; spikes "
            "are per inference from the functional simulation, cores from the mapping.</p>"
            + _table(head, rows + total))


def _mapping(report: dict[str, Any], layout: _plots.ChipLayout | None) -> str:
    mp = _get(report, ("mapping",))
    if not isinstance(mp, dict) or not mp:
        return ""
    keys = [("partitioner", "partitioner"), ("placer", "placer"), ("cores used", "cores_used"),
            ("units (blocks)", "units"), ("inter-core packets / inference", "inter_core_packets"),
            ("partial-sum packets / inference", "partial_sum_packets"),
            ("edge cut", "edge_cut"), ("spike-hops / inference", "spike_hops"),
            ("max link load", "max_link_load"), ("NoC energy / inference (routed)",
                                                 "noc_energy_per_inference_J"),
            ("routing entries (max per router)", "routing_entries_max"),
            ("multicast", "multicast")]
    base = _get(report, ("baseline",))
    out = ["<h2>Mapping</h2>"]
    if isinstance(base, dict):
        label = str(base.get("label", "baseline"))
        out.append(f"<p class=\"note\">Against the {html.escape(label)} mapping "
                   f"({html.escape(str(base.get('partitioner')))} partition + "
                   f"{html.escape(str(base.get('placer')))} placement) of the same network and "
                   "activity.</p>")
        rows = []
        pairs = [(lab, ("mapping", k)) for lab, k in keys[2:]] + [
            ("energy / inference", ("simulation", "energy_per_inference_J")),
            ("latency / inference", ("simulation", "latency_per_inference_s")),
            ("spike latency mean (cycles)", ("simulation", "spike_latency_cycles", "mean"))]
        for lab, path in pairs:
            ours, theirs = _get(report, path), _get(report, ("baseline", *path))
            if ours is _MISSING or theirs is _MISSING:
                continue
            change = (f"{ours / theirs - 1:+.1%}" if isinstance(ours, int | float)
                      and isinstance(theirs, int | float) and not isinstance(ours, bool)
                      and theirs else "")
            rows.append([lab, _cell(report, path), _cell(report, ("baseline", *path)), change])
        out.append(_table(["measure", f"{mp.get('partitioner')} + {mp.get('placer')}", label,
                           "change"], rows))
    else:
        out.append(_table(["measure", "value"], _rows(report, [(lab, ("mapping", k))
                                                               for lab, k in keys])))
    if layout is None:
        out.append("<p class=\"note\">No chip map: the program was not placed or not given.</p>")
        return "".join(out)
    gx, gy = layout.grid
    x0, x1, y0, y1 = _plots.crop(layout.grid, _plots.used_tiles(layout))
    shown = ("" if (x1 - x0, y1 - y0) == (gx, gy) else
             f" Shown: tiles x {x0}–{x1 - 1}, y {y0}–{y1 - 1} (those in use and a margin).")
    out.append(_figure(_plots.chip_map_svg(layout),
                       f"The chip: {gx}×{gy} tiles of {layout.cores_per_tile} core(s); each "
                       f"core coloured by the layer with most neurons on it.{shown}"))
    load_svg = _plots.link_load_svg(layout)
    if load_svg is None:
        out.append("<p class=\"note\">No link loads: the program was not routed.</p>")
    elif layout.link_load is not None and not layout.link_load.any():
        out.append("<p class=\"note\">No packet crosses a link: every destination is on its "
                   "sender's tile.</p>")
    else:
        out.append(_figure(load_svg, "Routed packets per inference on every link of the mesh "
                                     "(XY routes of the activity profile); grey squares: tiles "
                                     "in use."))
    return "".join(out)


def _energy(report: dict[str, Any]) -> str:
    breakdown = _get(report, ("simulation", "energy_breakdown_J"))
    if not isinstance(breakdown, dict):
        return ""
    rows = [[k.removesuffix("_J").replace("_", " "), _cell(report, ("simulation",
                                                                   "energy_breakdown_J", k))]
            for k, v in breakdown.items() if v]
    rows.append(["total", _cell(report, ("simulation", "energy_per_inference_J"))])
    per_layer = _get(report, ("simulation", "energy_per_layer_J"))
    svg = _plots.energy_svg(breakdown, per_layer if isinstance(per_layer, dict) else None)
    return ("<h2>Energy per inference</h2>" + _table(["category", "energy"], rows)
            + _figure(svg, "Counts from the cycle-level backend × the chip's per-event "
                           "energies, plus static power × run time."))


def _latency(report: dict[str, Any]) -> str:
    s: Path_ = ("simulation",)
    items = [("latency / inference", (*s, "latency_per_inference_s")),
             ("mean timestep", (*s, "timestep_s")), ("longest timestep", (*s, "max_timestep_s")),
             ("spike latency mean (cycles)", (*s, "spike_latency_cycles", "mean")),
             ("spike latency p99 (cycles)", (*s, "spike_latency_cycles", "p99")),
             ("spike latency max (cycles)", (*s, "spike_latency_cycles", "max")),
             ("ISI distortion mean (cycles)", (*s, "isi_distortion_cycles", "mean")),
             ("spike disorder", (*s, "spike_disorder")),
             ("timesteps over the tick", (*s, "tick_overruns")),
             ("packets injected", (*s, "packets_injected")),
             ("packets delivered", (*s, "packets_delivered")),
             ("inputs replayed", (*s, "backend_inputs"))]
    rows = _rows(report, items)
    if not rows:
        return ""
    hist = _get(report, ("simulation", "spike_latency_histogram"))
    svg = (_plots.latency_histogram_svg(hist.get("counts", []), hist.get("edges", []))
           if isinstance(hist, dict) else None)
    return ("<h2>Latency</h2>" + _table(["measure", "value"], rows)
            + _figure(svg, "Spike latency: cycles from a spike being ready in its core to its "
                           "delivery at each destination core."))


def _accuracy(report: dict[str, Any]) -> str:
    sweep = _get(report, ("simulation", "accuracy_vs_presentation"))
    if not isinstance(sweep, list) or not sweep:
        return ""
    rows = [[_cell(report, ("simulation", "accuracy_vs_presentation", str(i), "presentation_s")),
             _cell(report, ("simulation", "accuracy_vs_presentation", str(i), "accuracy")),
             _cell(report, ("simulation", "accuracy_vs_presentation", str(i),
                            "spikes_per_inference"))]
            for i in range(len(sweep))]
    ann = _get(report, ("simulation", "ann_accuracy"))
    svg = _plots.accuracy_svg(sweep, ann if isinstance(ann, float) else None)
    return ("<h2>Accuracy against presentation time</h2>"
            + _table(["presentation time", "spiking accuracy", "spikes / inference"], rows)
            + _figure(svg, "Functional simulation of the same inputs at each presentation "
                           "time; dashed: the ANN."))


def _flatten(node: dict[str, Any], prefix: Path_) -> list[tuple[Path_, Any]]:
    out: list[tuple[Path_, Any]] = []
    for k, v in node.items():
        if isinstance(v, dict):
            out += _flatten(v, (*prefix, k))
        else:
            out.append(((*prefix, k), v))
    return out


def _counterpart(path: Path_, by_path: dict[Path_, Any]) -> Path_ | None:
    """``path`` with one component prefixed by ``baseline_``, if the report holds it."""
    for i in range(1, len(path)):
        if not path[i].startswith("baseline_"):
            other = (*path[:i], f"baseline_{path[i]}", *path[i + 1:])
            if other in by_path:
                return other
    return None


def _is_baseline(path: Path_, by_path: dict[Path_, Any]) -> bool:
    """Whether ``path`` is the baseline side of a compared value."""
    return any(k.startswith("baseline_") and (*path[:i], k[len("baseline_"):], *path[i + 1:])
               in by_path for i, k in enumerate(path))


def _generic(report: dict[str, Any], name: str) -> str:
    """A section shown key by key; ``X`` beside ``baseline_X`` becomes a comparison row."""
    items = _flatten(report[name], (name,))
    by_path = dict(items)
    compared, rows = [], []
    for path, value in items:
        if _is_baseline(path, by_path):
            continue
        label = " / ".join(path[1:])
        base_path = _counterpart(path, by_path)
        if base_path is not None:
            theirs = by_path[base_path]
            change = (f"{value / theirs - 1:+.1%}" if isinstance(value, int | float)
                      and isinstance(theirs, int | float) and not isinstance(value, bool)
                      and theirs else "")
            compared.append([label, _cell(report, path), _cell(report, base_path), change])
        elif isinstance(value, list):
            shown = (", ".join(fmt_value(unit_key(path), v) for v in value) if len(value) <= 8
                     and all(not isinstance(v, dict | list) for v in value)
                     else f"[{len(value)} values]")
            rows.append([label, shown])
        else:
            rows.append([label, _cell(report, path)])
    title = _TITLES.get(name, name.replace("_", " ").capitalize())
    out = [f"<h2>{html.escape(title)}</h2>"]
    if compared:
        out.append(_table(["measure", "snncc", "baseline", "change"], compared))
    if rows:
        out.append(_table(["key", "value"], rows))
    return "".join(out)


def _run_facts(report: dict[str, Any]) -> str:
    items = [("model", ("model",)), ("chip", ("hw",)), ("seed", ("seed",)),
             ("snncc", ("snncc_version",)), ("data", ("simulation", "data")),
             ("inputs simulated", ("simulation", "inputs")),
             ("presentation time", ("simulation", "presentation_s")),
             ("timestep", ("simulation", "dt_s"))]
    return _table(["run", ""], _rows(report, items))


def render_html(report: dict[str, Any], program: Any = None) -> str:
    """The page of ``report`` (a report.json dict); ``program`` adds the chip map and link loads.

    Args:
        report: The report, as written to report.json.
        program: The compiled :class:`~snncc.program.Program` the report is about, or None.

    Returns:
        The HTML text: one file with inline SVG, no scripts and no external resources.
    """
    r = report
    layout = _plots.chip_layout(program) if program is not None else None
    title = f"snncc: {Path(str(report.get('model', 'model'))).name}" + (
        f" on {report['hw']}" if report.get("hw") else "")
    parts = [f"<h1>{html.escape(title)}</h1>", _run_facts(r), _headline(r), _network(r),
             _mapping(r, layout), _energy(r), _latency(r), _accuracy(r)]
    for name, sec in report.items():
        if isinstance(sec, dict) and sec and name not in _OWN:
            parts.append(_generic(r, name))
    warnings = report.get("warnings") or []
    if warnings:
        parts.append("<h2>Warnings</h2><ul>" + "".join(
            f"<li class=\"warn\">{html.escape(str(w))}</li>" for w in warnings) + "</ul>")
    data = json.dumps(report, indent=1, allow_nan=False).replace("</", "<\\/")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            + "".join(p for p in parts if p)
            + f"<script type=\"application/json\" id=\"snncc-report\">{data}</script>"
            + "</body></html>\n")


def write_html(path: str | os.PathLike[str], report: dict[str, Any], program: Any = None
               ) -> Path:
    """Write :func:`render_html` of ``report`` to ``path`` atomically; returns the path."""
    return atomic_write(path, render_html(report, program))

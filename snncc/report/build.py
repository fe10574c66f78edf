"""Building report.json: stable top-level keys, sections filled by the stages that ran."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from snncc._io import atomic_write
from snncc._version import __version__
from snncc.ir import LayerGraph
from snncc.ir import layers as L

__all__ = ["efficiency", "network_section", "new_report", "write_json"]


def new_report(model: str, *, hw: str | None = None, seed: int = 0) -> dict[str, Any]:
    """The report skeleton with its stable top-level keys."""
    return {"snncc_version": __version__, "model": model, "hw": hw, "seed": seed,
            "network": {}, "mapping": {}, "simulation": {}}


def network_section(graph: LayerGraph, spikes_per_inference: dict[str, float] | None = None
                    ) -> dict[str, Any]:
    """``network``: neurons, synapses and one row per layer (spikes when simulated)."""
    rows = []
    for r in graph.summary():
        row: dict[str, Any] = {"name": r.name, "op": r.op, "onnx_nodes": list(r.onnx_nodes),
                               "shape": list(r.shape), "neurons": r.neurons,
                               "parameters": r.parameters, "synapses": r.synapses}
        lay = graph[r.name]
        if isinstance(lay, L.Activation):
            row["activation"] = lay.kind
            if spikes_per_inference is not None and r.name in spikes_per_inference:
                row["spikes_per_inference"] = spikes_per_inference[r.name]
        rows.append(row)
    return {"neurons": sum(r["neurons"] for r in rows),
            "synapses": sum(r["synapses"] for r in rows),
            "parameters": sum(r["parameters"] for r in rows), "layers": rows}


def efficiency(graph: LayerGraph, first_layer_synapses: int, synaptic_events: float,
               neuron_updates: float) -> dict[str, float]:
    """Hunsberger & Eliasmith's efficiency analysis, per inference.

    Conventional cost: ``2 * synapses + neurons`` FLOPs. Neuromorphic cost:
    ``2 * first-layer synapses + 0.08 * synaptic events + 0.25 * neuron updates`` (in GPU FLOP
    units, the authors' figures). Efficiency = conventional / neuromorphic.
    """
    neurons = sum(r.neurons for r in graph.summary())
    ann = 2.0 * graph.synapses + neurons
    snn = 2.0 * first_layer_synapses + 0.08 * synaptic_events + 0.25 * neuron_updates
    return {"ann_flops": ann, "neuromorphic_flops": snn,
            "efficiency": ann / snn if snn > 0 else math.inf}


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write JSON atomically (temp file in the same folder, then rename)."""
    return atomic_write(path, json.dumps(data, indent=2, allow_nan=False) + "\n")

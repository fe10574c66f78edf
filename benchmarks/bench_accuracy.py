"""Spiking accuracy on the real MNIST test set (all 10 000 images), as in Hunsberger & Eliasmith.

For each trained model in benchmarks/models/ (and the bundled digits models on the held-out
digits): ANN accuracy (reference interpreter, equal to onnxruntime) and spiking accuracy at
presentation times 200, 100 and 60 ms (dt 1 ms, alpha synapse 5 ms), with float and 8-bit
weights; Hunsberger's efficiency ratio per presentation time; for the model with max pooling, the
spiking max-pool methods against replacing max pooling by average pooling. Writes
``results/accuracy.json``, ``results/accuracy.md`` and ``results/accuracy.png``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks._runner import RESULTS, benchmark

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"
EXAMPLES = HERE.parent / "snncc" / "examples"
TIMES_MS = (200.0, 100.0, 60.0)


def mnist_dir() -> Path:
    """$SNNCC_MNIST, else ../shared/data/mnist beside the repository."""
    return Path(os.environ.get("SNNCC_MNIST", HERE.parent.parent / "shared" / "data" / "mnist"))


def _workloads(quick: bool) -> list[tuple[str, Path, str]]:
    mnist = f"mnist:{mnist_dir()}"
    items = [("digits_softlif", EXAMPLES / "digits_softlif.onnx", "digits"),
             ("digits_cnn (relu)", EXAMPLES / "digits_cnn.onnx", "digits"),
             ("mnist_softlif", MODELS / "mnist_softlif.onnx", mnist),
             ("mnist_relu", MODELS / "mnist_relu.onnx", mnist),
             ("mnist_relu_zoo", MODELS / "mnist_relu_zoo.onnx", mnist)]
    return [w for w in items if w[1].exists()]


def _run(model: Path, spec: str, limit: int | None, ms: float, bits: int | None,
         maxpool: str = "gate") -> dict[str, Any]:
    from snncc.convert import ConvertOptions
    from snncc.data import load_data
    from snncc.frontend import load_onnx
    from snncc.pipeline import SimulationSettings, simulate_model

    shape = load_onnx(model).inputs[0].shape
    data = load_data(spec, shape, limit=limit)
    settings = SimulationSettings(convert=ConvertOptions(maxpool=maxpool), presentation_s=ms / 1e3,
                                  weight_bits=bits, progress=False, batch_size=500)
    t0 = time.perf_counter()
    report, _, _ = simulate_model(model, data, settings)
    sim = report["simulation"]
    return {"presentation_ms": ms, "weight_bits": bits, "maxpool": maxpool,
            "inputs": sim["inputs"], "ann_accuracy": sim["ann_accuracy"],
            "accuracy": sim["accuracy"], "efficiency": sim["efficiency"]["efficiency"],
            "spikes_per_inference": sim["spikes_per_inference"],
            "synaptic_events_per_inference": sim["synaptic_events_per_inference"],
            "silent": sim["silent_populations"], "seconds": time.perf_counter() - t0}


@benchmark("accuracy")
def run(quick: bool = False) -> dict[str, Any]:
    """ANN vs spiking accuracy per model, presentation time and weight precision."""
    from rich.progress import Progress

    limit = int(os.environ.get("SNNCC_BENCH_LIMIT", 500 if quick else 0)) or None
    rows: list[dict[str, Any]] = []
    work = []  # most important first: the floors are at 200 ms with float weights
    loads = _workloads(quick)
    for ms, bits in [(200.0, None), (200.0, 8), (100.0, None), (60.0, None), (100.0, 8),
                     (60.0, 8)]:
        work += [(name, path, spec, ms, bits, "gate") for name, path, spec in loads]
        if (ms, bits) == (200.0, None) and any(n == "mnist_relu_zoo" for n, _, _ in loads):
            zoo = next(w for w in loads if w[0] == "mnist_relu_zoo")  # max pooling methods
            work += [(*zoo, 200.0, None, m) for m in ("filtered", "avg")]
    partial = RESULTS / "accuracy.partial.jsonl"
    with Progress(transient=True) as progress:
        task = progress.add_task("accuracy", total=len(work))
        for name, path, spec, ms, bits, mp in work:
            progress.update(task, description=f"{name} {ms:g} ms {bits or 'float'} {mp}")
            rows.append({"model": name, **_run(path, spec, limit, ms, bits, mp)})
            if not quick:  # keep what is done if a long run is stopped
                with partial.open("a") as f:
                    f.write(json.dumps(rows[-1]) + "\n")
                _write_table(rows, quick)
            progress.advance(task)
    _write_table(rows, quick)
    _plot(rows, quick)
    return {"quick": quick, "limit": limit, "rows": rows}


def _write_table(rows: list[dict[str, Any]], quick: bool) -> None:
    lines = ["| model | ms | weights | maxpool | inputs | ANN error | SNN error | Δ (pp) | "
             "efficiency | spikes/inf |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ann, snn = 100 * (1 - r["ann_accuracy"]), 100 * (1 - r["accuracy"])
        lines.append(f"| {r['model']} | {r['presentation_ms']:g} | "
                     f"{r['weight_bits'] or 'float'} | {r['maxpool']} | {r['inputs']} | "
                     f"{ann:.2f} % | {snn:.2f} % | {snn - ann:+.2f} | {r['efficiency']:.2f}x | "
                     f"{r['spikes_per_inference']:,.0f} |")
    if not quick:
        (RESULTS / "accuracy.md").write_text(
            "# Spiking accuracy (python -m benchmarks accuracy)\n\n" + "\n".join(lines) + "\n")


def _plot(rows: list[dict[str, Any]], quick: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for model in dict.fromkeys(r["model"] for r in rows):
        for bits, style in ((None, "-o"), (8, "--s")):
            pts = sorted((r["presentation_ms"], 100 * (1 - r["accuracy"])) for r in rows
                         if r["model"] == model and r["weight_bits"] == bits
                         and r["maxpool"] == "gate")
            if pts:
                ax.plot(*zip(*pts, strict=True), style,
                        label=f"{model} ({'8-bit' if bits else 'float'})")
        ann = next(r["ann_accuracy"] for r in rows if r["model"] == model)
        ax.axhline(100 * (1 - ann), color="grey", lw=0.5)
    ax.set_xlabel("presentation time (ms)")
    ax.set_ylabel("test error (%)")
    ax.set_yscale("log")
    ax.set_title("Spiking error vs presentation time (grey: ANN error)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    if not quick:
        fig.savefig(RESULTS / "accuracy.png", dpi=120)
    plt.close(fig)

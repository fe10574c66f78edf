"""``snncc demo``: the bundled soft-LIF digits model, compiled, simulated and reported.

The default chip is ``pcm-crossbar`` (the memristive-crossbar chip of the SpiNeMap and eSpine
papers), not the CLI's usual ``loihi``: on Loihi the digits model fits in 2 cores of one tile, so
no packet crosses the network-on-chip and the chip map, link loads and mapping comparison would
show nothing; on pcm-crossbar it takes ~85 crossbars spread over the mesh. ``--hw`` picks another.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["DEMO_CHIP", "demo", "demo_report"]

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

DEMO_CHIP = "pcm-crossbar"
DEMO_MODEL = "digits_softlif"
#: Presentation times of the accuracy sweep besides the main run's (seconds).
SWEEP_S = (0.025, 0.05, 0.1)
#: The demo's mapping: METIS partitions; greedy placement compiles in ~1 s where the numba kernels
#: of sa and pso take ~15 s on a first run (the demo stays under a minute on a fresh install).
DEMO_MAPPING = ("metis", "greedy")
#: The baseline every mapping is compared with: PACMAN-style contiguous slices in order.
BASELINE = ("sequential", "sequential", "PACMAN-style")


def demo_report(hw_name: str = DEMO_CHIP, *, backend_inputs: int = 20, limit: int | None = None,
                partitioner: str = DEMO_MAPPING[0], placer: str = DEMO_MAPPING[1], seed: int = 0,
                progress: Progress | None = None) -> tuple[dict[str, Any], Any]:
    """Run the demo; return report.json's dict and the compiled Program.

    The soft-LIF digits model is simulated on the held-out digits (ANN vs spiking accuracy, and
    accuracy at shorter presentation times), mapped onto ``hw_name`` with ``partitioner`` and
    ``placer`` and, for comparison (``report["baseline"]``), with the PACMAN-style sequential
    mapping; both are replayed on the cycle-level backend for the first ``backend_inputs`` digits.
    """
    from snncc.data import load_data
    from snncc.examples import example_path
    from snncc.frontend import load_onnx
    from snncc.hw import load_hw
    from snncc.pipeline import (
        CompileSettings,
        SimulationSettings,
        build_program,
        map_activity,
        run_backend,
        simulate_model,
    )
    from snncc.sim import simulate

    task = progress.add_task("", total=5) if progress is not None else None

    def stage(text: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, description=text, advance=0 if text.startswith("import")
                            else 1)

    stage("importing and simulating the model")
    model = example_path(DEMO_MODEL)
    data = load_data("digits", load_onnx(model).inputs[0].shape, limit=limit)
    settings = SimulationSettings(seed=seed, progress=False)
    report, net, res = simulate_model(model, data, settings,
                                      trace_inputs=min(backend_inputs, len(data.x)))
    report["model"] = f"{DEMO_MODEL}.onnx (bundled)"
    sweep = [{"presentation_s": settings.presentation_s, "accuracy": res.accuracy,
              "spikes_per_inference": report["simulation"]["spikes_per_inference"]}]
    stage("accuracy against presentation time")
    for p in SWEEP_S:
        r = simulate(net, data.x, data.y, presentation_s=p, seed=seed, progress=False)
        sweep.append({"presentation_s": p, "accuracy": r.accuracy,
                      "spikes_per_inference": float(r.spikes.mean())})
    report["simulation"]["accuracy_vs_presentation"] = sorted(
        sweep, key=lambda row: row["presentation_s"])

    hw = load_hw(hw_name)
    report["hw"] = hw.name
    stage(f"mapping onto {hw.name} ({partitioner} + {placer})")
    t0 = time.perf_counter()
    mapping = map_activity(net, hw, res.rates, res.steps, CompileSettings(
        simulation=settings, partitioner=partitioner, placer=placer))
    report["mapping"] = {**mapping.summary(), "compile_seconds": dict(mapping.seconds)}
    program = build_program(net, hw, mapping, report)
    report["simulation"]["seconds"]["map"] = time.perf_counter() - t0
    stage(f"cycle-level backend: {min(backend_inputs, len(data.x))} digits")
    run_backend(report, program, res, progress=False)

    part, plac, label = BASELINE
    stage(f"baseline: {label} mapping")
    base = map_activity(net, hw, res.rates, res.steps, CompileSettings(
        simulation=settings, partitioner=part, placer=plac))
    base_report: dict[str, Any] = {"model": report["model"], "seed": seed,
                                   "mapping": base.summary(), "simulation": {}}
    run_backend(base_report, build_program(net, hw, base, base_report), res, progress=False)
    keep = ("energy_per_inference_J", "energy_breakdown_J", "latency_per_inference_s",
            "spike_latency_cycles", "packets_injected", "backend_inputs")
    report["baseline"] = {"label": label, "partitioner": part, "placer": plac,
                          "mapping": {k: v for k, v in base_report["mapping"].items()
                                      if k != "layers"},
                          "simulation": {k: base_report["simulation"][k] for k in keep}}
    stage("writing the report")
    return report, program


@click.command("demo")
@click.option("--hw", "hw_name", default=DEMO_CHIP, show_default=True,
              help="Chip (name or .toml); the default shows the network-on-chip at work.")
@click.option("--backend-inputs", type=click.IntRange(min=1), default=20, show_default=True,
              help="Digits replayed cycle by cycle on the chip.")
@click.option("--limit", type=click.IntRange(min=1),
              help="Simulate only the first N held-out digits (default all 450).")
@click.option("--partitioner", default=DEMO_MAPPING[0], show_default=True,
              help="Partitioner (compared with the PACMAN-style sequential mapping).")
@click.option("--placer", default=DEMO_MAPPING[1], show_default=True,
              help="Placer (sa and pso search longer).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--out", "outdir", type=click.Path(file_okay=False, path_type=str),
              default=".", show_default=True, help="Folder for report.html and report.json.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json on stdout (only it).")
def demo(hw_name: str, backend_inputs: int, limit: int | None, partitioner: str, placer: str,
         seed: int, outdir: str, as_json: bool) -> None:
    """Compile and simulate the bundled soft-LIF digits model; write report.html.

    The model (a small CNN trained with soft-LIF neurons on scikit-learn's digits) is converted to
    LIF neurons, simulated on the 450 held-out digits, mapped onto the chip (metis + greedy,
    and the PACMAN-style sequential mapping for comparison) and replayed on the cycle-level
    backend. Prints the summary; writes OUT/report.html and
    OUT/report.json. Offline; about 10 s, plus about 30 s on the first run while numba compiles
    and caches its kernels.
    """
    from snncc.report import write_json
    from snncc.report.html import write_html

    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=_err, transient=True, disable=as_json) as progress:
        report, program = demo_report(hw_name, backend_inputs=backend_inputs, limit=limit,
                                      partitioner=partitioner, placer=placer, seed=seed,
                                      progress=progress)
        out = Path(outdir)
        write_json(out / "report.json", report)
        html_path = write_html(out / "report.html", report, program)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    print_demo(report)
    _out.print(f"wrote {html_path} and {out / 'report.json'} in "
               f"{time.perf_counter() - t0:.0f} s")


def _si(value: float, unit: str) -> str:
    from snncc.report.html import fmt_value

    return fmt_value(f"_{unit}", float(value))


def print_demo(report: dict[str, Any]) -> None:
    """The demo's summary table: accuracy, energy, latency, cores and mapping quality."""
    sim, mp, base = report["simulation"], report["mapping"], report.get("baseline")
    table = Table(title=f"{report['model']} on {report['hw']} — {sim['inputs']} held-out "
                        f"digits, {sim['presentation_s'] * 1000:g} ms each; backend: "
                        f"{sim['backend_inputs']} digits", title_justify="left")
    table.add_column("measure")
    table.add_column(f"{mp['partitioner']} + {mp['placer']}", justify="right")
    if base:
        table.add_column(f"{base['label']} ({base['partitioner']} + {base['placer']})",
                         justify="right")

    def row(label: str, ours: str, theirs: str = "") -> None:
        table.add_row(label, ours, *([theirs] if base else []))

    row("ANN accuracy", f"{sim['ann_accuracy']:.2%}")
    row("spiking accuracy", f"{sim['accuracy']:.2%}")
    for r in sim.get("accuracy_vs_presentation", []):
        if r["presentation_s"] != sim["presentation_s"]:
            row(f"  at {r['presentation_s'] * 1000:g} ms", f"{r['accuracy']:.2%}")
    table.add_section()
    bs = base["simulation"] if base else {}
    bm = base["mapping"] if base else {}
    row("energy / inference", _si(sim["energy_per_inference_J"], "J"),
        _si(bs["energy_per_inference_J"], "J") if base else "")
    row("latency / inference", _si(sim["latency_per_inference_s"], "s"),
        _si(bs["latency_per_inference_s"], "s") if base else "")
    row("spike latency, mean cycles", f"{sim['spike_latency_cycles']['mean']:.1f}",
        f"{bs['spike_latency_cycles']['mean']:.1f}" if base else "")
    table.add_section()
    row("cores (crossbars) used", f"{mp['cores_used']:,}", f"{bm['cores_used']:,}" if base else "")
    row("inter-core packets / inference", f"{mp['inter_core_packets']:,.0f}",
        f"{bm['inter_core_packets']:,.0f}" if base else "")
    if mp.get("spike_hops") is not None:
        row("spike-hops / inference", f"{mp['spike_hops']:,.0f}",
            f"{bm['spike_hops']:,.0f}" if base else "")
        row("max link load (packets / inference)", f"{mp['max_link_load']:,.0f}",
            f"{bm['max_link_load']:,.0f}" if base else "")
    _out.print(table)
    if base and base["simulation"]["energy_per_inference_J"] > 0:
        de = sim["energy_per_inference_J"] / bs["energy_per_inference_J"] - 1
        dl = (sim["spike_latency_cycles"]["mean"]
              / max(bs["spike_latency_cycles"]["mean"], 1e-12) - 1)
        _out.print(f"{mp['partitioner']} + {mp['placer']} against {base['label']}: energy "
                   f"{de:+.1%}, spike latency {dl:+.1%}.")

"""``snncc compile``: frontend -> convert -> activity -> partition, and report.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

__all__ = ["compile_cmd"]

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

PARTITIONER_NAMES = ("sequential", "spinemap", "kl", "metis", "random")


@click.command("compile")
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--hw", "hw_name", default="loihi", show_default=True,
              help="Chip: a bundled name (snncc hw list) or a .toml file.")
@click.option("--data", "spec", help="Activity from mnist:DIR, digits or FILE.npz "
              "(default: random inputs, with a warning).")
@click.option("--limit", type=click.IntRange(min=1), default=64, show_default=True,
              help="Samples of --data simulated for the activity profile.")
@click.option("--normalize", nargs=2, type=float, metavar="MEAN STD",
              help="Feed (x - MEAN) / STD to the model.")
@click.option("--partitioner", type=click.Choice(PARTITIONER_NAMES), default="metis",
              show_default=True, help="Partitioning algorithm.")
@click.option("--placer", type=click.Choice(["pso", "sa", "greedy", "sequential", "random",
                                             "exact", "none"]), default="sa", show_default=True,
              help="Placement algorithm (none: stop after partitioning).")
@click.option("--granularity", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Blocks per core the layers are cut into (finer: better, slower).")
@click.option("--presentation-ms", type=float, default=100.0, show_default=True,
              help="Presentation time per input of the activity simulation.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--crossbars", type=int, metavar="N",
              help="Run the clusters on N crossbars (fewer than clusters: time-multiplexed, "
                   "static order; DFSynthesizer): report.json gains 'dataflow'.")
@click.option("--endurance", is_flag=True,
              help="Place each crossbar's synapses on its cells by endurance (eSpine): "
                   "report.json gains 'endurance'. Crossbar chips only.")
@click.option("--thermal", is_flag=True,
              help="Thermal-aware hill climbing of clusters and cells (Titirsha & Das): "
                   "report.json gains 'thermal'. Crossbar chips only; needs a placer.")
@click.option("-o", "--out", "outdir", type=click.Path(file_okay=False, path_type=str),
              help="Write OUTDIR/report.json.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json on stdout (only it).")
@click.option("--report", "html_report", is_flag=True,
              help="Also write report.html (into OUTDIR with -o, else the current folder).")
def compile_cmd(model: str, hw_name: str, spec: str | None, limit: int,
                normalize: tuple[float, float] | None, partitioner: str, placer: str,
                granularity: int,
                presentation_ms: float, seed: int, crossbars: int | None, endurance: bool,
                thermal: bool, outdir: str | None, as_json: bool, html_report: bool) -> None:
    """Compile MODEL (.onnx) for a chip: convert, profile activity, partition, place, route.

    With -o, writes OUTDIR/program (the compiled Program: JSON + .npz, byte-identical for the
    same inputs and seed) and OUTDIR/report.json.
    """
    from snncc.data import load_data
    from snncc.errors import MappingError, SimulationError
    from snncc.frontend import load_onnx
    from snncc.hw import load_hw
    from snncc.pipeline import (
        CompileSettings,
        SimulationSettings,
        build_program,
        compile_model,
        schedule_crossbars,
    )
    from snncc.report import write_json

    if presentation_ms <= 0:
        raise SimulationError(f"--presentation-ms must be positive (got {presentation_ms:g})")
    hw = load_hw(hw_name)
    data = None
    if spec is not None:
        data = load_data(spec, load_onnx(model).inputs[0].shape, limit=limit,
                         normalize=normalize)
    settings = CompileSettings(
        simulation=SimulationSettings(presentation_s=presentation_ms / 1000, seed=seed,
                                      progress=None if not as_json else False),
        partitioner=partitioner, placer=None if placer == "none" else placer,
        granularity=granularity, activity_inputs=limit, endurance=endurance, thermal=thermal)
    if endurance or thermal:  # fail before the simulation
        from snncc.mapping.endurance import require_device

        if endurance:
            require_device(hw, "--endurance", "endurance_cycles")
        if thermal:
            require_device(hw, "--thermal", "thermal_r_self_K_per_W")
        if thermal and placer == "none":
            raise MappingError("--thermal moves placed clusters: give a --placer other than none")
    if crossbars is not None and not 1 <= crossbars <= hw.n_cores:
        raise MappingError(f"--crossbars {crossbars}: {hw.name} has {hw.n_cores} crossbars "
                           f"(cores); need 1 .. {hw.n_cores}")
    report, mapping, net = compile_model(model, hw, data, settings)
    program = None
    if crossbars is not None:
        program = schedule_crossbars(build_program(net, hw, mapping, report), hw, report,
                                     crossbars, data, settings.simulation)
    if outdir:
        (program or build_program(net, hw, mapping, report)).save(Path(outdir) / "program")
        report["program"] = "program"
        write_json(Path(outdir) / "report.json", report)
    if html_report:
        from snncc.report.html import write_html

        page = write_html(Path(outdir or ".") / "report.html", report,
                          program or build_program(net, hw, mapping, report))
        if not as_json:
            _err.print(f"wrote {page}")
    for w in report["warnings"]:
        _err.print(f"[yellow]warning[/yellow]: {w}")
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    _print_mapping(report)


def _print_mapping(report: dict[str, Any]) -> None:
    m = report["mapping"]
    routed = (f", {m['spike_hops']:,.0f} spike-hops, max link load {m['max_link_load']:,.0f}"
              f" ({m['placer']})" if m.get("spike_hops") is not None else "")
    table = Table(title=f"{report['model']} on {report['hw']} — {m['partitioner']}: "
                        f"{m['cores_used']} cores, {m['inter_core_packets']:,.0f} inter-core "
                        f"packets / inference{routed}", title_justify="left")
    for col in ("layer", "block C×H×W", "parts", "units", "neurons", "synapses", "cores",
                "max dest."):
        table.add_column(col, justify="left" if col == "layer" else "right")
    for name, row in m["layers"].items():
        table.add_row(name, "×".join(map(str, row["block"])), str(row["parts"]),
                      f"{row['units']:,}", f"{row['neurons']:,}", f"{row['synapses']:,}",
                      f"{row['cores']:,}", str(row["max_destinations"]))
    _out.print(table)
    secs = m["compile_seconds"]
    _out.print("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in secs.items()))
    if "dataflow" in report:
        d = report["dataflow"]
        _out.print(f"dataflow: {d['clusters']} clusters on {d['crossbars']} crossbars — "
                   f"guaranteed {d['throughput_guaranteed']:,.0f} timesteps/s (load-balancing "
                   f"binding {d['baseline_throughput_guaranteed']:,.0f}), simulated "
                   f"{d['throughput_simulated']:,.0f}")
    if "endurance" in report:
        e = report["endurance"]
        _out.print(f"endurance: min lifetime {e['min_lifetime_s'] or float('inf'):.3g} s "
                   f"(unaware layout {e['baseline_min_lifetime_s'] or float('inf'):.3g} s)")
    if "thermal" in report and report["thermal"]["runaway"]:
        _out.print("thermal: runaway — no steady state below the model's limit")
    elif "thermal" in report:
        t = report["thermal"]
        _out.print(f"thermal: mean crossbar {t['avg_temperature_K']:.2f} K (was "
                   f"{t['baseline_avg_temperature_K']:.2f}), hottest {t['max_temperature_K']:.2f}"
                   f" K (was {t['baseline_max_temperature_K']:.2f}), leakage "
                   f"{t['leakage_W'] * 1e3:.3g} mW (was {t['baseline_leakage_W'] * 1e3:.3g})")

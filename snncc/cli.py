"""The ``snncc`` command line.

User errors (bad model, bad arguments) print one line on stderr and exit with status 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from snncc._version import __version__
from snncc.errors import SnnccError
from snncc.ir import Activation, Input, Layer, Output

__all__ = ["cli", "main"]

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="snncc")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """snncc: compile trained networks to spiking networks on neuromorphic chips."""
    ctx.obj = {"debug": debug}


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def check_report(graph: Any) -> dict[str, Any]:
    """A JSON-able description of an imported graph (the `network` part of report.json)."""
    rows = graph.summary()
    return {
        "name": graph.name,
        "opset": graph.metadata.get("opset"),
        "producer": graph.metadata.get("producer"),
        "inputs": {i.name: list(i.shape) for i in graph.inputs},
        "outputs": {o.name: {"shape": list(o.shape), "decoding": o.decoding}
                    for o in graph.outputs},
        "layers": [{"name": r.name, "op": r.op, "onnx_nodes": list(r.onnx_nodes),
                    "shape": list(r.shape), "neurons": r.neurons, "parameters": r.parameters,
                    "synapses": r.synapses} for r in rows],
        "neurons": sum(r.neurons for r in rows),
        "parameters": sum(r.parameters for r in rows),
        "synapses": sum(r.synapses for r in rows),
    }


def _op_label(lay: Layer) -> str:
    """Short op name for tables: the activation kind, the output decoding, an input transform."""
    if isinstance(lay, Activation):
        return f"relu{lay.params['max']:g}" if "max" in lay.params else lay.kind
    if isinstance(lay, Output) and lay.decoding != "none":
        return f"Output/{lay.decoding}"
    if isinstance(lay, Input) and (lay.scale is not None or lay.shift is not None):
        return "Input·s+t"
    return lay.op


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--hw", "hw_name", help="Also check every limit of this chip (name or .toml): "
              "the design-rule check.")
@click.option("--json", "as_json", is_flag=True, help="Print the layer table as JSON on stdout.")
def check(model: str, hw_name: str | None, as_json: bool) -> None:
    """Import and verify MODEL (.onnx) and print its layers; with --hw, check it fits the chip.

    Exit status 0 when the model imports cleanly (and fits the chip), 2 (with a one-line reason)
    when it does not; with --hw every violation is listed first.
    """
    from snncc.frontend import load_onnx

    graph = load_onnx(model)
    info = check_report(graph)
    if hw_name is not None:
        _design_rule_check(graph, hw_name, info, as_json)
        return
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    title = f"{model}  (opset {info['opset']}, {info['producer'] or 'unknown producer'})"
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("ONNX node(s)", overflow="fold", ratio=1)
    for col in ("op", "output", "neurons", "params", "synapses/MACs"):
        table.add_column(col, justify="left" if col == "op" else "right", no_wrap=True)
    for r in info["layers"]:
        op = _op_label(graph[r["name"]])
        folded = len(r["onnx_nodes"]) - 1
        name = r["name"] + (f" [dim](+{folded} folded)[/dim]" if folded > 0 else "")
        table.add_row(name, op,
                      _fmt_shape(tuple(r["shape"])), f"{r['neurons']:,}" if r["neurons"] else "",
                      f"{r['parameters']:,}" if r["parameters"] else "", f"{r['synapses']:,}"
                      if r["synapses"] else "")
    table.add_section()
    table.add_row("total", "", "", f"{info['neurons']:,}", f"{info['parameters']:,}",
                  f"{info['synapses']:,}")
    _out.print(table)
    _out.print(f"[green]OK[/green]: {len(info['layers'])} layers imported and verified.")


def _design_rule_check(graph: Any, hw_name: str, info: dict[str, Any], as_json: bool) -> None:
    """Convert (random calibration: limits do not depend on scale) and check every chip limit."""
    import numpy as np

    from snncc.convert import ConvertOptions, convert
    from snncc.errors import DRCError
    from snncc.hw import load_hw
    from snncc.mapping.drc import design_rule_check

    hw = load_hw(hw_name)
    x = np.random.default_rng(0).random((4, *graph.inputs[0].shape), dtype=np.float32)
    tick = hw.neuron.tick_s
    net = convert(graph, calibration=x, options=ConvertOptions(dt=tick) if tick > 0 else None)
    found = design_rule_check(net, hw)
    if as_json:
        click.echo(json.dumps({**info, "hw": hw.name,
                               "violations": [v.to_dict() for v in found]}, indent=2))
    elif found:
        table = Table(title=f"{len(found)} design-rule violation(s) on {hw.name}",
                      title_justify="left")
        for col in ("layer", "resource", "needed", "available", "fix"):
            table.add_column(col, overflow="fold")
        for v in found:
            table.add_row(v.layer, v.resource, v.needed_text, v.available_text, v.fix)
        _err.print(table)
    else:
        _out.print(f"[green]OK[/green]: {info['name'] or graph.name} fits {hw.name} "
                   f"({len(info['layers'])} layers, every chip limit checked).")
    if found:
        raise DRCError(f"{len(found)} design-rule violation(s) on {hw.name}; first: {found[0]}",
                       [str(v) for v in found])


@cli.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--hw", "hw_name",
              help="Chip for the cycle-level backend (name or .toml; default loihi, or the "
                   "program's chip).")
@click.option("--functional-only", is_flag=True,
              help="Skip the cycle-level backend (no chip, no energy or latency).")
@click.option("--backend-inputs", type=click.IntRange(min=1), default=100, show_default=True,
              help="Replay the spikes of the first N inputs cycle by cycle.")
@click.option("--partitioner", default="metis", show_default=True,
              help="Partitioner when mapping an ONNX model for the backend.")
@click.option("--placer", default="sa", show_default=True,
              help="Placer when mapping an ONNX model for the backend.")
@click.option("--data", "spec", required=True,
              help="mnist:DIR (idx files), digits (bundled held-out digits) or FILE.npz (x, y).")
@click.option("--limit", type=click.IntRange(min=1), help="Use the first N samples.")
@click.option("--normalize", nargs=2, type=float, metavar="MEAN STD",
              help="Feed (x - MEAN) / STD to the model.")
@click.option("--presentation-ms", type=float, default=200.0, show_default=True,
              help="Presentation time per input.")
@click.option("--dt-ms", type=float, default=1.0, show_default=True, help="Timestep.")
@click.option("--synapse", type=click.Choice(["alpha", "lowpass", "none"]), default="alpha",
              show_default=True, help="Synapse filter on every connection.")
@click.option("--tau-s-ms", type=float, default=5.0, show_default=True,
              help="Synapse time constant.")
@click.option("--encoder", type=click.Choice(["current", "poisson"]), default="current",
              show_default=True, help="Input encoding.")
@click.option("--maxpool", type=click.Choice(["gate", "filtered", "avg"]), default="gate",
              show_default=True, help="Spiking max-pooling method.")
@click.option("--percentile", type=float, default=99.9, show_default=True,
              help="Activation percentile for ReLU normalisation.")
@click.option("--calibration", type=click.IntRange(min=1), default=256, show_default=True,
              help="Samples (the first of --data) used to normalise ReLU layers.")
@click.option("--weight-bits", type=click.IntRange(2, 32), help="Quantise weights to B bits.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--out", "outdir", type=click.Path(file_okay=False, path_type=str),
              help="Write OUTDIR/report.json.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json on stdout (only it).")
@click.option("--report", "html_report", is_flag=True,
              help="Also write report.html (into OUTDIR with -o, else the current folder).")
def simulate(model: str, hw_name: str | None, functional_only: bool, backend_inputs: int,
             partitioner: str, placer: str, spec: str, limit: int | None,
             normalize: tuple[float, float] | None, presentation_ms: float, dt_ms: float,
             synapse: str, tau_s_ms: float, encoder: str, maxpool: str, percentile: float,
             calibration: int, weight_bits: int | None, seed: int, outdir: str | None,
             as_json: bool, html_report: bool) -> None:
    """Simulate MODEL (an ONNX file, or a program folder from `snncc compile`) on --data.

    The functional simulation gives the ANN's and the spiking network's accuracy, spikes and
    synaptic events per inference, and Hunsberger & Eliasmith's efficiency estimate. Then,
    unless --functional-only, the cycle-level backend replays the spikes of the first
    --backend-inputs inputs on the chip (an ONNX model is first mapped onto --hw, default
    loihi): energy per inference with its breakdown, latency, throughput and spike latency.
    """
    from snncc.convert import ConvertOptions
    from snncc.data import load_data
    from snncc.errors import SimulationError
    from snncc.frontend import load_onnx
    from snncc.hw import load_hw
    from snncc.pipeline import (
        CompileSettings,
        SimulationSettings,
        build_program,
        map_activity,
        run_backend,
        simulate_model,
        simulate_program,
    )
    from snncc.program import Program
    from snncc.report import write_json

    if presentation_ms < dt_ms:
        raise SimulationError(f"--presentation-ms {presentation_ms:g} is shorter than one "
                              f"timestep (--dt-ms {dt_ms:g})")
    if dt_ms <= 0 or tau_s_ms < 0:
        raise SimulationError("--dt-ms must be positive and --tau-s-ms non-negative")
    settings = SimulationSettings(
        convert=ConvertOptions(dt=dt_ms / 1000, synapse=synapse, tau_s=tau_s_ms / 1000,
                               percentile=percentile, maxpool=maxpool),
        presentation_s=presentation_ms / 1000, encoder=encoder, weight_bits=weight_bits,
        calibration=calibration, seed=seed, progress=None if not as_json else False)
    trace = 0 if functional_only else backend_inputs
    program = None
    if Path(model).is_dir():
        program = Program.load(model)
        if hw_name and Path(hw_name).stem != program.meta.get("hw"):
            raise SimulationError(f"{model} was compiled for {program.meta.get('hw')}, not "
                                  f"--hw {hw_name}: compile it again for that chip")
        data = load_data(spec, program.net.inputs[0].shape, limit=limit, normalize=normalize)
        report, res = simulate_program(program, data, settings, trace_inputs=trace)
    else:
        shape = load_onnx(model).inputs[0].shape
        data = load_data(spec, shape, limit=limit, normalize=normalize)
        report, net, res = simulate_model(model, data, settings, trace_inputs=trace)
        if not functional_only:
            hw = load_hw(hw_name or "loihi")
            t0 = time.perf_counter()
            mapping = map_activity(net, hw, res.rates, res.steps, CompileSettings(
                simulation=settings, partitioner=partitioner, placer=placer))
            report["hw"] = hw.name
            report["mapping"] = {**mapping.summary(), "compile_seconds": dict(mapping.seconds)}
            program = build_program(net, hw, mapping, report)
            report["simulation"]["seconds"]["map"] = time.perf_counter() - t0
    if not functional_only:
        run_backend(report, program, res, progress=None if not as_json else False)
    if outdir:
        write_json(f"{outdir}/report.json", report)
    if html_report:
        from snncc.report.html import write_html

        page = write_html(Path(outdir or ".") / "report.html", report, program)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    _print_simulation(report)
    if html_report:
        _out.print(f"wrote {page}")


def _si(value: float, unit: str) -> str:
    """``value`` with an SI prefix: 1.2e-6, "J" -> "1.20 µJ"."""
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _print_simulation(report: dict[str, Any]) -> None:
    sim = report["simulation"]
    eff = sim.get("efficiency")
    table = Table(title=f"{report['model']} on {sim['data']} ({sim['inputs']} inputs, "
                        f"{sim['presentation_s'] * 1000:g} ms, dt {sim['dt_s'] * 1000:g} ms)",
                  title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    acc = sim["accuracy"]
    ann = sim.get("ann_accuracy")
    table.add_row("ANN accuracy", "n/a" if ann is None else f"{ann:.2%}")
    table.add_row("spiking accuracy", "n/a" if acc is None else f"{acc:.2%}")
    table.add_row("spikes / inference", f"{sim['spikes_per_inference']:,.0f}")
    table.add_row("synaptic events / inference", f"{sim['synaptic_events_per_inference']:,.0f}")
    table.add_row("neuron updates / inference", f"{sim['neuron_updates_per_inference']:,}")
    if eff:
        table.add_row("ANN FLOPs / inference", f"{eff['ann_flops']:,.0f}")
        table.add_row("efficiency (Hunsberger)", f"{eff['efficiency']:.2f}x")
    if "energy_per_inference_J" in sim:
        mp = report.get("mapping", {})
        table.add_section()
        table.add_row(f"on {report.get('hw')}: cores used", f"{mp.get('cores_used', 'n/a')}")
        table.add_row("energy / inference", _si(sim["energy_per_inference_J"], "J"))
        total = sim["energy_per_inference_J"] or 1.0
        for cat, joules in sorted(sim["energy_breakdown_J"].items(), key=lambda kv: -kv[1]):
            if joules > 0:
                table.add_row(f"  {cat.removesuffix('_J').replace('_', ' ')}",
                              f"{_si(joules, 'J')} ({joules / total:.0%})")
        table.add_row("latency / inference", _si(sim["latency_per_inference_s"], "s"))
        table.add_row("throughput", f"{sim['throughput_inferences_per_s']:,.1f} inferences/s")
        lat = sim["spike_latency_cycles"]
        table.add_row("spike latency (cycles)",
                      f"mean {lat['mean']:.1f}, p99 {lat['p99']:.0f}, max {lat['max']:.0f}")
        table.add_row("packets injected / delivered",
                      f"{sim['packets_injected']:,} / {sim['packets_delivered']:,} "
                      f"({sim['backend_inputs']} inputs)")
        if sim.get("tick_overruns"):
            table.add_row("timesteps over the tick", f"{sim['tick_overruns']:,}")
    _out.print(table)
    if sim["silent_populations"]:
        _err.print(f"[yellow]warning[/yellow]: silent layers: {sim['silent_populations']}")


from snncc._cli_bench import bench  # noqa: E402  (after cli is defined)
from snncc._cli_compile import compile_cmd  # noqa: E402
from snncc._cli_demo import demo  # noqa: E402
from snncc._cli_hw import hw  # noqa: E402

cli.add_command(bench)
cli.add_command(compile_cmd)
cli.add_command(demo)
cli.add_command(hw)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``snncc`` console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="snncc", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        _err.print("snncc: aborted")
        return 130
    except click.ClickException as exc:
        if debug:
            traceback.print_exc()
        exc.show()
        return 2
    except SnnccError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"snncc: error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("snncc: interrupted", err=True)
        return 130
    except Exception as exc:  # a bug in snncc: say so in one line, traceback with --debug
        if debug:
            raise
        click.echo(f"snncc: internal error: {type(exc).__name__}: {exc} (run with --debug for "
                   "the traceback, and please report it)", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``snncc`` command line.

User errors (bad model, bad arguments) print one line on stderr and exit with status 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
import traceback
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
@click.option("--json", "as_json", is_flag=True, help="Print the layer table as JSON on stdout.")
def check(model: str, as_json: bool) -> None:
    """Import and verify MODEL (.onnx) and print its layers.

    Exit status 0 when the model imports cleanly, 2 (with a one-line reason) when it does not.
    """
    from snncc.frontend import load_onnx

    graph = load_onnx(model)
    info = check_report(graph)
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
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

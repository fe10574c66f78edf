"""``snncc hw``: list the bundled chip models and show (and so validate) one model or file."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from snncc.hw import HardwareModel

__all__ = ["hw"]

_out = Console(highlight=False)


def _summary(model: HardwareModel) -> dict[str, Any]:
    """One row of ``snncc hw list``."""
    return {
        "name": model.name, "description": model.description, "chips": model.n_chips,
        "grid": list(model.grid), "tiles": model.n_tiles, "cores": model.n_cores,
        "neurons_per_core": model.core.neurons, "axons_per_core": model.core.input_axons,
        "fanin_split": model.core.fanin_split, "multicast": model.noc.multicast,
    }


@click.group()
def hw() -> None:
    """Inspect the hardware models: the bundled chips or a .toml file."""


@hw.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON on stdout.")
def list_models(as_json: bool) -> None:
    """List the bundled chip models."""
    from snncc.hw import available, load_hw

    rows = [_summary(load_hw(name)) for name in available()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    wide = _out.width >= 120  # the description needs room; `hw show` prints it too
    table = Table(title="bundled hardware models (snncc hw show NAME for every key)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("name", no_wrap=True)
    for col in ("chips", "tiles", "cores", "neurons\n/core", "axons\n/core", "fan-in\nsplit",
                "multi-\ncast"):
        table.add_column(col, justify="right", no_wrap=True)
    if wide:
        table.add_column("description", overflow="fold", ratio=1)
    for r in rows:
        cells = [r["name"], str(r["chips"]), f"{r['grid'][0]}×{r['grid'][1]}", f"{r['cores']:,}",
                 f"{r['neurons_per_core']:,}", f"{r['axons_per_core']:,}",
                 "yes" if r["fanin_split"] else "no", "yes" if r["multicast"] else "no"]
        table.add_row(*cells, *([escape(r["description"])] if wide else []))
    _out.print(table)


_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"),
             (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a"))
_SI_UNITS = {"J", "s", "W", "Hz", "V", "ohm"}


def _fmt(value: Any, unit: str) -> tuple[str, str]:
    """A value and its unit for the table: SI prefixes for physical quantities (23.6 pJ)."""
    if isinstance(value, bool):
        return ("true" if value else "false"), unit
    if isinstance(value, list | tuple):
        return " × ".join(map(str, value)), unit
    if isinstance(value, int):
        return f"{value:,}", unit
    if isinstance(value, float):
        if unit in _SI_UNITS and value != 0:
            scale, prefix = next(((s, p) for s, p in _PREFIXES if abs(value) >= s * 0.9995),
                                 _PREFIXES[-1])
            return f"{value / scale:.4g}", prefix + unit
        return f"{value:.4g}", unit
    return str(value), unit


@hw.command()
@click.argument("model", metavar="NAME|FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the model as JSON on stdout (only).")
def show(model: str, as_json: bool) -> None:
    """Validate and print a hardware model: a bundled NAME or a .toml FILE.

    Exit status 0 when the model is valid, 2 (with a one-line reason) when it is not.
    """
    from snncc.hw import load_hw
    from snncc.hw._schema import SECTIONS

    hwm = load_hw(model)
    data = hwm.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    gx, gy = hwm.grid
    table = Table(title=escape(f"{hwm.name}: {hwm.description} ({hwm.path})"),
                  title_justify="left")
    table.add_column("key", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("unit", no_wrap=True)
    table.add_column("meaning", overflow="fold", ratio=1)
    for section, values in data.items():
        if section == "chip":
            continue
        table.add_section()
        for key, value in values.items():
            spec = SECTIONS[section][key]
            text, unit = _fmt(value, spec.unit)
            table.add_row(f"{section}.{key}", escape(text), unit, escape(spec.doc))
    table.add_section()
    chips = f"{hwm.n_chips} chip{'s' if hwm.n_chips > 1 else ''}"
    table.add_row("system", chips, "", f"{gx} × {gy} tiles, {hwm.n_cores:,} cores, "
                  f"{hwm.n_cores * hwm.core.neurons:,} neurons")
    _out.print(table)

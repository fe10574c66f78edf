"""``snncc bench``: run a workload suite, write results, a summary, plots and the claims table."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["bench"]

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


@click.command("bench")
@click.option("--suite", "suite_name", type=click.Choice(["quick", "full"]), default="quick",
              show_default=True, help="quick: a few minutes on two cores; full: more "
              "workloads, mappers and seeds (hours on a laptop; meant for a cluster).")
@click.option("-o", "--out", "outdir", type=click.Path(file_okay=False, path_type=str),
              default="bench-results", show_default=True,
              help="Folder for bench.csv/json/md, the plots and claims.md/json.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on the Dask cluster at ADDRESS (tcp://host:8786), or 'local[:N]' for a "
                   "local cluster of N worker processes (pip install distributed).")
@click.option("--workloads", help="Comma-separated subset of the suite's workloads.")
@click.option("--chips", help="Comma-separated subset (or replacement) of the suite's chips.")
@click.option("--reuse", is_flag=True,
              help="Do not run: rebuild bench.md, the plots and the claims table from "
                   "OUT/bench.json (after other benchmarks updated their results).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary and the claims as JSON on stdout (only them).")
def bench(suite_name: str, outdir: str, scheduler: str | None, workloads: str | None,
          chips: str | None, reuse: bool, as_json: bool) -> None:
    """Map and simulate a suite of workloads on chips with every mapper; compare them.

    Every workload × chip × partitioner × placer × seed is mapped and replayed on the
    cycle-level backend. Writes OUT/bench.csv and bench.json (one row per run), bench.md (each
    mapping against the PACMAN-style sequential one), bench_*.png, and claims.md/json: the
    seed papers' claims beside the measured figures.
    """
    from dataclasses import replace

    from snncc._version import __version__
    from snncc.bench import SUITES, Suite, run_tasks
    from snncc.errors import SnnccError

    out = Path(outdir)
    if reuse:
        try:
            data = json.loads((out / "bench.json").read_text())
        except (OSError, ValueError) as exc:
            raise SnnccError(f"--reuse: cannot read {out / 'bench.json'} ({exc})") from None
        suite = Suite.from_dict(data["suite"])
        _report(out, suite, data["rows"], data["meta"], as_json)
        return
    suite = SUITES[suite_name]
    if workloads:
        suite = replace(suite, workloads=tuple(w.strip() for w in workloads.split(",")))
    if chips:
        suite = replace(suite, chips=tuple(c.strip() for c in chips.split(",")))
    from snncc.bench.workloads import unavailable

    skipped = {w: why for w in suite.workloads if (why := unavailable(w))}
    if skipped and all(w in skipped for w in suite.workloads):
        raise SnnccError(f"no workload can run: {skipped}")
    suite = replace(suite, workloads=tuple(w for w in suite.workloads if w not in skipped))
    for w, why in skipped.items():
        _err.print(f"[yellow]skipped[/yellow] {w}: {why}")
    tasks = suite.tasks()
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=_err, transient=True,
                  disable=as_json) as progress:
        bar = progress.add_task(f"suite {suite.name}"
                                + (f" on {scheduler}" if scheduler else ""), total=len(tasks))

        def done(task: Any, row: dict[str, Any]) -> None:
            progress.update(bar, advance=1, description=f"{task.workload} on {task.chip}: "
                            f"{task.partitioner} + {task.placer}, seed {task.seed}")

        rows = run_tasks(tasks, scheduler=scheduler, on_done=done)
    meta = {"command": "snncc " + " ".join(sys.argv[1:]) if Path(sys.argv[0]).name == "snncc"
            else f"snncc bench --suite {suite_name}",
            "date": time.strftime("%Y-%m-%d"), "snncc_version": __version__,
            "wall_seconds": time.perf_counter() - t0,
            "where": (f"Dask cluster {scheduler}" if scheduler else
                      f"{platform.machine()} with {os.cpu_count()} CPUs, one process"),
            "python": platform.python_version(), "skipped_workloads": skipped}
    _report(out, suite, rows, meta, as_json)


def _report(out: Path, suite: Any, rows: list[dict[str, Any]], meta: dict[str, Any],
            as_json: bool) -> None:
    """Write the results, summary, plots and claims; print them (or their JSON)."""
    from snncc.bench.claims import build_claims, find_results, write_claims
    from snncc.bench.results import write_results

    summary, paths = write_results(out, suite, rows, meta)
    found = find_results([out, Path("benchmarks/results")])
    claims = build_claims(rows, summary, found)
    paths += write_claims(out, claims, meta)
    if as_json:
        click.echo(json.dumps({"summary": summary, "claims": claims}, indent=2))
        return
    _print(summary, claims, meta, len(rows))
    _out.print("wrote " + ", ".join(str(p) for p in paths))


def _print(summary: dict[str, Any], claims: list[dict[str, Any]], meta: dict[str, Any],
           n: int) -> None:
    from snncc.bench.results import COMPARED

    table = Table(title=f"{n} runs ({summary['failed']} failed) in {meta['wall_seconds']:.0f} s "
                        f"— mean change against {summary['baseline']}", title_justify="left")
    table.add_column("mapping")
    table.add_column("runs", justify="right")
    for label in COMPARED.values():
        table.add_column(label, justify="right")
    for m, s in sorted(summary["mappings"].items()):
        table.add_row(m, str(s["instances"]), *(f"{s[c]['mean']:+.1%}" if c in s else "—"
                                                for c in COMPARED))
    _out.print(table)
    ct = Table(title="The seed papers' claims", title_justify="left", show_lines=True)
    for col in ("claim", "paper", "measured"):
        ct.add_column(col, overflow="fold")
    for c in claims:
        ct.add_row(c["claim"], c["paper"], c["measured"])
    _out.print(ct)

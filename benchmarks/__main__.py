"""``python -m benchmarks [NAME ...] [--quick]``: run benchmarks, print a table, save JSON."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.progress import Progress

from benchmarks import (  # noqa: F401
    bench_accuracy,
    bench_backend,
    bench_device,
    bench_import,
    bench_mapping,
    bench_nengo,
    bench_noc,
    bench_partition,
    bench_place,
    bench_sdf,
    bench_sim,
)
from benchmarks._runner import REGISTRY, save


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: "
                                                 f"{', '.join(REGISTRY)})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    names = args.names or list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {list(REGISTRY)}")
    console = Console()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("benchmarks", total=len(names))
        for name in names:
            progress.update(task, description=f"running {name}")
            result = REGISTRY[name](quick=args.quick)
            path = None if args.quick else save(name, result)
            where = f" -> {path}" if path else " (quick; not saved)"
            console.print(f"[bold]{name}[/bold]{where}")
            console.print_json(json.dumps(result))
            progress.advance(task)


if __name__ == "__main__":
    main()

"""Benchmark registry and the child-process measurement helper."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
REGISTRY: dict[str, Callable[..., dict[str, Any]]] = {}


Bench = Callable[..., dict[str, Any]]


def benchmark(name: str) -> Callable[[Bench], Bench]:
    """Register a benchmark function ``f(quick: bool) -> dict`` under ``name``."""

    def deco(f: Bench) -> Bench:
        REGISTRY[name] = f
        return f

    return deco


def measure(code: str, *, timeout: float | None = None, **params: Any) -> dict[str, Any]:
    """Run ``code`` in a fresh Python process; return its wall time and peak-RSS growth.

    The code runs after ``params`` are bound as variables; the timed region is the whole snippet.
    Peak RSS is the child's high-water mark of resident memory (VmHWM, reset through
    /proc/self/clear_refs after the imports) minus its RSS before the snippet, so imports of
    numpy/onnx are not counted.
    """
    prelude = f"globals().update(json.loads({json.dumps(params)!r}))"
    script = textwrap.dedent(f"""
        import json, resource, time, gc
        import numpy, onnx, onnxruntime, snncc
        {prelude}
        def _status_kb(key):
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith(key + ":"))
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak-RSS counter
        base = _status_kb("VmRSS")
        t0 = time.perf_counter()
        exec(compile({code!r}, "<bench>", "exec"))
        dt = time.perf_counter() - t0
        peak = _status_kb("VmHWM")
        print(json.dumps({{"seconds": dt, "peak_mib": max(peak - base, 0) / 1024}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=False, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr[-2000:]}")
    lines = out.stdout.strip().splitlines()
    return {**json.loads(lines[-1]), "stdout": lines[:-1]}


def save(name: str, result: dict[str, Any]) -> Path:
    """Write a result as JSON under benchmarks/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path

"""NoC simulation: speed of the cycle-accurate kernel and latency against offered load.

Uniform random traffic on a mesh (``snncc.backend.noc``): each router injects a 1-flit packet
with probability ``rate`` per cycle (Bernoulli), to a destination drawn uniformly among the other
routers; the whole run is one phase. Router model: 2-cycle router pipeline, 1-cycle links, 4-flit
input buffers (a credit round trip of 4 cycles, so one buffer keeps a link busy).

``speed``: 8x8 at 0.02 and 0.05 packets/node/cycle and 16x16 at 0.02, for ``cycles`` injection
cycles: simulated cycles/s and packet-hops/s (best wall time of ``repeats`` runs; one core: the
kernel is single-threaded numba), CPU seconds, mean/p99 latency against the zero-load mean.
Numba compilation is excluded: a warm-up call compiles (or loads the cache) first.

``curve``: 8x8, offered load 0.01 … 0.5 packets (= flits)/node/cycle, ``curve_cycles`` cycles
each: mean and p99 latency and accepted throughput (packets / node / cycle of the run until the
network drained). Past saturation the injection queues grow for as long as the run lasts, so the
latency there grows with the run length; the bisection bound of uniform traffic on a k x k mesh
is 4/k = 0.5 flits/node/cycle for k = 8.

Results: ``results/noc.json`` (through the runner), ``results/noc.md`` and ``results/noc.png``.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from benchmarks._runner import RESULTS, benchmark

MESH = dict(router_cycles=2, link_cycles=1, buffer_depth=4, flits=1)
RATES = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def uniform_traffic(width: int, height: int, rate: float, cycles: int,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bernoulli(rate) injection per router and cycle; uniform destinations other than the source.

    Returns ``(inject, src, dst)`` sorted by injection cycle (one destination per packet).
    """
    rng = np.random.default_rng(seed)
    n = width * height
    inject, src = [], []
    for r in range(n):  # geometric gaps between the injections of one router
        gaps = rng.geometric(rate, int(cycles * rate * 1.2 + 10 * np.sqrt(cycles * rate) + 20))
        t = np.cumsum(gaps) - 1
        t = t[t < cycles]
        inject.append(t)
        src.append(np.full(t.size, r))
    t, s = np.concatenate(inject), np.concatenate(src)
    o = np.argsort(t, kind="stable")
    t, s = t[o], s[o]
    d = rng.integers(0, n - 1, t.size)
    return t, s, d + (d >= s)


def _case(width: int, height: int, rate: float, cycles: int, repeats: int) -> dict[str, Any]:
    from snncc.backend.noc import NocMesh, simulate_noc, zero_load_latency

    mesh = NocMesh(width, height, **MESH)  # type: ignore[arg-type]
    t, s, d = uniform_traffic(width, height, rate, cycles)
    args = (mesh, np.array([0, t.size]), t, s, np.arange(t.size + 1), d)
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        res = simulate_noc(*args)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    lat = res.latency(t, np.arange(t.size + 1))
    wall = min(walls)
    return {"mesh": f"{width}x{height}", "rate": rate, "injection_cycles": cycles,
            "packets": int(t.size), "cycles": res.cycles, "packet_hops": res.flit_hops,
            "seconds": wall, "cpu_seconds": min(cpus), "all_seconds": walls,
            "cycles_per_s": res.cycles / wall, "packet_hops_per_s": res.flit_hops / wall,
            "cycles_per_cpu_s": res.cycles / min(cpus),
            "packet_hops_per_cpu_s": res.flit_hops / min(cpus),
            "mean_latency": float(lat.mean()), "p99_latency": float(np.percentile(lat, 99)),
            "max_latency": int(lat.max()),
            "zero_load_latency": float(zero_load_latency(mesh, s, d).mean()),
            "accepted": t.size / (width * height * max(res.drain[0], 1)),
            "max_queue": res.max_queue, "stall_cycles": res.stall_cycles}


def _warm_up() -> float:
    """Compile the kernel (or load it from numba's cache); return the seconds it took."""
    from snncc.backend.noc import NocMesh, simulate_noc

    t0 = time.perf_counter()
    simulate_noc(NocMesh(2, 2, **MESH), np.array([0, 1]), np.array([0]),  # type: ignore[arg-type]
                 np.array([0]), np.array([0, 1]), np.array([3]))
    return time.perf_counter() - t0


def _markdown(speed: list[dict[str, Any]], curve: list[dict[str, Any]],
              info: dict[str, Any]) -> str:
    lines = ["# NoC simulation (python -m benchmarks noc)", "",
             "Uniform random traffic, 1-flit packets, Bernoulli injection per router and cycle; "
             "router pipeline 2 cycles, links 1 cycle, 4-flit input buffers. See "
             "benchmarks/bench_noc.py.", "",
             f"Numba compile (or cache load) excluded: warm-up {info['warm_up_seconds']:.1f} s. "
             f"Best of {info['repeats']} runs, one core (single-threaded kernel). Load average "
             f"at start {info['load_average'][0]:.2f} on {info['cpus']} CPUs (shared machine).",
             "", "## Speed", "",
             "| mesh | load | packets | cycles | seconds | CPU s | cycles/s | packet-hops/s | "
             "(per CPU s) | mean lat. | p99 lat. | zero-load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['mesh']} | {r['rate']:g} | {r['packets']:,} | {r['cycles']:,} | "
              f"{r['seconds']:.3f} | {r['cpu_seconds']:.3f} | {r['cycles_per_s'] / 1e6:.2f} M | "
              f"{r['packet_hops_per_s'] / 1e6:.2f} M | {r['cycles_per_cpu_s'] / 1e6:.2f} M, "
              f"{r['packet_hops_per_cpu_s'] / 1e6:.2f} M | {r['mean_latency']:.2f} | "
              f"{r['p99_latency']:.0f} | {r['zero_load_latency']:.2f} |" for r in speed]
    lines += ["", "Floors (issue 6): >= 0.5 M simulated cycles/s on 8x8 at 0.02, >= 5 M "
              "packet-hops/s.", "",
              f"## Latency against offered load (8x8, {info['curve_cycles']:,} cycles each)", "",
              "| offered | accepted | mean latency | p99 latency | max queue |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['rate']:g} | {r['accepted']:.3f} | {r['mean_latency']:.1f} | "
              f"{r['p99_latency']:.0f} | {r['max_queue']} |" for r in curve]
    lines += ["", "Past saturation the queues grow with the run, and so does the latency. "
              "Plot: noc.png."]
    return "\n".join(lines) + "\n"


def _plot(curve: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rate = [r["rate"] for r in curve]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax.plot(rate, [r["mean_latency"] for r in curve], "-o", label="mean")
    ax.plot(rate, [r["p99_latency"] for r in curve], "--s", label="p99")
    ax.axhline(curve[0]["zero_load_latency"], color="grey", lw=0.7, label="zero-load mean")
    ax.axvline(0.5, color="red", lw=0.7, ls=":", label="bisection bound")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (flits/node/cycle)")
    ax.set_ylabel("latency (cycles)")
    ax.set_title("8x8 mesh, uniform random traffic")
    ax.legend(fontsize=7)
    bx.plot(rate, [r["accepted"] for r in curve], "-o")
    bx.plot([0, 0.5], [0, 0.5], color="grey", lw=0.7)
    bx.set_xlabel("offered load (flits/node/cycle)")
    bx.set_ylabel("accepted (flits/node/cycle)")
    bx.set_title("Throughput")
    fig.tight_layout()
    fig.savefig(RESULTS / "noc.png", dpi=120)
    plt.close(fig)


@benchmark("noc")
def run(quick: bool = False) -> dict[str, Any]:
    """Kernel speed on 8x8 / 16x16 uniform traffic and the 8x8 latency-load curve."""
    info: dict[str, Any] = {"load_average": list(os.getloadavg()), "cpus": os.cpu_count(),
                            "warm_up_seconds": _warm_up(), "repeats": 2 if quick else 3,
                            "curve_cycles": 3_000 if quick else 20_000}
    cycles = 20_000 if quick else 200_000
    speed = [_case(8, 8, rate, cycles, info["repeats"]) for rate in (0.02, 0.05)]
    speed.append(_case(16, 16, 0.02, cycles // 4, info["repeats"]))
    curve = [_case(8, 8, rate, info["curve_cycles"], 1) for rate in RATES]
    text = _markdown(speed, curve, info)
    if not quick:
        (RESULTS / "noc.md").write_text(text)
        _plot(curve)
    floors = {"cycles_per_s_8x8_0.02": speed[0]["cycles_per_s"] >= 5e5,
              "packet_hops_per_s_8x8_0.02": speed[0]["packet_hops_per_s"] >= 5e6}
    return {"quick": quick, **info, "speed": speed, "curve": curve, "floors_met": floors,
            "markdown": text}

"""Functional-simulator throughput: the dense pre-side path against the event-driven path.

Two nets, each simulated in the same invocation by the old path (``SNNCC_SIM_PATH=presyn``: one
synapse filter per source, every projection dense through BLAS, one batch at a time) and the new
default (``auto``: post-side filters, each projection per step and input on its events or dense by
a cost model, batches cut into row blocks run by one thread per CPU):

(a) the trained Hunsberger & Eliasmith (2016) soft-LIF MNIST model (benchmarks/models/
    mnist_softlif.onnx, converted by ``snncc.convert``) on the first 256 MNIST test images
    (``$SNNCC_MNIST``, else ../shared/data/mnist), 200 ms at dt 1 ms;
(b) the same shape built by hand with random weights (no training, no conversion): input 1x28x28
    -> conv5x5x16 (valid) -> LIF -> avgpool2 -> conv5x5x64 -> LIF -> avgpool2 -> fc2000 -> LIF ->
    fc10 readout, the authors' LIF parameters (tau_rc 22 ms, tau_ref 2 ms, amplitude 0.063),
    alpha synapses (tau_s 5 ms); each layer's weights are rescaled and its biases set from the
    rate model so that the neurons fire at tens of Hz (denser than the trained model).

Each path also runs on one core (BLAS limited to one thread through threadpoolctl when it is
installed, one simulation thread), which is less sensitive to other load on the machine. Every
configuration runs ``repeats`` times, interleaved; the best wall time counts. Reported per
configuration: inputs/s, synaptic events/s, CPU seconds; against the old path: agreement of the
predictions and of the spike counts (inputs whose every neuron's count is identical) and the
largest output difference; the share of (input, projection, step) triples the new path ran on
events; the speed-ups; and the load average, since the machine may be shared.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._runner import benchmark
from snncc.convert.net import InputSource, Population, Projection, Readout, SpikingNet
from snncc.ir import layers as L
from snncc.sim import SimResult, simulate
from snncc.sim._chain import Chain
from snncc.sim._engine import Engine
from snncc.sim.functional import _check

MODEL = Path(__file__).resolve().parent / "models" / "mnist_softlif.onnx"
# name -> (SNNCC_SIM_PATH, simulation threads (None: all CPUs), BLAS threads (None: as is))
CONFIGS: dict[str, tuple[str, int | None, int | None]] = {
    "dense": ("presyn", 1, None),
    "event": ("auto", None, None),
    "dense_1core": ("presyn", 1, 1),
    "event_1core": ("auto", 1, 1),
}

LIF = dict(model="lif", tau_rc=0.022, tau_ref=0.002, gain=1.0, amplitude=0.063)


def images(n: int, seed: int = 0) -> np.ndarray:
    """MNIST-like inputs: blurred random strokes in [0, 1], 1x28x28."""
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 1, 28, 28)) < 0.15).astype(np.float64)
    for axis in (2, 3):  # a little blur so that features are spatially correlated
        x = (x + np.roll(x, 1, axis=axis) + np.roll(x, -1, axis=axis)) / 3
    return np.clip(2 * x, 0, 1).astype(np.float32)


def mnist_net(x: np.ndarray, seed: int = 0, target_j: float = 1.5,
              spread: float = 0.5) -> SpikingNet:
    """The Hunsberger MNIST shape, weights scaled so that ``J ~ target_j +- spread``."""
    rng = np.random.default_rng(seed)
    shapes: list[tuple[int, ...]] = [(16, 24, 24), (64, 8, 8), (2000,)]
    ops: list[tuple[L.Layer, ...]] = [
        (L.Conv2d(name="conv1", inputs=("x",), shape=shapes[0],
                  weight=rng.normal(size=(16, 1, 5, 5))),),
        (L.AvgPool2d(name="pool1", inputs=("lif1",), shape=(16, 12, 12), kernel=(2, 2),
                     stride=(2, 2)),
         L.Conv2d(name="conv2", inputs=("pool1",), shape=shapes[1],
                  weight=rng.normal(size=(64, 16, 5, 5)))),
        (L.AvgPool2d(name="pool2", inputs=("lif2",), shape=(64, 4, 4), kernel=(2, 2),
                     stride=(2, 2)),
         L.Reshape(name="flat", inputs=("pool2",), shape=(1024,)),
         L.Dense(name="fc1", inputs=("flat",), shape=(2000,),
                 weight=rng.normal(size=(2000, 1024)))),
        (L.Dense(name="fc2", inputs=("lif3",), shape=(10,), weight=rng.normal(size=(10, 2000))),),
    ]
    names, pre = ["x", "lif1", "lif2", "lif3", "out"], "x"
    pre_shape: tuple[int, ...] = (1, 28, 28)
    signal = x.reshape(len(x), -1).astype(np.float32)
    pops, projs = [], []
    for k, chain_ops in enumerate(ops):
        post = names[k + 1]
        post_shape = shapes[k] if k < 3 else (10,)
        proj = Projection(name=f"{pre}->{post}", pre=pre, post=post, ops=chain_ops,
                          pre_shape=pre_shape, post_shape=post_shape)
        z = Chain(proj, "avg", pre_shape, post_shape)(signal).astype(np.float64)
        scale = spread / max(z.std(), 1e-9)  # rescale the weighted op (the last one)
        last: Any = chain_ops[-1]
        w = (last.weight * scale).astype(np.float32)
        chain_ops = (*chain_ops[:-1], dataclasses.replace(last, weight=w))
        proj = Projection(name=proj.name, pre=pre, post=post, ops=chain_ops,
                          pre_shape=pre_shape, post_shape=post_shape)
        projs.append(proj)
        if k == 3:
            break
        z = z * scale
        bias = (target_j - z.mean(axis=0)).reshape(post_shape)
        pop = Population(name=post, shape=post_shape, bias=bias, **LIF)  # type: ignore[arg-type]
        pops.append(pop)
        signal = (pop.rate(z.reshape(len(z), *post_shape), 0.001)
                  * pop.amplitude).reshape(len(z), -1).astype(np.float32)
        pre, pre_shape = post, post_shape
    return SpikingNet(inputs=(InputSource(name="x", shape=(1, 28, 28)),),
                      populations=tuple(pops), projections=tuple(projs),
                      readouts=(Readout(name="out", shape=(10,), bias=np.zeros(10)),),
                      dt=0.001, synapse="alpha", tau_s=0.005, maxpool="avg")


@contextmanager
def _blas_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # not installed: BLAS keeps its threads
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def _simulate(net: SpikingNet, x: np.ndarray, y: np.ndarray | None, presentation: float,
              config: str) -> tuple[SimResult, float, float]:
    path, threads, blas = CONFIGS[config]
    old = os.environ.get("SNNCC_SIM_PATH")
    os.environ["SNNCC_SIM_PATH"] = path
    try:
        with _blas_threads(blas), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            t0, c0 = time.perf_counter(), time.process_time()
            res = simulate(net, x, y, presentation_s=presentation, batch_size=256,
                           progress=False, record_counts=True, threads=threads)
            return res, time.perf_counter() - t0, time.process_time() - c0
    finally:
        if old is None:
            del os.environ["SNNCC_SIM_PATH"]
        else:
            os.environ["SNNCC_SIM_PATH"] = old


def _event_share(net: SpikingNet, x: np.ndarray, steps: int) -> float:
    """Share of (input, projection, step) triples with spikes that ``auto`` runs on events."""
    xs, _, _ = _check(net, x, None, steps * net.dt, "current", 1000.0, 0.5, len(x), 0)
    engine = Engine(net, "current", 1000.0, 0, path="auto")
    engine.run(xs, 0, steps, steps // 2)
    done = engine.rows["event"] + engine.rows["dense"]
    return engine.rows["event"] / max(done, 1)


def compare(net: SpikingNet, x: np.ndarray, y: np.ndarray | None, presentation: float,
            repeats: int) -> dict[str, Any]:
    """Every configuration of :data:`CONFIGS` on ``x``; see the module docstring."""
    for config in ("dense", "event"):  # warm-up: numba cache, BLAS
        _simulate(net, x[:4], None, 0.01, config)
    best: dict[str, tuple[SimResult, float, float]] = {}
    for _ in range(repeats):
        for config in CONFIGS:
            res, wall, cpu = _simulate(net, x, y, presentation, config)
            if config not in best or wall < best[config][1]:
                best[config] = (res, wall, cpu)
    ref = best["dense"][0]
    n = len(x)
    out: dict[str, Any] = {
        "inputs": n, "steps": ref.steps, "dt": ref.dt, "neurons": net.neurons,
        "synapses": net.synapses,
        "mean_rate_hz": {p: float(r.mean() / ref.presentation_s) for p, r in ref.rates.items()},
        "synaptic_events_per_input_step": float(ref.synaptic_events.mean() / ref.steps),
        "dense_macs_per_input_step": sum(
            Chain(p, net.maxpool, p.pre_shape, p.post_shape).dense_macs
            for p in net.projections if p.pre != net.inputs[0].name),
        "event_share": _event_share(net, x[:16], ref.steps),
    }
    for config, (res, wall, cpu) in best.items():
        same = [all(np.array_equal(ref.counts[p][i], res.counts[p][i])  # type: ignore[index]
                    for p in ref.rates) for i in range(n)]
        out[config] = {
            "seconds": wall, "cpu_seconds": cpu, "inputs_per_second": n / wall,
            "synaptic_events_per_second": float(res.synaptic_events.sum()) / wall,
            "accuracy": res.accuracy,
            "prediction_agreement": float(np.mean(res.predictions == ref.predictions)),
            "identical_spike_counts": float(np.mean(same)),
            "max_output_difference": float(np.abs(res.outputs - ref.outputs).max()),
        }
    out["speedup"] = best["dense"][1] / best["event"][1]
    out["speedup_1core"] = best["dense_1core"][1] / best["event_1core"][1]
    return out


@benchmark("sim")
def run(quick: bool = False) -> dict[str, Any]:
    """(a) the trained MNIST model, (b) the synthetic net: 256 inputs, 200 ms (quick: 32, 50 ms)."""
    n, presentation, repeats = (32, 0.05, 1) if quick else (256, 0.2, 2)
    result: dict[str, Any] = {
        "machine": platform.machine(), "python": platform.python_version(),
        "cpus": len(os.sched_getaffinity(0)), "load_average_before": os.getloadavg()[0],
    }
    try:
        import snncc
        from benchmarks.datasets import mnist_test_dir
        from snncc.data import load_data

        data = load_data(f"mnist:{mnist_test_dir()}", (1, 28, 28), limit=n)
        trained = snncc.convert(snncc.load_onnx(MODEL))
    except (OSError, ValueError) as e:  # no model or no MNIST here
        result["mnist_softlif"] = {"skipped": str(e)}
    else:
        result["mnist_softlif"] = compare(trained, data.x, data.y, presentation, repeats)
        result["mnist_softlif"]["model_sha256"] = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    x = images(n)
    result["synthetic"] = compare(mnist_net(x), x, None, presentation, repeats)
    result["load_average_after"] = os.getloadavg()[0]
    return result

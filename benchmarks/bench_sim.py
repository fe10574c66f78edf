"""Functional-simulator throughput on the Hunsberger & Eliasmith (2016) MNIST network shape.

The net is built by hand with random weights (no training, no conversion): input 1x28x28 ->
conv5x5x16 (valid) -> LIF -> avgpool2 -> conv5x5x64 -> LIF -> avgpool2 -> fc2000 -> LIF -> fc10
readout, the authors' LIF parameters (tau_rc 22 ms, tau_ref 2 ms, amplitude 0.063), alpha
synapses (tau_s 5 ms), dt 1 ms, 200 ms per input. Each layer's weights are rescaled and its biases
set from the rate model on the benchmark inputs so that the neurons fire at tens of Hz.

Measured: inputs per second and synaptic events per second of ``snncc.sim.simulate`` on 256
inputs (after a warm-up run that loads the numba cache). Baseline in the same run: the same
projection kernels applied ``steps`` times to fixed signals -- the linear algebra alone, which is
the floor of a simulator that filters on the pre side.
"""

from __future__ import annotations

import dataclasses
import platform
import time
import warnings
from typing import Any

import numpy as np

from benchmarks._runner import benchmark
from snncc.convert.net import InputSource, Population, Projection, Readout, SpikingNet
from snncc.ir import layers as L
from snncc.sim import simulate
from snncc.sim._chain import Chain

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


def linear_floor(net: SpikingNet, x: np.ndarray, steps: int) -> float:
    """Seconds to apply every non-input projection ``steps`` times to fixed rate signals."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rates = simulate(net, x[:8], presentation_s=0.05, progress=False).rates
    chains = [(Chain(p, net.maxpool, p.pre_shape, p.post_shape), p.pre)
              for p in net.projections if p.pre != "x"]
    sig = {n: np.broadcast_to(r.reshape(1, -1) * 20.0, (len(x), r.size)).astype(np.float32)
           for n, r in rates.items()}
    t0 = time.perf_counter()
    for _ in range(steps):
        for chain, pre in chains:
            chain(sig[pre])
    return time.perf_counter() - t0


@benchmark("sim")
def run(quick: bool = False) -> dict[str, Any]:
    """Simulate 256 inputs (quick: 32 inputs, 50 ms) of the MNIST-shaped net."""
    n, presentation = (32, 0.05) if quick else (256, 0.2)
    x = images(n)
    net = mnist_net(x)
    with warnings.catch_warnings():  # warm-up (numba cache, BLAS); too short for every layer
        warnings.simplefilter("ignore", RuntimeWarning)
        simulate(net, x[:4], presentation_s=0.01, progress=False)
    t0 = time.perf_counter()
    res = simulate(net, x, presentation_s=presentation, batch_size=256, progress=False)
    seconds = time.perf_counter() - t0
    floor = linear_floor(net, x, res.steps)
    events = int(res.synaptic_events.sum())
    hz = {p: float(r.mean() / res.presentation_s) for p, r in res.rates.items()}
    return {
        "machine": platform.machine(), "python": platform.python_version(),
        "inputs": n, "steps": res.steps, "dt": res.dt, "neurons": net.neurons,
        "synapses": net.synapses, "mean_rate_hz": hz,
        "synaptic_events_per_input": events / n, "input_macs": res.input_macs,
        "seconds": seconds, "inputs_per_second": n / seconds,
        "synaptic_events_per_second": events / seconds,
        "neuron_updates_per_second": res.neuron_updates * n / seconds,
        "linear_floor_seconds": floor, "time_ratio_vs_linear_floor": seconds / floor,
    }

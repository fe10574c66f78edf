"""The functional spiking simulator: accuracy and activity profile of a SpikingNet.

Time-stepped with the net's ``dt`` and vectorised over a block of inputs (float32 state, numba
neuron, filter and event kernels, BLAS for dense projections); each input is presented for
``round(presentation_s / dt)`` steps from a fresh state. The inputs are cut into blocks of at most
``batch_size`` (and at most :data:`._engine.ROW_BLOCK`, which keeps a block's state in cache);
``threads`` blocks run concurrently, each on its own engine (the kernels release the GIL). Memory:
per input of a running block, about 24 bytes per neuron plus 12 to 16 per post-synaptic value
(population input or readout), plus an im2col buffer of at most 64 MiB. Each input's result is
independent of the other inputs, so the results do not depend on ``threads``.

Design, in one place (details in the modules named):

- Order and delays (:mod:`._engine`): populations update in the net's (topological) order; a
  population reads its projections applied to the current step's signals of its sources, so a
  feed-forward chain has no delay; a projection from a later population reads the previous step.
- Neurons (:mod:`.neurons`): LIF exact for piecewise-constant current with sub-step refractory
  periods, so rates match :meth:`Population.rate`; IF with reset by subtraction.
- Synapses (:mod:`.synapses`, :mod:`._engine`): every projection carries the filtered signal
  ``amplitude * filter(spikes / dt)``. A linear projection maps the raw spike train, on its
  events (:mod:`._events`) or densely, whichever is cheaper per step and input, and one filter
  per post-synaptic node filters the sum (the filter is linear and time-invariant); a max-pooling
  projection reads a filter on its pre-synaptic side.
- Inputs (:mod:`.encode`): a constant current (its projections computed once per batch), or
  signed Poisson spike trains.
- Max pooling (:mod:`._chain`): ``gate`` passes each window's input with the largest cumulative
  spike count (or cumulative signal, for non-spiking inputs) of the presentation, ties to the
  first index; ``filtered`` is the max of the filtered signals; ``avg`` the window average.
- Events (:mod:`._fanout`): a spike costs its neuron's fan-out in each projection from it (the
  row count of the chain's composed structure); the analog input's projections count as MACs.
- Readouts: the mean over the steps from ``floor(readout_start * steps)`` on, decoded by argmax.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from snncc.convert.net import SpikingNet
from snncc.errors import SimulationError
from snncc.sim._engine import BatchOutput, Engine
from snncc.sim.encode import ENCODERS
from snncc.sim.trace import SpikeTrace

__all__ = ["SimResult", "simulate"]


@dataclass(frozen=True, eq=False)
class SimResult:
    """The outcome of :func:`simulate` over N inputs.

    Attributes:
        outputs: (N, *readout shape) float64: the first readout, averaged over the readout window.
        all_outputs: Every readout by name.
        predictions: (N,) int64 argmax of the flattened first readout.
        accuracy: Fraction of predictions equal to the labels (None without labels).
        steps: Steps per presentation.
        dt: Timestep in seconds.
        presentation_s: Presentation time per input in seconds (``steps * dt``).
        encoder: ``current`` or ``poisson``.
        spikes: (N,) int64 spikes of all populations per input.
        input_spikes: (N,) int64 spikes of the input source per input (0 under ``current``).
        synaptic_events: (N,) int64 per input: over all projections, each spike times its
            neuron's fan-out in the projection (input spikes included under ``poisson``).
        neuron_updates: Neurons x steps, per input.
        input_macs: Multiply-accumulates of the input's projections per input under
            ``current`` (the analog input emits no spikes), else 0.
        rates: Population name -> mean spike count per neuron per input (float64, the
            population's shape); divide by ``presentation_s`` for Hz.
        counts: Population name -> (N, *shape) int32 spike counts (only with ``record_counts``).
        trace: Spike trace of the first ``trace_inputs`` inputs, or None.
        silent: Populations that emitted no spike in the whole run.
    """

    outputs: np.ndarray
    all_outputs: dict[str, np.ndarray]
    predictions: np.ndarray
    accuracy: float | None
    steps: int
    dt: float
    presentation_s: float
    encoder: str
    spikes: np.ndarray
    input_spikes: np.ndarray
    synaptic_events: np.ndarray
    neuron_updates: int
    input_macs: int
    rates: dict[str, np.ndarray]
    counts: dict[str, np.ndarray] | None
    trace: SpikeTrace | None
    silent: list[str]


def _check(net: SpikingNet, x: np.ndarray, labels: np.ndarray | None, presentation_s: float,
           encoder: str, max_rate: float, readout_start: float, batch_size: int,
           trace_inputs: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Validate the arguments; return x (N, size) float32 after the input transform, labels."""
    if len(net.inputs) != 1:
        raise SimulationError(f"the net has {len(net.inputs)} input sources "
                              f"({[s.name for s in net.inputs]}); simulate takes exactly one")
    if not net.readouts:
        raise SimulationError("the net has no readout to decode")
    inp = net.inputs[0]
    x = np.asarray(x)
    if x.ndim != len(inp.shape) + 1 or tuple(x.shape[1:]) != tuple(inp.shape) or not len(x):
        raise SimulationError(f"input {inp.name!r}: expected shape (N, "
                              f"{', '.join(map(str, inp.shape))}) with N >= 1, got {x.shape}")
    if x.dtype.kind not in "iuf":
        raise SimulationError(f"input {inp.name!r}: expected numbers, got dtype {x.dtype}")
    steps = round(presentation_s / net.dt)
    if steps < 1:
        raise SimulationError(f"presentation_s={presentation_s} s is shorter than one timestep "
                              f"(dt={net.dt} s)")
    if encoder not in ENCODERS:
        raise SimulationError(f"unknown encoder {encoder!r}; known: {', '.join(ENCODERS)}")
    if not 0.0 <= readout_start < 1.0:
        raise SimulationError(f"readout_start must be in [0, 1), got {readout_start}")
    if not (max_rate > 0 and batch_size >= 1 and trace_inputs >= 0):
        raise SimulationError(f"max_rate and batch_size must be positive and trace_inputs >= 0 "
                              f"(got {max_rate}, {batch_size}, {trace_inputs})")
    if labels is not None:
        labels = np.asarray(labels)
        classes = math.prod(net.readouts[0].shape)
        if labels.shape != (len(x),):
            raise SimulationError(f"labels: expected shape ({len(x)},) for {len(x)} inputs, got "
                                  f"{labels.shape}")
        if labels.dtype.kind not in "iu" or (labels.size and not
                                             (labels.min() >= 0 and labels.max() < classes)):
            raise SimulationError(f"labels must be integer class indices in [0, {classes}) "
                                  f"(got dtype {labels.dtype})")
    xf = x.astype(np.float64)
    if inp.scale is not None:
        xf = xf * inp.scale
    if inp.shift is not None:
        xf = xf + inp.shift
    if not np.all(np.isfinite(xf)):
        raise SimulationError(f"input {inp.name!r}: {int(np.sum(~np.isfinite(xf)))} NaN/Inf "
                              f"values after the input transform")
    return np.ascontiguousarray(xf.reshape(len(x), -1), dtype=np.float32), labels, steps


@contextmanager
def _progress(show: bool | None, total: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr (when ``show``, or when None and stderr is a TTY)."""
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("simulating", total=total)
        yield lambda: bar.advance(task)


@contextmanager
def _blas_threads(limit: bool) -> Iterator[None]:
    """Limit BLAS to one thread while ``limit`` (when threadpoolctl is installed).

    Used while several simulation threads run: they already use the cores.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limit = False
    if not limit:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def simulate(net: SpikingNet, x: np.ndarray, labels: np.ndarray | None = None, *,
             presentation_s: float = 0.2, encoder: str = "current", max_rate: float = 1000.0,
             readout_start: float = 0.5, batch_size: int = 256, seed: int = 0,
             record_counts: bool = False, trace_inputs: int = 0,
             progress: bool | None = None, threads: int | None = None) -> SimResult:
    """Simulate ``net`` on the inputs ``x``; decode outputs, count spikes and synaptic events.

    Args:
        net: The spiking network (one input source, at least one readout).
        x: (N, *input shape) samples, before the input source's ``scale``/``shift``.
        labels: Optional (N,) integer class indices, for the accuracy.
        presentation_s: Presentation time per input (seconds); ``steps = round(p / dt)``.
        encoder: ``current`` (the sample as a constant current) or ``poisson``.
        max_rate: Poisson rate (Hz) of an input of magnitude 1.
        readout_start: Fraction of the presentation after which the readouts are averaged.
        batch_size: Inputs simulated together (bounds memory).
        seed: Seed of the Poisson encoder.
        record_counts: Keep per-input spike counts of every neuron.
        trace_inputs: Record the spikes of the first this many inputs.
        progress: Show a progress bar on stderr (None: when stderr is a terminal).
        threads: Blocks of inputs simulated concurrently, each by its own thread (None: the
            number of CPUs this process may run on); the results do not depend on it. While
            several run, BLAS is limited to one thread (when threadpoolctl is installed).

    Returns:
        The :class:`SimResult`.

    Raises:
        SimulationError: for a bad argument or a net the simulator cannot run.

    Example:
        >>> res = simulate(net, images, labels, presentation_s=0.1)  # doctest: +SKIP
        >>> res.accuracy, res.synaptic_events.mean()  # doctest: +SKIP
    """
    xs, labels, steps = _check(net, x, labels, presentation_s, encoder, max_rate,
                               readout_start, batch_size, trace_inputs)
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    if threads < 1:
        raise SimulationError(f"threads must be at least 1, got {threads}")
    n, start = len(xs), math.floor(readout_start * steps)
    engines = [Engine(net, encoder, max_rate, seed)]
    threads = min(threads, engines[0].max_threads or threads)
    # blocks of the engine's preferred size, else each batch split evenly among the threads
    block = min(batch_size, engines[0].row_block or -(-min(batch_size, n) // threads))
    blocks = [(c0, min(c0 + block, b0 + batch_size, n)) for b0 in range(0, n, batch_size)
              for c0 in range(b0, min(b0 + batch_size, n), block)]
    engines += [Engine(net, encoder, max_rate, seed)
                for _ in range(min(threads, len(blocks)) - 1)]
    free: queue.SimpleQueue[Engine] = queue.SimpleQueue()
    for engine in engines:
        free.put(engine)
    pops = net.populations
    outputs = {r.name: np.zeros((n, *r.shape), np.float64) for r in net.readouts}
    spikes, events, in_spikes = (np.zeros(n, np.int64) for _ in range(3))
    totals = {p.name: np.zeros(p.size, np.int64) for p in pops}
    counts = ({p.name: np.zeros((n, *p.shape), np.int32) for p in pops} if record_counts
              else None)
    traced: list[tuple[np.ndarray, np.ndarray]] = []
    with _progress(progress, len(blocks) * steps) as tick, \
            ThreadPoolExecutor(len(engines)) as pool, _blas_threads(len(engines) > 1):

        def run(rows: tuple[int, int]) -> BatchOutput:
            """Simulate one block of inputs on whichever engine is free."""
            s0, s1 = rows
            engine = free.get()
            try:
                return engine.run(xs[s0:s1], s0, steps, start,
                                  max(0, min(trace_inputs - s0, s1 - s0)), tick)
            finally:
                free.put(engine)

        done = map(run, blocks) if len(engines) == 1 else pool.map(run, blocks)
        for (s0, s1), out in zip(blocks, done, strict=True):
            for name, y in out.outputs.items():
                outputs[name][s0:s1] = y
            spikes[s0:s1], events[s0:s1], in_spikes[s0:s1] = (out.spikes, out.events,
                                                              out.input_spikes)
            for name, c in out.counts.items():
                totals[name] += c.sum(axis=0, dtype=np.int64)
                if counts is not None:
                    counts[name][s0:s1] = c.reshape(s1 - s0, *counts[name].shape[1:])
            traced.extend(out.trace)
    first = outputs[net.readouts[0].name]
    predictions = first.reshape(n, -1).argmax(axis=1).astype(np.int64)
    accuracy = None if labels is None else float(np.mean(predictions == labels))
    silent = [p.name for p in pops if not totals[p.name].any()]
    for name in silent:
        warnings.warn(f"population {name!r} emitted no spikes over {n} inputs x {steps} steps; "
                      f"its input may be scaled too low (normalisation or quantisation)",
                      RuntimeWarning, stacklevel=2)
    trace = None
    if trace_inputs:
        trace = SpikeTrace(tuple(p.name for p in pops), engines[0].offsets,
                           tuple(s for s, _ in traced), tuple(nr for _, nr in traced),
                           float(net.dt), steps)
    return SimResult(
        outputs=first, all_outputs=outputs, predictions=predictions, accuracy=accuracy,
        steps=steps, dt=float(net.dt), presentation_s=steps * float(net.dt), encoder=encoder,
        spikes=spikes, input_spikes=in_spikes, synaptic_events=events,
        neuron_updates=net.neurons * steps, input_macs=engines[0].input_macs,
        rates={p.name: (totals[p.name] / n).reshape(p.shape) for p in pops},
        counts=counts, trace=trace, silent=silent)

"""The simulator built from a SpikingNet: state for one batch of inputs and its timestep.

Per step, in the order the net lists its populations: a population's input is the sum of its
projections applied to their sources' signals of this same step (no delay along the feed-forward
chain; a projection from a population later in the order, or from itself, reads that source's
signal of the previous step), then ``J = gain * x + bias``, the neuron update, and the synapse
filter of its spike output. Readouts then sum their projections plus bias.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from snncc.convert.net import SpikingNet
from snncc.errors import SimulationError
from snncc.sim._chain import Chain
from snncc.sim.encode import CurrentEncoder, PoissonEncoder
from snncc.sim.neurons import NeuronGroup
from snncc.sim.synapses import SynapseFilter

__all__ = ["MAXPOOL_METHODS", "BatchOutput", "Engine"]

MAXPOOL_METHODS = ("gate", "filtered", "avg")


@dataclass
class BatchOutput:
    """What one batch yields: per-row totals, readout sums, spike counts and trace events."""

    outputs: dict[str, np.ndarray]
    spikes: np.ndarray
    events: np.ndarray
    input_spikes: np.ndarray
    counts: dict[str, np.ndarray]
    trace: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


class Engine:
    """Compiled form of ``net``; :meth:`run` simulates one batch from a fresh state.

    Args:
        net: The network (exactly one input source).
        encoder: ``current`` or ``poisson``.
        max_rate: Poisson rate of an input of magnitude 1 (Hz).
        seed: Seed of the Poisson draws.
    """

    def __init__(self, net: SpikingNet, encoder: str, max_rate: float, seed: int) -> None:
        if net.maxpool not in MAXPOOL_METHODS:
            raise SimulationError(f"unknown max-pooling method {net.maxpool!r}; known: "
                                  f"{', '.join(MAXPOOL_METHODS)}")
        self.net, self.dt = net, float(net.dt)
        self.inp = net.inputs[0]
        shapes = {s.name: tuple(s.shape) for s in net.inputs}
        shapes.update({p.name: tuple(p.shape) for p in net.populations})
        shapes.update({r.name: tuple(r.shape) for r in net.readouts})
        readouts = {r.name for r in net.readouts}
        self.chains: dict[str, list[tuple[str, Chain]]] = {name: [] for name in shapes}
        fan = {name: np.zeros(int(np.prod(shape)), np.int64) for name, shape in shapes.items()}
        for proj in net.projections:
            if proj.pre in readouts or proj.post == self.inp.name:
                raise SimulationError(f"projection {proj.name!r}: {proj.pre} -> {proj.post} "
                                      f"reads a readout or drives the input")
            chain = Chain(proj, net.maxpool, shapes[proj.pre], shapes[proj.post])
            self.chains[proj.post].append((proj.pre, chain))
            fan[proj.pre] += chain.fanout
        self.input_fanout = fan[self.inp.name]
        self.groups = [NeuronGroup(p, self.dt, fan[p.name]) for p in net.populations]
        self.filters = {p.name: SynapseFilter(net.synapse, net.tau_s, self.dt)
                        for p in net.populations}
        self.encoder: CurrentEncoder | PoissonEncoder = (
            CurrentEncoder() if encoder == "current" else PoissonEncoder(self.dt, max_rate, seed))
        self.input_filter = SynapseFilter(net.synapse, net.tau_s, self.dt)
        self.input_macs = int(self.input_fanout.sum()) if self.encoder.constant else 0
        self.offsets = np.cumsum([0] + [g.n for g in self.groups]).astype(np.int64)

    def run(self, x: np.ndarray, first_index: int, steps: int, start: int, trace_rows: int = 0,
            on_step: Callable[[], None] | None = None) -> BatchOutput:
        """Simulate ``x`` (B, input size, float32) for ``steps`` steps from a fresh state.

        Readouts are averaged over steps ``start .. steps-1``; the first ``trace_rows`` rows'
        spikes are recorded as (step, global neuron index) pairs.
        """
        batch, net = x.shape[0], self.net
        name_in = self.inp.name
        row_spikes = np.zeros(batch, np.int64)
        row_events = np.zeros(batch, np.int64)
        in_spikes = np.zeros(batch, np.int64)
        signal: dict[str, np.ndarray] = {}
        key: dict[str, np.ndarray] = {}
        out: dict[str, np.ndarray] = {}
        for g in self.groups:
            g.reset(batch)
            self.filters[g.pop.name].reset(batch, g.n)
            out[g.pop.name] = np.zeros((batch, g.n), np.float32)
            signal[g.pop.name] = out[g.pop.name]
            key[g.pop.name] = g.counts
        for chains in self.chains.values():
            for _, chain in chains:
                chain.reset()
        self.encoder.start(x, first_index)
        self.input_filter.reset(batch, x.shape[1])
        cached: dict[int, np.ndarray] = {}
        if self.encoder.constant:  # the input's projections do not change during the step loop
            signal[name_in] = key[name_in] = x
            for chains in self.chains.values():
                for pre, chain in chains:
                    if pre == name_in:
                        cached[id(chain)] = chain(x, x)
        else:
            key[name_in] = np.zeros_like(x)
        sums = {r.name: np.zeros((batch, math.prod(r.shape)), np.float64) for r in net.readouts}
        zeros = {g.pop.name: np.zeros((batch, g.n), np.float32) for g in self.groups
                 if not self.chains[g.pop.name]}
        events: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

        def total(post: str) -> np.ndarray | None:
            acc = None
            for pre, chain in self.chains[post]:
                y = cached.get(id(chain))
                if y is None:
                    y = chain(signal[pre], key[pre])
                acc = y if acc is None else acc + y
            return acc

        for t in range(steps):
            if not self.encoder.constant:
                raw, spikes = self.encoder.step()
                if spikes is not None:
                    in_spikes += spikes.sum(axis=1)
                    row_events += spikes.astype(np.int64) @ self.input_fanout
                key[name_in] += raw
                signal[name_in] = self.input_filter.step(raw)
            for gi, g in enumerate(self.groups):
                name = g.pop.name
                xin = total(name)
                g.step(zeros[name] if xin is None else xin, out[name], row_spikes, row_events)
                signal[name] = self.filters[name].step(out[name])
                if trace_rows:
                    rows, idx = np.nonzero(out[name][:trace_rows])
                    events.append((rows, np.full(rows.size, t, np.int32),
                                   idx + self.offsets[gi]))
            for r in net.readouts:  # every step: a chain may hold gate state
                y = total(r.name)
                if y is not None and t >= start:
                    sums[r.name] += y
            if on_step is not None:
                on_step()
        n_avg = steps - start
        outputs = {r.name: (sums[r.name] / n_avg
                            + np.broadcast_to(r.bias, r.shape).reshape(1, -1)
                            ).reshape(batch, *r.shape) for r in net.readouts}
        result = BatchOutput(outputs, row_spikes, row_events, in_spikes,
                             {g.pop.name: g.counts for g in self.groups})
        if trace_rows:
            result.trace = _split_trace(events, trace_rows)
        return result


def _split_trace(events: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 rows: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per traced row: (steps, neurons) int32, sorted by step, then neuron."""
    if not events:
        return [(np.zeros(0, np.int32), np.zeros(0, np.int32)) for _ in range(rows)]
    row = np.concatenate([e[0] for e in events])
    step = np.concatenate([e[1] for e in events])
    neuron = np.concatenate([e[2] for e in events]).astype(np.int32)
    order = np.lexsort((neuron, step, row))
    row, step, neuron = row[order], step[order], neuron[order]
    cuts = np.searchsorted(row, np.arange(1, rows))
    return list(zip(np.split(step, cuts), np.split(neuron, cuts), strict=True))

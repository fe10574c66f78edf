"""The simulator built from a SpikingNet: state for one batch of inputs and its timestep.

Per step, in the order the net lists its populations: a population's input is the sum of its
projections applied to their sources' signals of this same step (no delay along the feed-forward
chain; a projection from a population later in the order, or from itself, reads that source's
signal of the previous step), then ``J = gain * x + bias``, the neuron update and its spike output.
Readouts then sum their projections plus bias.

Where the synapse filter sits (the filters are linear and time-invariant, and every projection
uses the same one, so ``filter(chain(u)) == chain(filter(u))`` for a linear chain):

- post-side (the default for linear chains, :attr:`Chain.linear`): the chain maps the raw spike
  output ``u = amplitude * spikes / dt`` of its source, and one filter per post node (population
  or readout) filters the sum of its linear projections. ``u`` is sparse, so each chain runs per
  step and batch row either on the events (:mod:`._events`: cost = the events' fan-out) or densely
  (the chain's multiply-adds), whichever a fixed cost model says is cheaper (:data:`EVENT_COST`);
  the choice is per row, so it does not depend on the batch size.
- pre-side: a chain that is not linear (max pooling under ``gate``/``filtered``) reads its
  source's filtered signal, one filter per source.
- the input under ``current`` is a constant current, not filtered: its chains are computed once
  per batch and added as they are.

``SNNCC_SIM_PATH`` (for tests and benchmarks only) forces a path: ``auto`` (the default),
``event`` (every linear chain on events), ``dense`` (post-side filters, dense chains) or
``presyn`` (every chain pre-side and dense, whole batches on one thread: the original
simulator, kept as the reference the others are tested against).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from snncc.convert.net import SpikingNet
from snncc.errors import SimulationError
from snncc.sim._chain import Chain
from snncc.sim._events import EventPlan, nonzero_rows, split_rows
from snncc.sim.encode import CurrentEncoder, PoissonEncoder
from snncc.sim.neurons import NeuronGroup
from snncc.sim.synapses import SynapseFilter

__all__ = ["EVENT_COST", "MAXPOOL_METHODS", "PATHS", "ROW_BLOCK", "BatchOutput", "Engine"]

MAXPOOL_METHODS = ("gate", "filtered", "avg")
PATHS = ("auto", "event", "dense", "presyn")
# A row's chain runs on events when EVENT_COST * (its events' fan-out + the flush of a conv
# scratch) <= the chain's dense multiply-adds per row. Measured on the chains of the MNIST
# soft-LIF net (batch 256, random spikes): a scattered multiply-add costs 0.1-0.5 ns (one thread;
# the low end at high density), a dense one 0.08-0.09 ns (BLAS on 2 threads, im2col included);
# the two paths cost the same at ~30 % of the neurons spiking per step, where the ratio is
# 1.0-1.2. 1.5 leans towards BLAS near that point, where the choice matters little.
EVENT_COST = 1.5
# Rows simulated together when post-side chains carry most of the work (the caller cuts its
# batches into blocks of at most this many): per row a step touches ~32 bytes per neuron, so a
# block stays in the L3 cache of small machines; the event kernels gain nothing from more rows.
ROW_BLOCK = 32


@dataclass
class BatchOutput:
    """What one batch yields: per-row totals, readout sums, spike counts and trace events."""

    outputs: dict[str, np.ndarray]
    spikes: np.ndarray
    events: np.ndarray
    input_spikes: np.ndarray
    counts: dict[str, np.ndarray]
    trace: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


@dataclass
class _Link:
    """A projection into a node: its source, chain, where it filters, and its event scratch."""

    pre: str
    chain: Chain
    post_side: bool
    plan: EventPlan | None = None
    bufs: dict[str, np.ndarray] = field(default_factory=dict)


class Engine:
    """Compiled form of ``net``; :meth:`run` simulates one batch from a fresh state.

    Args:
        net: The network (exactly one input source).
        encoder: ``current`` or ``poisson``.
        max_rate: Poisson rate of an input of magnitude 1 (Hz).
        seed: Seed of the Poisson draws.
        path: One of :data:`PATHS` (None: ``SNNCC_SIM_PATH``, else ``auto``); see the module.
    """

    def __init__(self, net: SpikingNet, encoder: str, max_rate: float, seed: int,
                 path: str | None = None) -> None:
        if net.maxpool not in MAXPOOL_METHODS:
            raise SimulationError(f"unknown max-pooling method {net.maxpool!r}; known: "
                                  f"{', '.join(MAXPOOL_METHODS)}")
        path = path if path is not None else os.environ.get("SNNCC_SIM_PATH", "") or "auto"
        if path not in PATHS:
            raise SimulationError(f"unknown simulation path {path!r}; known: {', '.join(PATHS)}")
        self.net, self.dt, self.path = net, float(net.dt), path
        # presyn: the original simulator, one whole batch at a time on one thread (BLAS threads)
        self.max_threads: int | None = 1 if path == "presyn" else None
        self.inp = net.inputs[0]
        self.encoder: CurrentEncoder | PoissonEncoder = (
            CurrentEncoder() if encoder == "current" else PoissonEncoder(self.dt, max_rate, seed))
        shapes = {s.name: tuple(s.shape) for s in net.inputs}
        shapes.update({p.name: tuple(p.shape) for p in net.populations})
        shapes.update({r.name: tuple(r.shape) for r in net.readouts})
        readouts = {r.name for r in net.readouts}
        self.links: dict[str, list[_Link]] = {name: [] for name in shapes}
        fan = {name: np.zeros(int(np.prod(shape)), np.int64) for name, shape in shapes.items()}
        for proj in net.projections:
            if proj.pre in readouts or proj.post == self.inp.name:
                raise SimulationError(f"projection {proj.name!r}: {proj.pre} -> {proj.post} "
                                      f"reads a readout or drives the input")
            chain = Chain(proj, net.maxpool, shapes[proj.pre], shapes[proj.post])
            constant = proj.pre == self.inp.name and self.encoder.constant
            link = _Link(proj.pre, chain, path != "presyn" and chain.linear and not constant)
            if link.post_side and path != "dense":
                link.plan = chain.event_plan()
                link.bufs = link.plan.scratch()
            self.links[proj.post].append(link)
            fan[proj.pre] += chain.fanout
        self.input_fanout = fan[self.inp.name]
        self.groups = [NeuronGroup(p, self.dt, fan[p.name]) for p in net.populations]
        every = [link for links in self.links.values() for link in links]
        pre_side = {k.pre for k in every if not k.post_side}
        self.filters = {p.name: SynapseFilter(net.synapse, net.tau_s, self.dt)
                        for p in net.populations if p.name in pre_side}
        self.post_filters = {name: SynapseFilter(net.synapse, net.tau_s, self.dt)
                             for name, links in self.links.items()
                             if any(k.post_side for k in links)}
        self.input_filter = (SynapseFilter(net.synapse, net.tau_s, self.dt)
                             if self.inp.name in pre_side and not self.encoder.constant else None)
        self.input_events = any(k.plan is not None and k.pre == self.inp.name for k in every)
        self.input_macs = int(self.input_fanout.sum()) if self.encoder.constant else 0
        self.offsets = np.cumsum([0] + [g.n for g in self.groups]).astype(np.int64)
        self.sizes = {name: math.prod(shape) for name, shape in shapes.items()}
        self.rows = {"event": 0, "dense": 0}  # (batch row, chain, step) triples run either way
        # Blocks of ROW_BLOCK rows when the post-side chains carry most of the dense work; whole
        # batches when chains that always run dense (pre-side) do: BLAS likes more rows.
        post = sum(k.chain.dense_macs for k in every if k.post_side)
        pre = sum(k.chain.dense_macs for k in every if not k.post_side and not (
            k.pre == self.inp.name and self.encoder.constant))
        self.row_block: int | None = ROW_BLOCK if path != "presyn" and post >= pre else None

    def _project(self, link: _Link, src: tuple[np.ndarray, np.ndarray, np.ndarray],
                 out: np.ndarray, rows: np.ndarray) -> None:
        """Add ``link``'s chain applied to its source's raw spike output ``src`` into ``out``.

        ``rows`` is scratch of two rows of the batch size (int64).
        """
        u, sidx, scnt = src
        plan, chain = link.plan, link.chain
        if plan is None:  # path "dense"
            out += chain(u)
            self.rows["dense"] += len(u)
            return
        limit = chain.dense_macs / EVENT_COST if self.path == "auto" else -1.0
        n_event, n_dense = split_rows(sidx, scnt, chain.fanout, plan.flush_cost, limit,
                                      rows[0], rows[1])
        if n_event:
            plan.apply(u, sidx, scnt, rows[0, :n_event], out, link.bufs)
        if n_dense == len(u):
            out += chain(u)
        elif n_dense:
            dense = rows[1, :n_dense]
            out[dense] += chain(u[dense])
        self.rows["event"] += n_event
        self.rows["dense"] += n_dense

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
        rows_scratch = np.zeros((2, batch), np.int64)
        signal: dict[str, np.ndarray] = {}
        key: dict[str, np.ndarray] = {}
        src: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for g in self.groups:
            g.reset(batch)
            name = g.pop.name
            if name in self.filters:
                self.filters[name].reset(batch, g.n)
            signal[name] = g.u
            key[name] = g.counts
            src[name] = (g.u, g.sidx, g.scnt)
        raw = {}
        for name, filt in self.post_filters.items():
            filt.reset(batch, self.sizes[name])
            raw[name] = np.zeros((batch, self.sizes[name]), np.float32)
        for links in self.links.values():
            for link in links:
                link.chain.reset()
        self.encoder.start(x, first_index)
        if self.input_filter is not None:
            self.input_filter.reset(batch, x.shape[1])
        in_sidx = np.zeros((batch, x.shape[1]) if self.input_events else (0, 0), np.int32)
        in_scnt = np.zeros(batch, np.int64)
        cached: dict[int, np.ndarray] = {}
        if self.encoder.constant:  # the input's projections do not change during the step loop
            signal[name_in] = key[name_in] = x
            for links in self.links.values():
                for link in links:
                    if link.pre == name_in:
                        cached[id(link)] = link.chain(x, x)
        else:
            key[name_in] = np.zeros_like(x)
        sums = {r.name: np.zeros((batch, math.prod(r.shape)), np.float64) for r in net.readouts}
        zeros = {g.pop.name: np.zeros((batch, g.n), np.float32) for g in self.groups
                 if not self.links[g.pop.name]}
        events: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

        def total(post: str) -> np.ndarray | None:
            acc = None
            if post in raw:
                buf = raw[post]
                buf.fill(0.0)
                for link in self.links[post]:
                    if link.post_side:
                        self._project(link, src[link.pre], buf, rows_scratch)
                acc = self.post_filters[post].step(buf)
            for link in self.links[post]:
                if link.post_side:
                    continue
                y = cached.get(id(link))
                if y is None:
                    y = link.chain(signal[link.pre], key[link.pre])
                acc = y if acc is None else acc + y
            return acc

        for t in range(steps):
            if not self.encoder.constant:
                u_in, spikes = self.encoder.step()
                if spikes is not None:
                    in_spikes += spikes.sum(axis=1)
                    row_events += spikes.astype(np.int64) @ self.input_fanout
                key[name_in] += u_in
                if self.input_filter is not None:
                    signal[name_in] = self.input_filter.step(u_in)
                if self.input_events:
                    nonzero_rows(u_in, in_sidx, in_scnt)
                src[name_in] = (u_in, in_sidx, in_scnt)
            for gi, g in enumerate(self.groups):
                name = g.pop.name
                xin = total(name)
                g.step(zeros[name] if xin is None else xin, row_spikes, row_events)
                if name in self.filters:
                    signal[name] = self.filters[name].step(g.u)
                if trace_rows:
                    rows, idx = np.nonzero(g.u[:trace_rows])
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

"""Neuron updates for the functional simulator: LIF and IF, batched, compiled with numba.

LIF, for an input current ``J`` held constant over a step of length ``dt``::

    v <- J + (v - J) * exp(-t / tau_rc)          t = the part of the step not refractory
    spike when v > 1; then v = 0 for tau_ref

The refractory period is tracked to sub-step precision, as nengo's LIF does: the spike time
within the step is found from the overshoot (``t_since = -tau_rc * log1p(-(v - 1) / (J - 1))``,
exact for constant ``J``), the neuron stays at 0 for ``tau_ref`` after that time, and integration
restarts wherever in a later step the refractory period ends (or in the same step, when
``tau_ref`` is shorter than the time since the spike). So for constant ``J`` the inter-spike
interval is exactly ``tau_ref + tau_rc * log(1 + 1/(J - 1))`` as long as it is at least ``dt``
(at most one spike per step), and the simulated rate equals :meth:`Population.rate`. The voltage
is floored at 0 (nengo's ``min_voltage``), so negative input does not build up a deficit.

IF: ``v += J * dt``; a spike when ``v >= 1``, then ``v -= 1`` (reset by subtraction); at most
one spike per step, the excess stays in ``v``, so the rate is ``J`` for ``0 <= J < 1/dt`` and
saturates at ``1/dt``. No leak, no refractory period, no floor.

Each kernel also writes the step's spike output ``u = spike * amplitude / dt`` (the input of the
synapse filter) and the list of the neurons that spiked (``sidx[b, :scnt[b]]``, ascending), adds
the spikes to per-neuron counts and, per batch row, to spike and synaptic-event totals (a spike of
neuron ``i`` costs ``fanout[i]`` events). ``u`` is sparse: a kernel only clears the entries listed
by the previous step's ``sidx``/``scnt`` and writes the new spikes, so ``u`` must be zero wherever
the lists passed in do not point (zeros and ``scnt = 0`` at the start).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from snncc.convert.net import Population

__all__ = ["NeuronGroup", "if_step", "lif_step"]


@numba.njit(cache=True, nogil=True, inline="always")
def _lif_spike(j, vi, delta, tau_rc, tau_ref):
    """(voltage, refractory time left) after a threshold crossing within the last ``delta``."""
    # time since the threshold crossing (exact for constant J; whole step if J <= 1)
    ratio = (vi - 1.0) / (j - 1.0) if j > 1.0 else 1.0
    since = delta if ratio >= 1.0 else min(-tau_rc * math.log1p(-ratio), delta)
    if since > tau_ref:  # refractory over within this step: integrate the rest
        return -j * math.expm1(-(since - tau_ref) / tau_rc), 0.0
    return 0.0, tau_ref - since


@numba.njit(cache=True, nogil=True)
def lif_step(x, gain, bias, v, ref, counts, fanout, u, sidx, scnt, row_spikes, row_events,
             dt, tau_rc, tau_ref, out):
    """One LIF step for a (B, n) batch; see the module docstring. All arrays are updated.

    Per row: first the common case (not refractory, no spike) for every neuron, branch-free so
    that it vectorises, flagging the others and leaving them alone; the flagged ones are then
    listed (branch-free) and sorted by kind, each kind handled in its own loop: refractory for
    the whole step, refractory until within the step, spiking. The arithmetic of each neuron is
    that of a plain one-pass loop, so the results are the same to the bit.
    """
    nb, n = v.shape
    decay = math.exp(-dt / tau_rc)
    flag = np.zeros(n, np.bool_)
    flagged = np.zeros(n + 1, np.int64)
    waking = np.zeros(n + 1, np.int64)
    crossing = np.zeros(n + 1, np.int64)
    for b in range(nb):
        for k in range(scnt[b]):  # clear the previous step's spikes
            u[b, sidx[b, k]] = 0.0
        xb, vb, rb = x[b], v[b], ref[b]
        for i in range(n):
            j = gain * float(xb[i]) + bias[i]
            vi = j + (float(vb[i]) - j) * decay
            special = (rb[i] > 0.0) | (vi > 1.0)
            flag[i] = special
            vb[i] = vb[i] if special else (vi if vi >= 0.0 else 0.0)
        n_flagged = 0
        for i in range(n):
            flagged[n_flagged] = i
            n_flagged += flag[i]
        n_waking = 0
        n_crossing = 0
        for k in range(n_flagged):
            i = flagged[k]
            r = float(rb[i])
            whole = r >= dt
            rb[i] = r - dt if whole else rb[i]  # refractory for the whole step
            waking[n_waking] = i
            n_waking += (r > 0.0) & (not whole)
            crossing[n_crossing] = i
            n_crossing += r <= 0.0
        again = 0  # the refractory period ends within this step (and may end in a spike)
        for k in range(n_waking):
            i = waking[k]
            j = gain * float(xb[i]) + bias[i]
            delta = dt - float(rb[i])
            vi = j + (float(vb[i]) - j) * math.exp(-delta / tau_rc)
            r = 0.0
            if vi > 1.0:
                vi, r = _lif_spike(j, vi, delta, tau_rc, tau_ref)
                waking[again] = i
                again += 1
            elif vi < 0.0:
                vi = 0.0
            vb[i] = vi
            rb[i] = r
        for k in range(n_crossing):  # not refractory, above threshold: a spike
            i = crossing[k]
            j = gain * float(xb[i]) + bias[i]
            vi = j + (float(vb[i]) - j) * decay
            vb[i], rb[i] = _lif_spike(j, vi, dt, tau_rc, tau_ref)
        spikes = 0
        events = 0
        a = c = 0
        while a < n_crossing or c < again:  # the spikes in ascending order: merge both lists
            if c >= again or (a < n_crossing and crossing[a] < waking[c]):
                i = crossing[a]
                a += 1
            else:
                i = waking[c]
                c += 1
            u[b, i] = out
            sidx[b, spikes] = i
            counts[b, i] += 1
            spikes += 1
            events += fanout[i]
        scnt[b] = spikes
        row_spikes[b] += spikes
        row_events[b] += events


@numba.njit(cache=True, nogil=True)
def if_step(x, gain, bias, v, counts, fanout, u, sidx, scnt, row_spikes, row_events,
            dt, out):
    """One IF step for a (B, n) batch; see the module docstring. All arrays are updated.

    Two passes per row, as :func:`lif_step`: the voltage update for all, then the spikes.
    """
    nb, n = v.shape
    flag = np.zeros(n, np.bool_)
    for b in range(nb):
        for k in range(scnt[b]):  # clear the previous step's spikes
            u[b, sidx[b, k]] = 0.0
        xb, vb = x[b], v[b]
        for i in range(n):
            vi = vb[i] + (gain * xb[i] + bias[i]) * dt
            spike = vi >= 1.0
            flag[i] = spike
            vb[i] = vi - 1.0 if spike else vi
        spikes = 0
        events = 0
        for i in range(n):
            if flag[i]:
                u[b, i] = out
                sidx[b, spikes] = i
                counts[b, i] += 1
                spikes += 1
                events += fanout[i]
        scnt[b] = spikes
        row_spikes[b] += spikes
        row_events[b] += events


class NeuronGroup:
    """The state of one population over a batch, and its update.

    Args:
        pop: The population.
        dt: Timestep in seconds.
        fanout: Synaptic events per spike of each neuron (int64, flat), summed over the
            population's outgoing projections.
    """

    def __init__(self, pop: Population, dt: float, fanout: np.ndarray) -> None:
        self.pop = pop
        self.dt = float(dt)
        self.n = pop.size
        self.bias = np.ascontiguousarray(pop.bias, dtype=np.float32).reshape(-1)
        self.fanout = np.ascontiguousarray(fanout, dtype=np.int64)
        self.out = float(pop.amplitude) / self.dt
        self.v = np.empty((0, self.n), dtype=np.float32)
        self.ref = np.empty((0, self.n), dtype=np.float32)
        self.counts = np.empty((0, self.n), dtype=np.int32)
        self.u = np.empty((0, self.n), dtype=np.float32)
        self.sidx = np.empty((0, self.n), dtype=np.int32)
        self.scnt = np.empty(0, dtype=np.int64)

    def reset(self, batch: int) -> None:
        """Fresh state (v = 0, not refractory, no spikes) for ``batch`` inputs."""
        self.v = np.zeros((batch, self.n), dtype=np.float32)
        self.ref = np.zeros((batch if self.pop.model == "lif" else 0, self.n), dtype=np.float32)
        self.counts = np.zeros((batch, self.n), dtype=np.int32)
        self.u = np.zeros((batch, self.n), dtype=np.float32)
        self.sidx = np.zeros((batch, self.n), dtype=np.int32)
        self.scnt = np.zeros(batch, dtype=np.int64)

    def step(self, x: np.ndarray, row_spikes: np.ndarray, row_events: np.ndarray) -> None:
        """Advance one step with input ``x`` (B, n).

        Afterwards :attr:`u` (B, n) holds the step's spike output and ``sidx[b, :scnt[b]]`` the
        neurons of row ``b`` that spiked, ascending.
        """
        p = self.pop
        if p.model == "lif":
            lif_step(x, float(p.gain), self.bias, self.v, self.ref, self.counts, self.fanout,
                     self.u, self.sidx, self.scnt, row_spikes, row_events, self.dt,
                     float(p.tau_rc), float(p.tau_ref), self.out)
        else:
            if_step(x, float(p.gain), self.bias, self.v, self.counts, self.fanout, self.u,
                    self.sidx, self.scnt, row_spikes, row_events, self.dt, self.out)

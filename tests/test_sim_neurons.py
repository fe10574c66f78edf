"""Neuron models and synapse filters of the functional simulator against their analytic curves."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from snncc.convert.net import InputSource, Population, Projection, Readout, SpikingNet
from snncc.ir import layers as L
from snncc.sim import simulate
from snncc.sim.neurons import if_step, lif_step
from snncc.sim.synapses import SynapseFilter

DT = 0.001


def _rate_net(j: np.ndarray, model: str, tau_rc: float = 0.02, tau_ref: float = 0.002,
              dt: float = DT) -> tuple[SpikingNet, Population]:
    """InputSource -> ChannelAffine(1) -> population with bias 0, so that J = x."""
    n = j.size
    pop = Population(name="p", shape=(n,), model=model, tau_rc=tau_rc, tau_ref=tau_ref,
                     gain=1.0, bias=np.zeros(n), amplitude=1.0)
    affine = L.ChannelAffine(name="id", inputs=("x",), shape=(n,), scale=np.ones(n),
                             shift=np.zeros(n))
    ro = L.Dense(name="ro", inputs=("p",), shape=(1,), weight=np.zeros((1, n)))
    net = SpikingNet(
        inputs=(InputSource(name="x", shape=(n,)),), populations=(pop,),
        projections=(Projection(name="in", pre="x", post="p", ops=(affine,), pre_shape=(n,),
                                post_shape=(n,)),
                     Projection(name="out", pre="p", post="y", ops=(ro,), pre_shape=(n,),
                                post_shape=(1,))),
        readouts=(Readout(name="y", shape=(1,), bias=np.zeros(1)),), dt=dt, synapse="none")
    return net, pop


def _lif_current(rate: np.ndarray, tau_rc: float, tau_ref: float) -> np.ndarray:
    """The J at which the analytic LIF rate is ``rate``."""
    return 1.0 + 1.0 / np.expm1((1.0 / rate - tau_ref) / tau_rc)


@pytest.mark.parametrize("tau_ref", [0.002, 0.0005])
def test_lif_rate_matches_analytic_curve_through_simulate(tau_ref: float) -> None:
    # rates from 12 Hz to 0.99/(tau_ref + dt); T * rate >= 120 spikes keeps counting error < 1 %
    target = np.geomspace(12.0, 0.99 / (tau_ref + DT), 120)
    j = _lif_current(target, 0.02, tau_ref)
    net, pop = _rate_net(j, "lif", tau_ref=tau_ref)
    res = simulate(net, j[None, :], presentation_s=10.0, record_counts=True)
    assert res.counts is not None
    rate = res.counts["p"][0] / res.presentation_s
    expect = pop.rate(j, DT)
    np.testing.assert_allclose(rate, expect, rtol=0.01)
    np.testing.assert_allclose(res.rates["p"], res.counts["p"][0])


def _run_lif(j: np.ndarray, steps: int, tau_rc: float, tau_ref: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = j.size
    x = np.zeros((1, n), np.float32)
    bias = j.astype(np.float32)
    v, ref, u = (np.zeros((1, n), np.float32) for _ in range(3))
    counts = np.zeros((1, n), np.int32)
    rows = np.zeros(1, np.int64), np.zeros(1, np.int64)
    sidx, scnt = np.zeros((1, n), np.int32), np.zeros(1, np.int64)
    first, last = np.full(n, -1), np.full(n, -1)
    for t in range(steps):
        lif_step(x, 1.0, bias, v, ref, counts, np.ones(n, np.int64), u, sidx, scnt, *rows, DT,
                 tau_rc, tau_ref, 1.0 / DT)
        np.testing.assert_array_equal(sidx[0, :scnt[0]], np.flatnonzero(u[0]))
        spiked = u[0] > 0
        first[spiked & (first < 0)] = t
        last[spiked] = t
    return counts[0], first, last


def test_lif_interspike_interval_near_threshold_and_at_high_rates() -> None:
    # steady-state rate from the first and last spike: exact to one step over a long run
    tau_rc, tau_ref = 0.022, 0.002
    j = np.concatenate([1.0 + np.geomspace(1e-3, 1.0, 40), _lif_current(
        np.linspace(100.0, 490.0, 40), tau_rc, tau_ref)])
    counts, first, last = _run_lif(j, 8000, tau_rc, tau_ref)
    rate = (counts - 1) / ((last - first) * DT)
    expect = 1.0 / (tau_ref + tau_rc * np.log1p(1.0 / (j.astype(np.float32) - 1.0)))
    np.testing.assert_allclose(rate, expect, rtol=0.005)
    assert counts[-1] > 0.97 * 490 * 8  # up to 1/tau_ref: the refractory period is sub-step


def test_lif_below_threshold_never_spikes_and_voltage_floors_at_zero() -> None:
    counts, _, _ = _run_lif(np.array([-5.0, 0.0, 0.5, 1.0]), 500, 0.02, 0.002)
    assert not counts.any()
    v = np.zeros((1, 1), np.float32)
    args = (np.zeros((1, 1), np.float32), np.zeros((1, 1), np.int32), np.ones(1, np.int64),
            np.zeros((1, 1), np.float32), np.zeros((1, 1), np.int32), np.zeros(1, np.int64),
            np.zeros(1, np.int64), np.zeros(1, np.int64))
    lif_step(np.full((1, 1), -3.0, np.float32), 1.0, np.zeros(1, np.float32), v, *args, DT,
             0.02, 0.002, 1.0)
    assert v[0, 0] == 0.0


def test_if_rate_is_the_current_and_saturates_at_one_per_step() -> None:
    j = np.concatenate([np.linspace(10.0, 999.0, 60), [0.0, 1500.0]])
    net, pop = _rate_net(j, "if")
    res = simulate(net, j[None, :], presentation_s=10.0, record_counts=True)
    assert res.counts is not None
    rate = res.counts["p"][0] / res.presentation_s
    np.testing.assert_allclose(rate[:-2], j[:-2], rtol=0.01)
    assert rate[-2] == 0 and rate[-1] == 1.0 / DT == pop.rate(np.array([1500.0]), DT)[0]


def test_if_resets_by_subtraction() -> None:
    v = np.zeros((1, 1), np.float32)
    counts, u = np.zeros((1, 1), np.int32), np.zeros((1, 1), np.float32)
    sidx, scnt = np.zeros((1, 1), np.int32), np.zeros(1, np.int64)
    totals = np.zeros(1, np.int64), np.zeros(1, np.int64)
    for t in range(4):  # J*dt = 0.375: v = .375, .75, 1.125 -> spike, .125 + .375 = .5
        if_step(np.zeros((1, 1), np.float32), 1.0, np.full(1, 375.0, np.float32), v, counts,
                np.full(1, 3, np.int64), u, sidx, scnt, *totals, DT, 1.0)
        assert u[0, 0] == (1.0 if t == 2 else 0.0) and scnt[0] == (t == 2)
    assert counts[0, 0] == 1 and v[0, 0] == pytest.approx(0.5)
    assert totals[0][0] == 1 and totals[1][0] == 3


@pytest.mark.parametrize("kind", ["none", "lowpass", "alpha"])
def test_synapse_step_response_is_the_analytic_curve(kind: str) -> None:
    tau, steps = 0.005, 60
    filt = SynapseFilter(kind, tau, DT)
    filt.reset(1, 1)
    got = np.array([filt.step(np.ones((1, 1), np.float32))[0, 0] for _ in range(steps)])
    t = DT * np.arange(1, steps + 1)
    expect = {"none": np.ones(steps), "lowpass": 1.0 - np.exp(-t / tau),
              "alpha": 1.0 - (1.0 + t / tau) * np.exp(-t / tau)}[kind]
    np.testing.assert_allclose(got, expect, atol=2e-6)


def test_alpha_impulse_response_integrates_to_one_and_peaks_at_tau() -> None:
    tau = 0.01
    filt = SynapseFilter("alpha", tau, DT)
    filt.reset(1, 1)
    u = np.zeros((1, 1), np.float32)
    u[0, 0] = 1.0 / DT  # one spike
    y = [filt.step(u)[0, 0]]
    u[0, 0] = 0.0
    y += [filt.step(u)[0, 0] for _ in range(300)]
    assert sum(y) * DT == pytest.approx(1.0, rel=1e-4)
    assert abs(int(np.argmax(y)) - round(tau / DT)) <= 1


def test_zero_tau_means_no_filter() -> None:
    filt = SynapseFilter("alpha", 0.0, DT)
    filt.reset(2, 3)
    u = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert filt.step(u) is u
    assert math.isclose(SynapseFilter("lowpass", 0.002, DT).r, math.exp(-0.5))


# ---- the two-pass kernels against a plain one-pass loop (the original kernels) -----------------

@numba.njit(cache=True)
def _lif_reference(x, gain, bias, v, ref, counts, u, dt, tau_rc, tau_ref, out):
    nb, n = v.shape
    decay = math.exp(-dt / tau_rc)
    for b in range(nb):
        for i in range(n):
            j = gain * float(x[b, i]) + bias[i]
            r = float(ref[b, i])
            if r >= dt:
                ref[b, i] = r - dt
                u[b, i] = 0.0
                continue
            vi = float(v[b, i])
            if r > 0.0:
                delta = dt - r
                vi = j + (vi - j) * math.exp(-delta / tau_rc)
            else:
                delta = dt
                vi = j + (vi - j) * decay
            r = 0.0
            if vi > 1.0:
                ratio = (vi - 1.0) / (j - 1.0) if j > 1.0 else 1.0
                since = delta if ratio >= 1.0 else min(-tau_rc * math.log1p(-ratio), delta)
                if since > tau_ref:
                    vi = -j * math.expm1(-(since - tau_ref) / tau_rc)
                else:
                    vi = 0.0
                    r = tau_ref - since
                u[b, i] = out
                counts[b, i] += 1
            else:
                if vi < 0.0:
                    vi = 0.0
                u[b, i] = 0.0
            v[b, i] = vi
            ref[b, i] = r


@numba.njit(cache=True)
def _if_reference(x, gain, bias, v, counts, u, dt, out):
    nb, n = v.shape
    for b in range(nb):
        for i in range(n):
            vi = v[b, i] + (gain * x[b, i] + bias[i]) * dt
            if vi >= 1.0:
                vi -= 1.0
                u[b, i] = out
                counts[b, i] += 1
            else:
                u[b, i] = 0.0
            v[b, i] = vi


@pytest.mark.parametrize("model", ["lif", "if"])
@pytest.mark.parametrize("tau_ref", [0.002, 0.0004, 0.0])
def test_neuron_kernels_equal_a_plain_loop_to_the_bit(model: str, tau_ref: float) -> None:
    rng = np.random.default_rng(int(tau_ref * 1e4))
    b, n, steps = 3, 500, 300
    bias = (rng.normal(size=n) * (1.0 if model == "lif" else 300.0)).astype(np.float32)
    gain = 1.7 if model == "lif" else 400.0
    v, ref, u, v0, ref0, u0 = (np.zeros((b, n), np.float32) for _ in range(6))
    counts, counts0 = np.zeros((b, n), np.int32), np.zeros((b, n), np.int32)
    sidx, scnt = np.zeros((b, n), np.int32), np.zeros(b, np.int64)
    totals = np.zeros(b, np.int64), np.zeros(b, np.int64)
    fan = rng.integers(0, 5, n).astype(np.int64)
    for _ in range(steps):  # input changing every step, from far below to far above threshold
        x = (rng.normal(size=(b, n)) * 2 + 0.5).astype(np.float32)
        if model == "lif":
            lif_step(x, gain, bias, v, ref, counts, fan, u, sidx, scnt, *totals, DT, 0.02,
                     tau_ref, 7.0)
            _lif_reference(x, gain, bias, v0, ref0, counts0, u0, DT, 0.02, tau_ref, 7.0)
        else:
            if_step(x, gain, bias, v, counts, fan, u, sidx, scnt, *totals, DT, 7.0)
            _if_reference(x, gain, bias, v0, counts0, u0, DT, 7.0)
        for a, want in ((v, v0), (ref, ref0), (u, u0), (counts, counts0)):
            np.testing.assert_array_equal(a, want)
        for row in range(b):
            np.testing.assert_array_equal(sidx[row, :scnt[row]], np.flatnonzero(u0[row]))
    assert counts.sum() > steps * b * n * 0.02  # it spiked, and was refractory, often
    np.testing.assert_array_equal(totals[0], counts.sum(axis=1))
    np.testing.assert_array_equal(totals[1], (counts * fan).sum(axis=1))

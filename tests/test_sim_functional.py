"""simulate(): decoding, encoders, event counting, traces, warnings and errors on small nets."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from snncc.convert.net import InputSource, Population, Projection, Readout, SpikingNet
from snncc.errors import ConversionError, SimulationError
from snncc.ir import layers as L
from snncc.ir._interp import LAYER_FUNCTIONS
from snncc.sim import SimResult, SpikeTrace, simulate


def _dense(name: str, w: np.ndarray) -> L.Dense:
    return L.Dense(name=name, inputs=("pre",), shape=(w.shape[0],), weight=np.asarray(w, float))


def _proj(pre: str, post: str, *ops: L.Layer, pre_shape: tuple[int, ...]) -> Projection:
    return Projection(name=f"{pre}->{post}", pre=pre, post=post, ops=ops, pre_shape=pre_shape,
                      post_shape=ops[-1].shape)


def mlp(w1: np.ndarray, w2: np.ndarray, bias: np.ndarray, model: str = "lif",
        synapse: str = "alpha", amplitude: float = 0.01, **net: object) -> SpikingNet:
    """x -> Dense w1 -> population -> Dense w2 -> readout."""
    n_in, n_hid = w1.shape[1], w1.shape[0]
    pop = Population(name="h", shape=(n_hid,), model=model, tau_rc=0.02, tau_ref=0.002,
                     gain=1.0, bias=np.asarray(bias, float), amplitude=amplitude)
    return SpikingNet(
        inputs=(InputSource(name="x", shape=(n_in,)),), populations=(pop,),
        projections=(_proj("x", "h", _dense("d1", w1), pre_shape=(n_in,)),
                     _proj("h", "y", _dense("d2", w2), pre_shape=(n_hid,))),
        readouts=(Readout(name="y", shape=(w2.shape[0],), bias=np.zeros(w2.shape[0])),),
        synapse=synapse, **net)  # type: ignore[arg-type]


def counting_net() -> SpikingNet:
    """2 inputs -> dense 3x2 (zero) -> IF neurons at 250, 500, 0 Hz -> dense 2x3 readout.

    With dt = 1 ms, J*dt = 0.25 and 0.5 exactly: 25 and 50 spikes per 100 steps.
    """
    return mlp(np.zeros((3, 2)), np.ones((2, 3)), np.array([250.0, 500.0, 0.0]), model="if",
               synapse="none", amplitude=0.001)


@pytest.mark.parametrize("synapse", ["none", "lowpass", "alpha"])
def test_spiking_outputs_approach_the_rate_model(synapse: str) -> None:
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(30, 4)) * 2, rng.normal(size=(3, 30))
    net = mlp(w1, w2, np.ones(30), synapse=synapse)
    x = rng.random((6, 4))
    res = simulate(net, x, presentation_s=3.0, readout_start=0.1)
    pop = net.populations[0]
    ann = (pop.rate(x @ w1.T, net.dt) * pop.amplitude) @ w2.T
    assert np.abs(ann).max() > 0.5
    np.testing.assert_allclose(res.outputs, ann, atol=0.01 * np.abs(ann).max())
    assert res.outputs.dtype == np.float64 and res.predictions.dtype == np.int64
    np.testing.assert_array_equal(res.predictions, res.outputs.argmax(axis=1))


def test_conv_pool_net_approaches_the_rate_model() -> None:
    rng = np.random.default_rng(3)
    conv = L.Conv2d(name="c", inputs=("x",), shape=(3, 6, 6), padding=(1, 1, 1, 1),
                    weight=rng.normal(size=(3, 1, 3, 3)))
    pool = L.AvgPool2d(name="p", inputs=("h",), shape=(3, 3, 3), kernel=(2, 2), stride=(2, 2))
    flat = L.Reshape(name="f", inputs=("p",), shape=(27,))
    fc = _dense("d", rng.normal(size=(4, 27)))
    pop = Population(name="h", shape=(3, 6, 6), model="lif", tau_rc=0.02, tau_ref=0.002,
                     gain=2.0, bias=np.full((3, 6, 6), 1.5), amplitude=0.02)
    net = SpikingNet(inputs=(InputSource(name="x", shape=(1, 6, 6)),), populations=(pop,),
                     projections=(_proj("x", "h", conv, pre_shape=(1, 6, 6)),
                                  _proj("h", "y", pool, flat, fc, pre_shape=(3, 6, 6))),
                     readouts=(Readout(name="y", shape=(4,), bias=np.ones(4)),))
    x = rng.random((5, 1, 6, 6))
    res = simulate(net, x, presentation_s=3.0, readout_start=0.1)
    act = pop.rate(LAYER_FUNCTIONS[L.Conv2d](conv, [x]), net.dt) * pop.amplitude
    pooled = LAYER_FUNCTIONS[L.AvgPool2d](pool, [act]).reshape(5, -1)
    ann = LAYER_FUNCTIONS[L.Dense](fc, [pooled]) + 1.0
    np.testing.assert_allclose(res.outputs, ann, atol=0.01 * np.abs(ann).max())
    assert res.input_macs == conv.synapses([(1, 6, 6)])


def test_labels_give_accuracy() -> None:
    rng = np.random.default_rng(1)
    net = mlp(rng.normal(size=(8, 3)), rng.normal(size=(4, 8)), np.ones(8))
    x = rng.random((10, 3))
    res = simulate(net, x, presentation_s=0.1)
    assert simulate(net, x, res.predictions, presentation_s=0.1).accuracy == 1.0
    wrong = (res.predictions + 1) % 4
    assert simulate(net, x, wrong, presentation_s=0.1).accuracy == 0.0
    assert res.accuracy is None


def test_event_counting_by_hand() -> None:
    res = simulate(counting_net(), np.ones((2, 2)), presentation_s=0.1)
    assert res.steps == 100
    np.testing.assert_array_equal(res.spikes, [75, 75])
    np.testing.assert_array_equal(res.synaptic_events, [150, 150])  # fan-out 2 per spike
    assert res.input_macs == 6 and res.neuron_updates == 300
    np.testing.assert_array_equal(res.input_spikes, [0, 0])
    np.testing.assert_allclose(res.rates["h"], [25.0, 50.0, 0.0])
    poisson = simulate(counting_net(), np.full((2, 2), 0.5), presentation_s=0.1,
                       encoder="poisson")
    assert poisson.input_macs == 0 and poisson.input_spikes.min() > 0
    np.testing.assert_array_equal(poisson.synaptic_events, 150 + 3 * poisson.input_spikes)


def test_readout_is_averaged_over_the_window() -> None:
    # neuron 0 spikes at steps 3, 7, ..., 99; readout y = spikes (amplitude/dt = 1, weight 1)
    net = counting_net()
    whole = simulate(net, np.ones((1, 2)), presentation_s=0.1, readout_start=0.0)
    late = simulate(net, np.ones((1, 2)), presentation_s=0.1, readout_start=0.5)
    np.testing.assert_allclose(whole.outputs, [[0.75, 0.75]])
    np.testing.assert_allclose(late.outputs, [[(13 + 25) / 50, (13 + 25) / 50]])


def test_current_input_transform_and_direct_readout() -> None:
    ident = L.ChannelAffine(name="id", inputs=("x",), shape=(3,), scale=np.ones(1),
                            shift=np.zeros(1))
    net = SpikingNet(inputs=(InputSource(name="x", shape=(3,), scale=np.array([2.0, 2, 2]),
                                         shift=np.array([1.0, 0, 0])),),
                     populations=(), projections=(_proj("x", "y", ident, pre_shape=(3,)),),
                     readouts=(Readout(name="y", shape=(3,), bias=np.array([0.0, 0.5, 0])),))
    x = np.array([[0.25, -0.5, 0.75]])
    res = simulate(net, x, presentation_s=0.01)
    np.testing.assert_allclose(res.outputs, [[1.5, -0.5, 1.5]], rtol=1e-6)
    assert res.input_macs == 3 and res.silent == []
    # transformed input [0.6, -0.6, 0.2]: the Poisson signal is unbiased in [-1, 1]
    pois = simulate(net, np.array([[-0.2, -0.3, 0.1]]), presentation_s=4.0, encoder="poisson")
    np.testing.assert_allclose(pois.outputs, [[0.6, -0.1, 0.2]], atol=0.05)
    assert pois.input_macs == 0 and pois.synaptic_events[0] == pois.input_spikes[0]


def test_poisson_is_deterministic_and_independent_of_batch_size() -> None:
    # binary-fraction weights and IF neurons without filtering: every sum is exact
    rng = np.random.default_rng(2)
    net = mlp(rng.integers(-4, 5, (6, 4)) / 8, rng.integers(-4, 5, (3, 6)) / 8,
              np.full(6, 100.0), model="if", synapse="none", amplitude=0.001)
    x = rng.random((7, 4)) * 2 - 1
    kw: dict = dict(presentation_s=0.2, encoder="poisson", record_counts=True)
    a = simulate(net, x, seed=5, **kw)
    b = simulate(net, x, seed=5, batch_size=3, **kw)
    c = simulate(net, x, seed=6, **kw)
    for field in ("outputs", "spikes", "synaptic_events", "input_spikes"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    np.testing.assert_array_equal(a.counts["h"], b.counts["h"])  # type: ignore[index]
    assert not np.array_equal(a.input_spikes, c.input_spikes)


def test_gate_maxpool_passes_the_most_active_neuron() -> None:
    bias = np.array([100.0, 400.0, 200.0, 360.0]).reshape(1, 2, 2)
    pop = Population(name="a", shape=(1, 2, 2), model="if", tau_rc=0.02, tau_ref=0.0, gain=1.0,
                     bias=bias, amplitude=0.001)
    pool = L.MaxPool2d(name="mp", inputs=("a",), shape=(1, 1, 1), kernel=(2, 2), stride=(2, 2))
    flat = L.Reshape(name="f", inputs=("mp",), shape=(1,))
    zero = L.Dense(name="z", inputs=("x",), shape=(4,), weight=np.zeros((4, 1)))
    to_pop = L.Reshape(name="r", inputs=("z",), shape=(1, 2, 2))
    # deep: the pool reads an affine's output, so the gate keys on its cumulative signal
    affine = L.ChannelAffine(name="s", inputs=("a",), shape=(1, 2, 2), scale=np.ones(1),
                             shift=np.zeros(1))
    outs = {}
    for method in ("gate", "avg", "filtered", "deep"):
        ops = (affine, pool, flat) if method == "deep" else (pool, flat)
        net = SpikingNet(
            inputs=(InputSource(name="x", shape=(1,)),), populations=(pop,),
            projections=(_proj("x", "a", zero, to_pop, pre_shape=(1,)),
                         _proj("a", "y", *ops, pre_shape=(1, 2, 2))),
            readouts=(Readout(name="y", shape=(1,), bias=np.zeros(1)),),
            maxpool="gate" if method == "deep" else method,
            synapse="lowpass", tau_s=0.01)
        res = simulate(net, np.zeros((1, 1)), presentation_s=2.0, readout_start=0.1)
        outs[method] = res.outputs[0, 0]
        if method == "gate":  # events: every spike reaches the one pooled value
            assert res.synaptic_events[0] == res.spikes[0]
            assert abs(res.spikes[0] - 2120) <= 4
    assert outs["gate"] == pytest.approx(0.4, rel=0.01)
    assert outs["deep"] == pytest.approx(0.4, rel=0.01)
    assert outs["avg"] == pytest.approx(0.265, rel=0.01)
    assert outs["filtered"] > outs["gate"]


def test_trace_round_trips_through_npz(tmp_path: Path) -> None:
    res = simulate(counting_net(), np.ones((3, 2)), presentation_s=0.1, trace_inputs=2,
                   batch_size=1, record_counts=True)
    trace = res.trace
    assert isinstance(trace, SpikeTrace) and len(trace) == 2
    assert trace.populations == ("h",) and list(trace.offsets) == [0, 3]
    steps, neurons = trace.steps[0], trace.neurons[0]
    assert steps.dtype == neurons.dtype == np.int32
    assert np.all(np.diff(steps.astype(np.int64) * 10 + neurons) > 0)  # sorted step, neuron
    np.testing.assert_array_equal(np.bincount(neurons, minlength=3),
                                  res.counts["h"][0])  # type: ignore[index]
    assert list(steps[:3]) == [1, 3, 3] and list(neurons[:3]) == [1, 0, 1]
    path = tmp_path / "trace.npz"
    trace.to_npz(path)
    back = SpikeTrace.from_npz(path)
    assert back.populations == trace.populations and back.n_steps == 100 and back.dt == 0.001
    for a, b in zip((*trace.steps, *trace.neurons), (*back.steps, *back.neurons), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(SimulationError, match="not a spike trace"):
        SpikeTrace.from_npz(tmp_path / "missing.npz")


def test_silent_population_is_reported() -> None:
    net = mlp(np.zeros((3, 2)), np.ones((2, 3)), np.zeros(3))
    with pytest.warns(RuntimeWarning, match="population 'h' emitted no spikes"):
        res = simulate(net, np.ones((2, 2)), presentation_s=0.05)
    assert res.silent == ["h"] and not res.spikes.any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert simulate(counting_net(), np.ones((1, 2)), presentation_s=0.05).silent == []


def test_result_fields_and_progress_never_on_stdout(capsys: pytest.CaptureFixture) -> None:
    res = simulate(counting_net(), np.ones((2, 2)), presentation_s=0.02, progress=True,
                   record_counts=True)
    assert capsys.readouterr().out == ""
    assert isinstance(res, SimResult) and res.trace is None and res.dt == 0.001
    assert res.counts is not None and res.counts["h"].shape == (2, 3)
    assert res.counts["h"].dtype == np.int32 and set(res.all_outputs) == {"y"}
    assert res.presentation_s == pytest.approx(0.02)
    assert simulate(counting_net(), np.ones((2, 2)), presentation_s=0.02).counts is None


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(x=np.ones((2, 3))), r"input 'x': expected shape \(N, 2\) with N >= 1, got \(2, 3\)"),
    (dict(x=np.ones(2)), r"expected shape \(N, 2\) with N >= 1, got \(2,\)"),
    (dict(x=np.array([[np.nan, 1.0], [0.0, 1.0]])), r"input 'x': 1 NaN/Inf values after"),
    (dict(labels=np.array([0, 1, 1])), r"labels: expected shape \(2,\) for 2 inputs, got \(3,\)"),
    (dict(labels=np.array([0.0, 1.0])), r"labels must be integer class indices in \[0, 2\)"),
    (dict(labels=np.array([0, 2])), r"labels must be integer class indices in \[0, 2\)"),
    (dict(presentation_s=0.0004), r"presentation_s=0.0004 s is shorter than one timestep"),
    (dict(encoder="rate"), r"unknown encoder 'rate'; known: current, poisson"),
    (dict(readout_start=1.0), r"readout_start must be in \[0, 1\), got 1.0"),
    (dict(readout_start=-0.1), r"readout_start must be in \[0, 1\), got -0.1"),
])
def test_errors_name_the_problem(kwargs: dict, message: str) -> None:
    args: dict = dict(x=np.ones((2, 2)), labels=None)
    args.update(kwargs)
    with pytest.raises(SimulationError, match=message):
        simulate(counting_net(), args.pop("x"), args.pop("labels"), **args)


def test_several_inputs_are_refused() -> None:
    net = counting_net()
    two = SpikingNet(inputs=(*net.inputs, InputSource(name="x2", shape=(2,))),
                     populations=net.populations, projections=net.projections,
                     readouts=net.readouts)
    with pytest.raises(SimulationError, match=r"2 input sources \(\['x', 'x2'\]\)"):
        simulate(two, np.ones((1, 2)))


def test_unknown_maxpool_method_is_refused() -> None:
    net = counting_net()
    with pytest.raises(ConversionError, match="unknown maxpool method 'median'"):
        SpikingNet(inputs=net.inputs, populations=net.populations, projections=net.projections,
                   readouts=net.readouts, maxpool="median")

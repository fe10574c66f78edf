"""snncc's functional simulator against nengo (the reference simulator) on the MNIST network.

One invocation measures both: ``snncc.sim.simulate`` on N MNIST test images (quick 100, full
1000), and the same converted SpikingNet translated into a nengo model by :func:`to_nengo`, run
with ``nengo.Simulator`` (reference NumPy backend) on the first few of those images (nengo runs
one image at a time and is slow). Both use dt 1 ms and 200 ms per image and decode the readout
averaged over the second half of each presentation.

Compared: seconds per image; synaptic events per second (the same event count -- snncc's, for
the same images -- over each simulator's run time); their ratio (nengo / snncc; the floor is
``> 1``: snncc faster; nengo's faster run mode is used, see below); nengo's build time
separately; the agreement of nengo's predictions with snncc's; and, on a few images, of the
spike counts of every population.

The translation (:func:`to_nengo`), op by op, with the same equations as snncc:

* Population -> ``nengo.Ensemble(n, 1)`` used through ``.neurons``, ``gain`` and ``bias`` given,
  encoders 1; LIF -> ``nengo.LIF(tau_rc, tau_ref, amplitude)`` with initial voltage 0 (nengo's
  default is uniform in [0, 1)); IF -> :class:`SnnccIF` (``v += J dt``, reset by subtraction, at
  most one spike per step, as snncc; nengo's SpikingRectifiedLinear floors ``J`` at 0 and may
  emit several spikes per step). nengo scales connections into ``.neurons`` by the gain, so
  ``J = gain * x + bias`` as in snncc.
* Projection op chain -> one nengo Connection per op, through passthrough Nodes: Conv2d ->
  ``nengo.Convolution(channels_last=False, groups=...)`` (valid or TensorFlow-"same" padding,
  no dilation), Dense -> ``nengo.Dense``, AvgPool2d (and MaxPool2d under ``maxpool="avg"``) ->
  a grouped ``nengo.Convolution`` with a constant 1/(kh*kw) kernel, ChannelAffine ->
  diagonal ``nengo.Dense``, ChannelEmbed -> ``nengo.Sparse``, Reshape -> nothing (both flatten
  row-major, channels first). Any linear op whose geometry nengo's Convolution cannot express
  (explicit asymmetric padding, dilation, ceil mode, pooling divisors that vary at the border)
  becomes the op's exact matrix as a ``nengo.Sparse`` transform. MaxPool2d under ``gate`` or
  ``filtered`` is a Node running snncc's own pooling kernel (the gate keyed by the source's
  cumulative spike output, as snncc keys it by spike counts).
* The synapse (``nengo.Alpha(tau_s)`` / ``Lowpass``) sits on the first connection out of a
  population only: snncc filters once on the pre side, and the filter commutes with the linear
  ops. The input (constant-current encoder) is not filtered.
* Input -> a Node presenting image ``k`` during ``[k p, (k+1) p)`` (``PresentInput``'s rule, with
  a movable first image, so one build serves both run modes below) after the input source's
  scale/shift; readout -> a Node summing its projections plus a constant bias Node, probed.

Known differences: nengo delays every connection that has a synapse by one step (the filter is
an update operator), so each layer lags by 1 ms more than in snncc; nengo computes in float64,
snncc in float32; and nengo recomputes the input layer's convolution every step, where snncc
computes it once per image (the input is constant). Two nengo run modes are timed: ``continuous``
(the idiomatic one: all images in one ``run``, state carried over between images) and ``fresh``
(``sim.reset()`` before each image, each image from a fresh state exactly as snncc does; the
reset is included in its run time and also reported). Only ``fresh`` computes what snncc
computes; ``continuous`` differs by the carried-over state (small for LIF, whose voltage leaks and
is floored at 0; large for IF, whose voltage keeps any deficit).

Both simulators run with BLAS limited to one thread (``$SNNCC_BENCH_BLAS_THREADS``, through
threadpoolctl when installed): one core each, and no OpenBLAS spin-waiting when the machine's
other core is busy, which otherwise slows small matrix products 10-40x, erratically. Wall and
CPU seconds are reported, and the load average before and after.

Model: ``benchmarks/models/mnist_softlif.onnx`` (the trained soft-LIF network of
``benchmarks/train_softlif.py``) when it exists, else the Hunsberger-shaped random-weight
SpikingNet of ``benchmarks/bench_sim.py`` scaled on the same MNIST images (the result says which).

Needs nengo: ``pip install -e .[bench]``.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from benchmarks._runner import benchmark
from snncc.convert.net import ChannelEmbed, SpikingNet, apply_op
from snncc.ir import layers as L

try:
    import nengo
except ImportError:  # the benchmark says how to install it when run
    nengo = None  # type: ignore[assignment]

HERE = Path(__file__).resolve().parent
MODEL = HERE / "models" / "mnist_softlif.onnx"
PRESENTATION_S = 0.2
DT = 0.001
INSTALL_HINT = "the nengo benchmark needs nengo: pip install -e .[bench]  (or pip install nengo)"


def _need_nengo() -> None:
    if nengo is None:
        raise RuntimeError(INSTALL_HINT)


# --------------------------------------------------------------------------- neuron types

if nengo is not None:
    from nengo.params import NumberParam

    class SnnccIF(nengo.neurons.NeuronType):
        """snncc's IF neuron: ``v += J dt``; spike when ``v >= 1``, then ``v -= 1``.

        At most one spike per step, no leak, no floor, no refractory period (unlike
        ``nengo.SpikingRectifiedLinear``, which floors ``J`` at 0 and may spike several times
        per step).
        """

        state: ClassVar[dict[str, Any]] = {"voltage": nengo.dists.Choice([0.0])}
        spiking = True
        amplitude = NumberParam("amplitude", low=0, low_open=True)

        def __init__(self, amplitude: float = 1.0, initial_state: Any = None) -> None:
            super().__init__(initial_state)
            self.amplitude = amplitude

        def rates(self, x: Any, gain: Any, bias: Any) -> np.ndarray:
            """Steady-state rate ``clip(J, 0, 1/dt)`` at dt = 1 ms."""
            j = self.current(x, gain, bias)
            return np.clip(j, 0.0, 1.0 / DT)

        def step(self, dt: float, J: np.ndarray, output: np.ndarray,
                 voltage: np.ndarray) -> None:
            voltage += J * dt
            spiked = voltage >= 1.0
            output[:] = spiked * (self.amplitude / dt)
            voltage[spiked] -= 1.0

    class _MaxPoolProcess(nengo.Process):
        """A spiking max-pool Node (``gate`` or ``filtered``) running snncc's kernels.

        Under ``gate`` the Node's input is ``[signal, raw]`` when ``head`` (the raw spike output
        of the source, whose running sum orders the window's inputs as snncc's spike counts do),
        else ``signal`` alone (keyed by its own running sum, as snncc keys a gate deeper in the
        chain).
        """

        def __init__(self, op: L.MaxPool2d, in_shape: tuple[int, ...], method: str,
                     head: bool) -> None:
            from snncc.sim._kernels import pool_geometry

            n_in = math.prod(in_shape)
            self.op, self.in_shape, self.method, self.head = op, in_shape, method, head
            self.geometry = pool_geometry(op, in_shape)
            size_in = 2 * n_in if (method == "gate" and head) else n_in
            super().__init__(default_size_in=size_in, default_size_out=math.prod(op.shape))

        def make_step(self, shape_in: Any, shape_out: Any, dt: float, rng: Any,
                      state: Any) -> Any:
            from snncc.sim._kernels import gate_maxpool2d, maxpool2d

            n_in = math.prod(self.in_shape)
            shape4 = (1, *self.in_shape)
            g = self.geometry
            if self.method != "gate":
                return lambda t, x: maxpool2d(x.reshape(shape4).astype(np.float32),
                                              g).reshape(-1)
            key = np.zeros(shape4, np.float64)
            head = self.head

            def step(t: float, x: np.ndarray) -> np.ndarray:
                sig = x[:n_in].reshape(shape4)
                key[...] += x[n_in:].reshape(shape4) if head else sig
                return gate_maxpool2d(sig.astype(np.float32), key, g).reshape(-1)

            return step


class Stimulus:
    """The input Node's images: image ``first + k`` during ``[k p, (k+1) p)`` of a run.

    The same indexing as ``nengo.processes.PresentInput``; ``first`` can be moved between runs
    (after ``sim.reset()``) to present any image from a fresh state without a rebuild.
    """

    def __init__(self, net: SpikingNet, presentation_s: float) -> None:
        self.inp = net.inputs[0]
        self.presentation_s = float(presentation_s)
        self.dt = float(net.dt)
        self.images = np.zeros((1, self.inp.size))
        self.first = 0

    def set(self, x: np.ndarray, first: int = 0) -> None:
        """Present ``x`` (N, *input shape), before the input source's scale/shift."""
        xf = np.asarray(x, dtype=np.float64)
        if self.inp.scale is not None:
            xf = xf * self.inp.scale
        if self.inp.shift is not None:
            xf = xf + self.inp.shift
        self.images = np.ascontiguousarray(xf.reshape(len(xf), -1))
        self.first = first

    def __call__(self, t: float) -> np.ndarray:
        i = self.first + int((t - self.dt) / self.presentation_s + 1e-7)
        return self.images[min(i, len(self.images) - 1)]


# --------------------------------------------------------------------------- transforms


def _exact_sparse(op: L.Layer, in_shape: tuple[int, ...], chunk_floats: int = 1 << 23) -> Any:
    """The op's exact (out, in) matrix, found by applying it to the unit vectors."""
    n_in, n_out = math.prod(in_shape), math.prod(op.shape)
    rows, cols, vals = [], [], []
    step = max(1, chunk_floats // max(n_out, n_in))
    for c0 in range(0, n_in, step):
        c1 = min(n_in, c0 + step)
        eye = np.zeros((c1 - c0, n_in))
        eye[np.arange(c1 - c0), np.arange(c0, c1)] = 1.0
        y = apply_op(op, eye.reshape(c1 - c0, *in_shape)).reshape(c1 - c0, n_out)
        ci, ro = np.nonzero(y)
        rows.append(ro)
        cols.append(ci + c0)
        vals.append(y[ci, ro])
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n_out, n_in))


def _conv_padding(op: L.Conv2d | L.AvgPool2d | L.MaxPool2d,
                  in_shape: tuple[int, ...]) -> str | None:
    """``valid`` / ``same`` when nengo's Convolution pads exactly as ``op``, else None."""
    (kh, kw), (sh, sw) = op.kernel, op.stride
    h, w = in_shape[1], in_shape[2]
    if getattr(op, "ceil_mode", False) or tuple(getattr(op, "dilation", (1, 1))) != (1, 1):
        return None
    ho, wo = op.shape[1], op.shape[2]
    if tuple(op.padding) == (0, 0, 0, 0) and (ho, wo) == ((h - kh) // sh + 1,
                                                          (w - kw) // sw + 1):
        return "valid"
    if (ho, wo) != (math.ceil(h / sh), math.ceil(w / sw)):
        return None
    ph, pw = max((ho - 1) * sh + kh - h, 0), max((wo - 1) * sw + kw - w, 0)
    same = (ph // 2, pw // 2, ph - ph // 2, pw - pw // 2)
    return "same" if tuple(op.padding) == same else None


def op_transform(op: L.Layer, in_shape: tuple[int, ...], maxpool: str = "avg") -> Any:
    """The nengo transform of a linear projection op (None for a Reshape).

    Raises:
        ValueError: for a MaxPool2d that is not linear under ``maxpool`` (``gate`` /
            ``filtered``; those are Nodes) or an op type a projection cannot hold.
    """
    _need_nengo()
    n_in, n_out = math.prod(in_shape), math.prod(op.shape)
    if isinstance(op, L.Reshape):
        return None
    if isinstance(op, L.Dense):
        w = np.asarray(op.weight, dtype=np.float64)
        return nengo.Dense(w.shape, init=w)
    if isinstance(op, L.Conv2d):
        pad = _conv_padding(op, in_shape)
        if pad is None or op.bias is not None:
            return nengo.Sparse((n_out, n_in), init=_exact_sparse(op, in_shape))
        kernel = np.asarray(op.weight, dtype=np.float64).transpose(2, 3, 1, 0)
        return nengo.Convolution(op.shape[0], in_shape, kernel_size=op.kernel,
                                 strides=op.stride, padding=pad, channels_last=False,
                                 init=kernel, groups=op.groups)
    if isinstance(op, L.AvgPool2d) or (isinstance(op, L.MaxPool2d) and maxpool == "avg"):
        pad = _conv_padding(op, in_shape)
        if pad != "valid":  # border windows have other divisors: the exact matrix
            return nengo.Sparse((n_out, n_in), init=_exact_sparse(
                op if isinstance(op, L.AvgPool2d) else L.AvgPool2d(
                    name=op.name, inputs=op.inputs, shape=op.shape, kernel=op.kernel,
                    stride=op.stride, padding=op.padding, ceil_mode=op.ceil_mode),
                in_shape))
        c, (kh, kw) = in_shape[0], op.kernel
        kernel = np.full((kh, kw, 1, c), 1.0 / (kh * kw))
        return nengo.Convolution(c, in_shape, kernel_size=op.kernel, strides=op.stride,
                                 padding="valid", channels_last=False, init=kernel, groups=c)
    if isinstance(op, L.ChannelAffine):
        if np.any(op.shift):
            raise ValueError(f"{op.name}: a projection's ChannelAffine must have zero shift")
        per = n_out // op.shape[0]
        scale = np.broadcast_to(np.asarray(op.scale, np.float64).reshape(-1),
                                (op.shape[0],))
        return nengo.Dense((n_out, n_in), init=np.repeat(scale, per))
    if isinstance(op, ChannelEmbed):
        per = n_in // in_shape[0]
        idx = np.arange(n_in)
        return nengo.Sparse((n_out, n_in),
                            indices=np.stack([op.offset * per + idx, idx], axis=1),
                            init=np.ones(n_in))
    raise ValueError(f"{op.name}: op {op.op} has no nengo transform")


def _is_nonlinear(op: L.Layer, maxpool: str) -> bool:
    return isinstance(op, L.MaxPool2d) and maxpool != "avg"


def connect_chain(pre: Any, pre_shape: tuple[int, ...], ops: Sequence[L.Layer], post: Any,
                  synapse: Any, maxpool: str = "avg") -> int:
    """Connect ``pre`` to ``post`` through ``ops``; returns the number of Connections made.

    One Connection per op through passthrough Nodes; ``synapse`` on the first only (and on the
    raw-spike key input of a gate max-pool at the head, none).
    """
    src, shape, syn, made = pre, tuple(pre_shape), synapse, 0
    work = [op for op in ops if not isinstance(op, L.Reshape)]
    for k, op in enumerate(work):
        last = k == len(work) - 1
        if _is_nonlinear(op, maxpool):
            head = made == 0
            node = nengo.Node(_MaxPoolProcess(op, shape, maxpool, head), label=op.name)
            n_in = math.prod(shape)
            if maxpool == "gate" and head:
                nengo.Connection(src, node[:n_in], synapse=syn)
                nengo.Connection(src, node[n_in:], synapse=None)
                made += 2
            else:
                nengo.Connection(src, node, synapse=syn)
                made += 1
            if last:
                nengo.Connection(node, post, synapse=None)
                made += 1
        else:
            node = post if last else nengo.Node(size_in=math.prod(op.shape), label=op.name)
            nengo.Connection(src, node, transform=op_transform(op, shape, maxpool), synapse=syn)
            made += 1
        src, shape, syn = node, tuple(op.shape), None
    if not work:  # one-to-one (or reshapes only)
        nengo.Connection(src, post, synapse=syn)
        made += 1
    return made


# --------------------------------------------------------------------------- the network


def _synapse(net: SpikingNet) -> Any:
    if net.synapse == "none" or net.tau_s <= 0:
        return None
    return nengo.Lowpass(net.tau_s) if net.synapse == "lowpass" else nengo.Alpha(net.tau_s)


def to_nengo(net: SpikingNet, presentation_s: float = PRESENTATION_S, *,
             spike_probes: bool = False, seed: int = 0) -> tuple[Any, Any]:
    """Translate ``net`` into a nengo Network; returns it and the probe of the first readout.

    The Network also carries ``stimulus`` (the :class:`Stimulus` feeding the input Node: call
    ``stimulus.set(x)`` before running), ``readout_probes`` (readout name -> Probe),
    ``pop_ensembles`` (population name -> Ensemble) and ``spike_probes`` (population name -> Probe
    of its spikes, when ``spike_probes``).
    """
    _need_nengo()
    if len(net.inputs) != 1:
        raise ValueError("to_nengo takes a net with exactly one input source")
    syn = _synapse(net)
    inp = net.inputs[0]
    model = nengo.Network(label="snncc", seed=seed)
    with model:
        stimulus = Stimulus(net, presentation_s)
        objs: dict[str, Any] = {inp.name: nengo.Node(stimulus, size_out=inp.size,
                                                     label=inp.name)}
        ensembles = {}
        for p in net.populations:
            if p.model == "lif":
                ntype = nengo.LIF(tau_rc=p.tau_rc, tau_ref=p.tau_ref, amplitude=p.amplitude,
                                  initial_state={"voltage": nengo.dists.Choice([0.0])})
            else:
                ntype = SnnccIF(amplitude=p.amplitude)
            ens = nengo.Ensemble(p.size, 1, neuron_type=ntype, gain=np.full(p.size, p.gain),
                                 bias=np.asarray(p.bias, np.float64).reshape(-1),
                                 encoders=np.ones((p.size, 1)), label=p.name)
            ensembles[p.name] = ens
            objs[p.name] = ens.neurons
        readout_probes = {}
        for r in net.readouts:
            size = math.prod(r.shape)
            node = nengo.Node(size_in=size, label=r.name)
            bias = np.broadcast_to(np.asarray(r.bias, np.float64), r.shape).reshape(-1)
            if np.any(bias):
                nengo.Connection(nengo.Node(bias, label=f"{r.name}:bias"), node, synapse=None)
            objs[r.name] = node
            readout_probes[r.name] = nengo.Probe(node, synapse=None)
        for proj in net.projections:
            connect_chain(objs[proj.pre], proj.pre_shape, proj.ops, objs[proj.post],
                          None if proj.pre == inp.name else syn, net.maxpool)
        probes = ({name: nengo.Probe(ens.neurons, "output", synapse=None)
                   for name, ens in ensembles.items()} if spike_probes else {})
    model.stimulus = stimulus
    model.readout_probes = readout_probes
    model.pop_ensembles = ensembles
    model.spike_probes = probes
    return model, readout_probes[net.readouts[0].name]


def _decode(data: np.ndarray, n: int, steps: int, start: int) -> np.ndarray:
    return data.reshape(n, steps, -1)[:, start:].mean(axis=1)


def _clock() -> np.ndarray:
    """Wall and CPU (this process, all threads) seconds, for differences."""
    return np.array([time.perf_counter(), time.process_time()])


def run_nengo(net: SpikingNet, x: np.ndarray, *, presentation_s: float = PRESENTATION_S,
              modes: Sequence[str] = ("continuous", "fresh"), readout_start: float = 0.5,
              spike_probes: bool = False, seed: int = 0) -> dict[str, Any]:
    """Build ``to_nengo(net)`` once and run ``x`` in each mode; decode as snncc does.

    ``continuous``: all images in one ``sim.run_steps`` (state carries over between images).
    ``fresh``: ``sim.reset()`` then one image, for each image (each from a fresh state).

    Returns: ``build_s`` / ``build_cpu_s``, and per mode ``run_s`` / ``run_cpu_s`` (wall and CPU
    seconds, resets included), ``reset_s`` (fresh), ``outputs`` (N, classes), ``predictions``,
    and ``counts`` (population -> (N, n) spike counts) with ``spike_probes``.
    """
    _need_nengo()
    model, probe = to_nengo(net, presentation_s, spike_probes=spike_probes, seed=seed)
    steps = round(presentation_s / net.dt)
    start = math.floor(readout_start * steps)
    n = len(x)
    t0 = _clock()
    with warnings.catch_warnings():  # nengo derives max_rates/intercepts from gain and bias; a
        warnings.simplefilter("ignore")  # neuron with bias <= 1 has none (inf / nan warnings)
        sim = nengo.Simulator(model, dt=net.dt, progress_bar=False, seed=seed)
    build = _clock() - t0
    out: dict[str, Any] = {"build_s": build[0], "build_cpu_s": build[1], "steps": steps,
                           "connections": len(model.all_connections),
                           "nodes": len(model.all_nodes)}

    def counts_of(data: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v).reshape(n, steps, -1).astype(bool).sum(axis=1)
                for k, v in data.items()}

    with sim:
        for mode in modes:
            sim.reset(seed=seed)
            model.stimulus.set(x)
            spikes: dict[str, list[np.ndarray]] = {k: [] for k in model.spike_probes}
            reset_s = 0.0
            if mode == "continuous":
                t0 = _clock()
                sim.run_steps(n * steps)
                run = _clock() - t0
                ys = _decode(sim.data[probe], n, steps, start)
                for k, p in model.spike_probes.items():
                    spikes[k].append(sim.data[p])
            elif mode == "fresh":
                rows, run = [], np.zeros(2)
                for i in range(n):
                    t0 = _clock()
                    if i:
                        sim.reset(seed=seed)
                    model.stimulus.first = i
                    reset_s += time.perf_counter() - t0[0]
                    sim.run_steps(steps)
                    run += _clock() - t0
                    rows.append(_decode(sim.data[probe], 1, steps, start)[0])
                    for k, p in model.spike_probes.items():
                        spikes[k].append(sim.data[p])
                ys = np.stack(rows)
            else:
                raise ValueError(f"unknown nengo run mode {mode!r}")
            out[mode] = {"run_s": float(run[0]), "run_cpu_s": float(run[1]),
                         "reset_s": reset_s, "outputs": ys, "predictions": ys.argmax(axis=1)}
            if spike_probes:
                out[mode]["counts"] = counts_of(spikes)
    return out


# --------------------------------------------------------------------------- the benchmark


def load_model(x: np.ndarray) -> tuple[SpikingNet, str]:
    """The converted trained MNIST model, else bench_sim's random-weight net scaled on ``x``."""
    import snncc

    if MODEL.is_file():
        graph = snncc.load_onnx(str(MODEL))
        net = snncc.convert(graph, calibration=x[:100], dt=DT)
        return net, f"trained soft-LIF MNIST model {MODEL.relative_to(HERE.parent)} (converted)"
    from benchmarks.bench_sim import mnist_net

    return mnist_net(x), ("random-weight Hunsberger-shaped MNIST net of benchmarks/bench_sim.py "
                          f"(mnist_net, scaled on the benchmark images; {MODEL.name} not found)")


def mnist_images(n: int, shape: tuple[int, ...] = (1, 28, 28)) -> tuple[np.ndarray, np.ndarray,
                                                                         str]:
    """The first ``n`` MNIST test images and labels ($SNNCC_MNIST, else ../shared/data/mnist)."""
    from benchmarks.datasets import mnist_test_dir
    from snncc.data import load_data

    folder = mnist_test_dir()
    data = load_data(f"mnist:{folder}", shape, limit=n)
    return data.x, data.y, str(folder)


def _blas_threads(n: int) -> Any:
    """Limit BLAS to ``n`` threads (threadpoolctl) for the block; a no-op without threadpoolctl.

    On a loaded 2-core machine OpenBLAS's default 2 threads spin-wait on each other: small
    products (batch-1 simulation, nengo's per-step dots) then run 10-40x slower, erratically.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def spike_agreement(net: SpikingNet, x: np.ndarray, *, presentation_s: float = PRESENTATION_S,
                    seed: int = 0) -> dict[str, Any]:
    """Per population: snncc's and nengo's (fresh mode) spike counts on ``x``, compared.

    A separate nengo build with spike probes (the timed model has only the readout probe).
    """
    from snncc.sim import simulate

    res = simulate(net, x, presentation_s=presentation_s, batch_size=1, record_counts=True,
                   progress=False)
    ng = run_nengo(net, x, presentation_s=presentation_s, modes=("fresh",), spike_probes=True,
                   seed=seed)["fresh"]
    assert res.counts is not None
    out: dict[str, Any] = {"images": len(x),
                           "prediction_agreement": float(np.mean(res.predictions
                                                                 == ng["predictions"]))}
    for p in net.populations:
        a = res.counts[p.name].reshape(len(x), -1).astype(np.float64)
        b = ng["counts"][p.name].astype(np.float64)
        diff = np.abs(a - b)
        corr = np.corrcoef(a.ravel(), b.ravel())[0, 1] if a.std() > 0 and b.std() > 0 else None
        out[p.name] = {
            "mean_count_snncc": float(a.mean()), "mean_count_nengo": float(b.mean()),
            "mean_abs_count_diff": float(diff.mean()),
            "fraction_identical_counts": float(np.mean(diff == 0)),
            "count_correlation": None if corr is None else float(corr),
        }
    return out


@benchmark("nengo")
def run(quick: bool = False) -> dict[str, Any]:
    """snncc on 100 (quick) / 1000 MNIST images, nengo on the first 10 / 40; same invocation.

    ``$SNNCC_NENGO_IMAGES`` overrides the nengo subset size. Wall and CPU seconds are both
    reported (CPU: this process, all threads). BLAS runs on ``$SNNCC_BENCH_BLAS_THREADS`` threads
    (default 1) for both simulators: each then uses one core (snncc's numba kernels and nengo's
    operators are single-threaded), and timings do not depend on the load of the other core.
    """
    _need_nengo()
    n_snncc, n_nengo, n_val = (100, 10, 2) if quick else (1000, 40, 10)
    n_nengo = int(os.environ.get("SNNCC_NENGO_IMAGES", n_nengo))
    threads = int(os.environ.get("SNNCC_BENCH_BLAS_THREADS", 1))
    with _blas_threads(threads) as limits:
        result = _measure(n_snncc, n_nengo, n_val)
    result["blas_threads"] = threads if limits is not None else "default (no threadpoolctl)"
    return result


def _measure(n_snncc: int, n_nengo: int, n_val: int) -> dict[str, Any]:
    from snncc.sim import simulate

    load_before = os.getloadavg()
    x, y, folder = mnist_images(max(n_snncc, n_nengo))
    net, model_note = load_model(x)
    with warnings.catch_warnings():  # a short warm-up may leave deep layers silent
        warnings.simplefilter("ignore", RuntimeWarning)
        simulate(net, x[:4], presentation_s=0.01, progress=False)  # numba cache, BLAS

    t0 = _clock()
    res = simulate(net, x[:n_snncc], y[:n_snncc], presentation_s=PRESENTATION_S,
                   batch_size=256, progress=False)
    snncc_s, snncc_cpu = _clock() - t0
    sub = slice(0, n_nengo)
    t0 = _clock()
    res1 = simulate(net, x[sub], y[sub], presentation_s=PRESENTATION_S, batch_size=1,
                    progress=False)
    snncc1_s, snncc1_cpu = _clock() - t0
    events_sub = int(res1.synaptic_events.sum())
    ng = run_nengo(net, x[sub], presentation_s=PRESENTATION_S)
    spikes = spike_agreement(net, x[:n_val])
    load_after = os.getloadavg()

    per_image = {"snncc_batched": snncc_s / n_snncc, "snncc_batch1": snncc1_s / n_nengo}
    cpu_per_image = {"snncc_batched": snncc_cpu / n_snncc, "snncc_batch1": snncc1_cpu / n_nengo}
    nengo_modes = {}
    scale = float(np.sqrt(np.mean(res1.outputs ** 2)))
    for mode in ("continuous", "fresh"):
        m = ng[mode]
        per_image[f"nengo_{mode}"] = m["run_s"] / n_nengo
        cpu_per_image[f"nengo_{mode}"] = m["run_cpu_s"] / n_nengo
        agree = res1.predictions == m["predictions"]
        nengo_modes[mode] = {
            "run_seconds": m["run_s"], "run_cpu_seconds": m["run_cpu_s"],
            "reset_seconds": m["reset_s"], "seconds_per_image": m["run_s"] / n_nengo,
            "synaptic_events_per_second": events_sub / m["run_s"],
            "prediction_agreement": float(agree.mean()),
            "disagreeing_images": [int(i) for i in np.flatnonzero(~agree)],
            "accuracy": float(np.mean(m["predictions"] == y[sub])),
            "readout_rms_diff_over_rms": float(
                np.sqrt(np.mean((m["outputs"] - res1.outputs) ** 2)) / scale),
        }
    best = min(("nengo_continuous", "nengo_fresh"), key=per_image.__getitem__)
    best_cpu = min(cpu_per_image["nengo_continuous"], cpu_per_image["nengo_fresh"])
    hz = {p: float(r.mean() / res.presentation_s) for p, r in res.rates.items()}
    events = int(res.synaptic_events.sum())
    return {
        "machine": platform.machine(), "python": platform.python_version(),
        "cpus": os.cpu_count(), "load_average_before_after": [load_before[0], load_after[0]],
        "nengo_version": nengo.__version__, "numpy": np.__version__,
        "model": model_note, "data": f"MNIST t10k from {folder}",
        "neurons": net.neurons, "synapses": net.synapses, "dt": net.dt,
        "presentation_s": PRESENTATION_S, "steps": res.steps,
        "synapse": f"{net.synapse} tau_s={net.tau_s}",
        "snncc": {
            "images": n_snncc, "batch_size": 256, "seconds": snncc_s, "cpu_seconds": snncc_cpu,
            "seconds_per_image": snncc_s / n_snncc, "accuracy": res.accuracy,
            "synaptic_events_per_image": events / n_snncc,
            "synaptic_events_per_second": events / snncc_s, "mean_rate_hz": hz,
        },
        "snncc_on_nengo_subset_batch1": {
            "images": n_nengo, "seconds": snncc1_s, "cpu_seconds": snncc1_cpu,
            "seconds_per_image": snncc1_s / n_nengo, "synaptic_events": events_sub,
            "synaptic_events_per_second": events_sub / snncc1_s, "accuracy": res1.accuracy,
            "predictions": [int(v) for v in res1.predictions],
        },
        "nengo": {
            "images": n_nengo, "simulator": "nengo.Simulator (reference, NumPy, float64)",
            "build_seconds": ng["build_s"], "build_cpu_seconds": ng["build_cpu_s"],
            "connections": ng["connections"], "nodes": ng["nodes"], "modes": nengo_modes,
            "predictions_fresh": [int(v) for v in ng["fresh"]["predictions"]],
        },
        "spike_count_agreement_fresh": spikes,
        "seconds_per_image": per_image,
        "cpu_seconds_per_image": cpu_per_image,
        "nengo_reference_mode": best.removeprefix("nengo_"),
        "time_ratio_nengo_over_snncc": per_image[best] / per_image["snncc_batched"],
        "time_ratio_nengo_over_snncc_batch1": per_image[best] / per_image["snncc_batch1"],
        "cpu_time_ratio_nengo_over_snncc": best_cpu / cpu_per_image["snncc_batched"],
        "cpu_time_ratio_nengo_over_snncc_batch1": best_cpu / cpu_per_image["snncc_batch1"],
        "events_per_second_ratio_snncc_over_nengo": _ratio(
            events / snncc_s, events_sub / (per_image[best] * n_nengo)),
        "faster_than_nengo": bool(per_image["snncc_batched"] < per_image[best]),
    }

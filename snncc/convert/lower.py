"""Lowering a LayerGraph to a SpikingNet (Hunsberger & Eliasmith 2016; Rueckauer et al. 2017).

Every activation layer becomes a population of spiking neurons:

* ``softlif``/``lif`` -> LIF neurons with the trained ``tau_rc``, ``tau_ref`` and output
  ``amplitude``; the layer input ``x`` is the current above threshold (``J = x + 1``).
* ``relu`` -> IF neurons (reset by subtraction) with data-based normalisation as in snn_toolbox:
  the layer's activation scale ``lam`` is a high percentile (default 99.9) of its activations on
  calibration data; ``J = x / (lam * dt)`` so a neuron fires once per step at ``x = lam``, and each
  spike carries ``lam * dt``, so the output rate times the amplitude reproduces ``relu(x)``.

The linear layers between populations become bias-free projection chains (one per path through
Add and Concat); biases become constant input currents, found by evaluating the linear part of the
graph at zero input.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from snncc.convert.net import (
    MAXPOOL_METHODS,
    SYNAPSES,
    ChannelEmbed,
    InputSource,
    Population,
    Projection,
    Readout,
    SpikingNet,
)
from snncc.errors import ConversionError
from snncc.ir import LayerGraph
from snncc.ir import layers as L
from snncc.ir._interp import LAYER_FUNCTIONS

__all__ = ["ConvertOptions", "convert"]

Chain = tuple[str, tuple[L.Layer, ...]]


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    """Conversion parameters.

    Attributes:
        dt: Simulation timestep (s); IF neurons fire at most once per step.
        synapse: Synapse filter on every projection: ``none``, ``lowpass`` or ``alpha``.
        tau_s: Synapse time constant (s); Hunsberger & Eliasmith use an alpha synapse of 5 ms.
        percentile: Activation percentile for ReLU normalisation (snn_toolbox uses 99.9).
        maxpool: Spiking max pooling: ``gate``, ``filtered`` or ``avg`` (see SpikingNet).
    """

    dt: float = 0.001
    synapse: str = "alpha"
    tau_s: float = 0.005
    percentile: float = 99.9
    maxpool: str = "gate"

    def __post_init__(self) -> None:
        if not self.dt > 0:
            raise ConversionError(f"dt must be positive, got {self.dt}")
        if self.synapse not in SYNAPSES:
            raise ConversionError(f"unknown synapse {self.synapse!r}; known: {SYNAPSES}")
        if not self.tau_s >= 0:
            raise ConversionError(f"tau_s must be non-negative, got {self.tau_s}")
        if not 0 < self.percentile <= 100:
            raise ConversionError(f"percentile must be in (0, 100], got {self.percentile}")
        if self.maxpool not in MAXPOOL_METHODS:
            raise ConversionError(f"unknown maxpool method {self.maxpool!r}; known: "
                                  f"{MAXPOOL_METHODS}")


def _is_neuron(lay: L.Layer) -> bool:
    return isinstance(lay, L.Activation) and lay.kind != "identity"


def _strip_bias(lay: L.Layer) -> L.Layer:
    if isinstance(lay, (L.Conv2d, L.Dense)) and lay.bias is not None:
        return dataclasses.replace(lay, bias=None)
    if isinstance(lay, L.ChannelAffine) and np.any(lay.shift):
        return dataclasses.replace(lay, shift=np.zeros_like(lay.shift))
    return lay


class _Lowering:
    def __init__(self, graph: LayerGraph) -> None:
        self.g = graph
        self.chain_memo: dict[str, list[Chain]] = {}
        self.bias_memo: dict[str, np.ndarray] = {}

    def chains(self, name: str) -> list[Chain]:
        """Bias-free op chains from sources (inputs, populations) to the output of ``name``."""
        if name in self.chain_memo:
            return self.chain_memo[name]
        lay = self.g[name]
        out: list[Chain]
        if isinstance(lay, L.Input) or _is_neuron(lay):
            out = [(name, ())]
        elif isinstance(lay, (L.Activation, L.Output)):  # identity
            out = self.chains(lay.inputs[0])
        elif isinstance(lay, L.Add):
            out = [c for i in lay.inputs for c in self.chains(i)]
        elif isinstance(lay, L.Concat):
            out, offset = [], 0
            for k, i in enumerate(lay.inputs):
                emb = ChannelEmbed(name=f"{lay.name}:{k}", inputs=(i,), shape=lay.shape,
                                   onnx_nodes=lay.onnx_nodes, offset=offset)
                out += [(src, (*ops, emb)) for src, ops in self.chains(i)]
                offset += self.g[i].shape[0]
        else:
            op = _strip_bias(lay)
            out = [(src, (*ops, op)) for src, ops in self.chains(lay.inputs[0])]
        out = [(src, _simplify(ops, self.g, src)) for src, ops in out]
        self.chain_memo[name] = out
        return out

    def bias(self, name: str) -> np.ndarray:
        """The value of ``name`` when every source is zero (the constant part of the current)."""
        if name in self.bias_memo:
            return self.bias_memo[name]
        lay = self.g[name]
        if isinstance(lay, L.Input) or _is_neuron(lay):
            val = np.zeros(lay.shape)
        elif isinstance(lay, (L.Activation, L.Output)):
            val = self.bias(lay.inputs[0])
        else:
            args = [self.bias(i)[None] for i in lay.inputs]
            val = LAYER_FUNCTIONS[type(lay)](lay, args)[0]
        self.bias_memo[name] = val
        return val


def _in_shape(src: str, ops: tuple[L.Layer, ...], k: int, g: LayerGraph) -> tuple[int, ...]:
    return g[src].shape if k == 0 else ops[k - 1].shape


def _simplify(ops: tuple[L.Layer, ...], g: LayerGraph, src: str) -> tuple[L.Layer, ...]:
    """Fold a ChannelEmbed into the next op's weights (or move it past per-channel ops)."""
    ops = tuple(ops)
    changed = True
    while changed:
        changed = False
        for k, op in enumerate(ops[:-1]):
            if not isinstance(op, ChannelEmbed):
                continue
            c = _in_shape(src, ops, k, g)[0]
            nxt = ops[k + 1]
            lo, hi = op.offset, op.offset + c
            new: tuple[L.Layer, ...] | None = None
            if isinstance(nxt, L.Conv2d) and nxt.groups == 1:
                new = (dataclasses.replace(nxt, weight=np.ascontiguousarray(
                    nxt.weight[:, lo:hi])),)
            elif isinstance(nxt, (L.AvgPool2d, L.MaxPool2d)):
                pooled = dataclasses.replace(nxt, shape=(c, *nxt.shape[1:]))
                new = (pooled, dataclasses.replace(op, shape=nxt.shape))
            elif isinstance(nxt, L.ChannelAffine):
                sl = slice(lo, hi) if nxt.scale.size > 1 else slice(None)
                aff = dataclasses.replace(nxt, shape=(c, *nxt.shape[1:]), scale=nxt.scale[sl],
                                          shift=nxt.shift[sl])
                new = (aff, dataclasses.replace(op, shape=nxt.shape))
            elif (isinstance(nxt, L.Reshape) and len(nxt.shape) == 1 and k + 2 < len(ops)
                  and isinstance(ops[k + 2], L.Dense)):
                dense = ops[k + 2]
                assert isinstance(dense, L.Dense)
                per = int(np.prod(op.shape[1:]))
                flat = dataclasses.replace(nxt, shape=(c * per,))
                new = (flat, dataclasses.replace(dense, weight=np.ascontiguousarray(
                    dense.weight[:, lo * per:hi * per])))
                ops = (*ops[:k], *new, *ops[k + 3:])
                changed = True
                break
            if new is not None:
                ops = (*ops[:k], *new, *ops[k + 2:])
                changed = True
                break
    return ops


def _check_calibration(graph: LayerGraph, x: np.ndarray | None) -> np.ndarray | None:
    if x is None:
        return None
    inp = graph.inputs[0]
    arr = np.asarray(x)
    if arr.ndim != len(inp.shape) + 1 or arr.shape[1:] != inp.shape:
        raise ConversionError(f"calibration data has shape {arr.shape}; input {inp.name!r} "
                              f"expects (N, {', '.join(map(str, inp.shape))})")
    if arr.shape[0] == 0:
        raise ConversionError("calibration data is empty")
    if not np.all(np.isfinite(arr)):
        raise ConversionError("calibration data contains NaN or Inf")
    return arr


def _activation_scales(graph: LayerGraph, x: np.ndarray, percentile: float,
                       batch: int = 256) -> dict[str, float]:
    """Per ReLU layer: the given percentile of its positive activations on ``x``."""
    relus = [lay.name for lay in graph if isinstance(lay, L.Activation) and lay.kind == "relu"]
    samples: dict[str, list[np.ndarray]] = {n: [] for n in relus}
    for k in range(0, len(x), batch):
        outs = graph.run(x[k:k + batch], return_all=True)
        assert isinstance(outs, dict)
        for n in relus:
            v = outs[n]
            samples[n].append(v[v > 0].astype(np.float32))
    scales = {}
    for n in relus:
        pos = np.concatenate(samples[n]) if samples[n] else np.zeros(0)
        scales[n] = float(np.percentile(pos, percentile)) if pos.size else 0.0
    return scales


def convert(graph: LayerGraph, calibration: np.ndarray | None = None,
            options: ConvertOptions | None = None, **kwargs: object) -> SpikingNet:
    """Convert a LayerGraph into a SpikingNet.

    Args:
        graph: The imported network (``snncc.load_onnx``).
        calibration: Inputs (N, *input shape) for data-based normalisation of ReLU layers;
            required when the graph has ReLU activations.
        options: Conversion parameters; keyword arguments override fields of it.
        **kwargs: ``ConvertOptions`` fields (dt, synapse, tau_s, percentile, maxpool).

    Returns:
        The SpikingNet.

    Raises:
        ConversionError: Calibration data of the wrong shape, ReLU layers without calibration
            data, several inputs, unknown options.

    Example:
        >>> import numpy as np, snncc
        >>> from snncc.examples import example_path
        >>> g = snncc.load_onnx(example_path("digits_cnn"))
        >>> net = snncc.convert(g, calibration=np.random.default_rng(0).random((8, 1, 8, 8)))
        >>> [p.model for p in net.populations]
        ['if', 'if']
    """
    opts = options or ConvertOptions()
    if kwargs:
        unknown = set(kwargs) - {f.name for f in dataclasses.fields(ConvertOptions)}
        if unknown:
            raise ConversionError(f"unknown conversion option(s) {sorted(unknown)}")
        opts = dataclasses.replace(opts, **kwargs)  # type: ignore[arg-type]
    if len(graph.inputs) != 1:
        raise ConversionError(f"graph has {len(graph.inputs)} inputs; conversion supports one")
    calib = _check_calibration(graph, calibration)
    has_relu = any(isinstance(lay, L.Activation) and lay.kind == "relu" for lay in graph)
    if has_relu and calib is None:
        raise ConversionError("the graph has ReLU activations: pass calibration inputs for "
                              "data-based normalisation (calibration=x)")
    scales = _activation_scales(graph, calib, opts.percentile) if has_relu and calib is not None \
        else {}

    low = _Lowering(graph)
    inp = graph.inputs[0]
    sources = [InputSource(name=inp.name, shape=inp.shape, scale=inp.scale, shift=inp.shift)]
    pops: list[Population] = []
    projections: list[Projection] = []
    readouts: list[Readout] = []

    def project(post: L.Layer, into_shape: tuple[int, ...]) -> None:
        for k, (src, ops) in enumerate(low.chains(post.inputs[0])):
            projections.append(Projection(
                name=f"{src}->{post.name}" + (f"#{k}" if k else ""), pre=src, post=post.name,
                ops=ops, pre_shape=graph[src].shape, post_shape=into_shape))

    for lay in graph:
        if isinstance(lay, L.Output):
            project(lay, lay.shape)
            readouts.append(Readout(name=lay.name, shape=lay.shape, decoding=lay.decoding,
                                    bias=low.bias(lay.inputs[0]).astype(np.float32),
                                    onnx_nodes=lay.onnx_nodes))
            continue
        if not _is_neuron(lay):
            continue
        assert isinstance(lay, L.Activation)
        bias_x = low.bias(lay.inputs[0])
        if lay.kind == "relu":
            lam = scales[lay.name]
            note = f"p{opts.percentile:g}={lam:.4g}"
            if lam <= 0:
                warnings.warn(f"layer {lay.name!r} (relu) is never active on the calibration "
                              "data; its neurons will not spike", stacklevel=2)
                lam = 1.0
            if "max" in lay.params:
                lam = min(lam, lay.params["max"])
            gain = 1.0 / (lam * opts.dt)
            pop = Population(name=lay.name, shape=lay.shape, model="if", tau_rc=float("inf"),
                             tau_ref=0.0, gain=gain, bias=(gain * bias_x).astype(np.float32),
                             amplitude=lam * opts.dt, onnx_nodes=lay.onnx_nodes, scale_note=note)
        else:
            p = lay.params
            pop = Population(name=lay.name, shape=lay.shape, model="lif", tau_rc=p["tau_rc"],
                             tau_ref=p["tau_ref"], gain=1.0,
                             bias=(bias_x + 1.0).astype(np.float32), amplitude=p["amplitude"],
                             onnx_nodes=lay.onnx_nodes, scale_note=lay.kind)
        project(lay, lay.shape)
        pops.append(pop)

    meta = {"source": graph.metadata.get("source", graph.name), "options":
            dataclasses.asdict(opts), "relu_scales": scales,
            "calibration_inputs": 0 if calib is None else len(calib)}
    return SpikingNet(inputs=tuple(sources), populations=tuple(pops),
                      projections=tuple(projections), readouts=tuple(readouts), dt=opts.dt,
                      synapse=opts.synapse, tau_s=opts.tau_s, maxpool=opts.maxpool, metadata=meta)

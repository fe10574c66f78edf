"""SpikingNet: populations of spiking neurons joined by structured, bias-free projections.

A SpikingNet is what :func:`snncc.convert.convert` makes of a LayerGraph. Every activation layer
of the graph becomes a :class:`Population`; the linear layers between populations (Conv2d, Dense,
pooling, Add, Concat, Reshape, per-channel affine) become :class:`Projection` chains whose ops are
LayerGraph layers without biases (biases become the populations' constant input current). The
network's outputs are :class:`Readout` nodes: linear sums of projections, decoded by argmax.

Units: a population's input ``x`` is the weighted sum of its projections, in the units of the
original ANN. The neuron's input current, in units of its firing threshold, is
``J = gain * x + bias``; its output is ``amplitude`` times its (filtered) spike train in spikes
per second, so that ``amplitude * rate(J)`` reproduces the ANN activation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from snncc.errors import ConversionError
from snncc.ir import layers as L
from snncc.ir._interp import LAYER_FUNCTIONS

__all__ = [
    "MAXPOOL_METHODS",
    "NEURON_MODELS",
    "SYNAPSES",
    "ChannelEmbed",
    "InputSource",
    "Population",
    "Projection",
    "Readout",
    "SpikingNet",
    "apply_op",
]

NEURON_MODELS = ("lif", "if")
SYNAPSES = ("none", "lowpass", "alpha")
MAXPOOL_METHODS = ("gate", "filtered", "avg")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class InputSource:
    """The network input: the analog sample after the model's input transform.

    The simulator encodes it as a constant current (the default) or as Poisson spike trains.
    """

    name: str
    shape: tuple[int, ...]
    scale: np.ndarray | None = None
    shift: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Number of values per sample."""
        return math.prod(self.shape)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Population:
    """A layer of spiking neurons.

    LIF (``model="lif"``): between spikes ``tau_rc * dv/dt = J - v``; a spike when ``v`` reaches 1,
    then ``v = 0`` for ``tau_ref`` seconds. Steady-state rate for constant ``J > 1``:
    ``r(J) = 1 / (tau_ref + tau_rc * log(1 + 1 / (J - 1)))``, else 0.

    The voltage is floored at 0 (as in nengo).

    IF (``model="if"``): ``dv/dt = J`` (no leak; ``tau_rc`` and ``tau_ref`` unused), spike when
    ``v >= 1``, reset by subtraction (``v -= 1``), at most one spike per timestep; rate
    ``r(J) = J`` for ``0 <= J <= 1/dt``.

    Attributes:
        name: The activation layer's name.
        shape: Neuron array shape (batch excluded).
        model: ``"lif"`` or ``"if"``.
        tau_rc: Membrane time constant in seconds (LIF).
        tau_ref: Refractory period in seconds.
        gain: ``J = gain * x + bias``: scalar.
        bias: Constant input current per neuron (threshold units), shape ``shape``.
        amplitude: Output value per spike per second.
        onnx_nodes: ONNX nodes this population came from.
        scale_note: How ``gain`` was chosen (e.g. ``"softlif"``, ``"p99.9=3.21"``).
    """

    name: str
    shape: tuple[int, ...]
    model: str
    tau_rc: float
    tau_ref: float
    gain: float
    bias: np.ndarray
    amplitude: float
    onnx_nodes: tuple[str, ...] = ()
    scale_note: str = ""

    def __post_init__(self) -> None:
        if self.model not in NEURON_MODELS:
            raise ConversionError(f"population {self.name!r}: unknown neuron model {self.model!r}")
        if self.bias.shape != self.shape:
            raise ConversionError(f"population {self.name!r}: bias {self.bias.shape} does not "
                                  f"match shape {self.shape}")
        if not (self.tau_ref >= 0 and self.amplitude > 0 and self.gain > 0):
            raise ConversionError(f"population {self.name!r}: tau_ref, gain and amplitude must be "
                                  f"positive (got {self.tau_ref}, {self.gain}, {self.amplitude})")
        if self.model == "lif" and not self.tau_rc > 0:
            raise ConversionError(f"population {self.name!r}: tau_rc must be positive")

    @property
    def size(self) -> int:
        """Number of neurons."""
        return math.prod(self.shape)

    def rate(self, x: np.ndarray, dt: float) -> np.ndarray:
        """Steady-state firing rate (spikes/s) for constant input ``x`` (ANN units)."""
        j = self.gain * np.asarray(x, dtype=np.float64) + self.bias
        if self.model == "if":
            return np.clip(j, 0.0, 1.0 / dt)
        out = np.zeros_like(j)
        above = j > 1
        out[above] = 1.0 / (self.tau_ref + self.tau_rc * np.log1p(1.0 / (j[above] - 1.0)))
        return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ChannelEmbed(L.Layer):
    """Places a (C, ...) input at channels ``offset .. offset+C`` of a zero (total, ...) output.

    What a Concat becomes on the path from one of its inputs when it cannot be folded into the
    next layer's weights.
    """

    offset: int
    op: ClassVar[str] = "ChannelEmbed"

    def __post_init__(self) -> None:
        L.Layer.__post_init__(self)
        if self.offset < 0:
            raise ConversionError(f"{self.name}: negative channel offset {self.offset}")


def apply_op(op: L.Layer, x: np.ndarray) -> np.ndarray:
    """Reference (float64) application of one projection op to a batch ``x``."""
    if isinstance(op, ChannelEmbed):
        out = np.zeros((x.shape[0], *op.shape), dtype=np.float64)
        out[:, op.offset: op.offset + x.shape[1]] = x
        return out
    return LAYER_FUNCTIONS[type(op)](op, [np.asarray(x, dtype=np.float64)])


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Projection:
    """A bias-free linear (or max-pooling) path from ``pre`` to ``post``.

    ``ops`` are LayerGraph layers (Conv2d and Dense without bias, AvgPool2d, MaxPool2d, Reshape,
    ChannelAffine with zero shift, ChannelEmbed) applied in order to the pre-synaptic signal: the
    synapse-filtered spike output of a population, or the encoded input. A MaxPool2d op is run
    with the net's ``maxpool`` method.
    """

    name: str
    pre: str
    post: str
    ops: tuple[L.Layer, ...]
    pre_shape: tuple[int, ...]
    post_shape: tuple[int, ...]

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Reference (float64) application of the chain to a batch of pre-synaptic signals."""
        for op in self.ops:
            x = apply_op(op, x)
        return np.asarray(x, dtype=np.float64).reshape(x.shape[0], *self.post_shape)

    @property
    def synapses(self) -> int:
        """Connections of the chain: the sum of its ops' synapses (one-to-one when empty)."""
        if not self.ops:
            return math.prod(self.pre_shape)
        total, shape = 0, self.pre_shape
        for op in self.ops:
            total += op.synapses([shape])
            shape = op.shape
        return total


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Readout:
    """A network output: ``y = sum of projections + bias``, no neurons; decoded by argmax."""

    name: str
    shape: tuple[int, ...]
    bias: np.ndarray
    decoding: str = "none"
    onnx_nodes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class SpikingNet:
    """A converted network.

    Attributes:
        inputs: Input sources.
        populations: Populations in topological order.
        projections: All projections (into populations and readouts).
        readouts: Outputs.
        dt: Simulation timestep in seconds the net was converted for (IF rates saturate at 1/dt).
        synapse: Synapse filter on every projection: ``none``, ``lowpass`` or ``alpha``.
        tau_s: Synapse time constant in seconds.
        maxpool: Spiking max-pooling method: ``gate`` (pass the window's most active input so far,
            Rueckauer et al. 2017), ``filtered`` (max of the filtered inputs) or ``avg``.
        metadata: Conversion facts (source model, normalisation, quantisation).
    """

    inputs: tuple[InputSource, ...]
    populations: tuple[Population, ...]
    projections: tuple[Projection, ...]
    readouts: tuple[Readout, ...]
    dt: float = 0.001
    synapse: str = "alpha"
    tau_s: float = 0.005
    maxpool: str = "gate"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.synapse not in SYNAPSES:
            raise ConversionError(f"unknown synapse {self.synapse!r}; known: {SYNAPSES}")
        if self.maxpool not in MAXPOOL_METHODS:
            raise ConversionError(f"unknown maxpool method {self.maxpool!r}; known: "
                                  f"{MAXPOOL_METHODS}")
        for r in self.readouts:
            if r.bias.shape != r.shape:
                raise ConversionError(f"readout {r.name!r}: bias {r.bias.shape} does not match "
                                      f"shape {r.shape}")
        if not (self.dt > 0 and self.tau_s >= 0):
            raise ConversionError(f"dt must be positive and tau_s non-negative "
                                  f"(got {self.dt}, {self.tau_s})")
        names = [s.name for s in self.inputs] + [p.name for p in self.populations] + [
            r.name for r in self.readouts]
        if len(set(names)) != len(names):
            raise ConversionError(f"duplicate names among inputs/populations/readouts: {names}")
        known = set(names)
        for p in self.projections:
            if p.pre not in known or p.post not in known:
                raise ConversionError(f"projection {p.name!r} joins unknown {p.pre!r} -> "
                                      f"{p.post!r}")

    def __iter__(self) -> Iterator[Population]:
        return iter(self.populations)

    def population(self, name: str) -> Population:
        """The population named ``name``."""
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population named {name!r}")

    def into(self, post: str) -> list[Projection]:
        """Projections whose post is ``post``."""
        return [p for p in self.projections if p.post == post]

    @property
    def neurons(self) -> int:
        """Total spiking neurons."""
        return sum(p.size for p in self.populations)

    @property
    def synapses(self) -> int:
        """Total synapses over all projections."""
        return sum(p.synapses for p in self.projections)

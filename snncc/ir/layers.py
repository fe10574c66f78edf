"""Layer types of the LayerGraph IR.

Every layer is a frozen dataclass holding numpy weights. Shapes exclude the batch dimension:
``(C, H, W)`` for feature maps, ``(N,)`` for vectors. Each layer keeps the ONNX node names it came
from (``onnx_nodes``) so that every later message can name the user's layer.

Change a layer with :func:`dataclasses.replace`; never mutate its arrays in place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from snncc.errors import FrontendError

__all__ = [
    "ACTIVATION_KINDS",
    "DECODINGS",
    "Activation",
    "Add",
    "AvgPool2d",
    "ChannelAffine",
    "Concat",
    "Conv2d",
    "Dense",
    "Input",
    "Layer",
    "MaxPool2d",
    "Output",
    "Reshape",
    "pool_output_size",
]

ACTIVATION_KINDS = ("relu", "softlif", "lif", "identity")
DECODINGS = ("none", "softmax", "logsoftmax")


def _where(layer: Layer) -> str:
    src = ", ".join(layer.onnx_nodes) if layer.onnx_nodes else "no ONNX node"
    return f"layer {layer.name!r} ({type(layer).__name__}, from {src})"


def _fail(layer: Layer, problem: str) -> FrontendError:
    return FrontendError(f"{_where(layer)}: {problem}")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Layer:
    """Base of all layers.

    Attributes:
        name: Unique name in the graph (the ONNX node name where there is one).
        inputs: Names of the layers this one reads, in order.
        shape: Output shape without the batch dimension.
        onnx_nodes: Names of the ONNX nodes folded into this layer.
    """

    name: str
    inputs: tuple[str, ...] = ()
    shape: tuple[int, ...]
    onnx_nodes: tuple[str, ...] = ()

    n_inputs: ClassVar[tuple[int, int]] = (1, 1)  # min, max number of inputs
    op: ClassVar[str] = "Layer"

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "onnx_nodes", tuple(self.onnx_nodes))
        if any(s <= 0 for s in self.shape):
            raise _fail(self, f"shape {self.shape} has a non-positive dimension")
        lo, hi = self.n_inputs
        if not lo <= len(self.inputs) <= hi:
            raise _fail(self, f"takes {lo}..{hi} inputs, got {len(self.inputs)}")

    @property
    def size(self) -> int:
        """Number of output values (neurons) per sample."""
        return math.prod(self.shape)

    @property
    def parameters(self) -> int:
        """Number of weight and bias values."""
        return 0

    def synapses(self, in_shapes: list[tuple[int, ...]]) -> int:
        """Connections from the inputs to this layer's outputs (= MACs per sample)."""
        return 0


def _check_weight(layer: Layer, name: str, w: np.ndarray | None, ndim: int | None) -> None:
    if w is None:
        return
    if not isinstance(w, np.ndarray) or w.dtype.kind != "f":
        raise _fail(layer, f"{name} must be a float array, got {getattr(w, 'dtype', type(w))}")
    if ndim is not None and w.ndim != ndim:
        raise _fail(layer, f"{name} must have {ndim} dimensions, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        bad = int(np.size(w) - np.count_nonzero(np.isfinite(w)))
        raise _fail(layer, f"{name} has {bad} NaN/Inf values")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Input(Layer):
    """A graph input, with an optional elementwise transform ``x * scale + shift``.

    The transform holds input normalisation ((x - mean) / std) that the exporter put in the graph;
    ``scale`` and ``shift`` broadcast against ``shape``.
    """

    scale: np.ndarray | None = None
    shift: np.ndarray | None = None
    n_inputs: ClassVar[tuple[int, int]] = (0, 0)
    op: ClassVar[str] = "Input"

    def __post_init__(self) -> None:
        Layer.__post_init__(self)
        for key in ("scale", "shift"):
            arr = getattr(self, key)
            _check_weight(self, key, arr, None)
            if arr is not None:
                try:
                    np.broadcast_shapes(arr.shape, self.shape)
                except ValueError:
                    raise _fail(self, f"{key} {arr.shape} does not broadcast to {self.shape}"
                                ) from None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Dense(Layer):
    """Fully connected: ``y = W @ x + b`` with ``W`` of shape (out, in)."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    op: ClassVar[str] = "Dense"

    def __post_init__(self) -> None:
        Layer.__post_init__(self)
        _check_weight(self, "weight", self.weight, 2)
        _check_weight(self, "bias", self.bias, 1)
        if self.shape != (self.weight.shape[0],):
            raise _fail(self, f"shape {self.shape} does not match weight {self.weight.shape}")
        if self.bias is not None and self.bias.shape != (self.weight.shape[0],):
            raise _fail(self, f"bias {self.bias.shape} does not match weight {self.weight.shape}")

    @property
    def parameters(self) -> int:
        return int(self.weight.size + (0 if self.bias is None else self.bias.size))

    def synapses(self, in_shapes: list[tuple[int, ...]]) -> int:
        return int(self.weight.size)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Conv2d(Layer):
    """2-D convolution (cross-correlation, as ONNX Conv).

    ``weight`` has shape (out_channels, in_channels / groups, kh, kw); ``padding`` is
    (top, left, bottom, right) of zeros.
    """

    weight: np.ndarray
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    op: ClassVar[str] = "Conv2d"

    def __post_init__(self) -> None:
        Layer.__post_init__(self)
        _check_weight(self, "weight", self.weight, 4)
        _check_weight(self, "bias", self.bias, 1)
        if self.bias is not None and self.bias.shape != (self.weight.shape[0],):
            raise _fail(self, f"bias {self.bias.shape} does not match weight {self.weight.shape}")
        if len(self.shape) != 3 or self.shape[0] != self.weight.shape[0]:
            raise _fail(self, f"shape {self.shape} does not match weight {self.weight.shape}")
        if self.groups < 1 or self.weight.shape[0] % self.groups:
            raise _fail(self,
                        f"groups={self.groups} does not divide {self.weight.shape[0]} outputs")

    @property
    def kernel(self) -> tuple[int, int]:
        """Kernel height and width."""
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    @property
    def parameters(self) -> int:
        return int(self.weight.size + (0 if self.bias is None else self.bias.size))

    def synapses(self, in_shapes: list[tuple[int, ...]]) -> int:
        # Every output value reads (in/groups)*kh*kw inputs; padding taps are not synapses.
        _, h, w = in_shapes[0]
        kh, kw = self.kernel
        (sh, sw), (dh, dw) = self.stride, self.dilation
        pt, pl = self.padding[0], self.padding[1]
        ho, wo = self.shape[1], self.shape[2]
        rows = np.arange(ho)[:, None] * sh - pt + np.arange(kh)[None, :] * dh
        cols = np.arange(wo)[:, None] * sw - pl + np.arange(kw)[None, :] * dw
        taps = int(((rows >= 0) & (rows < h)).sum()) * int(((cols >= 0) & (cols < w)).sum())
        return taps * int(self.weight.shape[0] * self.weight.shape[1])


def pool_output_size(
    size: int, kernel: int, stride: int, pad_begin: int, pad_end: int, dilation: int, ceil: bool
) -> int:
    """Output length of a pooling window along one axis (ONNX/PyTorch rule).

    With ``ceil`` the last window may start in the end padding but not beyond it.
    """
    span = dilation * (kernel - 1) + 1
    num = size + pad_begin + pad_end - span
    out = (-(-num // stride) if ceil else num // stride) + 1
    if ceil and (out - 1) * stride >= size + pad_begin:
        out -= 1
    return int(out)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Pool2d(Layer):
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        Layer.__post_init__(self)
        if len(self.shape) != 3:
            raise _fail(self, f"pooling needs a (C, H, W) output, got {self.shape}")
        if min(*self.kernel, *self.stride) < 1 or min(self.padding) < 0:
            raise _fail(self, f"bad window kernel={self.kernel} stride={self.stride}")

    def synapses(self, in_shapes: list[tuple[int, ...]]) -> int:
        return self.size * self.kernel[0] * self.kernel[1]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AvgPool2d(_Pool2d):
    """Average pooling. ``count_include_pad`` counts explicit zero padding in the divisor."""

    count_include_pad: bool = False
    op: ClassVar[str] = "AvgPool2d"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MaxPool2d(_Pool2d):
    """Max pooling over (optionally dilated) windows; padding never wins the max."""

    dilation: tuple[int, int] = (1, 1)
    op: ClassVar[str] = "MaxPool2d"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ChannelAffine(Layer):
    """Per-channel ``y = x * scale + shift`` (an unfolded BatchNorm or constant Mul/Add).

    ``scale`` and ``shift`` have one value per channel (the first axis of ``shape``), or one value.
    """

    scale: np.ndarray
    shift: np.ndarray
    op: ClassVar[str] = "ChannelAffine"

    def __post_init__(self) -> None:
        Layer.__post_init__(self)
        for key in ("scale", "shift"):
            arr = getattr(self, key)
            _check_weight(self, key, arr, 1)
            if arr.shape[0] not in (1, self.shape[0]):
                raise _fail(self, f"{key} has {arr.shape[0]} values for {self.shape[0]} channels")

    @property
    def parameters(self) -> int:
        return int(self.scale.size + self.shift.size)

    def synapses(self, in_shapes: list[tuple[int, ...]]) -> int:
        return self.size


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Add(Layer):
    """Elementwise sum of two or more layer outputs of the same shape (residual)."""

    n_inputs: ClassVar[tuple[int, int]] = (2, 1 << 16)
    op: ClassVar[str] = "Add"

    def synapses(self, in_shapes: list[tuple[int, ...]]) -> int:
        return self.size * len(self.inputs)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Concat(Layer):
    """Concatenation of layer outputs along the channel axis (the first non-batch axis)."""

    n_inputs: ClassVar[tuple[int, int]] = (1, 1 << 16)
    op: ClassVar[str] = "Concat"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Reshape(Layer):
    """Row-major reshape of the non-batch dimensions (Flatten, Reshape, Squeeze, ...)."""

    op: ClassVar[str] = "Reshape"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Activation(Layer):
    """Elementwise nonlinearity.

    kinds:
        ``relu``: ``y = min(max(x, 0), params["max"])`` (``max`` absent: unbounded; 6: ReLU6).
        ``softlif``: the soft-LIF rate (Hunsberger & Eliasmith 2016) with x taken as ``j - 1``::

            p = gamma * log(1 + exp(x / gamma))
            y = amplitude / (tau_ref + tau_rc * log(1 + 1 / p))

        ``lif``: the same with the hard LIF rate (``p = max(x, 0)``, ``y = 0`` where ``p = 0``).
        ``identity``: ``y = x``.
    """

    kind: str
    params: Mapping[str, float] = field(default_factory=dict)
    op: ClassVar[str] = "Activation"

    def __post_init__(self) -> None:
        Layer.__post_init__(self)
        if self.kind not in ACTIVATION_KINDS:
            raise _fail(self, f"unknown activation kind {self.kind!r}; known: {ACTIVATION_KINDS}")
        params = {str(k): float(v) for k, v in dict(self.params).items()}
        need = {"softlif": ("tau_rc", "tau_ref", "gamma", "amplitude"),
                "lif": ("tau_rc", "tau_ref", "amplitude")}.get(self.kind, ())
        missing = [k for k in need if k not in params]
        if missing:
            raise _fail(self, f"{self.kind} needs parameters {missing}")
        object.__setattr__(self, "params", MappingProxyType(params))

    def synapses(self, in_shapes: list[tuple[int, ...]]) -> int:
        return 0


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Output(Layer):
    """A graph output. ``decoding`` records a Softmax/LogSoftmax the model applied at the end."""

    decoding: str = "none"
    op: ClassVar[str] = "Output"

    def __post_init__(self) -> None:
        Layer.__post_init__(self)
        if self.decoding not in DECODINGS:
            raise _fail(self, f"unknown decoding {self.decoding!r}; known: {DECODINGS}")


def layer_fields(layer: Layer) -> dict[str, Any]:
    """The layer's own attributes (everything but name/inputs/shape/onnx_nodes), for display."""
    skip = {"name", "inputs", "shape", "onnx_nodes"}
    out: dict[str, Any] = {}
    for cls in type(layer).__mro__:
        for key in getattr(cls, "__dataclass_fields__", {}):
            if key not in skip and key not in out:
                out[key] = getattr(layer, key)
    return out

"""ONNX op handlers: each turns one node into layers, or folds it into a constant.

The importer tracks every ONNX value as either a numpy constant or a :class:`Val` (the output of
a layer, shape without batch). Handlers emit layers in topological order; the folding passes in
``_fold.py`` then merge BatchNorm, bias and normalisation layers into their neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

from snncc.errors import FrontendError
from snncc.frontend._fold import ElementAffine
from snncc.ir import layers as L

__all__ = ["SUPPORTED_OPS", "Importer", "Val"]


@dataclass(frozen=True, slots=True)
class Val:
    """A non-constant ONNX value: the output of ``layer``, of ``shape`` (batch excluded)."""

    layer: str
    shape: tuple[int, ...]


Value = Val | np.ndarray

SUPPORTED_OPS = (
    "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Clip", "AveragePool",
    "GlobalAveragePool", "MaxPool", "GlobalMaxPool", "BatchNormalization", "Flatten", "Reshape",
    "Squeeze", "Unsqueeze", "Transpose", "Concat", "Identity", "Dropout", "Softmax",
    "LogSoftmax", "snncc:SoftLIF",
)
# Ops whose folded output size is decided by input values: checked before evaluation.
_GROWING = {"ConstantOfShape", "Expand", "Tile", "Range"}
_RANDOM = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
           "Bernoulli"}


def _per_channel(c: np.ndarray) -> np.ndarray | None:
    """One value per channel (first axis) of ``c``, or None when ``c`` varies within a channel."""
    per = c.reshape(c.shape[0], -1)
    if not np.array_equal(per, np.broadcast_to(per[:, :1], per.shape)):
        return None
    return np.ascontiguousarray(per[:, 0])


def node_label(node: onnx.NodeProto, index: int) -> str:
    """The node's name, or ``OpType_index`` for unnamed nodes."""
    return node.name or f"{node.op_type}_{index}"


class Importer:
    """Walks ONNX nodes in topological order and emits layers."""

    def __init__(self, opsets: list[onnx.OperatorSetIdProto], opset: int,
                 max_tensor_bytes: int) -> None:
        self.values: dict[str, Value] = {}
        self.layers: list[L.Layer] = []
        self.names: set[str] = set()
        self.decodings: dict[str, str] = {}  # ONNX value -> softmax/logsoftmax at the output
        self.opsets = opsets
        self.opset = opset
        self.max_tensor_bytes = max_tensor_bytes
        self.graph_outputs: set[str] = set()
        self.node: onnx.NodeProto | None = None
        self.label = ""
        self.handlers: dict[str, Callable[[onnx.NodeProto], None]] = {
            "Conv": self.conv, "Gemm": self.gemm, "MatMul": self.matmul,
            "Add": self.arith, "Sub": self.arith, "Mul": self.arith, "Div": self.arith,
            "Relu": self.relu, "Clip": self.clip, "AveragePool": self.avgpool,
            "GlobalAveragePool": self.global_pool, "MaxPool": self.maxpool,
            "GlobalMaxPool": self.global_pool, "BatchNormalization": self.batchnorm,
            "Flatten": self.flatten, "Reshape": self.reshape, "Squeeze": self.squeeze,
            "Unsqueeze": self.squeeze, "Transpose": self.transpose, "Concat": self.concat,
            "Identity": self.identity, "Dropout": self.identity, "Softmax": self.softmax,
            "LogSoftmax": self.softmax,
        }

    # -- helpers -------------------------------------------------------------------------------
    def err(self, problem: str) -> FrontendError:
        """An error naming the current node."""
        node = self.node
        if node is None:
            return FrontendError(problem)
        dom = f"{node.domain}:" if node.domain not in ("", "ai.onnx") else ""
        return FrontendError(f"node {self.label!r} ({dom}{node.op_type}): {problem}")

    def unique(self, name: str) -> str:
        """A layer name not used yet, based on ``name``."""
        base, k = name or "layer", 1
        while name in self.names or not name:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def emit(self, cls: type[L.Layer], src: Val | list[Val], shape: tuple[int, ...],
             out: str | None = None, **kw: object) -> Val:
        """Add a layer reading ``src`` and bind its output to the node's first output."""
        assert self.node is not None
        srcs = src if isinstance(src, list) else [src]
        layer = cls(name=self.unique(self.label), inputs=tuple(s.layer for s in srcs),
                    shape=shape, onnx_nodes=(self.label,), **kw)
        self.layers.append(layer)
        val = Val(layer.name, layer.shape)
        self.values[out or self.node.output[0]] = val
        return val

    def get(self, name: str) -> Value:
        """The value bound to an ONNX name; a Softmax output (an output decoding) is refused."""
        if name in self.decodings:
            raise self.err(f"input {name!r} is the {self.decodings[name]} at the model's output; "
                           "reading it again is not supported (the Softmax is recorded as the "
                           "output's decoding, not computed)")
        return self.values[name]

    def live(self, name: str, what: str = "input") -> Val:
        """A non-constant input; constants here are unsupported."""
        v = self.get(name)
        if not isinstance(v, Val):
            raise self.err(f"{what} {name!r} is a constant; expected a tensor computed from the "
                           "model's input")
        return v

    def const(self, name: str, what: str, *, float_only: bool = False) -> np.ndarray:
        """A constant input (initializer or folded)."""
        v = self.values.get(name)
        if isinstance(v, Val):
            raise self.err(f"{what} {name!r} must be a constant (initializer), but it is computed "
                           "from the model's input")
        if v is None:
            raise self.err(f"{what} {name!r} is not defined")
        if float_only and v.dtype.kind != "f":
            raise self.err(f"{what} {name!r} has non-float type {v.dtype}; weights must be float")
        return v

    def opt(self, node: onnx.NodeProto, i: int) -> str | None:
        """Name of optional input ``i`` or None."""
        return node.input[i] if len(node.input) > i and node.input[i] else None

    def attrs(self, node: onnx.NodeProto) -> dict[str, object]:
        """Attribute values by name."""
        out = {}
        for a in node.attribute:
            if a.ref_attr_name:
                raise self.err(f"attribute {a.name!r} refers to a function attribute")
            try:
                out[a.name] = helper.get_attribute_value(a)
            except (ValueError, TypeError) as exc:
                raise self.err(f"attribute {a.name!r}: {exc}") from None
        return out

    def ints(self, a: dict[str, object], key: str, n: int, default: int,
             minimum: int) -> tuple[int, ...]:
        """An int-list attribute of length ``n`` with every value at least ``minimum``."""
        v = a.get(key)
        if v is None:
            return (default,) * n
        if not isinstance(v, list) or not all(isinstance(x, int) for x in v) or len(v) != n:
            raise self.err(f"attribute {key}={v!r} must be {n} integers")
        if min(v) < minimum:
            raise self.err(f"attribute {key}={v!r} must be {minimum} or more")
        return tuple(int(x) for x in v)

    def only_first_output(self, node: onnx.NodeProto, consumers: dict[str, int]) -> None:
        """Refuse nodes whose extra outputs (mask, indices, running stats) are used."""
        for o in node.output[1:]:
            if o and (consumers.get(o, 0) or o in self.graph_outputs):
                raise self.err(f"output {o!r} (beyond the first) is used; only the first output of "
                               f"{node.op_type} is supported")

    # -- constant folding ----------------------------------------------------------------------
    def fold(self, node: onnx.NodeProto) -> None:
        """Evaluate a node whose inputs are all constants (onnx reference evaluator)."""
        if node.op_type in _RANDOM:
            raise self.err("random ops are not supported")
        ins = {i: self.values[i] for i in node.input if i}
        if node.op_type in _GROWING:
            self._check_growth(node, ins)  # type: ignore[arg-type]
        inputs = [helper.make_tensor_value_info(
            i, helper.np_dtype_to_tensor_dtype(np.asarray(v).dtype), None) for i, v in ins.items()]
        outputs = [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None)
                   for o in node.output if o]
        model = helper.make_model(helper.make_graph([node], "fold", inputs, outputs),
                                  opset_imports=self.opsets)
        try:
            res = ReferenceEvaluator(model).run(None, ins)
        except Exception as exc:  # the reference evaluator raises many types on bad input
            msg = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise self.err(f"cannot evaluate on constant inputs: {msg}") from None
        for o, r in zip([o for o in node.output if o], res, strict=True):
            self.values[o] = np.asarray(r)

    def _check_growth(self, node: onnx.NodeProto, ins: dict[str, np.ndarray]) -> None:
        args: list[Any] = [ins.get(i) for i in node.input]
        try:
            if node.op_type == "ConstantOfShape":
                n = math.prod(int(d) for d in np.asarray(args[0]).ravel())
            elif node.op_type == "Expand":
                target: tuple[int, ...] = tuple(int(d) for d in np.asarray(args[1]).ravel())
                n = math.prod(np.broadcast_shapes(np.shape(args[0]), target))
            elif node.op_type == "Tile":
                n = math.prod(int(s) * int(r) for s, r in
                              zip(np.shape(args[0]), np.asarray(args[1]).ravel(), strict=False))
            else:  # Range
                start, limit, delta = (float(np.asarray(a)) for a in args[:3])
                n = math.ceil((limit - start) / delta) if delta else 1 << 62
        except (ValueError, TypeError, OverflowError):
            raise self.err("bad constant inputs") from None
        if n * 8 > self.max_tensor_bytes:
            raise self.err(f"would create {n} elements, above the tensor size limit")

    # -- layers --------------------------------------------------------------------------------
    def conv(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        w = self.const(node.input[1], "weight", float_only=True)
        b = self.opt(node, 2)
        bias = self.const(b, "bias", float_only=True) if b else None
        if w.ndim != 4:
            raise self.err(f"only 2-D convolution is supported (weight shape {list(w.shape)}, "
                           f"a {w.ndim - 2}-D kernel)")
        if len(x.shape) != 3:
            raise self.err(f"expects a (C, H, W) input, got shape {x.shape}")
        a = self.attrs(node)
        group = int(a.get("group", 1))  # type: ignore[call-overload]
        if group < 1 or x.shape[0] != w.shape[1] * group or w.shape[0] % group:
            raise self.err(f"weight {list(w.shape)} with group={group} does not fit "
                           f"{x.shape[0]} input channels")
        if "kernel_shape" in a and tuple(a["kernel_shape"]) != w.shape[2:]:  # type: ignore
            raise self.err(f"kernel_shape {a['kernel_shape']} disagrees with weight {w.shape}")
        stride, dil = self.ints(a, "strides", 2, 1, 1), self.ints(a, "dilations", 2, 1, 1)
        pads = self.window_pads(a, x.shape[1:], w.shape[2:], stride, dil)
        shape = self.window_shape(x.shape, w.shape[0], w.shape[2:], stride, pads, dil, False)
        self.emit(L.Conv2d, x, shape, weight=w.astype(np.float32),
                  bias=None if bias is None else bias.astype(np.float32).reshape(-1),
                  stride=stride, padding=pads, dilation=dil, groups=group)

    def window_pads(self, a: dict[str, object], hw: tuple[int, ...], k: tuple[int, ...],
                    stride: tuple[int, ...], dil: tuple[int, ...], *,
                    pool: bool = False) -> tuple[int, int, int, int]:
        """Explicit (top, left, bottom, right) padding from pads/auto_pad.

        SAME padding follows the ONNX formula (with dilations), clamped at zero as onnxruntime
        does for Conv. For pooling (``pool``), where onnxruntime and the ONNX reference disagree
        on negative or dilated SAME padding, those cases are refused.
        """
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if auto in ("NOTSET", ""):
            p = self.ints(a, "pads", 4, 0, 0)
            return p[0], p[1], p[2], p[3]
        if auto == "VALID":
            return 0, 0, 0, 0
        if auto not in ("SAME_UPPER", "SAME_LOWER"):
            raise self.err(f"unknown auto_pad {auto!r}")
        begin, end = [], []
        for size, kk, s, d in zip(hw, k, stride, dil, strict=True):
            total = (-(-size // s) - 1) * s + (kk - 1) * d + 1 - size
            if pool and (total < 0 or d > 1):
                raise self.err(
                    f"auto_pad={auto} with kernel {list(k)}, strides {list(stride)} and "
                    f"dilations {list(dil)} on {list(hw)} needs "
                    f"{'negative' if total < 0 else 'dilated'} padding, which ONNX runtimes "
                    "compute differently; give explicit pads")
            total = max(total, 0)
            lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
            begin.append(lo)
            end.append(total - lo)
        return begin[0], begin[1], end[0], end[1]

    def window_shape(self, in_shape: tuple[int, ...], channels: int, k: tuple[int, ...],
                     stride: tuple[int, ...], pads: tuple[int, int, int, int],
                     dil: tuple[int, ...], ceil: bool) -> tuple[int, int, int]:
        """Output (C, H, W) of a windowed op, refusing empty outputs."""
        ho = L.pool_output_size(in_shape[1], k[0], stride[0], pads[0], pads[2], dil[0], ceil)
        wo = L.pool_output_size(in_shape[2], k[1], stride[1], pads[1], pads[3], dil[1], ceil)
        if ho < 1 or wo < 1 or min(stride) < 1 or min(k) < 1:
            raise self.err(f"window {list(k)} stride {list(stride)} on input {in_shape} gives an "
                           "empty output")
        return channels, ho, wo

    def check_windows(self, in_shape: tuple[int, ...], k: tuple[int, ...],
                      stride: tuple[int, ...], pads: tuple[int, int, int, int],
                      dil: tuple[int, ...], out_shape: tuple[int, int, int]) -> None:
        """Refuse pooling windows that cover padding only (their value is undefined)."""
        for axis in (0, 1):
            taps = (np.arange(out_shape[axis + 1])[:, None] * stride[axis] - pads[axis]
                    + np.arange(k[axis])[None, :] * dil[axis])
            inside = ((taps >= 0) & (taps < in_shape[axis + 1])).any(axis=1)
            if not inside.all():
                where = ("row", "column")[axis]
                raise self.err(f"window {list(k)} (strides {list(stride)}, dilations "
                               f"{list(dil)}, pads {list(pads)}) at output {where} "
                               f"{int(np.argmin(inside))} covers padding only; not supported")

    def gemm(self, node: onnx.NodeProto) -> None:
        a = self.attrs(node)
        if a.get("transA", 0):
            raise self.err("transA=1 is not supported (the first input must be (batch, features))")
        x = self.live(node.input[0])
        if len(x.shape) != 1:
            raise self.err(f"expects a (batch, features) input, got features of shape {x.shape}")
        w = self.const(node.input[1], "weight B", float_only=True)
        if w.ndim != 2:
            raise self.err(f"weight B must be 2-D, got {list(w.shape)}")
        w = w if a.get("transB", 0) else w.T
        if w.shape[1] != x.shape[0]:
            raise self.err(f"weight {list(w.shape)} does not fit {x.shape[0]} input features")
        w = float(a.get("alpha", 1.0)) * w  # type: ignore[arg-type]
        c = self.opt(node, 2)
        bias = None
        if c:
            cv = self.const(c, "bias C", float_only=True)
            try:
                bias = float(a.get("beta", 1.0)) * np.broadcast_to(cv, (1, w.shape[0]))[0]  # type: ignore
            except ValueError:
                raise self.err(f"bias C {list(cv.shape)} does not broadcast to {w.shape[0]} "
                               "outputs") from None
        self.emit(L.Dense, x, (w.shape[0],), weight=np.ascontiguousarray(w, dtype=np.float32),
                  bias=None if bias is None else bias.astype(np.float32))

    def matmul(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        w = self.const(node.input[1], "weight", float_only=True)
        if len(x.shape) != 1 or w.ndim != 2 or w.shape[0] != x.shape[0]:
            raise self.err(f"only (batch, {w.shape[0] if w.ndim else '?'}) x {list(w.shape)} "
                           f"matrix products are supported; input features have shape {x.shape}")
        self.emit(L.Dense, x, (w.shape[1],), weight=np.ascontiguousarray(w.T, dtype=np.float32))

    def arith(self, node: onnx.NodeProto) -> None:
        a_name, b_name = node.input[0], node.input[1]
        a, b = self.get(a_name), self.get(b_name)
        op = node.op_type
        if isinstance(a, Val) and isinstance(b, Val):
            if op != "Add":
                raise self.err(f"{op} of two computed tensors is not supported (only Add)")
            if a.shape != b.shape:
                raise self.err(f"adds tensors of shapes {a.shape} and {b.shape}; only equal "
                               "shapes are supported")
            self.emit(L.Add, [a, b], a.shape)
            return
        val, c, val_first = (a, b, True) if isinstance(a, Val) else (b, a, False)
        assert isinstance(val, Val) and isinstance(c, np.ndarray)
        if c.dtype.kind != "f":
            raise self.err(f"constant operand has non-float type {c.dtype}")
        if op == "Div" and not val_first:
            raise self.err("dividing a constant by a computed tensor is not supported")
        full = self.broadcast_const(c, val.shape)
        if op == "Div" and np.any(full == 0):
            raise self.err("division by a zero constant")
        per = _per_channel(full)
        k = full if per is None else per
        one, zero = np.ones_like(k), np.zeros_like(k)
        scale, shift = {
            "Add": (one, k), "Mul": (k, zero),
            "Sub": (one, -k) if val_first else (-one, k),
            "Div": (1.0 / k, zero),
        }[op]
        if per is None:  # merged into the input transform or a Dense layer, or refused
            where = f"node {self.label!r} ({op}): constant of shape {list(c.shape)}"
            self.emit(ElementAffine, val, val.shape, scale=scale, shift=shift, where=where)
        else:
            self.emit(L.ChannelAffine, val, val.shape, scale=scale.astype(np.float32),
                      shift=shift.astype(np.float32))

    def broadcast_const(self, c: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The constant broadcast to one sample ``shape``, or an error if it changes the shape."""
        full = (1, *shape)
        try:
            out_shape = np.broadcast_shapes(c.shape, full)
        except ValueError:
            raise self.err(f"constant of shape {list(c.shape)} does not broadcast to the tensor "
                           f"(N, {', '.join(map(str, shape))})") from None
        if out_shape != full:
            raise self.err(f"constant of shape {list(c.shape)} would change the tensor's shape")
        return np.broadcast_to(c, full)[0].astype(np.float64)

    def relu(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        self.emit(L.Activation, x, x.shape, kind="relu")

    def clip(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        a = self.attrs(node)
        lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
        if self.opt(node, 1):
            lo = float(self.const(node.input[1], "min").reshape(-1)[0])
        if self.opt(node, 2):
            hi = float(self.const(node.input[2], "max").reshape(-1)[0])
        if lo != 0.0 or not hi > 0.0:  # type: ignore[operator]
            raise self.err(f"Clip({lo}, {hi}) is not supported; only Clip(0, max) (ReLU, ReLU6)")
        params = {} if hi == np.inf else {"max": float(hi)}  # type: ignore[arg-type]
        self.emit(L.Activation, x, x.shape, kind="relu", params=params)

    def _pool_common(self, node: onnx.NodeProto) -> tuple[Val, dict[str, object], tuple[int, ...],
                                                          tuple[int, ...], tuple[int, ...]]:
        x = self.live(node.input[0])
        a = self.attrs(node)
        k = a.get("kernel_shape")
        if not isinstance(k, list) or len(k) != 2 or len(x.shape) != 3:
            raise self.err(f"only 2-D pooling on (C, H, W) is supported (kernel_shape {k}, "
                           f"input {x.shape})")
        kernel = tuple(int(v) for v in k)
        return x, a, kernel, self.ints(a, "strides", 2, 1, 1), self.ints(a, "dilations", 2, 1, 1)

    def avgpool(self, node: onnx.NodeProto) -> None:
        x, a, k, s, d = self._pool_common(node)
        if d != (1, 1):
            raise self.err(f"dilated average pooling (dilations {list(d)}) is not supported")
        pads = self.window_pads(a, x.shape[1:], k, s, d, pool=True)
        ceil = bool(a.get("ceil_mode", 0))
        shape = self.window_shape(x.shape, x.shape[0], k, s, pads, d, ceil)
        self.check_windows(x.shape, k, s, pads, d, shape)
        self.emit(L.AvgPool2d, x, shape, kernel=k, stride=s, padding=pads, ceil_mode=ceil,
                  count_include_pad=bool(a.get("count_include_pad", 0)))

    def maxpool(self, node: onnx.NodeProto) -> None:
        x, a, k, s, d = self._pool_common(node)
        pads = self.window_pads(a, x.shape[1:], k, s, d, pool=True)
        ceil = bool(a.get("ceil_mode", 0))
        shape = self.window_shape(x.shape, x.shape[0], k, s, pads, d, ceil)
        self.check_windows(x.shape, k, s, pads, d, shape)
        self.emit(L.MaxPool2d, x, shape, kernel=k, stride=s, padding=pads, ceil_mode=ceil,
                  dilation=d)

    def global_pool(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        if len(x.shape) != 3:
            raise self.err(f"expects a (C, H, W) input, got {x.shape}")
        cls = L.AvgPool2d if node.op_type == "GlobalAveragePool" else L.MaxPool2d
        self.emit(cls, x, (x.shape[0], 1, 1), kernel=x.shape[1:], stride=(1, 1))

    def batchnorm(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        a = self.attrs(node)
        if a.get("training_mode", 0):
            raise self.err("training_mode=1 is not supported; export the model in eval mode")
        if len(node.input) < 5:
            raise self.err("needs scale, bias, mean and var inputs")
        g, b, m, v = (self.const(node.input[i], n, float_only=True).astype(np.float64).reshape(-1)
                      for i, n in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")))
        c = x.shape[0]
        if not all(arr.size == c for arr in (g, b, m, v)):
            raise self.err(f"parameters must have {c} values (one per channel)")
        eps = float(a.get("epsilon", 1e-5))  # type: ignore[arg-type]
        if np.any(v + eps <= 0):
            raise self.err("variance + epsilon must be positive")
        scale = g / np.sqrt(v + eps)
        self.emit(L.ChannelAffine, x, x.shape, scale=scale.astype(np.float32),
                  shift=(b - m * scale).astype(np.float32))

    def reshape_to(self, x: Val, shape: tuple[int, ...]) -> None:
        """Bind the node's output to ``x`` reshaped (no layer when the shape is unchanged)."""
        assert self.node is not None
        if math.prod(shape) != math.prod(x.shape) or min(shape, default=1) < 1:
            raise self.err(f"cannot reshape {x.shape} to {shape}")
        if shape == x.shape:
            self.values[self.node.output[0]] = x
        else:
            self.emit(L.Reshape, x, shape)

    def flatten(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        axis = int(self.attrs(node).get("axis", 1))  # type: ignore[call-overload]
        if axis < 0:
            axis += len(x.shape) + 1
        if axis != 1:
            raise self.err(f"Flatten axis={axis} is not supported (only axis=1, keeping the batch)")
        self.reshape_to(x, (math.prod(x.shape),))

    def reshape(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        target = [int(d) for d in self.const(node.input[1], "shape").reshape(-1)]
        allowzero = int(self.attrs(node).get("allowzero", 0))  # type: ignore[call-overload]
        full = (1, *x.shape)
        if not target:
            raise self.err("reshape to a scalar is not supported")
        if target[0] not in (1, -1, 0):
            raise self.err(f"reshape to {target} changes the batch dimension; the first entry "
                           "must be the batch (-1, 0 or a hard-coded 1)")
        dims = []
        for i, d in enumerate(target[1:], start=1):
            if d == 0 and not allowzero:
                if i >= len(full):
                    raise self.err(f"shape {target}: 0 at position {i} copies no input dimension")
                d = full[i]
            dims.append(d)
        if (dims.count(-1) + (target[0] == -1) > 1 or any(d < -1 or d == 0 for d in dims)
                or (target[0] == 0 and allowzero)):
            raise self.err(f"invalid target shape {target}")
        if -1 in dims:
            known = math.prod(d for d in dims if d != -1)
            if known == 0 or math.prod(x.shape) % known:
                raise self.err(f"cannot reshape {x.shape} to {target}")
            dims[dims.index(-1)] = math.prod(x.shape) // known
        self.reshape_to(x, tuple(dims))

    def squeeze(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        raw = self.attrs(node).get("axes")  # an attribute before opset 13, an input from 13
        if self.opt(node, 1):
            raw = [int(v) for v in self.const(node.input[1], "axes").reshape(-1)]
        given = [int(v) for v in raw] if isinstance(raw, list) else []
        full = [1, *x.shape]
        rank = len(full) + (len(given) if node.op_type == "Unsqueeze" else 0)
        axes = sorted(v + rank if v < 0 else v for v in given)
        if any(not 0 <= v < rank for v in axes) or len(set(axes)) != len(axes):
            raise self.err(f"axes {given} are out of range or repeated for rank {rank}")
        if node.op_type == "Squeeze":
            if not axes:
                ones = [i for i, d in enumerate(full) if d == 1 and i]
                raise self.err("Squeeze without axes would also remove a batch of 1; give the "
                               f"axes to remove, e.g. {ones}")
            if 0 in axes or any(full[i] != 1 for i in axes):
                raise self.err(f"cannot squeeze axes {axes} of (N, {', '.join(map(str, x.shape))})")
            shape = [d for i, d in enumerate(full) if i not in axes]
        else:
            if 0 in axes or not axes:
                raise self.err(f"unsqueeze axes {axes} must keep the batch first")
            shape = full
            for i in axes:
                shape.insert(i, 1)
        self.reshape_to(x, tuple(shape[1:]))

    def transpose(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        full = (1, *x.shape)
        raw = self.attrs(node).get("perm")
        perm = [int(p) for p in raw] if isinstance(raw, list) else list(reversed(range(len(full))))
        if sorted(perm) != list(range(len(full))):
            raise self.err(f"perm {perm} does not fit rank {len(full)}")
        moved = [p for p in perm if full[p] != 1]
        if perm[0] != 0 or moved != sorted(moved):
            raise self.err(f"Transpose perm={perm} of (N, {', '.join(map(str, x.shape))}) moves "
                           "data; only layout no-op transposes (moving size-1 axes) are supported")
        self.reshape_to(x, tuple(full[p] for p in perm[1:]))

    def concat(self, node: onnx.NodeProto) -> None:
        ins = [self.get(i) for i in node.input if i]
        if not all(isinstance(v, Val) for v in ins):
            raise self.err("concatenating constants with computed tensors is not supported")
        vals: list[Val] = ins  # type: ignore[assignment]
        rank = len(vals[0].shape) + 1
        axis = int(self.attrs(node).get("axis", 1))  # type: ignore[call-overload]
        axis = axis + rank if axis < 0 else axis
        if axis != 1:
            raise self.err(f"Concat on axis {axis} is not supported (only channels, axis 1)")
        if any(v.shape[1:] != vals[0].shape[1:] for v in vals):
            raise self.err(f"inputs {[v.shape for v in vals]} differ beyond the channel axis")
        shape = (sum(v.shape[0] for v in vals), *vals[0].shape[1:])
        self.emit(L.Concat, vals, shape)

    def identity(self, node: onnx.NodeProto) -> None:
        if node.op_type == "Dropout" and self.opt(node, 2):
            tm = self.get(node.input[2])
            if isinstance(tm, Val) or bool(np.asarray(tm).reshape(-1)[0]):
                raise self.err("training_mode must be a constant false")
        self.values[node.output[0]] = self.get(node.input[0])

    def softmax(self, node: onnx.NodeProto) -> None:
        x = self.live(node.input[0])
        out = node.output[0]
        if out not in self.graph_outputs:
            raise self.err(f"{node.op_type} is only supported at the model's output (recorded as "
                           "the output decoding)")
        axis = int(self.attrs(node).get("axis", 1 if self.opset < 13 else -1))  # type: ignore
        full = (1, *x.shape)
        axis = axis + len(full) if axis < 0 else axis
        # Before opset 13 the input is coerced to 2-D at ``axis``; from 13 only ``axis`` is reduced.
        # Either way it is the decoding over all of a sample's values iff the others have size 1.
        rest = full[1:axis] if self.opset < 13 else full[1:axis] + full[axis + 1:]
        if axis < 1 or axis >= len(full) or math.prod(rest) != 1:
            raise self.err(f"{node.op_type} over axis {axis} of (N, "
                           f"{', '.join(map(str, x.shape))}) is not supported; only over all of "
                           "a sample's values, e.g. the class axis of (N, classes)")
        self.values[out] = x
        self.decodings[out] = node.op_type.lower()

    def activation(self, node: onnx.NodeProto, kind: str, params: dict[str, float]) -> None:
        """An elementwise activation layer on the node's first input."""
        x = self.live(node.input[0])
        self.emit(L.Activation, x, x.shape, kind=kind, params=params)

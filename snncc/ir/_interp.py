"""Reference interpreter: runs each layer type on a numpy batch, in float64.

This is the definition of what a LayerGraph computes; tests hold it equal to onnxruntime on the
original ONNX model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from snncc.ir import layers as L

__all__ = ["LAYER_FUNCTIONS", "softlif_rate"]

Array = np.ndarray


def softlif_rate(x: Array, tau_rc: float, tau_ref: float, gamma: float, amplitude: float) -> Array:
    """Soft-LIF rate of input ``x = j - 1``, stable for large and very negative ``x``."""
    y = np.asarray(x, dtype=np.float64) / gamma
    sp = np.logaddexp(0.0, y)  # softplus(y), no overflow
    with np.errstate(divide="ignore", over="ignore"):
        # log1p(1/p) with p = gamma*sp; where sp underflows use the asymptote -y - log(gamma).
        q = np.where(y < -30.0, -y - np.log(gamma),
                     np.log1p(1.0 / (gamma * np.maximum(sp, 1e-300))))
    return amplitude / (tau_ref + tau_rc * q)


def lif_rate(x: Array, tau_rc: float, tau_ref: float, amplitude: float) -> Array:
    """Hard LIF rate of input ``x = j - 1`` (zero at or below threshold)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    pos = x > 0
    out[pos] = amplitude / (tau_ref + tau_rc * np.log1p(1.0 / x[pos]))
    return out


def _windows(x: Array, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int], out_hw: tuple[int, ...]) -> Array:
    """Strided, dilated windows of a padded (N, C, H, W) array: (N, C, Ho, Wo, kh, kw)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = sliding_window_view(x, span, axis=(2, 3))
    win = win[:, :, : (out_hw[0] - 1) * sh + 1 : sh, : (out_hw[1] - 1) * sw + 1 : sw]
    return win[..., ::dh, ::dw]


def _pad(x: Array, padding: tuple[int, int, int, int], out_hw: tuple[int, ...],
         kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
         value: float) -> Array:
    """Pad explicitly, plus whatever the last (ceil-mode) window reaches beyond the padding."""
    pt, pl, pb, pr = padding
    h, w = x.shape[2] + pt + pb, x.shape[3] + pl + pr
    need_h = (out_hw[0] - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1
    need_w = (out_hw[1] - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1
    extra_h, extra_w = max(0, need_h - h), max(0, need_w - w)
    return np.pad(x, ((0, 0), (0, 0), (pt, pb + extra_h), (pl, pr + extra_w)),
                  constant_values=value)


def _input(layer: L.Input, xs: list[Array]) -> Array:
    x = xs[0]
    if layer.scale is not None:
        x = x * layer.scale
    if layer.shift is not None:
        x = x + layer.shift
    return x


def _dense(layer: L.Dense, xs: list[Array]) -> Array:
    y = xs[0] @ layer.weight.T.astype(np.float64)
    return y if layer.bias is None else y + layer.bias


def _conv(layer: L.Conv2d, xs: list[Array]) -> Array:
    x = xs[0]
    n, c = x.shape[:2]
    g = layer.groups
    kh, kw = layer.kernel
    o = layer.weight.shape[0]
    xp = _pad(x, layer.padding, layer.shape[1:], layer.kernel, layer.stride, layer.dilation, 0.0)
    win = _windows(xp, layer.kernel, layer.stride, layer.dilation, layer.shape[1:])
    ho, wo = layer.shape[1:]
    win = win.reshape(n, g, c // g, ho, wo, kh, kw)
    w = layer.weight.astype(np.float64).reshape(g, o // g, c // g, kh, kw)
    y = np.einsum("ngchwij,gocij->ngohw", win, w, optimize=True).reshape(n, o, ho, wo)
    if layer.bias is not None:
        y = y + layer.bias.reshape(1, o, 1, 1)
    return y


def _avgpool(layer: L.AvgPool2d, xs: list[Array]) -> Array:
    x = xs[0]
    args = (layer.shape[1:], layer.kernel, layer.stride, (1, 1))
    total = _windows(_pad(x, layer.padding, *args, 0.0), layer.kernel, layer.stride, (1, 1),
                     layer.shape[1:]).sum(axis=(-1, -2))
    # Divisor: the window's cells inside the input (or inside input + explicit padding).
    pt, pl, pb, pr = layer.padding
    ones = np.ones((1, 1, *x.shape[2:]))
    if layer.count_include_pad:
        ones = np.pad(ones, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=1.0)
        pad = (0, 0, 0, 0)
    else:
        pad = layer.padding
    mask = _pad(ones, pad, *args, 0.0)
    count = _windows(mask, layer.kernel, layer.stride, (1, 1), layer.shape[1:]).sum(axis=(-1, -2))
    return total / count


def _maxpool(layer: L.MaxPool2d, xs: list[Array]) -> Array:
    xp = _pad(xs[0], layer.padding, layer.shape[1:], layer.kernel, layer.stride, layer.dilation,
              -np.inf)
    win = _windows(xp, layer.kernel, layer.stride, layer.dilation, layer.shape[1:])
    return win.max(axis=(-1, -2))


def _channel_affine(layer: L.ChannelAffine, xs: list[Array]) -> Array:
    extra = (1,) * (len(layer.shape) - 1)
    scale = layer.scale.astype(np.float64).reshape(-1, *extra)
    shift = layer.shift.astype(np.float64).reshape(-1, *extra)
    return xs[0] * scale + shift


def _add(layer: L.Add, xs: list[Array]) -> Array:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def _concat(layer: L.Concat, xs: list[Array]) -> Array:
    return np.concatenate(xs, axis=1)


def _reshape(layer: L.Reshape, xs: list[Array]) -> Array:
    return xs[0].reshape(xs[0].shape[0], *layer.shape)


def _activation(layer: L.Activation, xs: list[Array]) -> Array:
    x, p = xs[0], layer.params
    if layer.kind == "relu":
        y = np.maximum(x, 0.0)
        return np.minimum(y, p["max"]) if "max" in p else y
    if layer.kind == "softlif":
        return softlif_rate(x, p["tau_rc"], p["tau_ref"], p["gamma"], p["amplitude"])
    if layer.kind == "lif":
        return lif_rate(x, p["tau_rc"], p["tau_ref"], p["amplitude"])
    return x


def _output(layer: L.Output, xs: list[Array]) -> Array:
    x = xs[0]
    if layer.decoding == "none":
        return x
    flat = x.reshape(x.shape[0], -1)
    shifted = flat - flat.max(axis=1, keepdims=True)
    logz = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    out = shifted - logz if layer.decoding == "logsoftmax" else np.exp(shifted - logz)
    return out.reshape(x.shape)


LAYER_FUNCTIONS: dict[type, Callable[..., Array]] = {
    L.Input: _input,
    L.Dense: _dense,
    L.Conv2d: _conv,
    L.AvgPool2d: _avgpool,
    L.MaxPool2d: _maxpool,
    L.ChannelAffine: _channel_affine,
    L.Add: _add,
    L.Concat: _concat,
    L.Reshape: _reshape,
    L.Activation: _activation,
    L.Output: _output,
}

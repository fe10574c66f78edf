"""Float32 kernels for the ops of a projection chain, batched over the leading axis.

Each kernel computes what the float64 reference (:data:`snncc.ir._interp.LAYER_FUNCTIONS`)
computes for the same layer, in float32: Conv2d by im2col (a numba gather through indices
computed once, padding read as zero) and one BLAS matrix product per group, pooling by a loop
over the window's ``kh * kw`` offsets (each a strided whole-batch operation), Dense by one matrix
product. :func:`compile_op` binds a layer's weights and geometry once;
the simulator then calls the result every timestep.

The spiking max-pooling methods (``gate``, ``filtered``, ``avg``) are chosen here too; ``gate``
needs a key array (cumulative activity) besides the signal, see :func:`gate_maxpool2d`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from snncc.convert.net import ChannelEmbed
from snncc.errors import SimulationError
from snncc.ir import layers as L

__all__ = ["Kernel", "compile_op", "gate_maxpool2d", "pool_geometry"]

F32 = np.float32
_IM2COL_FLOATS = 1 << 24  # im2col buffer bound per call (64 MiB): the batch is cut to fit


@dataclass(frozen=True, slots=True)
class PoolGeometry:
    """Window geometry of a pooling or convolution op over a (C, H, W) input."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]


def pool_geometry(layer: L.Conv2d | L.AvgPool2d | L.MaxPool2d,
                  in_shape: tuple[int, ...]) -> PoolGeometry:
    """The window geometry of a Conv2d, AvgPool2d or MaxPool2d layer."""
    dilation = getattr(layer, "dilation", (1, 1))
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel, layer.stride, dilation
    pt, pl, pb, pr = layer.padding
    return PoolGeometry((kh, kw), (sh, sw), (pt, pl, pb, pr), (dh, dw),
                        (in_shape[1], in_shape[2]), (layer.shape[1], layer.shape[2]))


def _padded(x: np.ndarray, g: PoolGeometry, fill: float) -> np.ndarray:
    """``x`` (B, C, H, W) with the explicit padding plus what the last window reaches."""
    pt, pl, pb, pr = g.padding
    (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.stride, g.dilation
    need_h = (g.out_hw[0] - 1) * sh + dh * (kh - 1) + 1
    need_w = (g.out_hw[1] - 1) * sw + dw * (kw - 1) + 1
    h, w = x.shape[2], x.shape[3]
    full_h, full_w = max(h + pt + pb, need_h), max(w + pl + pr, need_w)
    if (pt, pl) == (0, 0) and full_h == h and full_w == w:
        return x
    out = np.full((*x.shape[:2], full_h, full_w), fill, dtype=x.dtype)
    out[:, :, pt:pt + h, pl:pl + w] = x
    return out


def _taps(xp: np.ndarray, g: PoolGeometry) -> list[np.ndarray]:
    """The ``kh * kw`` strided views of a padded input, one per window offset: (B, C, Ho, Wo)."""
    (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.stride, g.dilation
    ho, wo = g.out_hw
    return [xp[:, :, i * dh: i * dh + (ho - 1) * sh + 1: sh, j * dw: j * dw + (wo - 1) * sw + 1: sw]
            for i in range(kh) for j in range(kw)]


def sum_pool2d(x: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """Window sums (padding counts as zero)."""
    taps = _taps(_padded(x, g, 0.0), g)
    out = taps[0].copy()
    for t in taps[1:]:
        out += t
    return out


def maxpool2d(x: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """Window maxima; padding never wins."""
    taps = _taps(_padded(x, g, -np.inf), g)
    out = taps[0].copy()
    for t in taps[1:]:
        np.maximum(out, t, out=out)
    return out


def avg_divisor(g: PoolGeometry, count_include_pad: bool) -> np.ndarray:
    """Divisor of each window (Ho, Wo), float32, exactly as the reference counts it."""
    h, w = g.in_hw
    pt, pl, pb, pr = g.padding
    mask = np.ones((1, 1, h, w))
    if count_include_pad:  # explicit padding counts, the ceil-mode overhang does not
        mask = np.pad(mask, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=1.0)
        g = PoolGeometry(g.kernel, g.stride, (0, 0, 0, 0), g.dilation,
                         (h + pt + pb, w + pl + pr), g.out_hw)
    return sum_pool2d(mask, g)[0, 0].astype(F32)


@numba.njit(cache=True, nogil=True)
def _gate(x, key, out, kh, kw, sh, sw, pt, pl, dh, dw):
    n, c, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    for b in range(n):
        for ch in range(c):
            for oh in range(ho):
                for ow in range(wo):
                    found = False
                    best = key[b, ch, 0, 0]
                    val = np.float32(0.0)
                    for i in range(kh):
                        r = oh * sh - pt + i * dh
                        if r < 0 or r >= h:
                            continue
                        for j in range(kw):
                            s = ow * sw - pl + j * dw
                            if s < 0 or s >= w:
                                continue
                            k = key[b, ch, r, s]
                            if not found or k > best:  # strict: ties keep the first index
                                found, best, val = True, k, x[b, ch, r, s]
                    out[b, ch, oh, ow] = val


def gate_maxpool2d(x: np.ndarray, key: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """Gated max pooling: each window passes the value of ``x`` where ``key`` is largest.

    ``key`` (same shape as ``x``) is the cumulative activity of the op's input in the current
    presentation; ties go to the first index of the window (row-major); padding never wins.
    """
    out = np.empty((x.shape[0], x.shape[1], *g.out_hw), dtype=F32)
    (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.stride, g.dilation
    _gate(np.ascontiguousarray(x, dtype=F32), np.ascontiguousarray(key), out,
          kh, kw, sh, sw, g.padding[0], g.padding[1], dh, dw)
    return out


def conv_index(g: PoolGeometry, channels: int, groups: int) -> np.ndarray:
    """im2col gather indices (groups, Ho*Wo*K) into a flattened (C*H*W + 1) sample.

    Row-major over (oh, ow, c, i, j) with K = C/groups * kh * kw; taps in the padding point at
    the extra last element, which holds zero.
    """
    (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.stride, g.dilation
    (h, w), (ho, wo), cg = g.in_hw, g.out_hw, channels // groups
    r = (np.arange(ho) * sh - g.padding[0])[:, None] + np.arange(kh)[None, :] * dh  # (ho, kh)
    s = (np.arange(wo) * sw - g.padding[1])[:, None] + np.arange(kw)[None, :] * dw  # (wo, kw)
    r = r[:, None, None, :, None]
    s = s[None, :, None, None, :]
    c = np.arange(cg)[None, None, :, None, None]
    inside = (r >= 0) & (r < h) & (s >= 0) & (s < w)
    flat = np.where(inside, c * (h * w) + r * w + s, channels * h * w)
    offsets = np.arange(groups)[:, None] * (cg * h * w)
    index = np.where(flat.reshape(1, -1) == channels * h * w, channels * h * w,
                     flat.reshape(1, -1) + offsets)
    return index.astype(np.int32)


@numba.njit(cache=True, nogil=True)
def _gather(xf, index, cols):
    """``cols[b * m + t] = xf[b, index[t]]`` with ``m = index.size``: one sample's im2col."""
    m = index.size
    for b in range(xf.shape[0]):
        base = b * m
        for t in range(m):
            cols[base + t] = xf[b, index[t]]


def conv2d(x: np.ndarray, wt: np.ndarray, index: np.ndarray, out_hw: tuple[int, int]
           ) -> np.ndarray:
    """Convolution by im2col (gather with :func:`conv_index`) and a BLAS product per group.

    ``wt`` is (groups, C/groups * kh * kw, O/groups) float32. The batch is cut so that the
    im2col buffer stays under 64 MiB.
    """
    n = x.shape[0]
    groups, m = index.shape
    (ho, wo), og = out_hw, wt.shape[2]
    k = wt.shape[1]
    xf = np.zeros((n, x[0].size + 1), dtype=F32)  # the last column is the padding's zero
    xf[:, :-1] = x.reshape(n, -1)
    out = np.empty((n, groups * og, ho, wo), dtype=F32)
    chunk = max(1, _IM2COL_FLOATS // m)
    cols = np.empty(min(n, chunk) * m, dtype=F32)
    for b0 in range(0, n, chunk):
        b1 = min(n, b0 + chunk)
        part = cols[: (b1 - b0) * m]
        for gi in range(groups):
            _gather(xf[b0:b1], index[gi], part)
            y = part.reshape(-1, k) @ wt[gi]
            out[b0:b1, gi * og:(gi + 1) * og] = y.reshape(b1 - b0, ho, wo, og).transpose(0, 3, 1, 2)
    return out


@dataclass(frozen=True, slots=True)
class Kernel:
    """A compiled op: ``fn(x)`` or, when ``needs_key``, ``fn(x, key)``; shapes exclude batch."""

    layer: L.Layer
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    fn: Callable[..., np.ndarray]
    needs_key: bool = False


def compile_op(layer: L.Layer, in_shape: tuple[int, ...], maxpool: str = "filtered") -> Kernel:
    """Bind ``layer``'s weights (as float32) and geometry into a batched kernel.

    Args:
        layer: A projection op: Conv2d, Dense, AvgPool2d, MaxPool2d, Reshape, ChannelAffine or
            ChannelEmbed. Biases of Conv2d/Dense are added if present.
        in_shape: The op's input shape (batch excluded).
        maxpool: How a MaxPool2d runs: ``gate`` (needs a key), ``filtered`` (the plain max, as
            the reference) or ``avg`` (average over the window, padding not counted).

    Raises:
        SimulationError: for an op type a projection cannot hold.
    """
    out_shape = tuple(layer.shape)
    fn: Callable[..., np.ndarray]
    if isinstance(layer, L.Dense):
        wt = np.ascontiguousarray(layer.weight.T, dtype=F32)
        b = None if layer.bias is None else layer.bias.astype(F32)

        def fn(x: np.ndarray) -> np.ndarray:
            y = x.reshape(x.shape[0], -1) @ wt
            return y if b is None else y + b
    elif isinstance(layer, L.Conv2d):
        g, groups = pool_geometry(layer, in_shape), layer.groups
        o = layer.weight.shape[0]
        w = layer.weight.astype(F32).reshape(groups, o // groups, -1)
        wt = np.ascontiguousarray(w.transpose(0, 2, 1))
        b = None if layer.bias is None else layer.bias.astype(F32).reshape(1, o, 1, 1)
        index = conv_index(g, in_shape[0], groups)

        def fn(x: np.ndarray) -> np.ndarray:
            y = conv2d(x, wt, index, g.out_hw)
            return y if b is None else y + b
    elif isinstance(layer, L.AvgPool2d) or (isinstance(layer, L.MaxPool2d) and maxpool == "avg"):
        g = pool_geometry(layer, in_shape)
        div = avg_divisor(g, bool(getattr(layer, "count_include_pad", False)))

        def fn(x: np.ndarray) -> np.ndarray:
            out = sum_pool2d(x, g)
            out /= div
            return out
    elif isinstance(layer, L.MaxPool2d):
        g = pool_geometry(layer, in_shape)
        if maxpool == "gate":
            return Kernel(layer, in_shape, out_shape,
                          lambda x, key: gate_maxpool2d(x, key, g), needs_key=True)
        fn = lambda x: maxpool2d(x, g)  # noqa: E731
    elif isinstance(layer, L.Reshape):
        fn = lambda x: x.reshape(x.shape[0], *out_shape)  # noqa: E731
    elif isinstance(layer, L.ChannelAffine):
        extra = (1,) * (len(out_shape) - 1)
        scale = layer.scale.astype(F32).reshape(-1, *extra)
        shift = None if not np.any(layer.shift) else layer.shift.astype(F32).reshape(-1, *extra)

        def fn(x: np.ndarray) -> np.ndarray:
            y = x * scale
            return y if shift is None else y + shift
    elif isinstance(layer, ChannelEmbed):
        lo, hi = layer.offset, layer.offset + in_shape[0]

        def fn(x: np.ndarray) -> np.ndarray:
            out = np.zeros((x.shape[0], *out_shape), dtype=F32)
            out[:, lo:hi] = x
            return out
    else:
        raise SimulationError(f"layer {layer.name!r}: op {layer.op} cannot run in a projection "
                              f"(known: Conv2d, Dense, AvgPool2d, MaxPool2d, Reshape, "
                              f"ChannelAffine, ChannelEmbed)")
    return Kernel(layer, in_shape, out_shape, fn)

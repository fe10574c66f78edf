"""Event-driven projection of sparse spike trains through a linear projection chain.

A population's spike output is sparse: per batch row, a list of the neurons that spiked this step
(``sidx[b, :scnt[b]]``) and their values ``u[b, i]`` (``amplitude / dt``, or ``±1/(dt*max_rate)``
for Poisson input). A linear chain maps those events onto its post-synaptic values, adding into a
dense (B, post size) buffer; the cost is the events' fan-out instead of the chain's dense
multiply-adds. The chain is split, once, into three parts:

- prefix: the ops before the first weighted op (AvgPool2d, MaxPool2d under ``maxpool="avg"``,
  Reshape, ChannelAffine, ChannelEmbed), composed into one sparse matrix (CSR, float32). Each
  event is spread to the windows containing it with weight ``1/count`` (the divisor of the dense
  kernel: ``count_include_pad``, ceil mode, padding and dilation as there), scaled, re-indexed.
  The resulting events are coalesced per row (two spikes in one pooling window make one event).
- the weighted op: Dense (add ``value * column`` of the weight) or Conv2d (scatter the kernel:
  for each tap ``(i, j)`` whose output position ``((r + pt - i*dh)/sh, (s + pl - j*dw)/sw)`` is
  an in-range integer, add ``value * W[:, c, i, j]`` over the group's output channels, into an
  (Ho, Wo, O) scratch whose inner axis is contiguous, then added to the output in (O, Ho, Wo)
  order). Without a weighted op the prefix matrix maps onto the output directly.
- suffix: Reshape, ChannelEmbed and ChannelAffine after the weighted op are folded into it (a flat
  offset and per-output scales). Any other op there (rare) runs densely on the weighted op's
  output (``rest``).

Each row is independent of the others (its result does not depend on the batch).

Not linear, so not here: MaxPool2d under ``gate``/``filtered``, Dense/Conv2d biases, affine
shifts; :attr:`EventPlan.supports` tells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np
import scipy.sparse as sp

from snncc.convert.net import ChannelEmbed
from snncc.ir import layers as L
from snncc.sim._kernels import Kernel, avg_divisor, pool_geometry

__all__ = ["EventPlan", "is_linear", "nonzero_rows", "split_rows"]

F32 = np.float32
_ONE_TO_ONE = (L.Reshape, ChannelEmbed, L.ChannelAffine)


def is_linear(ops: Sequence[L.Layer], maxpool: str) -> bool:
    """Whether the chain is linear (commutes with the synapse filter) and runs on events."""
    for op in ops:
        if isinstance(op, L.MaxPool2d):
            if maxpool != "avg":
                return False
        elif isinstance(op, L.Dense | L.Conv2d):
            if op.bias is not None and np.any(op.bias):
                return False
        elif isinstance(op, L.ChannelAffine):
            if np.any(op.shift):
                return False
        elif not isinstance(op, L.AvgPool2d | L.Reshape | ChannelEmbed):
            return False
    return True


def _channel_scale(op: L.ChannelAffine) -> np.ndarray:
    """The affine's scale per flat value of its (input = output) shape, float64."""
    extra = (1,) * (len(op.shape) - 1)
    return np.broadcast_to(op.scale.astype(np.float64).reshape(-1, *extra), op.shape).ravel()


def _op_matrix(op: L.Layer, in_shape: tuple[int, ...]) -> sp.csr_matrix:
    """The (in size, out size) matrix of a one-to-one or pooling op (float64)."""
    n_in, n_out = math.prod(in_shape), op.size
    if isinstance(op, L.Reshape):
        return sp.identity(n_in, dtype=np.float64, format="csr")
    if isinstance(op, L.ChannelAffine):
        return sp.diags(_channel_scale(op), format="csr")
    if isinstance(op, ChannelEmbed):
        shift = op.offset * math.prod(op.shape[1:])
        cols = np.arange(n_in) + shift
        return sp.csr_matrix((np.ones(n_in), (np.arange(n_in), cols)), shape=(n_in, n_out))
    assert isinstance(op, L.AvgPool2d | L.MaxPool2d)
    g = pool_geometry(op, in_shape)
    div = avg_divisor(g, bool(getattr(op, "count_include_pad", False))).astype(np.float64)
    (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.stride, g.dilation
    (h, w), (ho, wo) = g.in_hw, g.out_hw
    oh, ow, i, j = np.meshgrid(np.arange(ho), np.arange(wo), np.arange(kh), np.arange(kw),
                               indexing="ij")
    r, s = oh * sh - g.padding[0] + i * dh, ow * sw - g.padding[1] + j * dw
    ok = (r >= 0) & (r < h) & (s >= 0) & (s < w)
    with np.errstate(divide="ignore"):
        vals = (1.0 / div)[oh, ow][ok]
    spatial = sp.csr_matrix((vals, ((r * w + s)[ok], (oh * wo + ow)[ok])), shape=(h * w, ho * wo))
    return sp.kron(sp.identity(in_shape[0], format="csr"), spatial, format="csr")


@numba.njit(cache=True, nogil=True)
def _coalesce(u_row, sidx_row, cnt, indptr, indices, data, mid, mark, touched):
    """Spread one row's events through the prefix matrix into ``mid``; return the touched count.

    ``touched[:n]`` lists the mid indices reached, in first-touch order; ``mark`` flags them.
    """
    nt = 0
    for e in range(cnt):
        i = sidx_row[e]
        v = u_row[i]
        for q in range(indptr[i], indptr[i + 1]):
            m = indices[q]
            if not mark[m]:
                mark[m] = True
                touched[nt] = m
                nt += 1
            mid[m] += v * data[q]
    return nt


@numba.njit(cache=True, nogil=True)
def _scatter_matrix(u, sidx, scnt, rows, indptr, indices, data, out):
    """``out[b] += events(b) @ P`` for each selected row (no weighted op)."""
    for k in range(rows.size):
        b = rows[k]
        o = out[b]
        for e in range(scnt[b]):
            i = sidx[b, e]
            v = u[b, i]
            for q in range(indptr[i], indptr[i + 1]):
                o[indices[q]] += v * data[q]


@numba.njit(cache=True, nogil=True)
def _scatter_dense(u, sidx, scnt, rows, has_prefix, indptr, indices, data, mid, mark, touched,
                   wt, out, off):
    """Dense op: ``out[b, off:off+n] += value * wt[index]`` per (coalesced) event."""
    n = wt.shape[1]
    for k in range(rows.size):
        b = rows[k]
        ur, sr = u[b], sidx[b]
        nt = scnt[b]
        if has_prefix:
            nt = _coalesce(ur, sr, nt, indptr, indices, data, mid, mark, touched)
        o = out[b, off:off + n]
        for t in range(nt):
            if has_prefix:  # take the coalesced event and clear its scratch entry
                m = touched[t]
                v = mid[m]
                mid[m] = 0.0
                mark[m] = False
            else:
                m = sr[t]
                v = ur[m]
            if v == 0.0:
                continue
            col = wt[m]
            for j in range(n):
                o[j] += v * col[j]


@numba.njit(cache=True, nogil=True)
def _scatter_conv(u, sidx, scnt, rows, has_prefix, indptr, indices, data, mid, mark, touched,
                  wt, acc, out, off, hw_in, tap_h, tap_w, contiguous):
    """Conv2d: scatter each (coalesced) event's kernel into the (Ho, Wo, O) scratch ``acc``.

    ``wt`` is (C, kh, kw, O/groups) with the ``kw`` axis reversed; ``hw_in`` = (h, w, C/groups,
    Wo, O). ``tap_h[r]`` lists the (i, oh) pairs by which input row ``r`` reaches an output row
    (count first: ``tap_h[r, 0]``, then pairs), ``tap_w[s]`` the (j, ow) pairs by ascending
    ``ow``. With ``contiguous`` (one group, unit stride and dilation along W) a row of taps is
    one contiguous block of ``acc`` and of ``wt``. Each row's scratch is then added to
    ``out[b, off:]`` in (O, Ho, Wo) order and cleared.
    """
    kw, og = wt.shape[2], wt.shape[3]
    h, w, cg, wo, n_out = hw_in[0], hw_in[1], hw_in[2], hw_in[3], hw_in[4]
    size = acc.size
    hw = size // n_out
    wf = wt.reshape(-1)
    for k in range(rows.size):
        b = rows[k]
        ur, sr = u[b], sidx[b]
        nt = scnt[b]
        if has_prefix:
            nt = _coalesce(ur, sr, nt, indptr, indices, data, mid, mark, touched)
        used = False
        for t in range(nt):
            if has_prefix:  # take the coalesced event and clear its scratch entry
                m = touched[t]
                v = mid[m]
                mid[m] = 0.0
                mark[m] = False
            else:
                m = sr[t]
                v = ur[m]
            if v == 0.0:
                continue
            used = True
            c = m // (h * w)
            rem = m - c * (h * w)
            r = rem // w
            s = rem - r * w
            obase = (c // cg) * og
            nw = tap_w[s, 0]
            if nw == 0:
                continue
            for p in range(tap_h[r, 0]):
                i, oh = tap_h[r, 1 + 2 * p], tap_h[r, 2 + 2 * p]
                wrow = (c * wt.shape[1] + i) * kw
                if contiguous:  # slices: the loop vectorises (no aliasing doubt)
                    j0, ow0 = tap_w[s, 1], tap_w[s, 2]
                    base = (oh * wo + ow0) * n_out
                    wbase = (wrow + kw - 1 - j0) * og
                    seg, wseg = acc[base:base + nw * og], wf[wbase:wbase + nw * og]
                    for q in range(nw * og):
                        seg[q] += v * wseg[q]
                else:
                    for e in range(nw):
                        j, ow = tap_w[s, 1 + 2 * e], tap_w[s, 2 + 2 * e]
                        base = (oh * wo + ow) * n_out + obase
                        wbase = (wrow + kw - 1 - j) * og
                        seg, wseg = acc[base:base + og], wf[wbase:wbase + og]
                        for q in range(og):
                            seg[q] += v * wseg[q]
        if used:
            o = out[b, off:off + size]
            for ch in range(n_out):
                for p in range(hw):
                    o[ch * hw + p] += acc[p * n_out + ch]
            acc[:] = 0.0


def _taps(in_len: int, out_len: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """Per input index: [count, tap_0, out_0, tap_1, out_1, ...] by ascending output index."""
    table = np.zeros((in_len, 1 + 2 * k), np.int64)
    for r in range(in_len):
        pairs = []
        for i in range(k):
            num = r + p - i * d
            if num >= 0 and num % s == 0 and num // s < out_len:
                pairs.append((num // s, i))
        pairs.sort()
        table[r, 0] = len(pairs)
        for e, (o, i) in enumerate(pairs):
            table[r, 1 + 2 * e], table[r, 2 + 2 * e] = i, o
    return table


@numba.njit(cache=True, nogil=True)
def nonzero_rows(x, sidx, scnt):
    """``sidx[b, :scnt[b]]`` = the indices of the non-zeros of ``x[b]``, ascending."""
    for b in range(x.shape[0]):
        k = 0
        for i in range(x.shape[1]):
            if x[b, i] != 0.0:
                sidx[b, k] = i
                k += 1
        scnt[b] = k


@numba.njit(cache=True, nogil=True)
def split_rows(sidx, scnt, fan, flush, limit, event_rows, dense_rows):
    """Sort the rows with events by cost: the events' summed fan-out plus ``flush``.

    Rows costing at most ``limit`` go to ``event_rows``, the others to ``dense_rows``; returns
    both counts. A negative ``limit`` sends every row with events to ``event_rows``.
    """
    n_event = 0
    n_dense = 0
    for b in range(scnt.size):
        if scnt[b] == 0:
            continue
        cost = flush
        if limit >= 0:
            for e in range(scnt[b]):
                cost += fan[sidx[b, e]]
        if limit < 0 or cost <= limit:
            event_rows[n_event] = b
            n_event += 1
        else:
            dense_rows[n_dense] = b
            n_dense += 1
    return n_event, n_dense


class EventPlan:
    """A linear chain compiled for events; see the module docstring.

    Args:
        ops: The chain's ops (all linear: :func:`is_linear`).
        kernels: The chain's dense kernels (one per op), for a suffix that cannot be folded.
        pre_shape: The chain's input shape.
    """

    def __init__(self, ops: Sequence[L.Layer], kernels: Sequence[Kernel],
                 pre_shape: tuple[int, ...]) -> None:
        weighted = next((k for k, op in enumerate(ops) if isinstance(op, L.Dense | L.Conv2d)),
                        len(ops))
        shape = tuple(pre_shape)
        prefix: sp.csr_matrix | None = None
        for op in ops[:weighted]:
            if not isinstance(op, L.Reshape):
                mat = _op_matrix(op, shape)
                prefix = mat if prefix is None else (prefix @ mat).tocsr()
            shape = tuple(op.shape)
        self.out_size = math.prod(ops[-1].shape) if ops else math.prod(pre_shape)
        if weighted == len(ops) and prefix is None:  # no op but reshapes: the identity
            prefix = sp.identity(math.prod(pre_shape), dtype=np.float64, format="csr")
        self.has_prefix = prefix is not None
        if prefix is not None:
            prefix.sum_duplicates()
            prefix.eliminate_zeros()
            prefix.sort_indices()
            self.indptr = prefix.indptr.astype(np.int64)
            self.indices = prefix.indices.astype(np.int32)
            self.data = prefix.data.astype(F32)
            self.mid_size = prefix.shape[1]
        else:
            self.indptr = np.zeros(1, np.int64)
            self.indices = np.zeros(0, np.int32)
            self.data = np.zeros(0, F32)
            self.mid_size = 0
        self.kind = "matrix"
        self.rest: list[Kernel] = []
        self.offset = 0
        if weighted == len(ops):
            return
        op = ops[weighted]
        tail = ops[weighted + 1:]
        scale = np.ones(op.size)
        foldable = all(isinstance(t, _ONE_TO_ONE) for t in tail)
        if foldable:
            cur = tuple(op.shape)
            for t in tail:
                if isinstance(t, ChannelEmbed):
                    self.offset += t.offset * math.prod(cur[1:])
                elif isinstance(t, L.ChannelAffine):
                    scale *= _channel_scale(t)[self.offset:self.offset + op.size]
                cur = tuple(t.shape)
        if isinstance(op, L.Dense):
            self.kind = "dense"
            if not foldable:
                scale[:], self.offset = 1.0, 0
                self.rest = list(kernels[weighted + 1:])
            wt = op.weight.astype(np.float64).T * scale[None, :]
            self.wt = np.ascontiguousarray(wt, dtype=F32)
            return
        assert isinstance(op, L.Conv2d)
        self.kind = "conv"
        o, hw = op.shape[0], op.shape[1] * op.shape[2]
        per_channel = scale.reshape(o, hw)
        if not foldable or not np.all(per_channel == per_channel[:, :1]):
            per_channel[:], self.offset = 1.0, 0
            self.rest = list(kernels[weighted + 1:])
        groups = op.groups
        cg, og = shape[0] // groups, o // groups
        (kh, kw) = op.kernel
        weight = op.weight.astype(np.float64) * per_channel[:, 0].reshape(o, 1, 1, 1)
        wt = weight.reshape(groups, og, cg, kh, kw).transpose(0, 2, 3, 4, 1)[:, :, :, ::-1]
        self.wt = np.ascontiguousarray(wt.reshape(shape[0], kh, kw, og), dtype=F32)
        g = pool_geometry(op, shape)
        self.tap_h = _taps(g.in_hw[0], g.out_hw[0], kh, g.stride[0], g.padding[0],
                           g.dilation[0])
        self.tap_w = _taps(g.in_hw[1], g.out_hw[1], kw, g.stride[1], g.padding[1],
                           g.dilation[1])
        self.hw_in = np.array([g.in_hw[0], g.in_hw[1], cg, g.out_hw[1], o], np.int64)
        self.contiguous = groups == 1 and g.stride[1] == 1 and g.dilation[1] == 1
        self.conv_size = op.size
        self.conv_shape = tuple(op.shape)

    @property
    def flush_cost(self) -> int:
        """Fixed work per row with any event (the conv scratch's flush), in multiply-adds."""
        return 2 * self.conv_size if self.kind == "conv" else 0

    def scratch(self) -> dict[str, np.ndarray]:
        """Scratch buffers (zero; the kernels leave them zero), allocated once per engine."""
        bufs = {"mid": np.zeros(max(self.mid_size, 1), F32),
                "mark": np.zeros(max(self.mid_size, 1), np.bool_),
                "touched": np.zeros(max(self.mid_size, 1), np.int32)}
        if self.kind == "conv":
            bufs["acc"] = np.zeros(self.conv_size, F32)
        return bufs

    def apply(self, u: np.ndarray, sidx: np.ndarray, scnt: np.ndarray, rows: np.ndarray,
              out: np.ndarray, bufs: dict[str, np.ndarray]) -> None:
        """Add the chain applied to the events of ``rows`` into ``out`` (B, out size)."""
        if self.kind == "matrix":
            _scatter_matrix(u, sidx, scnt, rows, self.indptr, self.indices, self.data, out)
            return
        target = out
        if self.rest:
            target = np.zeros((out.shape[0], self.wt.shape[-1] if self.kind == "dense"
                               else self.conv_size), F32)
        args = (u, sidx, scnt, rows, self.has_prefix, self.indptr, self.indices, self.data,
                bufs["mid"], bufs["mark"], bufs["touched"], self.wt)
        if self.kind == "dense":
            _scatter_dense(*args, target, self.offset)
        else:
            _scatter_conv(*args, bufs["acc"], target, self.offset, self.hw_in, self.tap_h,
                          self.tap_w, self.contiguous)
        if self.rest:
            y = target[rows]
            if self.kind == "conv":
                y = y.reshape(len(rows), *self.conv_shape)
            for kern in self.rest:
                y = kern.fn(y)
            out[rows] += y.reshape(len(rows), -1)

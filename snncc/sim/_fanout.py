"""Fan-out of every pre-synaptic value through a projection chain, without expanding it.

The fan-out of pre value ``i`` is the number of post values the chain connects it to: the number
of non-zeros in row ``i`` of the composed structural matrix (every kernel tap inside the input is
a connection, whatever its weight; padding taps are not). A spike of ``i`` costs that many
synaptic events. For a single weighted op this equals the op's out-degree; for
``AvgPool2d -> Conv2d`` it is the out-degree of the folded convolution.

Method: convolutions, pooling, per-channel affines and channel embeddings act on a (C, H, W)
signal as a Kronecker product of a channel relation and one relation per spatial axis; boolean
products of Kronecker products are Kronecker products of boolean products. The chain is composed
factor by factor (matrices of size C0 x C, H0 x H and W0 x W), and the fan-out of pre value
(c, h, w) is the product of the three row counts. A Dense op (structurally full) connects a value
that reaches any of its inputs to all its outputs. A spatial op after a flattening that is not an
identity falls back to the mean out-degree of the op (an approximation; it does not occur in
converted feed-forward CNNs). A MaxPool2d is counted by its structure like any pool: an upper
bound under the ``gate`` method, which passes one input per window at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snncc.convert.net import ChannelEmbed, Projection
from snncc.ir import layers as L

__all__ = ["fanout"]


def _axis(in_len: int, out_len: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """Relation (in_len, out_len): input index r feeds output o through some in-bounds tap."""
    rel = np.zeros((in_len, out_len), dtype=bool)
    rows = np.arange(out_len)[:, None] * s - p + np.arange(k)[None, :] * d  # (out, k)
    cols = np.broadcast_to(np.arange(out_len)[:, None], rows.shape)
    ok = (rows >= 0) & (rows < in_len)
    rel[rows[ok], cols[ok]] = True
    return rel


def _compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a.astype(np.float32) @ b.astype(np.float32)) > 0


@dataclass
class _Factored:
    rc: np.ndarray  # (C0, C)
    rh: np.ndarray  # (H0, H)
    rw: np.ndarray  # (W0, W)

    @classmethod
    def identity(cls, shape: tuple[int, ...]) -> _Factored:
        c, h, w = shape
        return cls(np.eye(c, dtype=bool), np.eye(h, dtype=bool), np.eye(w, dtype=bool))

    def is_identity(self) -> bool:
        return all(r.shape[0] == r.shape[1] and np.array_equal(r, np.eye(len(r), dtype=bool))
                   for r in (self.rc, self.rh, self.rw))

    def counts(self) -> np.ndarray:
        c, h, w = (r.sum(axis=1, dtype=np.int64) for r in (self.rc, self.rh, self.rw))
        return (c[:, None, None] * h[None, :, None] * w[None, None, :]).reshape(-1)

    def spatial(self, op: L.Conv2d | L.AvgPool2d | L.MaxPool2d, shape: tuple[int, ...]) -> None:
        (kh, kw), (sh, sw) = op.kernel, op.stride
        dh, dw = getattr(op, "dilation", (1, 1))
        pt, pl = op.padding[0], op.padding[1]
        self.rh = _compose(self.rh, _axis(shape[1], op.shape[1], kh, sh, pt, dh))
        self.rw = _compose(self.rw, _axis(shape[2], op.shape[2], kw, sw, pl, dw))


def fanout(proj: Projection) -> np.ndarray:
    """Fan-out (int64, one per pre value in row-major order) of ``proj``'s chain; see module."""
    shape = tuple(proj.pre_shape)
    fac: _Factored | None = _Factored.identity(shape) if len(shape) == 3 else None
    counts = np.ones(math.prod(shape), dtype=np.int64)
    kind = "identity"  # of the flat state: identity | full (reaches all or nothing) | other
    for op in proj.ops:
        if fac is not None:
            if isinstance(op, L.Conv2d):
                c, o, g = shape[0], op.shape[0], op.groups
                fac.rc = _compose(fac.rc, (np.arange(c)[:, None] // (c // g))
                                  == (np.arange(o)[None, :] // (o // g)))
                fac.spatial(op, shape)
            elif isinstance(op, L.AvgPool2d | L.MaxPool2d):
                fac.spatial(op, shape)
            elif isinstance(op, ChannelEmbed):
                embed = np.zeros((shape[0], op.shape[0]), dtype=bool)
                embed[np.arange(shape[0]), op.offset + np.arange(shape[0])] = True
                fac.rc = _compose(fac.rc, embed)
            elif isinstance(op, L.Dense):
                counts, kind, fac = np.where(fac.counts() > 0, op.size, 0), "full", None
            elif isinstance(op, L.Reshape) and tuple(op.shape) != shape:
                kind = "identity" if fac.is_identity() else "other"
                counts, fac = fac.counts(), None
            # ChannelAffine, identity Reshape: one to one
        else:
            if isinstance(op, L.Dense):
                counts, kind = np.where(counts > 0, op.size, 0), "full"
            elif isinstance(op, L.Reshape) and kind == "identity" and len(op.shape) == 3:
                fac = _Factored.identity(tuple(op.shape))  # rows: pre values, row-major
            elif isinstance(op, L.Conv2d | L.AvgPool2d | L.MaxPool2d):
                if kind == "full":
                    counts = np.where(counts > 0, op.size, 0)
                else:  # approximation, see module docstring
                    mean = op.synapses([shape]) / math.prod(shape)
                    counts = np.rint(counts * mean).astype(np.int64)
                    kind = "other"
            elif isinstance(op, ChannelEmbed):
                kind = "other" if kind == "identity" else kind
            # ChannelAffine, Reshape otherwise: one to one
        shape = tuple(op.shape)
    if fac is not None:
        counts = fac.counts()
    return counts.astype(np.int64)

"""Which presynaptic neurons reach which postsynaptic neurons, from a projection's geometry.

Every node of a SpikingNet (input source, population) is viewed as a canonical ``(C, H, W)``
volume: a 3-D shape as it is, a 1-D shape of ``n`` as ``(n, 1, 1)``, a 2-D ``(a, b)`` as
``(a, b, 1)``. A projection chain (conv, pooling, per-channel scaling, channel embedding, reshape,
dense) is walked backwards once, op by op, to give for every post index along each canonical axis
the half-open interval of pre indices it reads: ``lo[d][i] <= pre < hi[d][i]``. The receptive
field of a post box is then the box spanned by those intervals, and its size is exact for
convolutions and pooling whose windows overlap or touch (a stride larger than the window leaves
gaps that are counted: a small over-estimate). Dense layers (and reshapes that mix axes) read the
whole pre volume, which they view as flat ``(n, 1, 1)`` (row-major flat indices are the same); a
dense matrix with many zeros keeps its exact sparsity instead (``sparse``).

Nothing here is per synapse: the cost is linear in the layer's side lengths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snncc.convert.net import ChannelEmbed, Projection
from snncc.ir import layers as L

__all__ = ["Field", "canonical", "receptive_field"]

#: A dense-only projection whose weight matrix is at most this dense keeps its exact sparsity.
SPARSE_DENSITY = 0.5


def canonical(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """The ``(C, H, W)`` view of a node shape (batch excluded)."""
    if len(shape) == 0:
        return (1, 1, 1)
    if len(shape) == 1:
        return (int(shape[0]), 1, 1)
    if len(shape) == 2:
        return (int(shape[0]), int(shape[1]), 1)
    return (math.prod(shape[:-2]), int(shape[-2]), int(shape[-1]))


@dataclass(frozen=True, slots=True, eq=False)
class Field:
    """The receptive field map of one projection, post index -> pre interval per axis.

    Attributes:
        pre: Name of the pre node.
        pre_shape: Canonical pre shape.
        post_shape: Canonical post shape.
        lo: Three int64 arrays, one per post axis (C, H, W): first pre index read.
        hi: Three int64 arrays: one past the last pre index read (``lo == hi``: reads nothing).
        sparse: For a dense-only projection with many zero weights, the boolean matrix
            ``(post neurons, pre neurons)`` of nonzero weights (receptive fields are exact
            index sets instead of boxes); else None.
    """

    pre: str
    pre_shape: tuple[int, int, int]
    post_shape: tuple[int, int, int]
    lo: tuple[np.ndarray, np.ndarray, np.ndarray]
    hi: tuple[np.ndarray, np.ndarray, np.ndarray]
    sparse: np.ndarray | None = None

    def box(self, c: tuple[int, int], y: tuple[int, int], x: tuple[int, int]
            ) -> tuple[tuple[int, int], ...] | None:
        """The pre box read by the post box ``[c0, c1) x [y0, y1) x [x0, x1)``, or None."""
        out = []
        for d, (a, b) in enumerate((c, y, x)):
            lo, hi = self.lo[d][a:b], self.hi[d][a:b]
            keep = hi > lo
            if not keep.any():
                return None
            out.append((int(lo[keep].min()), int(hi[keep].max())))
        return tuple(out)

    def rows(self, c: tuple[int, int], y: tuple[int, int], x: tuple[int, int]) -> np.ndarray:
        """Flat (row-major) post indices of the post box ``c × y × x``."""
        _, h, w = self.post_shape
        return ((np.arange(*c)[:, None, None] * h + np.arange(*y)[None, :, None]) * w
                + np.arange(*x)[None, None, :]).ravel()

    def reads(self, c: tuple[int, int], y: tuple[int, int], x: tuple[int, int]
              ) -> tuple[tuple[tuple[int, int], ...] | np.ndarray | None, int]:
        """What the post box reads, and the synapses that takes.

        Returns the pre box (or, for a sparse field, the sorted flat pre indices; None when it
        reads nothing) and the number of (pre, post) connections.
        """
        if self.sparse is not None:
            nz = self.sparse[self.rows(c, y, x)]
            idx = np.flatnonzero(nz.any(axis=0)).astype(np.int64)
            return (idx if idx.size else None), int(nz.sum())
        box = self.box(c, y, x)
        if box is None:
            return None, 0
        return box, math.prod(int(self.count(d)[a:b].sum()) for d, (a, b) in enumerate((c, y, x)))

    def count(self, d: int) -> np.ndarray:
        """Per post index along axis ``d``: how many pre indices it reads along that axis."""
        return np.maximum(self.hi[d] - self.lo[d], 0)

    def fan_in_max(self) -> int:
        """The largest number of pre neurons one post neuron reads."""
        if self.sparse is not None:
            return int(self.sparse.sum(axis=1).max(initial=0))
        return int(np.prod([self.count(d).max(initial=0) for d in range(3)]))


def _identity(n: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(n, dtype=np.int64)
    return i, i + 1


def _window(n_out: int, n_in: int, k: int, s: int, pad: int, dil: int
            ) -> tuple[np.ndarray, np.ndarray]:
    start = np.arange(n_out, dtype=np.int64) * s - pad
    end = start + (k - 1) * dil + 1
    return np.clip(start, 0, n_in), np.clip(end, 0, n_in)


def _op_maps(op: L.Layer, in_shape: tuple[int, int, int], out_shape: tuple[int, int, int]
             ) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Per-axis (lo, hi) for one op, output index -> input interval; None = reads everything."""
    (ci, hi_, wi), (co, ho, wo) = in_shape, out_shape
    if isinstance(op, L.Dense):
        return None
    if isinstance(op, L.Conv2d):
        per = co // op.groups
        cin_g = op.weight.shape[1]
        g = np.arange(co, dtype=np.int64) // per
        kh, kw = op.kernel
        return [(g * cin_g, (g + 1) * cin_g),
                _window(ho, hi_, kh, op.stride[0], op.padding[0], op.dilation[0]),
                _window(wo, wi, kw, op.stride[1], op.padding[1], op.dilation[1])]
    if isinstance(op, L.AvgPool2d | L.MaxPool2d):
        dil = op.dilation if isinstance(op, L.MaxPool2d) else (1, 1)
        return [_identity(co),
                _window(ho, hi_, op.kernel[0], op.stride[0], op.padding[0], dil[0]),
                _window(wo, wi, op.kernel[1], op.stride[1], op.padding[1], dil[1])]
    if isinstance(op, ChannelEmbed):
        c = np.arange(co, dtype=np.int64) - op.offset
        inside = (c >= 0) & (c < ci)
        lo = np.where(inside, c, 0)
        return [(lo, np.where(inside, c + 1, 0)), _identity(ho), _identity(wo)]
    if isinstance(op, L.ChannelAffine | L.Activation) or in_shape == out_shape:
        return [_identity(co), _identity(ho), _identity(wo)]
    return None  # Dense, or a reshape that mixes axes: every input


def receptive_field(proj: Projection) -> Field:
    """The receptive-field map of ``proj`` (see the module docstring).

    Example:
        >>> import numpy as np
        >>> from snncc.convert.net import Projection
        >>> from snncc.ir import layers as L
        >>> conv = L.Conv2d(name="c", inputs=("a",), shape=(4, 6, 6),
        ...                 weight=np.ones((4, 2, 3, 3)))
        >>> p = Projection(name="p", pre="a", post="b", ops=(conv,), pre_shape=(2, 8, 8),
        ...                post_shape=(4, 6, 6))
        >>> receptive_field(p).box((0, 4), (0, 2), (0, 1))
        ((0, 2), (0, 4), (0, 3))
    """
    pre_c, post_c = canonical(proj.pre_shape), canonical(proj.post_shape)
    lo = [np.zeros(n, np.int64) for n in post_c]
    hi = [np.zeros(n, np.int64) for n in post_c]
    maps: list[tuple[np.ndarray, np.ndarray]] | None = [_identity(n) for n in post_c]
    shapes = [canonical(proj.pre_shape)] + [canonical(op.shape) for op in proj.ops]
    for k in range(len(proj.ops) - 1, -1, -1):
        step = _op_maps(proj.ops[k], shapes[k], shapes[k + 1])
        if step is None or maps is None:
            maps = None
            continue
        new = []
        for (mlo, mhi), (slo, shi) in zip(maps, step, strict=True):
            empty = mhi <= mlo
            a = slo[np.where(empty, 0, mlo)]
            b = shi[np.where(empty, 0, mhi - 1)]
            new.append((np.where(empty, 0, a), np.where(empty, 0, b)))
        maps = new
    if maps is None:  # reads everything: view the pre volume as flat (same flat indices)
        pre_c = (math.prod(pre_c), 1, 1)
        for d in range(3):
            hi[d][:] = pre_c[d]
    else:
        lo, hi = [m[0] for m in maps], [m[1] for m in maps]
    sparse = None
    dense_ops = [op for op in proj.ops if not isinstance(op, L.Reshape)]
    if len(dense_ops) == 1 and isinstance(dense_ops[0], L.Dense):
        nz = dense_ops[0].weight != 0
        if nz.mean() <= SPARSE_DENSITY:
            sparse = nz
    return Field(pre=proj.pre, pre_shape=pre_c, post_shape=post_c,
                 lo=(lo[0], lo[1], lo[2]), hi=(hi[0], hi[1], hi[2]), sparse=sparse)

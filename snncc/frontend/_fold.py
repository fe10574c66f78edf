"""Folding passes on the imported layer list: merge affine layers into their neighbours, exactly.

Affine layers come from BatchNorm and from Add/Mul/Sub/Div by constants; they merge into
neighbouring linear layers or the input transform. A per-channel affine layer that cannot be
merged exactly (e.g. a shift before a zero-padded convolution) is kept as a ChannelAffine layer.
An affine whose constants vary within channels (:class:`ElementAffine`, e.g. a per-pixel mean
image) exists only during import: it must merge into the input transform or a following Dense
layer, or the import fails naming its node.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snncc.errors import FrontendError
from snncc.ir import layers as L

__all__ = ["ElementAffine", "fold_affines"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ElementAffine(L.Layer):
    """Import-time only: ``y = x * scale + shift`` with constants that vary within channels.

    Never part of a LayerGraph: :func:`fold_affines` merges it into the input transform or a
    following Dense layer, or raises.

    Attributes:
        scale: Float64 array broadcasting to ``shape``.
        shift: Float64 array broadcasting to ``shape``.
        where: The ONNX node and constant it came from, for the error message.
    """

    scale: np.ndarray
    shift: np.ndarray
    where: str
    op: ClassVar[str] = "ElementAffine"


_AFFINES = (L.ChannelAffine, ElementAffine)


def _consumers(layers: list[L.Layer]) -> dict[str, list[L.Layer]]:
    out: dict[str, list[L.Layer]] = {lay.name: [] for lay in layers}
    for lay in layers:
        for i in lay.inputs:
            out[i].append(lay)
    return out


def _rewire(layers: list[L.Layer], old: str, new: str) -> list[L.Layer]:
    return [dataclasses.replace(lay, inputs=tuple(new if i == old else i for i in lay.inputs))
            if old in lay.inputs else lay for lay in layers]


def _bcast(v: np.ndarray, ndim: int) -> np.ndarray:
    """Per-channel vector shaped to broadcast over (C, ...) of ``ndim`` dims."""
    return v.astype(np.float64).reshape(-1, *([1] * (ndim - 1)))


def _nodes(*layers: L.Layer) -> tuple[str, ...]:
    return tuple(n for lay in layers for n in lay.onnx_nodes)


def _full(a: L.ChannelAffine | ElementAffine) -> tuple[np.ndarray, np.ndarray]:
    """Scale and shift as float64 arrays that broadcast to ``a.shape``."""
    if isinstance(a, L.ChannelAffine):
        return _bcast(a.scale, len(a.shape)), _bcast(a.shift, len(a.shape))
    return a.scale.astype(np.float64), a.shift.astype(np.float64)


def _merge(a: L.ChannelAffine | ElementAffine,
           nxt: L.ChannelAffine | ElementAffine) -> L.ChannelAffine | ElementAffine:
    """The affine computing ``nxt(a(x))``, reading ``a``'s input."""
    if isinstance(a, L.ChannelAffine) and isinstance(nxt, L.ChannelAffine):
        s, t = a.scale.astype(np.float64), a.shift.astype(np.float64)
        s2, t2 = nxt.scale.astype(np.float64), nxt.shift.astype(np.float64)
        return dataclasses.replace(nxt, inputs=a.inputs, scale=(s * s2).astype(np.float32),
                                   shift=(t * s2 + t2).astype(np.float32),
                                   onnx_nodes=_nodes(a, nxt))
    (s, t), (s2, t2) = _full(a), _full(nxt)
    where = a.where if isinstance(a, ElementAffine) else nxt.where  # type: ignore[union-attr]
    return ElementAffine(name=nxt.name, inputs=a.inputs, shape=nxt.shape,
                         onnx_nodes=_nodes(a, nxt), scale=s * s2, shift=t * s2 + t2, where=where)


def _try_fold(a: L.ChannelAffine | ElementAffine, layers: list[L.Layer],
              byname: dict[str, L.Layer],
              cons: dict[str, list[L.Layer]]) -> list[L.Layer] | None:
    """Fold one affine layer; return the new layer list, or None when it cannot be folded."""
    per_channel = isinstance(a, L.ChannelAffine)
    sf, tf = _full(a)
    # one value per channel, used by rules 1 and 5 (which only apply to a ChannelAffine)
    s, t = (np.broadcast_to(v, a.shape).reshape(a.shape[0], -1)[:, 0] for v in (sf, tf))
    src = byname[a.inputs[0]]
    after = cons[a.name]

    def without(*gone: L.Layer, swap: dict[str, L.Layer]) -> list[L.Layer]:
        names = {g.name for g in gone}
        return [swap.get(lay.name, lay) for lay in layers if lay.name not in names]

    # 1. after a linear layer that feeds only this affine: scale its outputs
    if per_channel and isinstance(src, (L.Conv2d, L.Dense)) and len(cons[src.name]) == 1:
        w = src.weight.astype(np.float64) * _bcast(s, src.weight.ndim)
        b = (np.zeros(src.weight.shape[0]) if src.bias is None else src.bias.astype(np.float64))
        new = dataclasses.replace(src, weight=w.astype(np.float32),
                                  bias=(b * s + t).astype(np.float32),
                                  onnx_nodes=_nodes(src, a))
        return _rewire(without(a, swap={src.name: new}), a.name, src.name)
    # 2. after the input: merge into the input transform
    if isinstance(src, L.Input) and len(cons[src.name]) == 1:
        s0 = np.ones(1) if src.scale is None else src.scale.astype(np.float64)
        t0 = np.zeros(1) if src.shift is None else src.shift.astype(np.float64)
        new_in = dataclasses.replace(src, scale=(s0 * sf).astype(np.float32),
                                     shift=(t0 * sf + tf).astype(np.float32))
        return _rewire(without(a, swap={src.name: new_in}), a.name, src.name)
    if len(after) != 1:
        return None
    nxt = after[0]
    # 3. two affines in a row
    if isinstance(nxt, _AFFINES):
        return without(a, swap={nxt.name: _merge(a, nxt)})
    # 4. before a Dense, possibly through a flattening Reshape
    via: L.Layer | None = None
    if isinstance(nxt, L.Reshape) and len(cons[nxt.name]) == 1:
        via, nxt = nxt, cons[nxt.name][0]
    if isinstance(nxt, L.Dense):
        sf = np.broadcast_to(sf, a.shape).reshape(-1)
        tf = np.broadcast_to(tf, a.shape).reshape(-1)
        w = nxt.weight.astype(np.float64)
        b = (np.zeros(w.shape[0]) if nxt.bias is None else nxt.bias.astype(np.float64)) + w @ tf
        new_d = dataclasses.replace(nxt, weight=(w * sf[None, :]).astype(np.float32),
                                    bias=b.astype(np.float32), onnx_nodes=_nodes(a, nxt))
        swap: dict[str, L.Layer] = {nxt.name: new_d}
        if via is not None:
            swap[via.name] = dataclasses.replace(via, inputs=a.inputs)
        else:
            swap[nxt.name] = dataclasses.replace(new_d, inputs=a.inputs)
        return without(a, swap=swap)
    # 5. before a convolution: exact when the padding is zero or there is no shift
    if (per_channel and via is None and isinstance(nxt, L.Conv2d)
            and (not any(nxt.padding) or not np.any(t))):
        o, cg = nxt.weight.shape[:2]
        chan = (np.arange(o)[:, None] // (o // nxt.groups)) * cg + np.arange(cg)[None, :]
        w = nxt.weight.astype(np.float64)
        b = (np.zeros(o) if nxt.bias is None else nxt.bias.astype(np.float64))
        b = b + (w.sum(axis=(2, 3)) * t[chan]).sum(axis=1)
        w = w * s[chan][:, :, None, None]
        new_c = dataclasses.replace(nxt, inputs=a.inputs, weight=w.astype(np.float32),
                                    bias=b.astype(np.float32), onnx_nodes=_nodes(a, nxt))
        return without(a, swap={nxt.name: new_c})
    return None


def fold_affines(layers: list[L.Layer]) -> list[L.Layer]:
    """Fold every affine layer that can be folded exactly; keep the other ChannelAffines.

    Args:
        layers: Layers in topological order.

    Returns:
        The new layer list, still in topological order, without ElementAffine layers.

    Raises:
        FrontendError: An ElementAffine is neither on the input nor before a Dense layer.
    """
    changed = True
    while changed:
        changed = False
        byname = {lay.name: lay for lay in layers}
        cons = _consumers(layers)
        for lay in layers:
            if isinstance(lay, _AFFINES):
                new = _try_fold(lay, layers, byname, cons)
                if new is not None:
                    layers, changed = new, True
                    break
    for lay in layers:
        if isinstance(lay, ElementAffine):
            raise FrontendError(f"{lay.where} varies within channels; such a constant is only "
                                "supported on the model's input (as its normalisation, read by "
                                "nothing else) or right before a fully connected layer")
    return layers

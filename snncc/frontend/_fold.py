"""Folding passes on the imported layer list: merge per-channel affine layers (BatchNorm,
constant Add/Mul/Sub/Div) into neighbouring linear layers or the input transform, exactly.

An affine layer that cannot be merged exactly (e.g. a shift before a zero-padded convolution)
is kept as a ChannelAffine layer.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from snncc.ir import layers as L

__all__ = ["fold_affines"]


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


def _try_fold(a: L.ChannelAffine, layers: list[L.Layer], byname: dict[str, L.Layer],
              cons: dict[str, list[L.Layer]]) -> list[L.Layer] | None:
    """Fold one affine layer; return the new layer list, or None when it cannot be folded."""
    s = a.scale.astype(np.float64)
    t = a.shift.astype(np.float64)
    src = byname[a.inputs[0]]
    after = cons[a.name]

    def without(*gone: L.Layer, swap: dict[str, L.Layer]) -> list[L.Layer]:
        names = {g.name for g in gone}
        return [swap.get(lay.name, lay) for lay in layers if lay.name not in names]

    # 1. after a linear layer that feeds only this affine: scale its outputs
    if isinstance(src, (L.Conv2d, L.Dense)) and len(cons[src.name]) == 1:
        w = src.weight.astype(np.float64) * _bcast(s, src.weight.ndim)
        b = (np.zeros(src.weight.shape[0]) if src.bias is None else src.bias.astype(np.float64))
        new = dataclasses.replace(src, weight=w.astype(np.float32),
                                  bias=(b * s + t).astype(np.float32),
                                  onnx_nodes=_nodes(src, a))
        return _rewire(without(a, swap={src.name: new}), a.name, src.name)
    # 2. after the input: merge into the input transform
    if isinstance(src, L.Input) and len(cons[src.name]) == 1:
        nd = len(src.shape)
        s0 = np.ones(1) if src.scale is None else src.scale.astype(np.float64)
        t0 = np.zeros(1) if src.shift is None else src.shift.astype(np.float64)
        new_in = dataclasses.replace(
            src, scale=(s0 * _bcast(s, nd)).astype(np.float32),
            shift=(t0 * _bcast(s, nd) + _bcast(t, nd)).astype(np.float32))
        return _rewire(without(a, swap={src.name: new_in}), a.name, src.name)
    if len(after) != 1:
        return None
    nxt = after[0]
    # 3. two affines in a row
    if isinstance(nxt, L.ChannelAffine):
        s2, t2 = nxt.scale.astype(np.float64), nxt.shift.astype(np.float64)
        merged = dataclasses.replace(nxt, inputs=a.inputs, scale=(s * s2).astype(np.float32),
                                     shift=(t * s2 + t2).astype(np.float32),
                                     onnx_nodes=_nodes(a, nxt))
        return without(a, swap={nxt.name: merged})
    # 4. before a Dense, possibly through a flattening Reshape
    via: L.Layer | None = None
    if isinstance(nxt, L.Reshape) and len(cons[nxt.name]) == 1:
        via, nxt = nxt, cons[nxt.name][0]
    if isinstance(nxt, L.Dense):
        sf = np.broadcast_to(_bcast(s, len(a.shape)), a.shape).reshape(-1)
        tf = np.broadcast_to(_bcast(t, len(a.shape)), a.shape).reshape(-1)
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
    if via is None and isinstance(nxt, L.Conv2d) and (not any(nxt.padding) or not np.any(t)):
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
    """Fold every ChannelAffine that can be folded exactly; keep the rest.

    Args:
        layers: Layers in topological order.

    Returns:
        The new layer list, still in topological order.
    """
    changed = True
    while changed:
        changed = False
        byname = {lay.name: lay for lay in layers}
        cons = _consumers(layers)
        for lay in layers:
            if isinstance(lay, L.ChannelAffine):
                new = _try_fold(lay, layers, byname, cons)
                if new is not None:
                    layers, changed = new, True
                    break
    return layers

"""Assembling the units of every population and the spike-weighted edges between them."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from snncc.convert.net import SpikingNet
from snncc.mapping._blocks import Blocking
from snncc.mapping._footprint import Field
from snncc.mapping.units import PSUM, Box, CoreLimits, Foot, Unit, UnitGraph


def _flat(shape: tuple[int, int, int], box: Box) -> np.ndarray:
    return Foot(source="", shape=shape, box=box).indices()


def _field_feet(f: Field, box: Box) -> tuple[Foot | None, int]:
    """The inputs of the post box through field ``f`` and the synapses they need."""
    read, syn = f.reads(*box)
    if read is None:
        return None, 0
    if isinstance(read, np.ndarray):
        return Foot(f.pre, f.pre_shape, index=read), syn
    return Foot(f.pre, f.pre_shape, box=read), syn  # type: ignore[arg-type]


def _parts(f: Field, box: Box, per: int, bn: int) -> list[tuple[Foot, int]]:
    """Channel-slice parts of the inputs of the (1 × 1 spatial) post box through ``f``."""
    if f.sparse is not None:
        rows = f.rows(*box)
        idx = np.flatnonzero(f.sparse[rows].any(axis=0)).astype(np.int64)
        return [(Foot(f.pre, f.pre_shape, index=idx[k:k + per]),
                 int(f.sparse[np.ix_(rows, idx[k:k + per])].sum()))
                for k in range(0, idx.size, per)]
    pre_box = f.box(*box)
    if pre_box is None:
        return []
    (a, b), ys, xs = pre_box
    (c0, c1), (y0, y1), (x0, x1) = box
    taps = int(f.count(1)[y0:y1].sum()) * int(f.count(2)[x0:x1].sum())
    return [(Foot(f.pre, f.pre_shape, box=((k, min(k + per, b)), ys, xs)),
             (c1 - c0) * (min(k + per, b) - k) * taps) for k in range(a, b, per)]


def _busy_steps(timesteps: int, spikes: float) -> float:
    """Expected timesteps with at least one input spike, spikes spread at random (Poisson)."""
    return float(timesteps * -np.expm1(-spikes / max(timesteps, 1)))


def assemble(net: SpikingNet, limits: CoreLimits, fields: dict[str, list[Field]],
             shapes: dict[str, tuple[int, int, int]], blockings: dict[str, Blocking],
             counts: dict[str, np.ndarray], timesteps: int) -> UnitGraph:
    """Build every unit, the owner of every neuron, the activities and the edge matrix."""
    units: list[Unit] = []
    layer_of: list[int] = []
    activity: list[float] = []
    owner: dict[str, np.ndarray] = {}
    flat_counts = {k: v.ravel() for k, v in counts.items()}
    for li, pop in enumerate(net.populations):
        shape, b = shapes[pop.name], blockings[pop.name]
        own = np.empty(math.prod(shape), np.int64)
        csum = counts[pop.name]
        for c0 in range(0, shape[0], b.cs):
            for y0 in range(0, shape[1], b.th):
                for x0 in range(0, shape[2], b.tw):
                    box: Box = ((c0, min(c0 + b.cs, shape[0])), (y0, min(y0 + b.th, shape[1])),
                                (x0, min(x0 + b.tw, shape[2])))
                    bn = math.prod(e - s for s, e in box)
                    spikes = float(csum[box[0][0]:box[0][1], box[1][0]:box[1][1],
                                        box[2][0]:box[2][1]].sum())
                    if b.n_parts == 1:
                        feet, syn = [], 0
                        for f in fields.get(pop.name, []):
                            foot, s = _field_feet(f, box)
                            syn += s
                            if foot is not None:
                                feet.append(foot)
                        units.append(Unit(pop.name, box, "neurons", bn, syn, tuple(feet)))
                    else:
                        psums = []
                        for f, per in zip(fields[pop.name], b.parts, strict=True):
                            for foot, syn in (_parts(f, box, per, bn) if per else []):
                                pre = flat_counts.get(foot.source)
                                into = (float(pre[foot.indices()].sum()) if pre is not None
                                        else np.inf)  # inputs from the host: every step
                                psums.append(Foot(f"{PSUM}{len(units)}", (bn, 1, 1),
                                                  box=((0, bn), (0, 1), (0, 1))))
                                units.append(Unit(pop.name, box, "part", bn, syn, (foot,)))
                                layer_of.append(li)
                                activity.append(bn * _busy_steps(timesteps, into))
                        units.append(Unit(pop.name, box, "soma", bn, bn * len(psums),
                                          tuple(psums)))
                    layer_of.append(li)
                    activity.append(spikes)
                    own[_flat(shape, box)] = len(units) - 1
        owner[pop.name] = own
    act = np.asarray(activity, np.float64)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for v, unit in enumerate(units):
        by_source: dict[str, list[np.ndarray]] = {}
        for foot in unit.feet:
            u = foot.psum_part
            if u is not None:
                rows.append(np.array([u]))
                cols.append(np.array([v]))
                data.append(np.array([act[u]]))
            elif foot.source in owner:
                by_source.setdefault(foot.source, []).append(foot.indices())
        for source, idx_list in by_source.items():
            idx = idx_list[0] if len(idx_list) == 1 else np.unique(np.concatenate(idx_list))
            # spikes per presynaptic unit, over the few units that own these inputs (not a
            # vector over every unit: that would make the pass quadratic in the unit count)
            pre, inv = np.unique(owner[source][idx], return_inverse=True)
            w = np.bincount(inv.ravel(), weights=flat_counts[source][idx], minlength=pre.size)
            nz = np.flatnonzero(w)
            rows.append(pre[nz])
            cols.append(np.full(nz.size, v))
            data.append(w[nz])
    n = len(units)
    if rows:
        m = sp.coo_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, n)).tocsr()
    else:
        m = sp.csr_matrix((n, n))
    m.setdiag(0)
    m.eliminate_zeros()
    return UnitGraph(units=units, neurons=np.array([u.neurons for u in units], np.int64),
                     synapses=np.array([u.synapses for u in units], np.int64), activity=act,
                     layer_of=np.asarray(layer_of, np.int32),
                     layer_names=tuple(p.name for p in net.populations), out_edges=m,
                     limits=limits, blockings=blockings, counts=counts, owner=owner,
                     timesteps=timesteps)

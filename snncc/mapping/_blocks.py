"""Cutting each population into blocks that fit a core: the sizes, before any graph is built.

A block is a channel slice × spatial tile of a population's canonical ``(C, H, W)`` volume. For
each population the block shape is chosen from a small set of candidates (channel slices and
tile sides in powers of two plus the full extents) as the one with most neurons such that one
block alone respects the core's neurons (divided by ``granularity``, to leave the partitioners
room), input axons and synapse memory. A neuron whose own fan-in is larger than a core's input
axons cannot be placed whole: where the chip allows it (``core.fanin_split``) its inputs are cut
into channel slices, each a *part* of partial-sum compartments, and a *soma* block receives one
partial sum per part per neuron (see :mod:`snncc.mapping.units`); elsewhere it is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snncc.errors import MappingError
from snncc.mapping._footprint import Field

__all__ = ["Blocking", "LimitError", "choose_blocking"]


class LimitError(MappingError):
    """A chip limit one layer cannot meet, with the numbers (for the design-rule check)."""

    def __init__(self, message: str, *, layer: str, resource: str, needed: int, available: int,
                 fix: str) -> None:
        super().__init__(message)
        self.layer, self.resource, self.needed, self.available, self.fix = (
            layer, resource, needed, available, fix)


@dataclass(frozen=True, slots=True)
class Blocking:
    """How one population is cut.

    Attributes:
        cs, th, tw: Block extent along channels, rows, columns.
        parts: For split populations, per field the channel slice length of a part (0 = not
            split); the number of parts of a neuron is the sum over fields of its slices.
        n_parts: Parts per block (1 = not split).
    """

    cs: int
    th: int
    tw: int
    parts: tuple[int, ...] = ()
    n_parts: int = 1


def _pow2_upto(n: int) -> list[int]:
    out = {n}
    k = 1
    while k < n:
        out.add(k)
        k *= 2
    return sorted(out)


def _cost(fields: list[Field], c: tuple[int, int], y: tuple[int, int], x: tuple[int, int]
          ) -> tuple[int, int]:
    """(input axons, synapses) of the block ``c × y × x`` (axons summed over fields)."""
    axons = syn = 0
    for f in fields:
        read, s = f.reads(c, y, x)
        syn += s
        if isinstance(read, np.ndarray):
            axons += read.size
        elif read is not None:
            axons += math.prod(hi - lo for lo, hi in read)
    return axons, syn


def _worst(fields: list[Field], shape: tuple[int, int, int], cs: int, th: int, tw: int
           ) -> tuple[int, int]:
    """(axons, synapses) of the worst block.

    The central block for geometric fields (the interior reads the most); every block when a
    field is sparse (irregular).
    """
    if not any(f.sparse is not None for f in fields):
        return _cost(fields, *_probe(shape, cs, th, tw))
    worst = (0, 0)
    for c0 in range(0, shape[0], cs):
        for y0 in range(0, shape[1], th):
            for x0 in range(0, shape[2], tw):
                a, s = _cost(fields, (c0, min(c0 + cs, shape[0])), (y0, min(y0 + th, shape[1])),
                             (x0, min(x0 + tw, shape[2])))
                worst = (max(worst[0], a), max(worst[1], s))
    return worst


def _probe(shape: tuple[int, int, int], cs: int, th: int, tw: int
           ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """The block of the given extent nearest the centre of the volume (interior, worst case)."""
    out = []
    for n, k in zip(shape, (cs, th, tw), strict=True):
        start = min(((n // 2) // k) * k, max(n - k, 0))
        out.append((start, min(start + k, n)))
    return out[0], out[1], out[2]


def choose_blocking(name: str, shape: tuple[int, int, int], fields: list[Field], *,
                    neurons: int, axons: int, synapses: int, fanin_per_neuron: int,
                    fanin_split: bool, chip: str) -> Blocking:
    """Pick the block shape of population ``name`` (see the module docstring).

    Args:
        name: Population name (for messages).
        shape: Its canonical shape.
        fields: Receptive fields of the projections into it.
        neurons: Target neurons per block (the core's neurons / granularity).
        axons: The core's input axons.
        synapses: The core's synapse memory.
        fanin_per_neuron: The chip's per-neuron input limit (0 = none).
        fanin_split: Whether a neuron's fan-in may be split across cores.
        chip: Chip name (for messages).

    Returns:
        The blocking.

    Raises:
        MappingError: A neuron cannot be placed on this chip at all.
    """
    c, h, w = shape
    fan_in = sum(f.fan_in_max() for f in fields)
    if fanin_per_neuron and fan_in > fanin_per_neuron:
        fix = "use fewer channels or a smaller kernel, or a chip without a per-neuron limit"
        raise LimitError(
            f"{name}: a neuron has {fan_in} inputs, {chip} allows {fanin_per_neuron} per neuron "
            f"(core.fanin_per_neuron) — {fix}", layer=name, resource="inputs per neuron",
            needed=fan_in, available=fanin_per_neuron, fix=fix)
    best: tuple[int, int, int, int] | None = None
    if fan_in <= axons:
        for cs in _pow2_upto(c):
            for th in _pow2_upto(h):
                for tw in _pow2_upto(w):
                    n = cs * th * tw
                    if n > neurons or (best is not None and n < best[0]):
                        continue
                    a, s = _worst(fields, shape, cs, th, tw)
                    if a <= axons and s <= synapses and (
                            best is None or n > best[0] or (n == best[0] and th * tw > best[2])):
                        best = (n, cs, th * tw, th * 1000 + tw)
    if best is not None:
        return Blocking(cs=best[1], th=best[3] // 1000, tw=best[3] % 1000)
    if not fanin_split:
        need = max(fan_in, 1)
        fix = ("split the layer's input channels (fewer inputs per neuron) or use a chip whose "
               "fan-in may be split")
        over_axons = need > axons
        raise LimitError(
            f"{name}: a neuron has {need} inputs, a {chip} core has {axons} input axons and "
            f"{synapses} synapses, and the chip cannot split a neuron's fan-in across cores "
            f"(core.fanin_split = false) — {fix}", layer=name,
            resource="input axons" if over_axons else "synapses",
            needed=need, available=axons if over_axons else synapses, fix=fix)
    return _split(name, shape, fields, neurons=neurons, axons=axons, synapses=synapses,
                  chip=chip)


def _split(name: str, shape: tuple[int, int, int], fields: list[Field], *, neurons: int,
           axons: int, synapses: int, chip: str) -> Blocking:
    """Blocks whose inputs are cut into channel-slice parts.

    For a block of ``cs`` channels × a ``t × t`` spatial tile, each field's inputs are cut into
    slices of ``per`` channels such that ``per`` × the tile's spatial window fits the core's
    axons. The block is the one with most neurons for which the soma (``parts × neurons``
    partial-sum inputs and synapses) and every part (``neurons × slice`` synapses) fit a core.
    """
    fan = max((f.fan_in_max() for f in fields), default=0)
    best: tuple[int, int, int, int, tuple[int, ...]] | None = None  # (-neurons, parts, cs, t, per)
    for t in _pow2_upto(min(shape[1], shape[2])):
        for cs in _pow2_upto(min(shape[0], neurons)):
            bn = cs * min(t, shape[1]) * min(t, shape[2])
            if bn > neurons:
                continue
            c, y, x = _probe(shape, cs, t, t)
            pers, n_parts, part_syn, ok = [], 0, 0, True
            for f in fields:
                if f.sparse is not None:
                    width = max(int(f.sparse[f.rows((c0, min(c0 + cs, shape[0])), y, x)]
                                    .any(axis=0).sum()) for c0 in range(0, shape[0], cs))
                    per = axons
                    pers.append(per)
                    n_parts += -(-width // per)
                    part_syn = max(part_syn, bn * min(per, width))
                    continue
                box = f.box(c, y, x)
                if box is None:
                    pers.append(0)
                    continue
                (a, b), ys, xs = box
                sp = (ys[1] - ys[0]) * (xs[1] - xs[0])
                if sp > axons:
                    ok = False
                    break
                per = max(1, min(axons // sp, b - a))
                pers.append(per)
                n_parts += -(-(b - a) // per)
                rows = int(f.count(1)[y[0]:y[1]].sum()) * int(f.count(2)[x[0]:x[1]].sum())
                part_syn = max(part_syn, cs * min(per, b - a) * rows)
            if not ok or n_parts * bn > axons or max(part_syn, n_parts * bn) > synapses:
                continue
            key = (-bn, n_parts, cs, t, tuple(pers))
            if best is None or key[:2] < best[:2]:
                best = key
    if best is None:
        fix = "use a smaller kernel or fewer inputs per neuron"
        raise LimitError(
            f"{name}: even one neuron ({fan} inputs) split into partial sums does not fit a "
            f"{chip} core ({axons} input axons, {synapses} synapses) — {fix}", layer=name,
            resource="input axons of one partial sum", needed=fan, available=axons, fix=fix)
    _, n_parts, cs, t, chosen = best
    return Blocking(cs=cs, th=t, tw=t, parts=chosen, n_parts=n_parts)

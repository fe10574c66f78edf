"""The figures of report.html, drawn with matplotlib as inline SVG text (no files, no network).

Every function takes plain data (report.json sections, numpy arrays) and returns one ``<svg>``
element as a string, or None when there is nothing to draw. The SVG is deterministic: no date in
its metadata and fixed element ids, so equal reports give equal pages.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ChipLayout", "accuracy_svg", "chip_layout", "chip_map_svg", "energy_svg",
           "latency_histogram_svg", "link_load_svg"]

_EMPTY, _UNUSED = -2, -1


@dataclass(frozen=True)
class ChipLayout:
    """Which layer occupies each core of a chip, and the routed load of its links.

    Attributes:
        grid: ``(gx, gy)`` tiles; tile ``t`` sits at ``(t % gx, t // gx)``.
        cores_per_tile: Cores (crossbars) per tile; core ``c`` is on tile ``c // cores_per_tile``.
        core_layer: Per core, the index in ``layers`` of the layer with the most neurons on it,
            or -1 for an unused core.
        layers: Layer names.
        link_load: ``(n_tiles, 4)`` packets per inference on the directed links E, W, N, S, or
            None when the program was not routed.
    """

    grid: tuple[int, int]
    cores_per_tile: int
    core_layer: np.ndarray
    layers: tuple[str, ...]
    link_load: np.ndarray | None


def chip_layout(program: Any) -> ChipLayout | None:
    """The :class:`ChipLayout` of a placed :class:`snncc.program.Program` (None if unplaced)."""
    from snncc.hw import HardwareModel

    a = program.mapping
    if "cluster_core" not in a:
        return None
    hw = HardwareModel.from_dict(program.hw, path=f"program hw {program.hw.get('name', '?')}")
    layers = tuple(program.meta.get("layer_names", ()))
    n_layers = max(len(layers), int(np.max(a["unit_layer"], initial=-1)) + 1)
    layers = layers + tuple(f"layer {k}" for k in range(len(layers), n_layers))
    core_of_unit = np.asarray(a["cluster_core"], np.int64)[np.asarray(a["unit_cluster"],
                                                                      np.int64)]
    neurons = np.zeros((hw.n_cores, n_layers))
    np.add.at(neurons, (core_of_unit, np.asarray(a["unit_layer"], np.int64)),
              np.maximum(np.asarray(a["unit_neurons"], np.float64), 1.0))
    core_layer = np.where(neurons.sum(axis=1) > 0, neurons.argmax(axis=1), _UNUSED)
    load = a.get("link_load")
    return ChipLayout(grid=tuple(hw.grid), cores_per_tile=hw.cores_per_tile,  # type: ignore[arg-type]
                      core_layer=core_layer.astype(np.int64), layers=layers,
                      link_load=None if load is None else np.asarray(load, np.float64))


def _svg(fig: Any) -> str:
    """One figure as an inline ``<svg>`` element (the XML prolog and DOCTYPE removed)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "snncc"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):].strip()


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _si_scale(values: Sequence[float], unit: str) -> tuple[float, str]:
    """A divisor and a prefixed unit for ``values`` (µJ, nJ, ...)."""
    top = max((abs(v) for v in values), default=0.0)
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if top >= scale:
            return scale, prefix + unit
    return 1e-15, "f" + unit


def crop(grid: tuple[int, int], used_tiles: np.ndarray) -> tuple[int, int, int, int]:
    """``(x0, x1, y0, y1)``: the box of the used tiles plus a margin of one (all if none used)."""
    gx, gy = grid
    if not used_tiles.size:
        return 0, gx, 0, gy
    xs, ys = used_tiles % gx, used_tiles // gx
    return (max(int(xs.min()) - 1, 0), min(int(xs.max()) + 2, gx),
            max(int(ys.min()) - 1, 0), min(int(ys.max()) + 2, gy))


def used_tiles(layout: ChipLayout) -> np.ndarray:
    """Tiles holding a used core or carrying traffic."""
    cores = np.flatnonzero(layout.core_layer >= 0) // layout.cores_per_tile
    busy = (np.flatnonzero(layout.link_load.sum(axis=1) > 0) if layout.link_load is not None
            else np.zeros(0, np.int64))
    return np.union1d(cores, busy)


def chip_map_svg(layout: ChipLayout) -> str:
    """The chip's tiles, each core coloured by the layer it holds (grey: unused)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    gx, gy = layout.grid
    cpt = layout.cores_per_tile
    side = math.ceil(math.sqrt(cpt))
    img = np.full((gy * side, gx * side), _EMPTY, np.int64)
    cores = np.arange(layout.core_layer.size)
    tile, k = cores // cpt, cores % cpt
    img[(tile // gx) * side + k // side, (tile % gx) * side + k % side] = layout.core_layer
    used = used_tiles(layout)
    x0, x1, y0, y1 = crop(layout.grid, used)
    img = img[y0 * side:y1 * side, x0 * side:x1 * side]
    n = len(layout.layers)
    base = [tuple(c) for c in _layer_colours(n)]
    cmap = ListedColormap(["#ffffff", "#e6e6e6", *base])
    w = x1 - x0
    fig = _figure(min(9.0, 4.5 + 0.3 * w), min(8.0, 2.5 + 0.3 * (y1 - y0)))
    ax = fig.add_subplot()
    ax.imshow(img + 2, cmap=cmap, vmin=0, vmax=n + 1, origin="lower", interpolation="nearest",
              extent=(x0 - 0.5, x1 - 0.5, y0 - 0.5, y1 - 0.5))
    if w <= 40:
        ax.set_xticks(np.arange(x0, x1) - 0.5, minor=True)
        ax.set_yticks(np.arange(y0, y1) - 0.5, minor=True)
        ax.grid(which="minor", color="#999999", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
    ax.set_xlabel("tile x")
    ax.set_ylabel("tile y")
    counts = np.bincount(layout.core_layer[layout.core_layer >= 0], minlength=n)
    handles = [Patch(color=base[i], label=f"{layout.layers[i]} ({counts[i]} cores)")
               for i in range(n) if counts[i]]
    handles.append(Patch(color="#e6e6e6", label="unused core"))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    return _svg(fig)


def _layer_colours(n: int) -> np.ndarray:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return np.array([cmap(i % cmap.N) for i in range(n)])


def link_load_svg(layout: ChipLayout) -> str | None:
    """Heatmap of the packets per inference on every link (both directions summed)."""
    load = layout.link_load
    if load is None or not load.size:
        return None
    gx, gy = layout.grid
    tiles = np.arange(gx * gy)
    x, y = tiles % gx, tiles // gx
    img = np.full((max(2 * gy - 1, 1), max(2 * gx - 1, 1)), np.nan)
    east = x < gx - 1
    img[2 * y[east], 2 * x[east] + 1] = load[east, 0] + load[tiles[east] + 1, 1]
    north = y < gy - 1
    img[2 * y[north] + 1, 2 * x[north]] = load[north, 2] + load[tiles[north] + gx, 3]
    used = used_tiles(layout)
    x0, x1, y0, y1 = crop(layout.grid, used)
    img = img[2 * y0:2 * y1 - 1, 2 * x0:2 * x1 - 1]
    img[img <= 0] = np.nan
    fig = _figure(min(9.0, 3.5 + 0.3 * (x1 - x0)), min(8.0, 2.5 + 0.3 * (y1 - y0)))
    ax = fig.add_subplot()
    from matplotlib import colormaps

    cmap = colormaps["magma_r"].with_extremes(bad="#f2f2f2")
    im = ax.imshow(np.ma.masked_invalid(img), cmap=cmap, origin="lower",
                   interpolation="nearest", vmin=0, vmax=max(float(np.nanmax(img)), 1.0)
                   if np.isfinite(img).any() else 1.0,
                   extent=(x0 - 0.25, x1 - 0.75, y0 - 0.25, y1 - 0.75))
    cx, cy = used % gx, used // gx
    ax.scatter(cx, cy, s=12, marker="s", color="#bbbbbb", linewidths=0)
    ax.set_xlabel("tile x")
    ax.set_ylabel("tile y")
    fig.colorbar(im, ax=ax, label="packets / inference on the link (both directions)",
                 shrink=0.8)
    return _svg(fig)


def energy_svg(breakdown: dict[str, float], per_layer: dict[str, dict[str, float]] | None
               ) -> str | None:
    """Energy per inference by category, and by layer (stacked by category)."""
    cats = [c for c, v in breakdown.items() if v > 0]
    if not cats:
        return None
    scale, unit = _si_scale([breakdown[c] for c in cats], "J")
    layers = list(per_layer or {})
    fig = _figure(9.0, 3.2)
    axes = fig.subplots(1, 2 if layers else 1, squeeze=False)[0]
    colours = dict(zip(cats, _layer_colours(len(cats)), strict=True))
    labels = [c.removesuffix("_J").replace("_", " ") for c in cats]
    axes[0].barh(labels, [breakdown[c] / scale for c in cats],
                 color=[colours[c] for c in cats])
    axes[0].invert_yaxis()
    axes[0].set_xlabel(f"energy per inference ({unit})")
    if layers and per_layer is not None:
        ax = axes[1]
        left = np.zeros(len(layers))
        for c, label in zip(cats, labels, strict=True):
            vals = np.array([per_layer[lay].get(c, 0.0) for lay in layers]) / scale
            if vals.any():
                ax.barh(layers, vals, left=left, color=colours[c], label=label)
                left += vals
        ax.invert_yaxis()
        ax.set_xlabel(f"energy per inference by layer ({unit})")
        ax.legend(fontsize=7, frameon=False)
    return _svg(fig)


def latency_histogram_svg(counts: Sequence[float], edges: Sequence[float]) -> str | None:
    """Histogram of spike latency (cycles from a spike's emission to its delivery)."""
    c, e = np.asarray(counts, np.float64), np.asarray(edges, np.float64)
    if not c.size or c.sum() <= 0 or e.size != c.size + 1:
        return None
    fig = _figure(6.0, 2.8)
    ax = fig.add_subplot()
    ax.bar(e[:-1], c, width=np.diff(e), align="edge", color="#4c72b0", edgecolor="white",
           linewidth=0.3)
    ax.set_xlabel("spike latency (cycles)")
    ax.set_ylabel("deliveries")
    return _svg(fig)


def accuracy_svg(rows: Sequence[dict[str, Any]], ann: float | None) -> str | None:
    """Spiking accuracy against presentation time (rows: presentation_s, accuracy)."""
    pts = sorted((r["presentation_s"], r["accuracy"]) for r in rows
                 if r.get("accuracy") is not None)
    if len(pts) < 2:
        return None
    fig = _figure(6.0, 2.8)
    ax = fig.add_subplot()
    ax.plot([p[0] * 1000 for p in pts], [p[1] * 100 for p in pts], "o-", label="spiking")
    if ann is not None:
        ax.axhline(ann * 100, color="#888888", linestyle="--", label="ANN")
    ax.set_xlabel("presentation time (ms)")
    ax.set_ylabel("accuracy (%)")
    ax.legend(frameon=False)
    return _svg(fig)


"""PACMAN-like sequential partitioning: contiguous slices of units in network order.

Galluppi et al., "A hierarchical configuration system for a massively parallel neural hardware
platform" (PACMAN, the SpiNNaker toolchain), as the baseline of SpiNeMap (papers.md §4): each
population is cut into slices in neuron order, one slice per core, and a core never holds two
populations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    from snncc.mapping.units import UnitGraph

__all__ = ["sequential_partition"]


def sequential_partition(graph: UnitGraph, *, seed: int = 0, fill: float = 1.0,
                         progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Walk the units in network order; open a new core when the next unit does not fit.

    A new core is also opened whenever the layer changes: like PACMAN, a core holds one layer.
    Units are in network order (layer by layer, block order within a layer), so every core is a
    contiguous slice of one layer.

    Args:
        graph: The unit graph.
        seed: Unused (the method is deterministic); kept so every partitioner has the same
            signature.
        fill: Target fraction of a core's neurons and synapses.
        progress: Called ``(units placed, n_units)`` for every unit.

    Returns:
        The core of every unit (int64).

    Example:
        >>> import numpy as np, snncc
        >>> from snncc.examples import example_path
        >>> from snncc.mapping import CoreLimits, build_units
        >>> x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
        >>> net = snncc.convert(snncc.load_onnx(example_path("digits_cnn")), calibration=x)
        >>> graph = build_units(net, CoreLimits("demo", 64, 512, 8192))
        >>> part = sequential_partition(graph)
        >>> bool((np.diff(part) >= 0).all())      # contiguous slices in unit order
        True
    """
    del seed
    n = graph.n_units
    cap_n, cap_s = fill * graph.limits.neurons, fill * graph.limits.synapses
    part = np.empty(n, dtype=np.int64)
    core = graph.new_core()
    c, used_n, used_s, layer = -1, 0.0, 0.0, -1
    for u in range(n):
        fits = (int(graph.layer_of[u]) == layer and used_n + graph.neurons[u] <= cap_n
                and used_s + graph.synapses[u] <= cap_s and core.can_add(u))
        if not fits:
            core, c, used_n, used_s = graph.new_core(), c + 1, 0.0, 0.0
            layer = int(graph.layer_of[u])
        core.add(u)
        used_n += float(graph.neurons[u])
        used_s += float(graph.synapses[u])
        part[u] = c
        if progress is not None:
            progress(u + 1, n)
    return part

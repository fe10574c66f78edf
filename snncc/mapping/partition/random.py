"""Random partitioning: shuffled units packed first-fit — the floor any method must beat.

A core closes after refusing 32 units (see
:func:`snncc.mapping.partition._cores.first_fit`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from snncc.mapping.partition._cores import first_fit

if TYPE_CHECKING:
    from collections.abc import Callable

    from snncc.mapping.units import UnitGraph

__all__ = ["random_partition"]


def random_partition(graph: UnitGraph, *, seed: int = 0, fill: float = 1.0,
                     progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Shuffle the units with ``seed`` and put each into the first core that can take it.

    Args:
        graph: The unit graph.
        seed: Seed of the shuffle (same seed, same partition).
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
        >>> part = random_partition(graph, seed=1)
        >>> bool((part == random_partition(graph, seed=1)).all())
        True
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(graph.n_units).tolist()
    return first_fit(graph, order, fill=fill, progress=progress)

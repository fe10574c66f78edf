"""Baseline placers: ``sequential`` (row-major, PACMAN-like) and ``random``.

References:
    Galluppi et al., "A hierarchical configuration system for a massively parallel neural
    hardware platform" (PACMAN, CF 2012): clusters laid out in order on the cores. Balaji et al.,
    SpiNeMap (IEEE TVLSI 2020): the released SpiNeMap code places clusters at random.
"""

from __future__ import annotations

import numpy as np

from snncc.mapping.place._cost import Problem

__all__ = ["place_random", "place_sequential"]


def place_sequential(problem: Problem, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Cluster ``i`` on candidate slot ``i`` (tiles row-major over the region, cores in a tile).

    Args:
        problem: The placement instance.
        rng: Unused (the placement is deterministic).

    Returns:
        ``(assign, evaluations)``: candidate-slot index per cluster, and 0.

    Example:
        >>> import numpy as np
        >>> from snncc.hw import load_hw
        >>> from snncc.mapping.place import place
        >>> place(np.ones((3, 3)), load_hw("loihi"), "sequential").core_of_cluster.tolist()
        [0, 1, 2]
    """
    return np.arange(problem.k, dtype=np.int64), 0


def place_random(problem: Problem, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A uniformly random injection of the clusters into the candidate slots.

    Args:
        problem: The placement instance.
        rng: The seeded generator.

    Returns:
        ``(assign, evaluations)``: candidate-slot index per cluster, and 0.

    Example:
        >>> import numpy as np
        >>> from snncc.hw import load_hw
        >>> from snncc.mapping.place import place
        >>> p = place(np.ones((3, 3)), load_hw("loihi"), "random", seed=1)
        >>> len(set(p.core_of_cluster.tolist()))
        3
    """
    return rng.permutation(problem.m)[:problem.k].astype(np.int64), 0

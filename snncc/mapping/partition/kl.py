"""Kernighan–Lin recursive bisection until every piece fits a core, then merging and refinement.

Kernighan & Lin, "An efficient heuristic procedure for partitioning graphs", Bell System
Technical Journal 1970; used by eSpine (Titirsha, Song, Das et al., arXiv 2103.05707, papers.md
§2) to cut an SNN into crossbar-sized clusters. KL balances the *number* of nodes of the two
halves, not their neurons or axons, so pieces are bisected until each fits a core; the leaves are
then often under-full, and cores that fit together are merged (connected pairs by traffic, then
the emptiest) before greedy unit moves and swaps lower the multicast cost
(:mod:`snncc.mapping.partition._refine`). KL minimises the edge cut, which puts a unit with its
targets; the multicast cost prefers a unit's targets together (siblings), so on dense
layer-to-layer graphs with full cores KL can end above layer-by-layer slicing.

networkx's KL costs about ``O(n^2)`` per pass on a piece of ``n`` units, so pieces larger than
``metis_above`` units are bisected with pymetis (count-balanced, on the same weighted adjacency)
and KL takes over below that size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import scipy.sparse as sp

from snncc.mapping.partition._cores import Cores
from snncc.mapping.partition._refine import polish

if TYPE_CHECKING:
    from collections.abc import Callable

    from snncc.mapping.units import UnitGraph

__all__ = ["kl_partition"]


def kl_partition(graph: UnitGraph, *, seed: int = 0, fill: float = 1.0, max_iter: int = 10,
                 metis_above: int = 2000, refine_passes: int = 4, merge: bool = True,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Partition the units by recursive Kernighan–Lin bisection (see the module docstring).

    Args:
        graph: The unit graph.
        seed: Seed of KL's random initial halves and of the refinement order.
        fill: Target fraction of a core's neurons and synapses.
        max_iter: KL swap passes per bisection (networkx ``max_iter``).
        metis_above: Pieces with more units are bisected with pymetis instead of KL.
        refine_passes: Passes of greedy multicast-lowering moves and swaps (0: none).
        merge: Merge cores that fit together (connected pairs first, then the emptiest).
        progress: Called ``(units in finished pieces, n_units)`` while bisecting.

    Returns:
        The core of every unit (int64).

    Example:
        >>> import numpy as np, snncc
        >>> from snncc.examples import example_path
        >>> from snncc.mapping import CoreLimits, build_units
        >>> x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
        >>> net = snncc.convert(snncc.load_onnx(example_path("digits_cnn")), calibration=x)
        >>> graph = build_units(net, CoreLimits("demo", 64, 512, 8192))
        >>> part = kl_partition(graph, seed=0)
        >>> all(graph.fits(np.flatnonzero(part == c)) for c in range(part.max() + 1))
        True
    """
    from snncc.mapping.partition.metis import metis_bisect

    rng = np.random.default_rng(seed)
    n = graph.n_units
    adj = graph.adjacency.tocsr()
    g = nx.Graph()
    g.add_nodes_from(range(n))
    upper = sp.triu(adj, k=1).tocoo()
    g.add_weighted_edges_from(zip(upper.row.tolist(), upper.col.tolist(), upper.data.tolist(),
                                  strict=True))
    cap_n, cap_s = fill * graph.limits.neurons, fill * graph.limits.synapses
    part = np.empty(n, dtype=np.int64)
    stack = [np.arange(n, dtype=np.int64)]
    leaves = done = 0
    while stack:
        piece = stack.pop()
        if len(piece) == 1 or (graph.neurons[piece].sum() <= cap_n
                               and graph.synapses[piece].sum() <= cap_s
                               and graph.fits(piece.tolist())):
            part[piece] = leaves
            leaves += 1
            done += len(piece)
            if progress is not None:
                progress(done, n)
            continue
        sub_seed = int(rng.integers(2**31))
        if len(piece) > metis_above:
            side = metis_bisect(adj[piece][:, piece], seed=sub_seed)
        else:
            a, _ = nx.algorithms.community.kernighan_lin_bisection(
                g.subgraph(piece.tolist()), max_iter=max_iter, weight="weight", seed=sub_seed)
            side = np.isin(piece, np.fromiter(a, dtype=np.int64))
        if side.all() or not side.any():          # degenerate cut: halve in unit order
            side = np.arange(len(piece)) < len(piece) // 2
        stack += [piece[~side], piece[side]]
    cores = Cores(graph, part, fill)
    polish(cores, rng, refine_passes=refine_passes, merge_cores=merge)
    return cores.labels()

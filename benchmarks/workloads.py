"""The mapping workload suite: published architectures with random weights, trained models, and
synthetic random SNNs.

The builders live in :mod:`snncc.bench.workloads` (so that ``snncc bench`` runs from an installed
wheel, which has no benchmarks/ folder); they are re-exported here for the benchmarks.
"""

from __future__ import annotations

from snncc.bench.workloads import ARCHS, Spec, arch, build_onnx, layered, synthetic_random

__all__ = ["ARCHS", "Spec", "arch", "build_onnx", "layered", "synthetic_random"]

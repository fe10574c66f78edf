"""snncc: a compiler toolchain for neuromorphic chips.

ONNX model -> LayerGraph -> spiking network -> partition, place, route -> cycle-level simulation.
"""

from __future__ import annotations

from snncc._version import __version__
from snncc.errors import (
    DRCError,
    FrontendError,
    HardwareModelError,
    MappingError,
    SimulationError,
    SnnccError,
)
from snncc.frontend import load_onnx
from snncc.ir import LayerGraph

__all__ = [
    "DRCError",
    "FrontendError",
    "HardwareModelError",
    "LayerGraph",
    "MappingError",
    "SimulationError",
    "SnnccError",
    "__version__",
    "load_onnx",
]

"""snncc: a compiler toolchain for neuromorphic chips.

ONNX model -> LayerGraph -> spiking network -> partition, place, route -> cycle-level simulation.
"""

from __future__ import annotations

from snncc import convert  # a callable module: snncc.convert(graph, ...) runs the conversion
from snncc._version import __version__
from snncc.convert import SpikingNet
from snncc.errors import (
    ConversionError,
    DataError,
    DRCError,
    FrontendError,
    HardwareModelError,
    MappingError,
    SimulationError,
    SnnccError,
)
from snncc.frontend import load_onnx
from snncc.ir import LayerGraph
from snncc.sim import SimResult, simulate

__all__ = [
    "ConversionError",
    "DRCError",
    "DataError",
    "FrontendError",
    "HardwareModelError",
    "LayerGraph",
    "MappingError",
    "SimResult",
    "SimulationError",
    "SnnccError",
    "SpikingNet",
    "__version__",
    "convert",
    "load_onnx",
    "simulate",
]

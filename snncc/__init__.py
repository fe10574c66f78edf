"""snncc: a compiler toolchain for neuromorphic chips.

ONNX model -> LayerGraph -> spiking network -> partition, place, route -> cycle-level simulation.

The public API is imported lazily (``import snncc`` stays fast for the command line):
``snncc.load_onnx``, ``snncc.convert`` (a callable module), ``snncc.simulate``, ``snncc.load_hw``,
``snncc.map_network``, and the types ``LayerGraph``, ``SpikingNet``, ``SimResult``,
``HardwareModel``, ``Program``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from snncc._version import __version__
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

if TYPE_CHECKING:
    from snncc import convert
    from snncc.convert import SpikingNet
    from snncc.frontend import load_onnx
    from snncc.hw import HardwareModel, load_hw
    from snncc.ir import LayerGraph
    from snncc.mapping import map_network
    from snncc.program import Program
    from snncc.sim import SimResult, simulate

_LAZY = {
    "convert": ("snncc.convert", None),
    "SpikingNet": ("snncc.convert", "SpikingNet"),
    "load_onnx": ("snncc.frontend", "load_onnx"),
    "LayerGraph": ("snncc.ir", "LayerGraph"),
    "SimResult": ("snncc.sim", "SimResult"),
    "simulate": ("snncc.sim", "simulate"),
    "load_hw": ("snncc.hw", "load_hw"),
    "HardwareModel": ("snncc.hw", "HardwareModel"),
    "map_network": ("snncc.mapping", "map_network"),
    "Program": ("snncc.program", "Program"),
}

__all__ = [
    "ConversionError",
    "DRCError",
    "DataError",
    "FrontendError",
    "HardwareModel",
    "HardwareModelError",
    "LayerGraph",
    "MappingError",
    "Program",
    "SimResult",
    "SimulationError",
    "SnnccError",
    "SpikingNet",
    "__version__",
    "convert",
    "load_hw",
    "load_onnx",
    "map_network",
    "simulate",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'snncc' has no attribute {name!r}")
    module, attr = _LAZY[name]
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Lowering LayerGraph -> SpikingNet: neuron parameters, normalisation, quantisation.

The module itself is callable: ``snncc.convert(graph, calibration=x)`` is
``snncc.convert.convert(graph, calibration=x)``.
"""

import sys
import types
from typing import Any

from snncc.convert.lower import ConvertOptions, convert
from snncc.convert.net import (
    ChannelEmbed,
    InputSource,
    Population,
    Projection,
    Readout,
    SpikingNet,
)
from snncc.convert.quantize import QuantRow, quantize
from snncc.convert.rates import rate_run

__all__ = [
    "ChannelEmbed",
    "ConvertOptions",
    "InputSource",
    "Population",
    "Projection",
    "QuantRow",
    "Readout",
    "SpikingNet",
    "convert",
    "quantize",
    "rate_run",
]


class _CallableModule(types.ModuleType):
    """Lets ``snncc.convert(...)`` call :func:`convert` while ``snncc.convert`` stays a package."""

    def __call__(self, *args: Any, **kwargs: Any) -> SpikingNet:
        return convert(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

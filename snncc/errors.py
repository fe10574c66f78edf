"""The exceptions snncc raises.

Every error is a :class:`SnnccError` and also derives from the builtin it resembles, so callers can
catch either. Messages name the place: the ONNX node and op, the layer, the hardware file and key.
"""

from __future__ import annotations

__all__ = [
    "ConversionError",
    "DRCError",
    "DataError",
    "FrontendError",
    "HardwareModelError",
    "MappingError",
    "SimulationError",
    "SnnccError",
]


class SnnccError(Exception):
    """Root of every error snncc raises on purpose."""


class FrontendError(SnnccError, ValueError):
    """A model could not be imported: bad file, unsupported op or attribute, bad weights."""


class ConversionError(SnnccError, ValueError):
    """A LayerGraph cannot be converted to a spiking network, or conversion data is wrong."""


class DataError(SnnccError, ValueError):
    """A data set spec or file is unknown, malformed, or does not fit the model's input."""


class HardwareModelError(SnnccError, ValueError):
    """A hardware model file is missing, malformed or out of range."""


class MappingError(SnnccError, ValueError):
    """A network does not fit the chip, or a mapping pass failed."""


class DRCError(MappingError):
    """A design-rule check failed; carries every violation found."""

    def __init__(self, message: str, violations: list[str] | None = None) -> None:
        super().__init__(message)
        self.violations = list(violations or [])


class SimulationError(SnnccError, RuntimeError):
    """A simulation could not run or broke an invariant (e.g. packet conservation)."""

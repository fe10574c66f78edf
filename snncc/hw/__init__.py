"""Hardware models: the chip files in ``hwmodels/``, their schema, loader and validation.

``load_hw("loihi")`` returns a validated, frozen :class:`HardwareModel` (SI units throughout);
``load_hw("my_chip.toml")`` reads a user file; :func:`available` lists the bundled models. A bad
file raises :class:`~snncc.errors.HardwareModelError` with one line per problem,
``FILE: KEY: problem (got X)``. Every key is documented in ``hwmodels/README.md``.
"""

from snncc.hw._load import available, load_hw
from snncc.hw.model import (
    CoreSpec,
    DeviceSpec,
    EnergySpec,
    HardwareModel,
    NeuronSpec,
    NocSpec,
    TimingSpec,
)

__all__ = [
    "CoreSpec",
    "DeviceSpec",
    "EnergySpec",
    "HardwareModel",
    "NeuronSpec",
    "NocSpec",
    "TimingSpec",
    "available",
    "load_hw",
]

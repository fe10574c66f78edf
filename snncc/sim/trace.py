"""A compact spike trace of a few inputs: what the cycle-level backend replays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snncc.errors import SimulationError

__all__ = ["SpikeTrace"]


@dataclass(frozen=True, eq=False)
class SpikeTrace:
    """Spikes of the first inputs of a run, as (step, global neuron index) pairs.

    Neurons are numbered across populations in the net's order: population ``k`` holds the
    global indices ``offsets[k] .. offsets[k+1]-1`` (its neurons in row-major order).

    Attributes:
        populations: Population names in order.
        offsets: int64, ``len(populations) + 1`` values; the last is the neuron total.
        steps: Per traced input, int32 step index of each spike (sorted).
        neurons: Per traced input, int32 global neuron index of each spike (sorted by step,
            then neuron).
        dt: Timestep in seconds.
        n_steps: Steps per presentation.

    Example:
        >>> t = SpikeTrace(("a",), np.array([0, 2]), (np.array([0, 3], np.int32),),
        ...                (np.array([1, 0], np.int32),), 0.001, 5)
        >>> t.population_of(t.neurons[0])
        array([0, 0])
    """

    populations: tuple[str, ...]
    offsets: np.ndarray
    steps: tuple[np.ndarray, ...]
    neurons: tuple[np.ndarray, ...]
    dt: float
    n_steps: int

    def __len__(self) -> int:
        return len(self.steps)

    def population_of(self, neurons: np.ndarray) -> np.ndarray:
        """Index into :attr:`populations` of each global neuron index."""
        return np.searchsorted(self.offsets, neurons, side="right") - 1

    def to_npz(self, path: str | Path) -> None:
        """Write to ``path`` with :func:`numpy.savez` (no pickled objects)."""
        arrays: dict[str, np.ndarray] = {
            "populations": np.array(self.populations, dtype=str),
            "offsets": np.asarray(self.offsets, np.int64),
            "dt": np.array(self.dt), "n_steps": np.array(self.n_steps, np.int64),
            "n_inputs": np.array(len(self), np.int64),
        }
        for i, (s, n) in enumerate(zip(self.steps, self.neurons, strict=True)):
            arrays[f"steps_{i}"], arrays[f"neurons_{i}"] = s, n
        np.savez(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def from_npz(cls, path: str | Path) -> SpikeTrace:
        """Read a trace written by :meth:`to_npz`."""
        try:
            with np.load(path, allow_pickle=False) as f:
                count = int(f["n_inputs"])
                return cls(tuple(str(p) for p in f["populations"]), f["offsets"].astype(np.int64),
                           tuple(f[f"steps_{i}"].astype(np.int32) for i in range(count)),
                           tuple(f[f"neurons_{i}"].astype(np.int32) for i in range(count)),
                           float(f["dt"]), int(f["n_steps"]))
        except (OSError, KeyError, ValueError) as e:
            raise SimulationError(f"{path}: not a spike trace ({e})") from e

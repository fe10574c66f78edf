"""The suites of ``snncc bench``: workloads × chips × partitioners × placers × seeds.

``quick`` (a few minutes on two cores) uses only what snncc ships or builds; ``full`` adds
larger architectures, more mappers and seeds, and the repository's MNIST model when run from a
checkout. Every run of a suite is a :class:`Task`; the PACMAN-style mapping (``sequential`` +
``sequential``) is in every suite, since the summaries are ratios against it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

__all__ = ["BASELINE", "SPINEMAP", "SUITES", "Suite", "Task"]

#: The baseline mapping of every comparison: contiguous slices placed in order (PACMAN-style).
BASELINE = ("sequential", "sequential")
#: SpiNeMap's two steps: SpiNeCluster partitioning and particle-swarm placement.
SPINEMAP = ("spinemap", "pso")


@dataclass(frozen=True)
class Task:
    """One measurement: a workload mapped onto a chip and replayed on the cycle-level backend.

    Attributes:
        workload: Name (see :mod:`snncc.bench.workloads`).
        chip: Bundled chip name or .toml path.
        partitioner, placer: Mapping algorithms.
        seed: Seed of the mapping algorithms.
        inputs: Inputs of the functional simulation that profiles the activity.
        backend_inputs: The first this many of them are replayed cycle by cycle.
        presentation_s: Presentation time per input.
        device: Also run the device-aware passes (endurance, thermal, dataflow schedule) where the
            chip has a ``[device]`` section.
    """

    workload: str
    chip: str
    partitioner: str
    placer: str
    seed: int
    inputs: int
    backend_inputs: int
    presentation_s: float
    device: bool = False


@dataclass(frozen=True)
class Suite:
    """A named cross product of workloads, chips, mappers and seeds."""

    name: str
    workloads: tuple[str, ...]
    chips: tuple[str, ...]
    partitioners: tuple[str, ...]
    placers: tuple[str, ...]
    seeds: tuple[int, ...]
    inputs: int
    backend_inputs: int
    presentation_s: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suite:
        """The suite stored in bench.json (lists back to tuples)."""
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in data.items()}
        return cls(**fields)

    def tasks(self) -> list[Task]:
        """Every task, grouped by workload (so each workload is prepared once per process).

        The device-aware passes run once per workload and chip: on the SpiNeMap-style mapping
        with the first seed (or the first mapping when the suite has no SpiNeMap-style one).
        """
        device_mapping = (SPINEMAP if SPINEMAP[0] in self.partitioners
                          and SPINEMAP[1] in self.placers
                          else (self.partitioners[0], self.placers[0]))
        out = []
        for wl, chip, part, placer, seed in itertools.product(
                self.workloads, self.chips, self.partitioners, self.placers, self.seeds):
            out.append(Task(wl, chip, part, placer, seed, self.inputs, self.backend_inputs,
                            self.presentation_s,
                            device=(part, placer) == device_mapping and seed == self.seeds[0]))
        return out


SUITES = {
    "quick": Suite(
        name="quick", workloads=("digits_softlif", "mlp", "random_1000_0.05"),
        chips=("loihi", "pcm-crossbar"), partitioners=("sequential", "spinemap"),
        placers=("sequential", "pso"), seeds=(0, 1), inputs=16, backend_inputs=4,
        presentation_s=0.1),
    "full": Suite(
        name="full",
        workloads=("digits_softlif", "digits_cnn", "mnist_softlif", "mlp", "lenet",
                   "random_1000_0.05", "random_3000_0.02"),
        chips=("loihi-nahuku32", "pcm-crossbar", "dynapse"),
        partitioners=("sequential", "spinemap", "metis", "kl"),
        placers=("sequential", "greedy", "sa", "pso"), seeds=(0, 1, 2), inputs=32,
        backend_inputs=8, presentation_s=0.1),
}

"""Core-slot geometry of a chip: tile coordinates, chips, XY hop counts and hop energies.

Core slot ``c`` sits on tile ``c // cores_per_tile``; tiles are numbered row-major over the global
tile grid (``tile = y * gx + x``) and a tile belongs to chip ``(x // mx, y // my)``. A packet from
tile ``a`` to tile ``b`` follows dimension-order (XY) routing: along x on ``a``'s row, then along
y on ``b``'s column. The path is monotone in each dimension, so it has ``|dx| + |dy|`` hops, of
which ``|chip_x(a) - chip_x(b)| + |chip_y(a) - chip_y(b)|`` cross a chip boundary. Per packet:

- an east-west hop costs ``hop_ew_J``, a north-south hop ``hop_ns_J``, and a hop that crosses a
  chip boundary ``interchip_hop_J`` instead;
- a packet between two cores of one tile costs ``intra_tile_J`` and 0 hops; within one core, 0.

Directed links are indexed ``(tile, direction)`` with the directions of :data:`DIRECTIONS`:
E (+x), W (-x), N (+y), S (-y); link ``(t, E)`` joins tile ``t`` to its +x neighbour.

Example:
    >>> from types import SimpleNamespace as NS
    >>> hw = NS(name="toy", grid=(3, 2), chips=(1, 1), mesh=(3, 2), cores_per_tile=2,
    ...         energy=NS(hop_ew_J=2e-12, hop_ns_J=4e-12, intra_tile_J=1e-12,
    ...                   interchip_hop_J=50e-12))
    >>> topo = Topology.from_hw(hw)
    >>> int(topo.hops(0, 11)), float(topo.hop_energy(0, 11)), float(topo.hop_energy(0, 1))
    (3, 8e-12, 1e-12)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snncc.errors import HardwareModelError

__all__ = ["DIRECTIONS", "Topology"]

DIRECTIONS = ("E", "W", "N", "S")


@dataclass(frozen=True, slots=True, eq=False)
class Topology:
    """Coordinates and per-hop energies of every core slot of a chip (see the module docstring).

    Attributes:
        name: The chip's name.
        grid: ``(gx, gy)`` global tile grid.
        mesh: ``(mx, my)`` tiles per chip.
        cores_per_tile: Core slots per tile.
        energy: ``[hop_ew_J, hop_ns_J, interchip_hop_J, intra_tile_J]`` (float64, the order the
            numba kernels expect).
        core_x: Tile x of each core slot (int64, n_cores).
        core_y: Tile y of each core slot.
        core_tile: Tile of each core slot.
        core_chip: Chip of each core slot, numbered row-major over the chip grid.
    """

    name: str
    grid: tuple[int, int]
    mesh: tuple[int, int]
    cores_per_tile: int
    energy: np.ndarray
    core_x: np.ndarray
    core_y: np.ndarray
    core_tile: np.ndarray
    core_chip: np.ndarray

    @classmethod
    def from_hw(cls, hw: object) -> Topology:
        """Build the topology of chip model ``hw`` (``grid``, ``mesh``, ``cores_per_tile``, energy).

        Raises:
            HardwareModelError: If the grid is not a whole number of chips or a size is not
                positive.
        """
        name = str(getattr(hw, "name", "chip"))
        gx, gy = (int(v) for v in hw.grid)  # type: ignore[attr-defined]
        mx, my = (int(v) for v in hw.mesh)  # type: ignore[attr-defined]
        cpt = int(hw.cores_per_tile)  # type: ignore[attr-defined]
        if min(gx, gy, mx, my, cpt) < 1 or gx % mx or gy % my:
            raise HardwareModelError(
                f"{name}: grid {(gx, gy)} must be whole chips of mesh {(mx, my)} tiles, with "
                f"cores_per_tile >= 1 (got {cpt})")
        e = hw.energy  # type: ignore[attr-defined]
        energy = np.array([e.hop_ew_J, e.hop_ns_J, e.interchip_hop_J, e.intra_tile_J],
                          dtype=np.float64)
        core = np.arange(gx * gy * cpt, dtype=np.int64)
        tile = core // cpt
        x, y = tile % gx, tile // gx
        chip = (y // my) * (gx // mx) + x // mx
        for a in (energy, x, y, tile, chip):
            a.setflags(write=False)
        return cls(name, (gx, gy), (mx, my), cpt, energy, x, y, tile, chip)

    @property
    def n_tiles(self) -> int:
        """Number of tiles on the global grid."""
        return self.grid[0] * self.grid[1]

    @property
    def n_cores(self) -> int:
        """Number of core slots."""
        return self.n_tiles * self.cores_per_tile

    def hops(self, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        """XY hop count between core slots ``a`` and ``b`` (broadcast; 0 within a tile)."""
        a, b = np.asarray(a), np.asarray(b)
        return (np.abs(self.core_x[a] - self.core_x[b])
                + np.abs(self.core_y[a] - self.core_y[b]))

    def chip_crossings(self, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        """Number of hops of the XY path from ``a`` to ``b`` that cross a chip boundary."""
        a, b = np.asarray(a), np.asarray(b)
        mx, my = self.mesh
        return (np.abs(self.core_x[a] // mx - self.core_x[b] // mx)
                + np.abs(self.core_y[a] // my - self.core_y[b] // my))

    def hop_energy(self, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        """Energy in joules of one packet from core slot ``a`` to core slot ``b`` (broadcast)."""
        a, b = np.asarray(a), np.asarray(b)
        mx, my = self.mesh
        xa, xb, ya, yb = self.core_x[a], self.core_x[b], self.core_y[a], self.core_y[b]
        cx = np.abs(xa // mx - xb // mx)
        cy = np.abs(ya // my - yb // my)
        e_ew, e_ns, e_chip, e_intra = self.energy
        mesh = (np.abs(xa - xb) - cx) * e_ew + (np.abs(ya - yb) - cy) * e_ns + (cx + cy) * e_chip
        same_tile = self.core_tile[a] == self.core_tile[b]
        return np.where(same_tile, np.where(a == b, 0.0, e_intra), mesh)

    def link_energy(self) -> np.ndarray:
        """Energy of one packet on each directed link, shape (n_tiles, 4); 0 for off-grid links."""
        gx, gy = self.grid
        mx, my = self.mesh
        e_ew, e_ns, e_chip, _ = self.energy
        x = np.tile(np.arange(gx), gy)
        y = np.repeat(np.arange(gy), gx)
        out = np.zeros((gx * gy, 4))
        out[:, 0] = np.where((x + 1) % mx == 0, e_chip, e_ew)  # E: x -> x+1
        out[:, 1] = np.where(x % mx == 0, e_chip, e_ew)        # W: x -> x-1
        out[:, 2] = np.where((y + 1) % my == 0, e_chip, e_ns)  # N: y -> y+1
        out[:, 3] = np.where(y % my == 0, e_chip, e_ns)        # S: y -> y-1
        out[x == gx - 1, 0] = out[x == 0, 1] = 0.0
        out[y == gy - 1, 2] = out[y == 0, 3] = 0.0
        return out

    def tile_name(self, tile: int) -> str:
        """``"tile 9 (x 1, y 1, chip 0)"``: a tile's place, for messages."""
        gx = self.grid[0]
        x, y = tile % gx, tile // gx
        chip = (y // self.mesh[1]) * (gx // self.mesh[0]) + x // self.mesh[0]
        return f"tile {tile} (x {x}, y {y}, chip {chip})"

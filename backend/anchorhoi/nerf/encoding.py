"""Multi-resolution grid encoding (Instant-NGP, Müller et al. 2022) in plain PyTorch.

Level ``l`` is a grid of ``N_l = floor(base_resolution · per_level_scale^l)`` cells per side
over the scene box; a point's feature at that level is the trilinear interpolation of the
``F``-dimensional vectors stored at the 8 vertices of its cell. Coarse levels whose
``(N_l + 1)³`` vertices fit in the table are stored densely (one row per vertex, no collisions);
finer levels index a table of ``2^log2_hashmap_size`` rows with Instant-NGP's spatial hash
``(x·1 ⊕ y·2654435761 ⊕ z·805459861) mod 2^T``. All levels are evaluated in one vectorised
gather over a single concatenated table.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

HASH_PRIMES = (1, 2654435761, 805459861)
"""Instant-NGP's spatial-hash primes (the first is 1 for cache coherence)."""


@dataclass(frozen=True, kw_only=True)
class HashGridConfig:
    """Shape of the multi-resolution grid."""

    levels: int = 16
    """Number of resolution levels L."""
    features_per_level: int = 2
    """Feature size F stored per vertex; the encoding has L·F channels."""
    base_resolution: int = 16
    """Cells per side of the coarsest level."""
    per_level_scale: float = 1.447269
    """Growth factor of the resolution from one level to the next (16 → 4095 over 16 levels)."""
    log2_hashmap_size: int = 19
    """Rows of a hashed level's table, as a power of two."""
    init_scale: float = 1e-4
    """Table entries start uniform in ``[-init_scale, init_scale]``."""

    def resolutions(self) -> list[int]:
        """Cells per side of each level."""
        return [int(self.base_resolution * self.per_level_scale ** level)
                for level in range(self.levels)]


class HashGridEncoding(nn.Module):
    """World points ``(N, 3)`` → features ``(N, L·F)``; points are mapped into ``[0, 1]³`` by
    ``aabb`` and clamped to it (points outside the box get the features of its surface)."""

    aabb: torch.Tensor  # (6,) buffer: min corner, max corner
    resolution: torch.Tensor  # (L,) long buffer: cells per side of each level
    offset: torch.Tensor  # (L,) long buffer: first table row of each level
    dense: torch.Tensor  # (L,) bool buffer: the level is stored densely
    primes: torch.Tensor  # (3,) long buffer: HASH_PRIMES

    def __init__(self, config: HashGridConfig = HashGridConfig(), *, aabb: torch.Tensor,
                 generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        super().__init__()
        if config.levels < 1 or config.features_per_level < 1 or config.base_resolution < 1:
            raise ValueError(f"hash grid needs at least one level, feature and cell: {config}")
        self.config = config
        table_rows = 2 ** config.log2_hashmap_size
        res = config.resolutions()
        dense = [(r + 1) ** 3 <= table_rows for r in res]
        sizes = [(r + 1) ** 3 if d else table_rows for r, d in zip(res, dense)]
        offsets = [sum(sizes[:level]) for level in range(config.levels)]

        gen_device = generator.device if generator is not None else "cpu"
        table = torch.rand(config.features_per_level, sum(sizes), generator=generator,
                           device=gen_device, dtype=torch.float32)
        table = (2 * table - 1) * config.init_scale
        # (F, sum of level sizes): every level's vertex features, level after level; feature-major
        # because gathering and scatter-adding whole 1-D rows is ~2× faster on CPU than (rows, F)
        self.table = nn.Parameter(table.to(device=device, dtype=dtype))
        self.register_buffer("aabb", aabb.to(device=device, dtype=dtype).clone())
        self.register_buffer("resolution", torch.tensor(res, device=device))  # (L,) long
        self.register_buffer("offset", torch.tensor(offsets, device=device))  # (L,) long
        self.register_buffer("dense", torch.tensor(dense, device=device))  # (L,) bool
        self.register_buffer("primes", torch.tensor(HASH_PRIMES, device=device))  # (3,) long
        self.num_dense = sum(dense)  # dense levels are the coarse ones: a prefix of the levels
        self.hash_mask = table_rows - 1

    @property
    def output_dim(self) -> int:
        return self.config.levels * self.config.features_per_level

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, 3)`` world → ``(N, 3)`` in ``[0, 1]³`` (clamped)."""
        lo, hi = self.aabb[:3], self.aabb[3:]
        return ((x - lo) / (hi - lo)).clamp(0.0, 1.0)

    def vertex_rows(self, cells: torch.Tensor) -> torch.Tensor:
        """Lower cell corners ``cells (L, 3, N)`` (long) → table rows ``(L, 2, 2, 2, N)`` of the
        cells' 8 vertices, indexed ``[z, y, x]`` with 0 = lower and 1 = upper corner.

        Points are the innermost dimension everywhere: broadcasting then runs over long
        contiguous rows, several times faster on CPU than a trailing ``(…, 8, 3)`` layout.
        """
        both = torch.stack([cells, cells + 1], dim=2)  # (L, 3, 2, N): per axis lower, upper
        nd = self.num_dense
        side = (self.resolution[:nd] + 1).int()[:, None, None, None, None]  # (nd, 1, 1, 1, 1)
        dx, dy, dz = both[:nd].int().unbind(1)  # (nd, 2, N) each; rows fit in int32
        dense_rows = (dz[:, :, None, None] * (side * side) + dy[:, None, :, None] * side
                      + dx[:, None, None, :])
        # (a ⊕ b ⊕ c) mod 2^T == (a mod 2^T) ⊕ (b mod 2^T) ⊕ (c mod 2^T): reduce per axis first
        hashed = ((both[nd:] * self.primes[:, None, None]) & self.hash_mask).int()
        hx, hy, hz = hashed.unbind(1)  # (L - nd, 2, N) each
        hashed_rows = hz[:, :, None, None] ^ hy[:, None, :, None] ^ hx[:, None, None, :]
        rows = torch.cat([dense_rows, hashed_rows], dim=0)  # (L, 2, 2, 2, N)
        return rows + self.offset.int()[:, None, None, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, 3)`` world → ``(N, L·F)``; differentiable in the table and (twice) in ``x``."""
        n, levels, feats = x.shape[0], self.config.levels, self.config.features_per_level
        res = self.resolution.to(x.dtype)[:, None, None]  # (L, 1, 1)
        pos = self.normalize(x).t()[None] * res  # (L, 3, N) in [0, N_l]
        cell = torch.minimum(pos.detach().floor(), res - 1)  # x = 1 falls in the last cell
        frac = pos - cell  # (L, 3, N)
        rows = self.vertex_rows(cell.long())  # (L, 2, 2, 2, N)
        wx, wy, wz = torch.stack([1 - frac, frac], dim=2).unbind(1)  # (L, 2, N) each
        weights = wz[:, :, None, None] * wy[:, None, :, None] * wx[:, None, None, :]
        # int64 rows: index_select's backward (index_add) is several times slower with int32
        corner_feats = self.table.index_select(1, rows.reshape(-1).long())  # (F, L·8·N)
        out = (corner_feats.reshape(feats, levels, 8, n) * weights.reshape(1, levels, 8, n))
        return out.sum(2).permute(2, 1, 0).reshape(n, levels * feats)  # (N, L, F) → (N, L·F)

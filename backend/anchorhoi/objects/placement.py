"""The object's placement: the rigid (4, 4) object → world matrix stage B hands on."""

from __future__ import annotations

import numpy as np


def placed_object(object_placement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(R (3, 3), t (3,))`` of a rigid (4, 4) object → world matrix; ``ValueError`` if it
    is not one."""
    m = np.asarray(object_placement, dtype=np.float64)
    if m.shape != (4, 4) or not np.isfinite(m).all():
        raise ValueError(f"object_placement must be a finite (4, 4) matrix, got {m.shape}")
    r = m[:3, :3]
    if not np.allclose(r.T @ r, np.eye(3), atol=1e-4) or np.linalg.det(r) < 0:
        raise ValueError("object_placement must be rigid (a rotation and a translation; "
                         "stage B's key_pose.npz writes one)")
    return r, m[:3, 3]

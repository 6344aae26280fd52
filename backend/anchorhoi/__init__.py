"""AnchorHOI backend: text → 4D human–object interaction (SMPL-X motion + object trajectory)."""

__version__ = "0.1.0"

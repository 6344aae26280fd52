"""``StageContext``: what every stage of one job shares — the request, the preset, the models,
the folder, the device, progress, the body and the object — and the outputs handed on so far.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .folder import JobFolder
from .models import ModelChoice
from .presets import JobPreset
from .reporting import Progress
from .request import GenerateRequest

if TYPE_CHECKING:
    import torch

    from ..body import BodyModel
    from ..objects.mesh_io import ObjectMesh

T = TypeVar("T")

DEFAULT_BOX = (0.5, 0.45, 0.45)
"""Width, height, depth (m) of the box used when the request names no object."""


@dataclass
class StageContext:
    request: GenerateRequest
    """The validated request (its object copied into the job folder)."""
    preset: JobPreset
    """The request's quality level."""
    models: ModelChoice
    """The model of each role."""
    folder: JobFolder
    """The job folder."""
    device: str
    """``cuda`` or ``cpu``."""
    progress: Progress
    """Progress and cancel: ``progress.bind`` is every stage runner's ``StageProgress``."""
    outputs: dict[str, object] = field(default_factory=dict)
    """The output of each stage run or loaded so far, by stage name."""

    @property
    def frames(self) -> int:
        return self.request.frames or self.preset.frames

    @property
    def fps(self) -> float:
        return float(self.request.fps or self.preset.fps)

    def output(self, stage: str, kind: type[T]) -> T:
        """The output of ``stage``, which must be a ``kind`` (the stage table's order makes
        it present)."""
        out = self.outputs.get(stage)
        if not isinstance(out, kind):
            raise TypeError(f"stage {stage!r} has handed on {type(out).__name__}, not "
                            f"{kind.__name__}")
        return out

    def generator(self, stage: str) -> torch.Generator:
        """A generator seeded by (request seed, stage name), on the job's device."""
        import torch

        seed = (self.request.seed * 1_000_003 + zlib.crc32(stage.encode())) % 2 ** 63
        return torch.Generator(device=self.device).manual_seed(seed)

    @cached_property
    def body(self) -> BodyModel:
        from ..body import BodyModel, BodyModelConfig

        return BodyModel(BodyModelConfig(smplx_dir=self.request.smplx_dir), device=self.device)

    @cached_property
    def object_mesh(self) -> ObjectMesh:
        from ..objects.mesh_io import load_object_mesh

        if self.request.object is None:
            return default_box()
        return load_object_mesh(self.request.object)

    @cached_property
    def geometry_mesh(self) -> ObjectMesh:
        """The object with at most ``preset.object_faces`` faces, for every stage that needs its
        geometry: simplified once here (the same frame as :attr:`object_mesh`, which the
        result keeps). A cancel stops it between two of its passes."""
        from ..objects.inside import simplify_for_field

        return simplify_for_field(self.object_mesh, self.preset.object_faces,
                                  on_step=lambda *_: self.progress.check())

    def object_info(self) -> dict[str, Any]:
        """How the result's object frame maps back to the user's object (result.json)."""
        mesh = self.object_mesh
        return {"to_user": mesh.to_user.as_matrix().tolist(), "reference_frame": 0,
                "source": None if self.request.object is None else str(self.request.object),
                "corrections": list(mesh.corrections)}

    def resolved_config(self) -> dict[str, Any]:
        """Everything the job runs with, as plain JSON (``config.json``)."""
        return {"request": self.request.to_json(), "device": self.device,
                "models": self.models.to_json(), "frames": self.frames, "fps": self.fps,
                "preset": _plain(self.preset)}


def _plain(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    return x if isinstance(x, (int, float, str, bool, type(None))) else str(x)


def default_box() -> ObjectMesh:
    """``DEFAULT_BOX`` standing on y = 0, centred in x and z."""
    import trimesh

    from ..objects.mesh_io import ObjectMesh

    box = trimesh.creation.box(extents=DEFAULT_BOX)
    vertices = np.asarray(box.vertices, dtype=np.float64) + [0.0, DEFAULT_BOX[1] / 2, 0.0]
    return ObjectMesh(vertices=vertices, faces=np.asarray(box.faces, dtype=np.int64),
                      corrections=["no object given: a 0.5 × 0.45 × 0.45 m box"])

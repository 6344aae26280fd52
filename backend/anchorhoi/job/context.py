"""``StageContext``: what every stage of one job shares — the request, the preset, the models,
the folder, the device, progress, the body and the object — and the outputs handed on so far.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from ..portable.names import clean_name
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

    @property
    def generates_object(self) -> bool:
        """No mesh was given: stage A generates the object (from :attr:`object_prompt`)."""
        return self.request.object is None

    @cached_property
    def object_prompt(self) -> str | None:
        """The words the object is generated from: the request's ``object_prompt``, else the
        object the prompt names; None when the user gave the mesh. ``NoObjectError`` when the
        prompt names no object (the job reports it as ``BAD_PROMPT`` before any model loads)."""
        if not self.generates_object:
            return None
        from ..anchor.object_prompt import resolve_object_prompt

        return resolve_object_prompt(self.request.prompt, self.request.object_prompt)

    @property
    def object_name(self) -> str:
        """The object's name in the result and in Blender: the user's scene object's, else the
        generated object's words, else ``Object``."""
        if self.request.object_name:
            return self.request.object_name
        return clean_name(self.object_prompt, "Object")

    @cached_property
    def object_mesh(self) -> ObjectMesh:
        """The user's mesh (loaded here, so a bad one fails before any model loads), or the one
        stage A generated (present once the anchor stage has run or been loaded)."""
        path = self.request.object
        if path is None:
            from ..anchor.output import AnchorOutput

            generated = self.output("anchor", AnchorOutput).object_mesh
            if generated is None:
                raise RuntimeError("stage A handed on no generated object mesh")
            return generated
        from ..objects.mesh_io import load_object_mesh

        return load_object_mesh(path)

    @cached_property
    def geometry_mesh(self) -> ObjectMesh:
        """The object with at most ``preset.object_faces`` faces, for every stage that needs its
        geometry: simplified once here (the same frame as :attr:`object_mesh`, which the
        result keeps). A cancel stops it between two of its passes."""
        from ..objects.inside import simplify_for_field

        return simplify_for_field(self.object_mesh, self.preset.object_faces,
                                  on_step=lambda *_: self.progress.check())

    def object_info(self) -> dict[str, Any]:
        """How the result's object frame maps back to the user's object, and where the object
        came from (result.json's ``object``)."""
        mesh = self.object_mesh
        generated = None
        source = None if self.request.object is None else str(self.request.object)
        if self.generates_object:
            from ..anchor import output as anchor_files

            files = {"file": anchor_files.OBJECT_GLB_FILE, "obj_file": anchor_files.OBJECT_OBJ_FILE,
                     "preview": anchor_files.OBJECT_TURNTABLE_FILE}
            generated = {"prompt": self.object_prompt,
                         **{k: f"anchor/{name}" for k, name in files.items()}}
            source = str(self.folder.stage_dir("anchor") / anchor_files.OBJECT_GLB_FILE)
        return {"to_user": mesh.to_user.as_matrix().tolist(), "reference_frame": 0,
                "source": source, "generated": generated,
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

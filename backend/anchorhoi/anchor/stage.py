"""Stages A and B together: the anchor NeRF and the body + object fitted to it, alternated.

Round r: train the human field (round 0 starts from the initial body's occupancy; later rounds
continue from the previous field with the body-drift term pulling towards the body fitted in
round r − 1), then fit SMPL-X and the object's placement to the field. Outputs in ``out_dir``
(atomic writes): ``anchor_nerf.safetensors`` (the human field and the object placement),
``anchor_turntable.png``, ``key_pose.npz`` (AMASS keys of the key pose, the object's placement,
the contact vertices) and ``fit_preview.png`` (the fitted body with the object).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as safetensors_bytes

from ..body import BodyModel
from ..nerf.samplers import DenseStratifiedSampler, Sampler
from ..objects.field import ObjectField, ObjectFieldConfig
from ..objects.mesh_io import ObjectMesh
from ..portable.arrays import atomic_write, load_npz, save_npz_atomic
from ..priors.base import ImagePrior, check_prompt
from ..nerf.field import NeRFField
from .anchor_nerf import init_human_field, occupancy_of, train_anchor_nerf
from .object_search import ObjectSearchResult, search_object_translation
from .fit import FitConfig, FitResult, fit_body
from .key_pose import KeyPose, default_initial_pose
from .phases import StepCallback
from .presets import AnchorPreset
from .preview import save_png, turntable

log = logging.getLogger(__name__)

BODY_FIELD = ObjectFieldConfig(grid_resolution=48, max_faces=3000)
"""The body-explainable shape as a field: the posed body mesh's SDF on a coarse grid."""


@dataclass(frozen=True, eq=False)
class AnchorOutput:
    key_pose: KeyPose
    object_placement: np.ndarray  # (4, 4) scene object frame → world
    contact_vertices: np.ndarray  # (C,) body vertex ids touching the object
    fit: FitResult
    files: dict[str, Path]
    human: NeRFField | None = None  # the anchor NeRF's human field (last round)
    object_field: ObjectField | None = None  # the placed object (the placement above)
    object_search: ObjectSearchResult | None = None  # the first round's search, if it ran


def posed_body_field(body: BodyModel, pose: KeyPose) -> ObjectField:
    """A frozen density field of the body in ``pose`` (the body-explainable shape)."""
    like = dict(device=body.layer.v_template.device, dtype=body.layer.v_template.dtype)
    with torch.no_grad():
        verts = body(**pose.body_inputs(**like, num_betas=body.config.num_betas)).vertices[0]
    mesh = ObjectMesh(vertices=verts.cpu().double().numpy(),
                      faces=np.asarray(body.faces, dtype=np.int64))
    field = ObjectField(mesh, BODY_FIELD, device=like["device"], dtype=torch.float32)
    return field.requires_grad_(False)


def ground_level(body: BodyModel, pose: KeyPose) -> float:
    """World height of the initial body's soles (the rest pose's lowest vertex)."""
    return float(body.rig(pose.betas).rest_vertices[:, 1].min()) + float(pose.trans[1])


def initial_object_placement(obj: ObjectField, body: BodyModel, pose: KeyPose,
                             distance: float = 0.45) -> None:
    """Stand the object on the ground in front of the initial body (the anchor moves it)."""
    obj.set_placement(np.eye(3), np.array([pose.trans[0], ground_level(body, pose),
                                           pose.trans[2] + distance]))


def run_anchor_stages(*, prompt: str, obj_mesh: ObjectMesh, body: BodyModel,
                      preset: AnchorPreset, fit_config: FitConfig | None = None,
                      prior: ImagePrior,
                      human_prior: ImagePrior | None = None, out_dir: str | Path,
                      generator: torch.Generator, sampler: Sampler | None = None,
                      init: KeyPose | None = None, obj: ObjectField | None = None,
                      on_step: StepCallback | None = None,
                      device: torch.device | str = "cpu") -> AnchorOutput:
    """Run ``preset.rounds`` alternations of stage A and stage B; see the module docstring.

    ``obj`` may be given already placed (tests, or a placement from the user's scene); else it
    is built from ``obj_mesh`` and stood in front of the initial body, and — with
    ``preset.nerf.object_search`` — its translation is searched with ``prior`` before the first
    SDS step. ``fit_config`` None: ``preset.fit``. ``on_step(stage, step, total, losses)``
    reports progress and may raise to cancel.
    """
    check_prompt(prompt)  # before any work: an empty prompt is the user's to fix
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = preset.nerf
    fit_config = fit_config or preset.fit
    sampler = sampler or DenseStratifiedSampler(cfg.sampler, box=cfg.box)
    pose = init or default_initial_pose(body.config.num_betas)
    search = None
    if obj is None:
        obj = ObjectField(obj_mesh, ObjectFieldConfig(), device=device)
        initial_object_placement(obj, body, pose)
        search = cfg.object_search
    human = None
    fit = None
    searched = None
    for r in range(preset.rounds):
        shape = posed_body_field(body, pose)

        def occupancy(x, shape=shape):
            return occupancy_of(shape.density(x), cfg.occupancy_step)

        if r == 0 and search is not None:
            human = init_human_field(cfg, occupancy, generator, device=device)
            v = cfg.views
            searched = search_object_translation(
                human=human, obj=obj, prior=prior, prompt=prompt, box=cfg.box,
                centre_xz=(float(pose.trans[0]), float(pose.trans[2])),
                ground_y=ground_level(body, pose), target=v.target,
                radius=sum(v.radius) / 2, fov_deg=v.fov_deg, background=cfg.background,
                config=search, generator=generator)
            if on_step is not None:
                on_step("object_search", 1, 1, {"denoising_error": searched.score})

        report = None if on_step is None else (
            lambda s, n, losses, r=r: on_step(f"anchor_nerf[{r}]", s, n, losses))
        human = train_anchor_nerf(prompt=prompt, prior=prior, human_prior=human_prior, obj=obj,
                                  body_occupancy=occupancy, config=cfg, sampler=sampler,
                                  generator=generator, human=human, on_step=report,
                                  device=device).human
        log.info("anchor round %d: object placement after stage A %s", r,
                 np.round(obj.user_object_matrix().detach().cpu().numpy()[:3, 3], 4).tolist())
        fit = fit_body(body, human_density=lambda x, h=human: h.density(x).detach(),
                       obj=obj, init=pose, config=fit_config, generator=generator,
                       on_step=on_step)
        pose = fit.key_pose
        log.info("anchor round %d: fit losses %s", r, fit.losses)
        if on_step is not None:
            on_step("fit", r + 1, preset.rounds, fit.losses)
    placement = obj.placement_matrix().detach().cpu().double().numpy()
    files = write_outputs(out_dir, human=human, obj=obj, body=body, fit=fit, placement=placement,
                          preset=preset)
    return AnchorOutput(key_pose=pose, object_placement=placement,
                        contact_vertices=fit.contact_vertices, fit=fit, files=files,
                        human=human, object_field=obj, object_search=searched)


def write_outputs(out_dir: Path, *, human, obj: ObjectField, body: BodyModel, fit: FitResult,
                  placement: np.ndarray, preset: AnchorPreset) -> dict[str, Path]:
    box = preset.nerf.box
    tensors = {f"human.{k}": v.detach().cpu().contiguous() for k, v in human.state_dict().items()}
    tensors["object.placement"] = torch.as_tensor(placement)
    files = {"nerf": out_dir / "anchor_nerf.safetensors", "key_pose": out_dir / "key_pose.npz",
             "turntable": out_dir / "anchor_turntable.png", "fit_preview": out_dir / "fit_preview.png"}
    data = safetensors_bytes(tensors, metadata={"preset": preset.name})
    atomic_write(files["nerf"], lambda fh: fh.write(data))
    k = fit.key_pose
    save_npz_atomic(files["key_pose"], {
        "root_orient": k.root_orient, "pose_body": k.pose_body, "pose_hand": k.pose_hand,
        "trans": k.trans, "betas": k.betas, "object_placement": placement,
        "contact_vertices": fit.contact_vertices.astype(np.int64),
        "max_penetration_m": np.array(fit.max_penetration)})
    size = 64 if not preset.gpu else 160
    with torch.no_grad():
        look = dict(box=box, views=6, size=size, target=preset.nerf.views.target,
                    num_samples=preset.nerf.sampler.num_samples)  # SDS framing and sampling
        save_png(files["turntable"], turntable([human, obj], **look))
        save_png(files["fit_preview"], turntable([posed_body_field(body, k), obj], **look))
    return files


def read_key_pose(path: str | Path) -> tuple[KeyPose, np.ndarray, np.ndarray]:
    """The key pose, the object placement ``(4, 4)`` and the contact vertex ids ``(C,)`` from
    a ``key_pose.npz`` written by :func:`write_outputs` (no pickle)."""
    a = load_npz(path)
    pose = KeyPose(root_orient=a["root_orient"], pose_body=a["pose_body"],
                   pose_hand=a["pose_hand"], trans=a["trans"], betas=a["betas"])
    return pose, a["object_placement"], a["contact_vertices"]

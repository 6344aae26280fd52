"""Stages A and B together: the anchor NeRF and the body + object fitted to it, alternated.

Round r: train the human field (round 0 starts from the initial body's occupancy; later rounds
continue from the previous field with the body-drift term pulling towards the body fitted in
round r − 1), then fit SMPL-X and the object's placement to the field. The result is an
:class:`~.output.AnchorOutput`, saved in ``out_dir`` with ``anchor_nerf.safetensors`` (the human
field and the object placement) and two previews (``anchor_turntable.png``,
``fit_preview.png``: the fitted body with the object).

Without an object mesh, round 0's stage A generates the object (``object_round``: the human
field and a free object field trained together, the object's mesh extracted and placed; the
mesh is saved as ``object.glb``/``object.obj`` with ``object_turntable.png``), and stage B and
the later rounds use that mesh as they would a user's.

With ``ObjectSearchConfig.after_sds`` the search runs again part way through round 0's SDS and
after it, around the human field trained so far (see there).

Progress: ``progress("object_search")`` (one step, when the search runs),
``progress("object_nerf")`` and ``progress("object_mesh")`` (when the object is generated, in
place of round 0's ``anchor_nerf[0]``), ``progress("anchor_nerf[r]")`` (every SDS step) and
``progress("fit[r]")`` (every fit step).
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as safetensors_bytes

from ..body import BodyModel
from ..body.pose import KeyPose, default_initial_pose
from ..images import save_png
from ..nerf.field import NeRFField
from ..nerf.samplers import DenseStratifiedSampler, Sampler
from ..objects.field import ObjectField, ObjectFieldConfig
from ..objects.mesh_io import ObjectMesh
from ..portable.arrays import atomic_write
from ..priors.base import ImagePrior, check_prompt
from ..progress import StageProgress
from .anchor_nerf import init_human_field, occupancy_of, train_anchor_nerf
from .anchor_points import DensityFn
from .config import AnchorConfig
from .fit import FitResult, fit_body
from .object_prompt import resolve_object_prompt
from .object_round import GeneratedObject, generate_object_round, write_object_preview
from .object_search import ObjectSearchConfig, ObjectSearchResult, search_object_translation
from .output import FIT_PREVIEW_FILE, NERF_FILE, TURNTABLE_FILE, AnchorOutput
from .preview import turntable

log = logging.getLogger(__name__)

BODY_FIELD = ObjectFieldConfig(grid_resolution=48, max_faces=3000)
"""The body-explainable shape as a field: the posed body mesh's SDF on a coarse grid."""


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


def run_anchor_stages(*, prompt: str, obj_mesh: ObjectMesh | None, body: BodyModel,
                      config: AnchorConfig, prior: ImagePrior,
                      human_prior: ImagePrior | None = None, out_dir: str | Path,
                      generator: torch.Generator, sampler: Sampler | None = None,
                      init: KeyPose | None = None, obj: ObjectField | None = None,
                      object_prompt: str | None = None,
                      object_prior: ImagePrior | None = None,
                      progress: StageProgress | None = None,
                      device: torch.device | str = "cpu") -> AnchorOutput:
    """Run ``config.rounds`` alternations of stage A and stage B; see the module docstring.

    ``obj`` may be given already placed (tests, or a placement from the user's scene); else it
    is built from ``obj_mesh`` and stood in front of the initial body, and — with
    ``config.nerf.object_search`` — its translation is searched with ``prior`` before the first
    SDS step. With neither (``obj_mesh=None``) the object is generated in the first round
    (``object_round``): from ``object_prompt``, by default the object named in ``prompt``
    (``object_prompt.NoObjectError`` when it names none), with ``object_prior`` (default
    ``prior``) on its object-only renders. ``progress`` names the parts (module docstring); a
    cancel may raise from their callbacks.
    """
    check_prompt(prompt)  # before any work: an empty prompt is the user's to fix
    generate = obj is None and obj_mesh is None
    if generate:
        object_prompt = resolve_object_prompt(prompt, object_prompt)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = config.nerf
    sampler = sampler or DenseStratifiedSampler(cfg.sampler, box=cfg.box)
    pose = init or default_initial_pose(body.config.num_betas)
    search = None
    generated: GeneratedObject | None = None
    if obj is None and obj_mesh is not None:
        obj = ObjectField(obj_mesh, ObjectFieldConfig(), device=device)
        initial_object_placement(obj, body, pose)
        search = cfg.object_search
    human = None
    fit = None
    searched = None

    def run_search(human, obj, pose: KeyPose, search: ObjectSearchConfig) -> ObjectSearchResult:
        v = cfg.views
        return search_object_translation(
            human=human, obj=obj, prior=prior, prompt=prompt, box=cfg.box,
            centre_xz=(float(pose.trans[0]), float(pose.trans[2])),
            ground_y=ground_level(body, pose), target=v.target,
            radius=sum(v.radius) / 2, fov_deg=v.fov_deg, background=cfg.background,
            config=search, generator=generator)

    for r in range(config.rounds):
        shape = posed_body_field(body, pose)

        def occupancy(x, shape=shape):
            return occupancy_of(shape.density(x), cfg.occupancy_step)

        if r == 0 and search is not None:
            human = init_human_field(cfg, occupancy, generator, device=device)
            searched = run_search(human, obj, pose, search)
            if progress is not None:
                progress("object_search")(1, 1, {"denoising_error": searched.score})

        if generate and r == 0:
            assert object_prompt is not None  # resolved above
            generated = generate_object_round(
                prompt=prompt, object_prompt=object_prompt, prior=prior,
                human_prior=human_prior, object_prior=object_prior,
                centre_xz=(float(pose.trans[0]), float(pose.trans[2])),
                ground_y=ground_level(body, pose), body_occupancy=occupancy, config=config,
                sampler=sampler, generator=generator, progress=progress, device=device)
            human, obj = generated.human, generated.field
        else:
            again = search.after_sds if r == 0 and search is not None else ()
            parts = sds_parts(cfg.iterations, again)
            for k, part in enumerate(parts):
                human = train_anchor_nerf(
                    prompt=prompt, prior=prior, human_prior=human_prior, obj=obj,
                    body_occupancy=occupancy, config=cfg, sampler=sampler,
                    generator=generator, human=human, steps=part,
                    on_step=None if progress is None else progress(f"anchor_nerf[{r}]"),
                    device=device).human
                if k < len(parts) - 1 or (again and max(again) >= 1.0):
                    # again, around the human field SDS has made the prompt's person
                    assert search is not None and obj is not None
                    searched = run_search(human, obj, pose, search)
        if obj is None or human is None:  # generated in round 0, or given
            raise ValueError("run_anchor_stages: no object or human field after stage A")
        log.info("anchor round %d: object placement after stage A %s", r,
                 np.round(obj.user_object_matrix().detach().cpu().numpy()[:3, 3], 4).tolist())
        fit = fit_body(body, human_density=_frozen_density(human),
                       obj=obj, init=pose, config=config.fit, generator=generator,
                       on_step=None if progress is None else progress(f"fit[{r}]"))
        pose = fit.key_pose
        log.info("anchor round %d: fit losses %s", r, fit.losses)
    if human is None or fit is None or obj is None:  # AnchorConfig refuses rounds < 1
        raise ValueError(f"AnchorConfig.rounds must be at least 1, got {config.rounds}")
    placement = obj.placement_matrix().detach().cpu().double().numpy()
    out = AnchorOutput(key_pose=pose, object_placement=placement,
                       contact_vertices=fit.contact_vertices,
                       max_penetration=fit.max_penetration, fit=fit, human=human,
                       object_field=obj, object_search=searched,
                       placement_note=(searched.note or "") if searched else "",
                       object_mesh=None if generated is None else generated.mesh,
                       object_prompt="" if generated is None else generated.object_prompt)
    out.save(out_dir)
    write_files(out_dir, human=human, obj=obj, body=body, fit=fit, config=config)
    if generated is not None:
        write_object_preview(out_dir, obj, config)
    return out


def sds_parts(iterations: int, after: tuple[float, ...]) -> list[tuple[int, int]]:
    """The (first, stop) steps of a round's SDS parts, split after each fraction in ``after``
    of its steps (``ObjectSearchConfig.after_sds``: the object search runs again after every
    part but the last, and after the last too when ``after`` holds 1); no part is empty."""
    cuts = sorted({min(max(int(round(f * iterations)), 1), iterations) for f in after})
    bounds = [0] + [c for c in cuts if c < iterations] + [iterations]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def write_files(out_dir: Path, *, human: NeRFField, obj: ObjectField, body: BodyModel,
                fit: FitResult, config: AnchorConfig) -> None:
    """The stage's files beyond :meth:`AnchorOutput.save`: the NeRF checkpoint (the human
    field and the object placement) and the two turntable previews."""
    placement = obj.placement_matrix().detach().cpu().double()
    tensors = {f"human.{k}": v.detach().cpu().contiguous() for k, v in human.state_dict().items()}
    tensors["object.placement"] = placement
    data = safetensors_bytes(tensors)
    atomic_write(out_dir / NERF_FILE, lambda fh: fh.write(data))

    def look(fields: list) -> np.ndarray:  # six views in the SDS framing and sampling
        return turntable(fields, box=config.nerf.box, views=6, size=config.preview_size,
                         target=config.nerf.views.target,
                         num_samples=config.nerf.sampler.num_samples)

    with torch.no_grad():
        save_png(out_dir / TURNTABLE_FILE, look([human, obj]))
        save_png(out_dir / FIT_PREVIEW_FILE, look([posed_body_field(body, fit.key_pose), obj]))


def _frozen_density(human: NeRFField) -> DensityFn:
    """The human field's density without gradient (what stage B fits to)."""
    def density(x: torch.Tensor) -> torch.Tensor:
        return human.density(x).detach()
    return density

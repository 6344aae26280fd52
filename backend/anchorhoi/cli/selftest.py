"""``anchorhoi selftest``: the ``tiny`` preset end to end on the CPU, then a check of the result.

Offline: the tiny random models are built from config into the cache and the real MediaPipe
detector runs. The motion means nothing (the priors are random); what is verified is that every
stage runs, resumes, and writes a result v1 that the add-on's reader accepts. No mesh is given,
so stage A generates the object the prompt names ("the box": a random model makes a random
blob) and the check covers its mesh too: closed, one piece, within the face budget, coloured,
and the result's object.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..job.request import GenerateRequest
from .generate import run_in_terminal

PROMPT = "a person sits down on the box"
FRAMES, FPS = 16, 16.0
"""The clip asked for: not the preset's default (12 at 12 fps), so the check that the request is
honoured means something; one second, the preset default's length (the video model generates
25 frames at its native 24 fps either way)."""


def check_result(job_dir: Path, *, frames: int, fps: float) -> list[str]:
    """What was verified, one line each; raises ``AssertionError``-free ``RuntimeError`` on a
    failed check."""
    from ..portable.result_v1 import read_result
    from ..portable.skeleton import JOINT_NAMES

    done = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            raise RuntimeError(f"selftest failed: {what}")
        done.append(what)

    clip, doc = read_result(job_dir)
    check(doc["schema"] == "anchorhoi.result" and doc["version"].startswith("1."),
          f"result.json is a result v{doc['version']}")
    m = clip.motion
    check(m.num_frames == frames and abs(m.fps - fps) < 1e-9,
          f"{m.num_frames} frames at {m.fps:g} fps, as asked")
    arrays = [m.trans, m.root_orient, m.pose_body]
    check(all(np.isfinite(a).all() for a in arrays), "the SMPL-X parameters are finite")
    check(list(clip.rig.joint_names) == list(JOINT_NAMES),
          f"the rig has the {len(JOINT_NAMES)} SMPL-X joints")
    check(clip.obj is not None and np.isfinite(clip.obj.trans).all(),
          "the object has a finite trajectory")
    state = json.loads((job_dir / "state.json").read_text())["stages"]
    spent = ", ".join(f"{k} {v['seconds']:.1f} s" for k, v in doc["timings"].items())
    check(sorted(doc["timings"]) == sorted(state),
          f"every stage reported its time and peak memory: {spent}")
    for name in ("keypoints/keypoints.npz", "anchor/key_pose.npz", "log.txt", "request.json"):
        check((job_dir / name).is_file(), f"{name} written")
    generated = (doc.get("object") or {}).get("generated")
    if generated:
        done += check_generated_object(job_dir, generated, clip.obj, preset=doc["preset"])
    return done


def check_generated_object(job_dir: Path, generated: dict, track, *, preset: str
                           ) -> list[str]:
    """The generated object's checks (``check_result`` runs them when the job made one)."""
    from ..job.presets import job_preset
    from ..objects.extract import is_watertight, piece_labels
    from ..objects.mesh_io import load_object_mesh

    mesh = load_object_mesh(job_dir / generated["file"])
    budget = job_preset(preset).anchor.object.max_faces
    faces = len(mesh.faces)
    if not (is_watertight(mesh.faces) and piece_labels(mesh.faces, len(mesh.vertices))[0] == 1
            and 4 <= faces <= budget and mesh.vertex_colors is not None):
        raise RuntimeError(f"selftest failed: the generated object {generated['file']} is not "
                           f"one closed, coloured piece of at most {budget} faces")
    if track is None or track.vertex_colors is None or len(track.faces) != faces:
        raise RuntimeError("selftest failed: the result's object is not the generated mesh "
                           "with its colours")
    return [f"the object was generated from '{generated['prompt']}': {faces} faces, closed, "
            "one piece, coloured, and it is the result's object"]


def selftest(args) -> int:
    with tempfile.TemporaryDirectory(prefix="anchorhoi-selftest-") as tmp:
        job = Path(args.out) if args.out else Path(tmp) / "job"
        request = GenerateRequest(prompt=PROMPT, job_dir=job, preset="tiny", frames=FRAMES,
                                  fps=FPS, device="cpu", cache_dir=args.cache_dir)
        code = run_in_terminal(request)
        if code != 0:
            print(f"selftest: the tiny job failed (exit code {code})", file=sys.stderr)
            return code
        try:
            lines = check_result(job, frames=FRAMES, fps=FPS)
        except RuntimeError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        print("selftest passed:")
        for line in lines:
            print(f"  ok  {line}")
        return 0

"""``anchorhoi doctor``: what this environment can do, and what is missing.

Python and package versions, CUDA devices with free VRAM, nerfacc's CUDA ops built here (only
where CUDA is present: a job never builds them; a stale build lock is cleared and reported),
which default models are in the cache, the SMPL-X files, free disk where models and jobs go,
and which GPU presets' memory budgets (``job/memory.py``) fit this machine.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

from ..job.models import cache_root, hf_cache_dir
from ..job.request import GenerateRequest

PACKAGES = ("torch", "diffusers", "transformers", "smplx", "nerfacc", "mediapipe", "bpy")
SMPLX_FILES = ("SMPLX_NEUTRAL.npz", "SMPLX_MALE.npz", "SMPLX_FEMALE.npz")


def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def cuda_report() -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {"torch_cuda_build": torch.version.cuda,
                           "available": torch.cuda.is_available(), "devices": []}
    if not out["available"]:
        return out
    for i in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(i)
        out["devices"].append({"index": i, "name": torch.cuda.get_device_name(i),
                               "free_gb": round(free / 2 ** 30, 2),
                               "total_gb": round(total / 2 ** 30, 2)})
    return out


def nerfacc_report(cuda: bool) -> dict[str, Any]:
    """Build nerfacc's CUDA ops where CUDA is present (jobs never build them), clearing a stale
    build lock first."""
    if not cuda:
        return {"cuda_ops": "not applicable (no CUDA device): the dense sampler is used"}
    from ..nerf.nerfacc_build import build

    report = build()
    out: dict[str, Any] = {"cuda_ops": "ok (occupancy-grid sampler)" if report.ready else
                           f"unavailable ({report.detail}): the dense sampler is used"}
    if report.cleared_lock is not None:
        out["cleared_stale_lock"] = str(report.cleared_lock)
    return out


def models_report(request: GenerateRequest) -> list[dict[str, Any]]:
    from ..hub import ModelNotFoundError, is_cached
    from ..keypoints.registry import DEFAULT_DETECTOR, check_detector
    from ..priors.stable_diffusion import DEFAULT_MODEL_ID, SD_LAYOUT
    from ..video.base import VIDEO_LAYOUT
    from ..video.ltx import DEFAULT_LTX_MODEL_ID
    from ..video.wan import DEFAULT_WAN_MODEL_ID

    rows = []
    for role, model_id, layout in (("image", DEFAULT_MODEL_ID, SD_LAYOUT),
                                   ("video", DEFAULT_WAN_MODEL_ID, VIDEO_LAYOUT),
                                   ("video (alternative)", DEFAULT_LTX_MODEL_ID, VIDEO_LAYOUT)):
        cached = is_cached(model_id, layout, cache_dir=hf_cache_dir(request))
        rows.append({"role": role, "id": model_id, "cached": cached,
                     "status": "cached" if cached else "not cached (downloaded on first use)"})
    try:
        check_detector(DEFAULT_DETECTOR)
        bundled, status = True, "bundled with mediapipe 0.10.21"
    except ModelNotFoundError as exc:
        bundled, status = False, f"{exc.reason}: {exc.remedy}"
    rows.append({"role": "detector", "id": DEFAULT_DETECTOR, "cached": bundled,
                 "status": status})
    return rows


def smplx_report(folder: Path | None) -> dict[str, Any]:
    if folder is None:
        return {"folder": None, "note": "no SMPL-X folder given: the procedural body is used"}
    present = [f for f in SMPLX_FILES if (folder / f).is_file()]
    return {"folder": str(folder), "files": present,
            "note": "ok" if present else "no SMPLX_*.npz files in this folder"}


def disk_report(paths: dict[str, Path]) -> dict[str, Any]:
    out = {}
    for name, path in paths.items():
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        out[name] = {"path": str(path), "free_gb": round(shutil.disk_usage(probe).free / 1e9, 1)}
    return out


def memory_report() -> dict[str, Any]:
    """Each GPU preset's budget with the default models (``job/memory.py``) against this
    machine's free VRAM (the first device) and available system memory."""
    from ..job.memory import GIB, SystemMemory, budget
    from ..job.presets import PRESETS

    probe = SystemMemory()
    free, host = probe.device_free("cuda"), probe.host_available()
    out: dict[str, Any] = {
        "free_vram_gib": None if free is None else round(free / GIB, 1),
        "available_ram_gib": None if host is None else round(host / GIB, 1), "presets": {}}
    for name, preset in PRESETS.items():
        b = budget(preset)
        if not preset.gpu or b is None:
            continue
        out["presets"][name] = {
            "vram_gib": round(b.vram, 1), "ram_gib": round(b.host, 1),
            "fits": (free is not None and b.vram * GIB <= free)
            and (host is None or b.host * GIB <= host)}
    return out


def collect(smplx_dir: Path | None, cache_dir: Path | None) -> dict[str, Any]:
    request = GenerateRequest(prompt="-", job_dir=Path.cwd(), cache_dir=cache_dir)
    cuda = cuda_report()
    return {
        "python": sys.version.split()[0], "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "cuda": cuda, "nerfacc": nerfacc_report(cuda["available"]),
        "models": models_report(request), "smplx": smplx_report(smplx_dir),
        "disk": disk_report({"cache": cache_root(request), "jobs": Path.cwd()}),
        "memory": memory_report(),
        "verdict": ("GPU presets available" if cuda["available"] else
                    "no CUDA GPU: only the 'tiny' preset is practical here"),
    }


def doctor(args) -> int:
    report = collect(args.smplx_dir, args.cache_dir)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    out = [f"Python {report['python']} on {report['platform']}"]
    out += [f"  {k:<13} {v or 'not installed'}" for k, v in report["packages"].items()]
    c = report["cuda"]
    out.append(f"CUDA: torch build {c['torch_cuda_build'] or 'CPU only'}; "
               f"{len(c['devices'])} device(s)")
    out += [f"  [{d['index']}] {d['name']}: {d['free_gb']} of {d['total_gb']} GB free"
            for d in c["devices"]]
    out.append(f"nerfacc CUDA ops: {report['nerfacc']['cuda_ops']}")
    if "cleared_stale_lock" in report["nerfacc"]:
        out.append(f"  removed a stale build lock: {report['nerfacc']['cleared_stale_lock']}")
    out.append("Default models:")
    out += [f"  {m['role']:<20} {m['id']:<42} {m['status']}"
            for m in report["models"]]
    s = report["smplx"]
    out.append(f"SMPL-X: {s['folder'] or '-'} — {s['note']}")
    out += [f"Disk {k}: {v['free_gb']} GB free at {v['path']}" for k, v in report["disk"].items()]
    m = report["memory"]
    free, host = (("-" if v is None else v) for v in (m["free_vram_gib"],
                                                       m["available_ram_gib"]))
    out.append(f"Memory budgets (docs/memory.md; {free} GiB VRAM free, {host} GiB RAM "
               "available):")
    out += [f"  {name:<9} {p['vram_gib']:>5} GiB VRAM, {p['ram_gib']:>5} GiB RAM: "
            f"{'fits' if p['fits'] else 'does not fit'}" for name, p in m["presets"].items()]
    out.append(f"Verdict: {report['verdict']}")
    print("\n".join(out))
    return 0

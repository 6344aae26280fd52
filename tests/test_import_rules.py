"""The backend's layering, read from the source with ``ast`` (every import anywhere in a file,
absolute and relative):

- a stage package (``anchor``, ``video``, ``keypoints``, ``motion``) imports no other stage
  package, nor ``job``, ``cli`` or ``oracles``: stages meet only in the job;
- ``portable`` imports nothing but the standard library, numpy and itself (the add-on runs it
  inside Blender's Python);
- nothing in the backend imports ``bpy``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "backend" / "anchorhoi"
STAGES = ("anchor", "video", "keypoints", "motion")
NOT_FROM_A_STAGE = (*STAGES, "job", "cli", "oracles")
SHARED = ("body", "nerf", "objects", "priors", "hub", "checkpoints", "progress", "randomness",
          "devices")


def module_name(path: Path) -> str:
    parts = ["anchorhoi", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (``from x import y`` gives both ``x``
    and ``x.y``: y may be a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                if node.module:
                    base = [*base, *node.module.split(".")]
            else:
                base = (node.module or "").split(".")
            stem = ".".join(base)
            names.add(stem)
            names.update(f"{stem}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def anchorhoi_part(name: str) -> str | None:
    """The top-level part of ``anchorhoi`` that ``name`` lies in (``anchorhoi.video.wan`` →
    ``video``; ``anchorhoi.hub`` → ``hub``), None outside the package."""
    parts = name.split(".")
    return parts[1] if parts[0] == "anchorhoi" and len(parts) > 1 else None


def violations(rule) -> list[str]:
    out = []
    for path in modules():
        own = anchorhoi_part(module_name(path)) if path.name != "__init__.py" or \
            path.parent != PACKAGE else None
        for name in sorted(imported(path)):
            problem = rule(own, name)
            if problem:
                out.append(f"{path.relative_to(PACKAGE.parent)}: {name} ({problem})")
    return out


def test_the_walker_sees_relative_imports():
    sample = PACKAGE / "video" / "stage.py"
    names = imported(sample)
    assert any(anchorhoi_part(n) == "video" for n in names)  # its own package, relatively
    assert "numpy" in names


def test_a_stage_package_imports_no_other_stage_nor_the_job():
    def rule(own: str | None, name: str) -> str | None:
        part = anchorhoi_part(name)
        if own in STAGES and part in NOT_FROM_A_STAGE and part != own:
            return f"stage {own!r} must not import {part!r}"
        return None

    assert violations(rule) == []


def test_a_shared_module_imports_no_stage_nor_the_job():
    """``hub.py``, ``checkpoints.py`` and the shared packages sit below the stages: the job may
    read them, never the other way round (the model table lives in ``checkpoints.py`` so that
    ``hub.py`` and ``job/memory.py`` can both read it)."""
    def rule(own: str | None, name: str) -> str | None:
        part = anchorhoi_part(name)
        if own not in SHARED or part not in NOT_FROM_A_STAGE:
            return None
        return f"shared {own!r} must not import {part!r}"

    assert violations(rule) == []


def test_portable_imports_only_the_standard_library_numpy_and_itself():
    allowed = set(sys.stdlib_module_names) | {"numpy", "__future__"}

    def rule(own: str | None, name: str) -> str | None:
        if own != "portable":
            return None
        top = name.split(".")[0]
        if top == "anchorhoi":
            return None if anchorhoi_part(name) == "portable" else "outside portable"
        return None if top in allowed else "not the standard library or numpy"

    assert violations(rule) == []


def test_nothing_in_the_backend_imports_bpy():
    def rule(own: str | None, name: str) -> str | None:
        return "bpy" if name.split(".")[0] in ("bpy", "bpy_extras", "mathutils") else None

    assert violations(rule) == []


@pytest.mark.parametrize("source, expected", [
    ("from ...video import base", {"anchorhoi.video", "anchorhoi.video.base"}),
    ("from . import sides", {"anchorhoi.keypoints.inner", "anchorhoi.keypoints.inner.sides"}),
    ("def f():\n    from ...job.models import x\n", {"anchorhoi.job.models",
                                                       "anchorhoi.job.models.x"}),
    ("import anchorhoi.motion.presets as p", {"anchorhoi.motion.presets"}),
])
def test_imports_resolve_to_absolute_names(tmp_path, monkeypatch, source, expected):
    folder = tmp_path / "anchorhoi" / "keypoints" / "inner"
    folder.mkdir(parents=True)
    path = folder / "mod.py"
    path.write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "anchorhoi")
    assert imported(path) == expected

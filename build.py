#!/usr/bin/env python3
"""Build the installable Blender extension ``dist/anchorhoi-<version>.zip`` and validate it.

The zip holds ``blender_manifest.toml`` and the files of ``addon/`` at its root (symlinks such
as ``addon/portable`` are resolved into real files; caches are left out), and the backend's
source under ``backend_src/`` for the add-on's one-click backend set-up. It is checked with
Blender's own extension validator, which ships inside the ``bpy`` wheel.

    python build.py            # build + validate
    python build.py --no-validate
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".blend1"}


class BuildError(RuntimeError):
    pass


def manifest(root: Path = ROOT) -> dict:
    with open(root / "blender_manifest.toml", "rb") as fh:
        return tomllib.load(fh)


def addon_files(addon: Path) -> list[tuple[Path, str]]:
    """(file on disk, name in the zip) for every file of the add-on, symlinks followed."""
    files = []
    for folder, dirs, names in os.walk(addon, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")
                         and not d.endswith(".egg-info"))
        for name in sorted(names):
            path = Path(folder) / name
            if path.suffix in SKIP_SUFFIXES or name.startswith("."):
                continue
            files.append((path, path.relative_to(addon).as_posix()))
    return files


BACKEND_SRC = "backend_src"
"""Folder of the zip holding the backend's source (``pyproject.toml``, ``README.md``,
``backend/anchorhoi``): what the add-on's one-click set-up pip-installs into its own venv. Blender
never imports it (no ``__init__.py`` at its top)."""


def backend_files(root: Path) -> list[tuple[Path, str]]:
    """(file on disk, name in the zip) for the bundled backend source."""
    files = [(root / "pyproject.toml", f"{BACKEND_SRC}/pyproject.toml"),
             (root / "README.md", f"{BACKEND_SRC}/README.md")]
    files += [(path, f"{BACKEND_SRC}/backend/{name}")
              for path, name in addon_files(root / "backend")]
    return files


def build(root: Path = ROOT, out_dir: Path | None = None, *, with_backend: bool = True) -> Path:
    info = manifest(root)
    out_dir = out_dir or root / "dist"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{info['id']}-{info['version']}.zip"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(root / "blender_manifest.toml", "blender_manifest.toml")
            files = addon_files(root / "addon")
            if with_backend:
                if not (root / "backend" / "anchorhoi").is_dir():
                    raise BuildError(f"no backend/anchorhoi under {root} to bundle")
                files += backend_files(root)
            for path, name in files:
                zf.write(path, name)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def blender_ext_script() -> Path:
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("cannot validate: the 'bpy' module is not installed (pip install "
                         "bpy==5.0.1 on Python 3.11), or run with --no-validate")
    base = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(base.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise BuildError(f"Blender's extension validator not found under {base}")
    return found[-1]


def validate(zip_path: Path) -> str:
    proc = subprocess.run([sys.executable, str(blender_ext_script()), "validate", str(zip_path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{zip_path.name} failed Blender's validation:\n"
                         f"{proc.stdout}{proc.stderr}")
    return (proc.stdout + proc.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default dist/)")
    parser.add_argument("--no-validate", action="store_true", help="skip Blender's validator")
    args = parser.parse_args(argv)
    try:
        zip_path = build(out_dir=args.out)
        print(f"built {zip_path}")
        if not args.no_validate:
            print(validate(zip_path) or "valid")
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The extension zip: built from addon/ + manifest, valid for Blender's own validator, installs
and enables in a clean user folder, and keeps the two-worlds rule (no torch in Blender)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import build  # noqa: E402

pytestmark = pytest.mark.blender


def test_zip_contents(extension_zip):
    with zipfile.ZipFile(extension_zip) as zf:
        names = set(zf.namelist())
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
        infos = zf.infolist()
    assert extension_zip.name == f"anchorhoi-{manifest['version']}.zip"
    assert manifest["id"] == "anchorhoi" and manifest["blender_version_min"] == "4.2.0"
    assert {"__init__.py", "registration.py", "operators/import_motion.py",
            "portable/result_v1.py", "portable/skeleton.py", "portable/quaternions.py"} <= names
    # every folder of the add-on is a package (Blender loads it as bl_ext.<repo>.anchorhoi)
    folders = {n.rsplit("/", 1)[0] for n in names
               if "/" in n and not n.startswith("backend_src/")}
    assert {f.split("/")[0] for f in folders} == {"ui", "operators", "scene", "plan", "client",
                                                  "portable"}
    assert {f"{f}/__init__.py" for f in folders} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    # the portable symlink became real files
    assert all((i.external_attr >> 16) & 0o170000 != 0o120000 for i in infos)


@pytest.mark.slow
def test_the_zip_carries_an_installable_backend(extension_zip, tmp_path):
    """The one-click set-up pip-installs ``backend_src/`` from the installed extension: it must
    be a complete source tree that builds (here offline, as a wheel, with the venv's
    setuptools)."""
    import subprocess
    import sys

    with zipfile.ZipFile(extension_zip) as zf:
        names = [n for n in zf.namelist() if n.startswith("backend_src/")]
        zf.extractall(tmp_path / "ext", members=names)
    assert {"backend_src/pyproject.toml", "backend_src/README.md",
            "backend_src/backend/anchorhoi/cli/serve.py",
            "backend_src/backend/anchorhoi/portable/protocol.py"} <= set(names)
    assert not any(".egg-info" in n or "__pycache__" in n for n in names)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--no-index", "-q", "-w",
                           str(tmp_path / "wheel"), str(tmp_path / "ext" / "backend_src")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = next((tmp_path / "wheel").glob("anchorhoi-*.whl"))
    with zipfile.ZipFile(wheel) as whl:
        assert "anchorhoi/job/pipeline.py" in whl.namelist()


def test_blender_validator_accepts_it(extension_zip):
    out = build.validate(extension_zip)
    assert "Success" in out


def test_validator_rejects_a_bad_manifest(tmp_path):
    (tmp_path / "addon").mkdir()
    (tmp_path / "addon" / "__init__.py").write_text("def register(): pass\n"
                                                   "def unregister(): pass\n")
    manifest = (ROOT / "blender_manifest.toml").read_text().replace(
        'tagline = "', 'tagline = "Ends with a full stop and is far too long to be a tagline.')
    (tmp_path / "blender_manifest.toml").write_text(manifest)
    zip_path = build.build(root=tmp_path, out_dir=tmp_path / "dist", with_backend=False)
    with pytest.raises(build.BuildError, match="failed Blender's validation"):
        build.validate(zip_path)


def test_installed_and_enabled(installed_addon, blender_user_dir):
    import bpy
    from bl_ext.user_default.anchorhoi.client import backend_setup

    assert installed_addon in bpy.context.preferences.addons
    installed = blender_user_dir / "extensions" / "user_default" / "anchorhoi"
    assert (installed / "portable" / "skeleton.py").is_file()
    # the one-click set-up finds the backend source the zip carries
    assert backend_setup.bundled_backend_spec() == f"{installed / 'backend_src'}[keypoints]"
    for op in ("import_motion", "import_batch", "reduce_keys", "export_fbx", "generate", "cancel",
               "setup_backend", "import_job", "open_job_folder", "delete_job"):
        assert hasattr(bpy.ops.anchorhoi, op)


def test_no_torch_in_blender(tmp_path, extension_zip):
    """In a fresh interpreter, the enabled extension imports neither torch nor smplx nor
    diffusers (the bpy-free folders' own rule is tests/addon/test_bpy_free.py)."""
    script = textwrap.dedent(f"""
        import sys
        import bpy
        bpy.ops.extensions.package_install_files(filepath={str(extension_zip)!r},
            repo="user_default", enable_on_install=True)
        assert "bl_ext.user_default.anchorhoi" in bpy.context.preferences.addons
        bad = sorted(m for m in ("torch", "smplx", "diffusers") if m in sys.modules)
        print("HEAVY", bad)
    """)
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "HEAVY []" in proc.stdout

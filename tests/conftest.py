"""Test set-up: offline, CPU, a throw-away Blender user folder.

``BLENDER_USER_RESOURCES`` must point at a temporary folder before ``bpy`` is first imported,
so nothing touches a real Blender configuration; it is set here, at collection time.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_USER = tempfile.mkdtemp(prefix="anchorhoi-blender-user-")
atexit.register(shutil.rmtree, _USER, ignore_errors=True)
os.environ["BLENDER_USER_RESOURCES"] = _USER
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(ROOT / "tests"))

ADDON_MODULE = "bl_ext.user_default.anchorhoi"


@pytest.fixture(scope="session")
def blender_user_dir() -> Path:
    return Path(_USER)


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT))
    import build

    return build.build(out_dir=tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def installed_addon(extension_zip):
    """The built extension installed into the temporary user folder and enabled (once)."""
    import bpy

    bpy.ops.extensions.package_install_files(filepath=str(extension_zip), repo="user_default",
                                             enable_on_install=True)
    return ADDON_MODULE


@pytest.fixture
def addon(installed_addon):
    """An empty scene with the add-on enabled (another test may have reset the preferences)."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    if installed_addon not in bpy.context.preferences.addons:
        bpy.ops.preferences.addon_enable(module=installed_addon)
    prefs = bpy.context.preferences.addons[installed_addon].preferences
    prefs.smplx_dir = ""
    return prefs

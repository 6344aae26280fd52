"""The sidebar panel, the preferences and the backend set-up operator in real Blender."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers.recording_layout import RecordingLayout

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender


def draw_panel():
    from bl_ext.user_default.anchorhoi.ui.panel import ANCHORHOI_PT_generate

    log = []
    ANCHORHOI_PT_generate.draw(SimpleNamespace(layout=RecordingLayout(log)), bpy.context)
    return log


@pytest.fixture
def prefs(addon):
    yield addon
    addon.jobs_dir = ""
    bpy.context.window_manager.anchorhoi_job.reset()


def test_panel_idle_running_and_history(prefs, tmp_path):
    prefs.jobs_dir = str(tmp_path / "jobs")
    s = bpy.context.scene.anchorhoi
    s.duration, s.fps, s.show_history = 2.5, 24, True
    log = draw_panel()
    assert ("label", "60 frames") in log and ("operator", "anchorhoi.generate") in log
    assert ("label", "Set 'Backend Python' in the add-on preferences") in log
    assert ("label", "No jobs yet") in log
    assert [e[1] for e in log if e[0] == "prop"][:7] == ["prompt", "target", "object_prompt",
                                                         "duration", "fps", "preset", "seed"]
    # no mesh picked: the object is generated, from the Object Prompt when set
    assert ("label", "Object: generated from the prompt's object") in log
    s.object_prompt = " a  red crate "
    assert ("label", "Object: generated from 'a red crate'") in draw_panel()
    bpy.ops.mesh.primitive_cube_add()
    s.target = bpy.context.active_object
    picked = draw_panel()
    assert ("label", "Object: your mesh") in picked and ("prop", "object_prompt") not in picked
    s.target, s.object_prompt = None, ""
    # a running job: Cancel and the progress bar with stage and ETA, a preview thumbnail
    png = tmp_path / "preview.png"
    img = bpy.data.images.new("p", 4, 4)
    img.filepath_raw, img.file_format = str(png), "PNG"
    img.save()
    bpy.data.images.remove(img)
    status = bpy.context.window_manager.anchorhoi_job
    status.reset()
    status.running, status.progress, status.text = True, 0.375, "2/4 Video prior · 3/8 · ETA 12 s"
    status.object_prompt = "a wooden crate"  # the backend's words for the generated object
    item = status.previews.add()
    item.stage, item.path = "video", str(png)
    log = draw_panel()
    assert ("operator", "anchorhoi.cancel") in log
    assert ("progress", 0.375, "2/4 Video prior · 3/8 · ETA 12 s") in log
    assert ("label", "Object: generated from 'a wooden crate'") in log
    assert ("label", "video: preview.png") in log  # with a thumbnail where icons exist
    assert ("icon", True) in log or bpy.app.background
    status.reset()
    # the history lists jobs with re-import / resume, open folder and delete
    from bl_ext.user_default.anchorhoi.client import job_history

    done = job_history.new_job_dir(tmp_path / "jobs", "lift the box", now=time.time() - 60)
    job_history.write_job_info(done, {"request": {"prompt": "lift the box"}})
    (done / "result.json").write_text(json.dumps({"prompt": "lift the box"}))
    part = job_history.new_job_dir(tmp_path / "jobs", "sit down")
    job_history.write_job_info(part, {"request": {"prompt": "sit down"}, "status": "cancelled"})
    ops = [e[1] for e in draw_panel() if e[0] == "operator"]
    assert ops[1:] == ["anchorhoi.generate", "anchorhoi.open_job_folder", "anchorhoi.delete_job",
                       "anchorhoi.import_job", "anchorhoi.open_job_folder",
                       "anchorhoi.delete_job"]
    assert bpy.ops.anchorhoi.delete_job(job_dir=str(part)) == {"FINISHED"}
    assert not part.exists() and done.exists()
    job_history.write_job_info(part, {"request": {"prompt": "sit down"}})
    with pytest.raises(RuntimeError, match="has no result yet: resume it first"):
        bpy.ops.anchorhoi.import_job(job_dir=str(part))


def test_preferences_defaults_and_jobs_folder(prefs):
    addon = prefs
    from bl_ext.user_default.anchorhoi.ui import preferences

    assert (addon.device, addon.backend_python, addon.model_image, addon.setup_torch) == (
        "auto", "", "", "cuda")
    user = Path(bpy.utils.extension_path_user("bl_ext.user_default.anchorhoi"))
    assert preferences.jobs_folder(addon) == user / "jobs"
    addon.jobs_dir = "/somewhere/jobs"
    assert preferences.jobs_folder(addon) == Path("/somewhere/jobs")
    addon.jobs_dir = ""
    assert preferences.resolved_backend_python(addon) == ""  # no venv set up yet


def test_backend_setup_refused_without_online_access(addon):
    assert bpy.app.online_access is False  # tests run offline, as Blender's default
    assert not bpy.ops.anchorhoi.setup_backend.poll()
    with pytest.raises(RuntimeError, match="Allow online access"):
        bpy.ops.anchorhoi.setup_backend()
    assert bpy.context.window_manager.anchorhoi_setup_status == ""


def test_a_loaded_file_never_shows_a_job_running(prefs, tmp_path):
    status = bpy.context.window_manager.anchorhoi_job
    status.running, status.text = True, "1/4 Anchor"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "saved.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "saved.blend"))
    assert not bpy.context.window_manager.anchorhoi_job.running
    assert bpy.ops.anchorhoi.generate.poll()


def test_preferences_draw_offline(prefs):
    """The preferences page: every property it shows exists, and the set-up button is greyed
    out with a reason while online access is off."""
    log = []
    layout = RecordingLayout(log)

    class Proxy:
        def __getattr__(self, name):
            return layout if name == "layout" else getattr(prefs, name)

    type(prefs).draw(Proxy(), bpy.context)
    shown = [e[1] for e in log if e[0] == "prop"]
    assert shown == ["backend_python", "device", "model_image", "model_video", "model_detector",
                     "smplx_dir", "cache_dir", "jobs_dir", "backend_source", "setup_torch"]
    labels = [e[1] for e in log if e[0] == "label"]
    assert "No backend yet: set 'Backend Python' or set one up below." in labels
    assert any("PyTorch with CUDA (about 2.5–5 GB)" in t for t in labels)
    assert any(t.startswith("Online access is off") for t in labels)
    assert ("operator", "anchorhoi.setup_backend") in log

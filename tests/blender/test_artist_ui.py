"""The artist's way in: sidebar sections Import / Clean-up / Export, the operators in the
menus, and a tooltip on every property of every AnchorHOI operator and property group."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from helpers.recording_layout import RecordingLayout

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender


def anchorhoi_classes():
    """Every registered operator of ``bpy.ops.anchorhoi`` and every AnchorHOI property group."""
    ops = [getattr(bpy.types, name) for name in dir(bpy.types)
           if name.startswith("ANCHORHOI_OT_")]
    groups = [cls for cls in bpy.types.PropertyGroup.__subclasses__()
              if cls.__module__.startswith("bl_ext.user_default.anchorhoi")]
    prefs = [cls for cls in bpy.types.AddonPreferences.__subclasses__()
             if cls.__module__.startswith("bl_ext.user_default.anchorhoi")]
    return ops, groups + prefs


def test_every_property_has_a_tooltip(addon):
    ops, groups = anchorhoi_classes()
    assert {"ANCHORHOI_OT_export_fbx", "ANCHORHOI_OT_retime_clip",
            "ANCHORHOI_OT_reduce_keys", "ANCHORHOI_OT_import_motion",
            "ANCHORHOI_OT_import_batch"} <= \
        {cls.__name__ for cls in ops}
    assert len(groups) >= 3
    missing = []
    for cls in ops + groups:
        if cls in ops:
            category, name = cls.bl_idname.split(".")
            rna = getattr(getattr(bpy.ops, category), name).get_rna_type()
            if not rna.description.strip():
                missing.append(cls.__name__)
        else:
            rna = cls.bl_rna
        for prop in rna.properties:
            if prop.identifier == "rna_type" or prop.identifier == "bl_idname":
                continue
            if not prop.description.strip():
                missing.append(f"{cls.__name__}.{prop.identifier}")
            if prop.type == "ENUM" and not prop.is_enum_flag:
                missing += [f"{cls.__name__}.{prop.identifier}:{item.identifier}"
                            for item in prop.enum_items if not item.description.strip()]
    assert not missing, f"no tooltip: {missing}"


def draw(panel_name):
    log = []
    panel = getattr(bpy.types, panel_name)
    panel.draw(SimpleNamespace(layout=RecordingLayout(log)), bpy.context)
    return [entry[1] for entry in log if entry[0] == "operator"]


def test_sidebar_sections(addon):
    assert draw("ANCHORHOI_PT_import") == ["anchorhoi.import_motion", "anchorhoi.import_batch"]
    cleanup = draw("ANCHORHOI_PT_cleanup")
    assert "anchorhoi.reduce_keys" in cleanup and "anchorhoi.retime_clip" in cleanup
    if hasattr(bpy.types, "ANCHORHOI_OT_lock_feet"):
        assert "anchorhoi.lock_feet" in cleanup
    assert set(draw("ANCHORHOI_PT_export")) == {"anchorhoi.export_fbx"}
    for name in ("ANCHORHOI_PT_import", "ANCHORHOI_PT_cleanup", "ANCHORHOI_PT_export"):
        assert getattr(bpy.types, name).bl_category == "AnchorHOI"


def test_operators_in_the_menus(addon):
    def entries(menu):
        log = []
        for fn in getattr(bpy.types, menu)._dyn_ui_initialize():
            if getattr(fn, "__module__", "").startswith("bl_ext.user_default.anchorhoi"):
                fn(SimpleNamespace(layout=RecordingLayout(log)), bpy.context)
        return {e[1] for e in log if e[0] == "operator"}

    assert {"anchorhoi.import_motion", "anchorhoi.import_batch"} <= \
        entries("TOPBAR_MT_file_import")
    assert "anchorhoi.export_fbx" in entries("TOPBAR_MT_file_export")
    for menu in ("VIEW3D_MT_object_animation", "VIEW3D_MT_pose"):
        assert {"anchorhoi.reduce_keys", "anchorhoi.retime_clip",
                "anchorhoi.export_fbx"} <= entries(menu), menu

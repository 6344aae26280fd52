"""AnchorHOI for Blender: text to 4D human–object interaction, as an SMPL-X rig with keyframes.

This file stays import-light: the bpy-free modules of the package (``axes``, ``import_plan``,
``motion_source``, ``keyreduce``, ``fbx_presets`` and ``portable``) are imported by plain
Python tests, so Blender's modules are imported only when Blender registers the extension.
"""


def register():
    from . import registration

    registration.register()


def unregister():
    from . import registration

    registration.unregister()

"""AnchorHOI for Blender: text to 4D human–object interaction, as an SMPL-X rig with keyframes.

The package is grouped by what each file may touch:

- ``plan/`` and ``client/`` never import ``bpy`` (import planning, axes, quaternions, key
  reduction; the backend process, job state and history, one generation run), nor does
  ``portable/`` (shared with the backend); tests import them with plain Python;
- ``ui/`` (properties, preferences, panel), ``operators/`` (``bpy.ops.anchorhoi.*``, thin) and
  ``scene/`` (the code that builds and edits Blender data) are Blender's side.

This file stays import-light for that reason: Blender's modules are imported only when
Blender registers the extension.
"""


def register():
    from . import registration

    registration.register()


def unregister():
    from . import registration

    registration.unregister()

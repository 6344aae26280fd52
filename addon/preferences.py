"""Add-on preferences (Edit › Preferences › Add-ons › AnchorHOI)."""

from __future__ import annotations

import bpy


class AnchorHOIPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    smplx_dir: bpy.props.StringProperty(
        name="SMPL-X folder",
        description=("Folder with the official SMPLX_NEUTRAL/MALE/FEMALE.npz files (licensed, "
                     "download them from the SMPL-X website). Empty: the bundled procedural body"),
        subtype="DIR_PATH",
        default="",
    )

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "smplx_dir")
        if not self.smplx_dir:
            col.label(text="No SMPL-X folder: motions play on the procedural body.", icon="INFO")


def get(context) -> AnchorHOIPreferences:
    return context.preferences.addons[__package__].preferences

"""Code shared by the backend and the Blender add-on.

Everything in this package runs in Blender's bundled Python as well as in the backend's
environment: it imports only the standard library and numpy (never torch, smplx or bpy).
The add-on reaches it through the ``addon/portable`` symlink, which ``build.py`` resolves
into real files inside the extension zip.
"""

"""The code that reads and writes Blender data: armature, body, object and actions from an
import plan, the picked object's mesh, F-curve keys, and scene state kept or restored around
an import or an FBX export."""

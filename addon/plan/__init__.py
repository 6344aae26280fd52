"""What the add-on computes before it touches Blender: import plans, the up-axis conversion,
quaternions, placement, the object's OBJ export, FBX settings and key reduction.

bpy-free: numpy, the standard library and ``portable`` only (tests/addon/test_bpy_free.py).
"""

"""The add-on's side of the backend: the child process, the job's state machine, the request,
the job folders and their history, the one-click set-up, and one generation run from start to
report.

bpy-free: numpy, the standard library, ``portable`` and ``plan`` only
(tests/addon/test_bpy_free.py).
"""

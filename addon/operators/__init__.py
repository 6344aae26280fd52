"""The ``bpy.ops.anchorhoi.*`` operators: thin, each hands its work to ``plan``, ``client`` and
``scene``."""

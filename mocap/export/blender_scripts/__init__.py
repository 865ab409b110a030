"""Scripts run inside Blender's Python (see :mod:`mocap.export.blender_env`); not imported by mocap."""

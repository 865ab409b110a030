"""Scripts run inside Blender's Python (see :mod:`mocap.blender`); not imported by mocap."""

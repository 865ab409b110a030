"""Scripts run inside Blender's Python (see :mod:`mocap.export.blender`); mocap never imports
them."""

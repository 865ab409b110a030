"""Pure geometry, vectorised over frames: rotations, the pinhole camera, time series.

Imports nothing of mocap except :mod:`mocap.errors`.
"""

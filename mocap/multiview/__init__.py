"""Several calibrated cameras: calibration files (read, write) and triangulation.

- :mod:`.calibration`: :class:`~.calibration.Camera` and :class:`~.calibration.Calibration`
  (OpenCV's camera model and axes), read from Pose2Sim/anipose/FreeMoCap TOML, Qualisys
  ``.qca.txt`` or OpenCV YAML/JSON, written as Pose2Sim's TOML;
- :mod:`.triangulate`: per-view 2D points -> 3D points (confidence-weighted DLT, views
  rejected by their reprojection error);
- :mod:`.match`: each view's tracks grouped into persons by reprojection consistency;
- :mod:`.scene`: matched persons -> one smoothed 3D track (33 landmarks, metres) each;
- :mod:`.sync`: videos that did not start together -> each view's sub-frame time offset,
  from the people's motion (speed profiles correlated), refined by triangulation
  consistency when the cameras are calibrated;
- :mod:`.autocalib`: no board: the cameras (pose, focal length, metric scale) from the
  people they see, matched across views by their epipolar geometry, then bundle adjusted
  (:mod:`.bundle`);
- :mod:`.board`: a ChArUco board or checkerboard filmed by every camera -> each camera's
  lens (``cv2.calibrateCamera``) and pose (shared views chained, then refined jointly);
  ``mocap calibrate``.
"""

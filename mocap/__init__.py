"""mocap: video in, one animated skeleton per person out (BVH, FBX, glTF).

The package is laid out as the pipeline runs, one folder ("room") per stage::

    errors, types, units, fileio   boundary types, errors, the unit table, atomic writing
    geometry/    rotations, the pinhole camera and root solve, time series, boxes
    io/          video, images, BVH reading, the container's lens metadata, model and demo-video
                 acquisition
    perception/  engine/ (TFLite -> torch, LiteRT), detect, movenet, fusion, landmarks:
                 frames -> Poses2D; camera_motion: frames -> CameraPath (turn and zoom);
                 camera_lines: a fixed camera's focal length from the scene's lines
    tracking/    tracker (Kalman + Hungarian), smooth (Kalman/RTS), loop, tracks_io
    multiview/   calibration (cameras; Pose2Sim/anipose TOML, Qualisys .qca.txt, OpenCV
                 YAML/JSON), triangulate (several calibrated views -> 3D points), match
                 (tracks across views -> persons), scene (persons -> 3D tracks), sync
                 (time offsets between videos), autocalib + bundle (cameras from the
                 people), board (cameras from ChArUco/checkerboard videos)
    lift/        the learned 3D stage: data (CMU rig joints -> BlazePose-like training
                 pairs), model (temporal convolution net, torch), stage (lift_track:
                 a track's 2D + BlazePose 3D -> corrected root-relative 3D)
    motion/      world (root, ground, scene; a moving camera undone), contacts (foot
                 contacts, locking, skate)
    skeleton/    rig (Rig, rig files, BVH rigs), roles (name recognition), animation (FK)
    retarget/    solver, foot_lock, fingers (hand landmarks -> finger joints), bvh_source, metrics
    export/      bvh, data (json/npz/csv), formats, blender (FBX/GLB), blender_env
    app/         convert, convert_views (several cameras), person, report, preview, draw,
                 batch (+ batch_manifest, batch_local, batch_dask): the orchestration
    commands/    one file per subcommand + shared options (the CLI, thin)

Import rule: a room imports only itself and the rooms listed above it (``errors`` and
``geometry`` import nothing of mocap but errors; no stage imports ``app``), so there is no
import cycle between rooms. A function-local import is only for a heavy optional dependency
(torch, LiteRT, bpy, dask), never to dodge a cycle; the CLI's ``commands/`` import the
library lazily so that ``mocap --help`` starts fast. ``tests/test_architecture.py`` checks
all of it, function-local imports included.
"""

from __future__ import annotations

__version__ = "0.1.0"

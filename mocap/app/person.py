"""One tracked person -> an animated rig and the numbers the report shows.

:func:`animate_person` is the motion -> retarget hand-over for one person: the placed
landmarks become the rig's body points (:func:`mocap.motion.world.landmark_points`), are
retargeted onto the rig in one solve, lifted where a joint sinks into the floor, and the
feet in contact are then planted by two-bone IK on the legs
(:func:`mocap.retarget.foot_lock.lock_feet`); with hand landmarks, the fingers are then
bent after them (:func:`mocap.retarget.fingers.apply_fingers`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from mocap.geometry.camera import DEFAULT_FOV_DEG, project
from mocap.geometry.series import jitter, path_length
from mocap.motion.contacts import (
    VIDEO_CONTACT_HEIGHT_M,
    VIDEO_CONTACT_SPEED_M_S,
    foot_skate,
)
from mocap.motion.world import WorldMotion, landmark_points, scene_world_motion, world_motion
from mocap.retarget.fingers import apply_fingers
from mocap.retarget.foot_lock import keep_above_floor, lock_feet, settle_on_floor
from mocap.retarget.solver import retarget
from mocap.skeleton.animation import Animation, bridge_poses
from mocap.skeleton.rig import Rig, load_rig
from mocap.types import CameraPath, Track

#: After settling on the floor, no point of the rig (End Sites included) is lower than this
#: below the ground, metres.
SETTLED_FLOOR_TOLERANCE_M = 0.015


@dataclass
class PersonMotion:
    """Result of :func:`animate_person`.

    Attributes:
        animation: the rig animation over the person's frames (Y up, ground at 0, metres).
        world: the placed landmarks (:class:`~mocap.motion.world.WorldMotion`).
        foot_skate: mean horizontal speed of the animation's feet over the frames they are
            in contact, m/s; None when they never are.
        foot_skate_unlocked: the same before foot locking, m/s (or None).
    """

    animation: Animation
    world: WorldMotion
    foot_skate: float | None
    foot_skate_unlocked: float | None


def animate_person(placed: WorldMotion, rig: Rig, bone_lengths: str = "actor",
                   lock: bool = True, floor: bool = True,
                   hands: tuple[np.ndarray, np.ndarray] | None = None,
                   observed: np.ndarray | None = None) -> PersonMotion:
    """Placed landmarks -> an animation of ``rig``, in one retarget solve.

    Args:
        placed: the person's landmarks in the world (:func:`scene_world_motion`).
        rig: the target skeleton.
        bone_lengths: ``"actor"`` (the person's proportions) or ``"rig"``.
        lock: pin feet in contact (video contact thresholds) so they do not slide.
        floor: keep every body point at or above the ground (within 3 cm).
        hands: ``(hands_world, hands_score)`` over the person's frames, (T, 2, 21, 3)
            metres and (T, 2) (see :func:`~mocap.retarget.fingers.apply_fingers`): the
            fingers follow them, last; None leaves the fingers in their rest pose.
        observed: (T,) bool, frames the person was seen in: in the others (bridged by
            the smoother) the pose is interpolated between the poses either side
            (:func:`~mocap.skeleton.animation.bridge_poses`); None: every frame.
    """
    fps = placed.fps
    pts = landmark_points(placed.landmarks, rig.landmarks)
    anim = retarget(pts, rig, fps, bone_lengths)  # the one solve
    if observed is not None:  # before the floor and the feet, which then hold for it too
        anim = bridge_poses(anim, observed)
    unlocked = foot_skate(anim.points(), fps)
    if floor:  # before locking, so that planted feet are pinned where they end up
        anim = keep_above_floor(anim)
    if lock:
        anim = lock_feet(anim, VIDEO_CONTACT_HEIGHT_M, VIDEO_CONTACT_SPEED_M_S)
        if floor:  # the rig's soles and toe tips, not its ankles, on the ground
            anim, lift = settle_on_floor(anim, VIDEO_CONTACT_HEIGHT_M,
                                         VIDEO_CONTACT_SPEED_M_S)
            # and no toe tip deep in the floor in the frames between (a swinging foot's dip)
            anim = keep_above_floor(anim, SETTLED_FLOOR_TOLERANCE_M, end_sites=True)
            if lift:  # the floor moves, not the person: the camera and landmarks go along
                up = np.array([0.0, lift, 0.0])
                placed = replace(placed, landmarks=placed.landmarks + up,
                                 root=placed.root + up,
                                 camera_translation=placed.camera_translation
                                 - placed.camera_rotation @ up)
    if hands is not None:  # the fingers move nothing else: after the feet and the floor
        anim = apply_fingers(anim, *hands)
    skate = foot_skate(anim.points(), fps) if lock else unlocked
    return PersonMotion(anim, placed, skate, unlocked)


def animate_landmarks(world: np.ndarray, xy: np.ndarray, visibility: np.ndarray,
                      image_size: tuple[int, int], fps: float, rig: Rig | str = "mixamo",
                      fov_deg: float = DEFAULT_FOV_DEG, bone_lengths: str = "actor",
                      lock: bool = True, floor: bool = True) -> PersonMotion:
    """One person's landmarks, alone in the scene, -> an animation of ``rig``.

    Args:
        world: (T, 33, 3) BlazePose world landmarks, metres, hip-centred, x right, y down,
            z away from the camera.
        xy: (T, 33, 2) image landmarks, pixels.
        visibility: (T, 33) landmark visibility in [0, 1] (weights of the root solve).
        image_size: (width, height) pixels.
        fps: frames per second of the video.
        rig: a :class:`~mocap.skeleton.rig.Rig` or a name/path for
            :func:`~mocap.skeleton.rig.load_rig`.
        fov_deg: horizontal field of view of the camera, degrees.
        bone_lengths: ``"actor"`` or ``"rig"``.
        lock: pin feet in contact.
        floor: keep every joint at or above the ground.
    """
    rig = rig if isinstance(rig, Rig) else load_rig(rig)
    placed = world_motion(world, xy, visibility, image_size, fps, fov_deg)
    return animate_person(placed, rig, bone_lengths, lock, floor)


@dataclass(frozen=True)
class PersonStats:
    """The numbers the report gives for one person.

    Attributes:
        first_frame, last_frame: video frames of the first and last appearance.
        frames_observed: frames in which the person was seen (others are bridged).
        coverage_span: ``frames_observed`` / frames of their own span, first to last
            appearance, [0, 1].
        coverage_video: ``frames_observed`` / frames of the video, [0, 1].
        mean_confidence: mean landmark visibility over observed frames, [0, 1].
        mean_pose_score: mean pose score over observed frames, [0, 1].
        jitter_raw_px, jitter_smoothed_px: mean absolute second difference of the image
            landmarks before and after smoothing, px.
        jitter_ratio: smoothed / raw (None when raw is 0).
        foot_contact_left, foot_contact_right: share of frames with the foot in contact.
        foot_skate_m_per_s: mean horizontal speed of the exported feet over the frames
            they are in contact (near their lowest and slow), m/s; None (JSON null, "no
            contact") when they never are.
        foot_skate_unlocked_m_per_s: the same before foot locking, m/s (or None).
        hip_reprojection_px_median: median distance between the exported rig's hips
            projected through the camera and the 2D hip centre, px (None if they never
            project).
        root_path_length_m: length of the root's path over the ground (horizontal),
            measured on the path smoothed over ~0.25 s
            (:func:`mocap.geometry.series.path_length`), m.
        root_net_displacement_m: horizontal distance from the first to the last root
            position, m (a walk there and back: about 0).
        bone_lengths_m: joint name -> length of the bone ending at it, m.
        hand_coverage: with ``--hands``, ``{"left", "right"}``: share of the frames the
            person was seen in where that hand was found too (None without hands).
        hand_score_mean: with ``--hands``, ``{"left", "right"}``: mean hand presence score
            where the hand was found (None where it never was; None without hands).
    """

    first_frame: int
    last_frame: int
    frames_observed: int
    coverage_span: float
    coverage_video: float
    mean_confidence: float
    mean_pose_score: float
    jitter_raw_px: float
    jitter_smoothed_px: float
    jitter_ratio: float | None
    foot_contact_left: float
    foot_contact_right: float
    foot_skate_m_per_s: float | None
    foot_skate_unlocked_m_per_s: float | None
    hip_reprojection_px_median: float | None
    root_path_length_m: float
    root_net_displacement_m: float
    bone_lengths_m: dict[str, float]
    hand_coverage: dict[str, float] | None = None
    hand_score_mean: dict[str, float | None] | None = None

    def to_json(self) -> dict:
        """The ``report.json`` form (foot contacts as ``{"left", "right"}``; the hand keys
        only with ``--hands``)."""
        d = asdict(self)
        d["foot_contact_fraction"] = {"left": d.pop("foot_contact_left"),
                                      "right": d.pop("foot_contact_right")}
        if d["hand_coverage"] is None:  # no --hands: no hand keys
            del d["hand_coverage"], d["hand_score_mean"]
        return d


@dataclass
class PersonResult:
    """One exported person.

    Attributes:
        id: track id (1, 2, ... in order of appearance).
        track: the smoothed :class:`~mocap.types.Track`.
        motion: :class:`PersonMotion` (animation over the track's frames,
            ``track.first_frame`` to ``track.last_frame``).
        total_frames: frames in the video (the BVH's length).
        camera: (rotation, translation) world -> camera, for re-projection: (3, 3) and
            (3,) for a fixed camera, (T, 3, 3) and (T, 3) over the person's frames for a
            moving one (focal length: ``motion.world.focal``).
        stats: the numbers in the report.
        warnings: :class:`mocap.app.checks.QualityWarning` list.
    """

    id: int
    track: Track
    motion: PersonMotion
    total_frames: int
    camera: tuple[np.ndarray, np.ndarray]
    stats: PersonStats
    warnings: list = field(default_factory=list)  # QualityWarning (mocap.app.checks)

    @property
    def animation(self) -> Animation:
        """The animation over the person's own frames."""
        return self.motion.animation

    def full_animation(self) -> Animation:
        """The exported animation, one frame per video frame (ends held); built on demand,
        so a long video with many people never holds them all at full length."""
        return full_length(self.motion.animation, self.track.first_frame, self.total_frames)


def full_length(anim: Animation, first: int, total: int) -> Animation:
    """Pad an animation over frames ``first..`` to ``total`` frames by holding its ends."""
    idx = np.clip(np.arange(total) - first, 0, len(anim) - 1)
    return Animation(anim.rig, anim.root_translation[idx], anim.rotations[idx], anim.fps)


def animate_scene(tracks: list[Track], rig: Rig, size: tuple[int, int], fps: float,
                  total: int, fov_deg: float = DEFAULT_FOV_DEG,
                  bone_lengths: str = "actor",
                  camera: CameraPath | None = None,
                  root_smooth_s: float = 0.0) -> list[PersonResult]:
    """Place everyone on one ground (one camera), then animate each person's rig.

    Args:
        tracks: smoothed tracks of one video.
        rig: the target skeleton.
        size: (width, height) of the video, px.
        fps: frames per second.
        total: frames in the video.
        fov_deg: horizontal field of view, degrees.
        bone_lengths: ``"actor"`` or ``"rig"``.
        camera: how the camera turned and zoomed over the video (None: fixed); everyone is
            then placed in the world of the first frame's view.
        root_smooth_s: see :func:`mocap.motion.world.scene_world_motion`.
    """
    views = None if camera is None else [(camera.rotation[t.frames], camera.zoom[t.frames])
                                         for t in tracks]
    placed = scene_world_motion([(t.world, t.image[..., :2], t.visibility) for t in tracks],
                                size, fps, fov_deg, views, root_smooth_s)
    people = []
    for track, wm in zip(tracks, placed, strict=True):
        hands = (track.hands_world, track.hands_score) if track.has_hands else None
        motion = animate_person(wm, rig, bone_lengths, hands=hands, observed=track.observed)
        cam = (motion.world.camera_rotation, motion.world.camera_translation)
        stats = person_stats(track, motion, cam, wm.focal, size, total)
        people.append(PersonResult(track.id, track, motion, total, cam, stats))
    return people


def person_stats(track: Track, motion: PersonMotion, camera: tuple[np.ndarray, np.ndarray],
                 focal, size: tuple[int, int], total: int) -> PersonStats:
    """The report's numbers for one person (see :class:`PersonStats`; ``camera`` and
    ``focal`` as :func:`mocap.geometry.camera.project` takes them)."""
    anim = motion.animation
    rig = anim.rig
    lengths = {name: round(float(np.linalg.norm(rig.offsets[j])), 4)
               for j, name in enumerate(rig.joints) if rig.parents[j] >= 0}
    seen = track.observed
    vis = track.visibility[seen]
    jr = jitter(track.image_raw[..., :2], seen)
    js = jitter(track.image[..., :2], seen)
    # how far the exported rig lands from the 2D landmarks it was made from (px)
    hips_rig = project(anim.positions()[:, 0], camera, focal, size)
    hips_2d = track.image[:, 23:25, :2].mean(1)
    err = np.linalg.norm(hips_rig - hips_2d, axis=-1)[seen]
    # None (JSON null) when the hips never project (behind the camera in every frame)
    reproj = round(float(np.nanmedian(err)), 2) if np.isfinite(err).any() else None
    contacts = motion.world.contacts
    ground = anim.root_translation[:, [0, 2]]  # the root over the ground
    span = track.last_frame - track.first_frame + 1
    return PersonStats(
        first_frame=track.first_frame,
        last_frame=track.last_frame,
        frames_observed=track.frames_observed,
        coverage_span=round(track.frames_observed / max(span, 1), 4),
        coverage_video=round(track.frames_observed / max(total, 1), 4),
        mean_confidence=round(float(vis.mean()) if vis.size else 0.0, 4),
        mean_pose_score=round(float(track.score[seen].mean()) if seen.any() else 0.0, 4),
        jitter_raw_px=round(jr, 4),
        jitter_smoothed_px=round(js, 4),
        jitter_ratio=round(js / jr, 4) if jr > 0 else None,
        foot_contact_left=round(float(contacts[:, 0].mean()), 4),
        foot_contact_right=round(float(contacts[:, 1].mean()), 4),
        foot_skate_m_per_s=_rounded(motion.foot_skate, 4),
        foot_skate_unlocked_m_per_s=_rounded(motion.foot_skate_unlocked, 4),
        hip_reprojection_px_median=reproj,
        root_path_length_m=round(path_length(ground, anim.fps), 3),
        root_net_displacement_m=round(float(np.linalg.norm(ground[-1] - ground[0])), 3),
        bone_lengths_m=lengths,
        **_hand_stats(track),
    )


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _hand_stats(track: Track) -> dict:
    """``hand_coverage`` and ``hand_score_mean`` of :class:`PersonStats` (empty without
    hands)."""
    if not track.has_hands:
        return {}
    seen = track.observed
    found = (track.hands_score > 0) & seen[:, None]
    coverage, score = {}, {}
    for k, side in enumerate(("left", "right")):
        coverage[side] = round(float(found[:, k].sum() / max(seen.sum(), 1)), 4)
        score[side] = (round(float(track.hands_score[found[:, k], k].mean()), 4)
                       if found[:, k].any() else None)
    return {"hand_coverage": coverage, "hand_score_mean": score}

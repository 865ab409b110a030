"""COCO-17 joints fused from MoveNet's people and BlazePose's landmarks of the same people.

The two models disagree on definitions as much as on positions: BlazePose's eyes are eye
centres on a face mesh, its ears sit differently and its hips are the joints, where COCO's
annotators click other places; MoveNet was trained on COCO's definitions. So the face,
shoulders and elbows come from MoveNet, while for wrists, hips, knees and ankles BlazePose's
heatmap-refined landmarks are the more precise and get 70 % of the weight (each model's
weight further scaled by its own confidence in the joint). Where the two poses do not
describe the same person (OKS below ``agree``) or BlazePose scores the region low,
MoveNet's joints are kept as they are.

Measured on ``../shared/data/keypoints`` (``python benchmarks/coco_ap.py``): see the README's
benchmark section.
"""

from __future__ import annotations

import numpy as np

from mocap.perception.movenet import oks_matrix
from mocap.types import BodyDetections, Poses2D

#: MoveNet's share of each COCO-17 joint (the rest is BlazePose's): nose, eyes, ears,
#: shoulders, elbows from MoveNet; wrists, hips, knees, ankles mostly from BlazePose.
MOVENET_SHARE = np.array([1.0] * 9 + [0.3] * 8)


def movenet_coco(bodies: BodyDetections) -> np.ndarray:
    """(N, 17, 3) MoveNet's joints: x, y px, score."""
    return np.concatenate([bodies.keypoints, bodies.keypoint_scores[..., None]], axis=-1)


def fuse_coco(bodies: BodyDetections, poses: Poses2D, agree: float = 0.5,
              min_pose_score: float = 0.3, share: np.ndarray = MOVENET_SHARE) -> np.ndarray:
    """Fused COCO-17 joints of people seen by both models.

    Args:
        bodies: N people from MoveNet.
        poses: the N BlazePose poses on the regions derived from them (same order).
        agree: OKS between the two below which they are not the same person.
        min_pose_score: BlazePose poses scoring below this are not used.
        share: (17,) MoveNet's weight per joint, before confidence scaling.

    Returns:
        (N, 17, 3): x, y px and MoveNet's keypoint score (the detection's confidence).
    """
    if len(bodies) != len(poses):
        raise ValueError(f"`bodies` and `poses` must have the same length, got {len(bodies)} "
                         f"and {len(poses)}")
    out = movenet_coco(bodies)
    if not len(bodies):
        return out
    blaze = poses.landmark_coco17()
    as_bodies = BodyDetections(bodies.boxes, blaze[..., :2], blaze[..., 2], poses.score)
    sim = np.diag(oks_matrix(bodies, as_bodies)) if len(bodies) else np.zeros(0)
    use = (sim >= agree) & (poses.score >= min_pose_score)
    wm = share[None] * (bodies.keypoint_scores + 1e-3)
    wb = (1.0 - share[None]) * (blaze[..., 2] + 1e-3)
    mixed = (wm[..., None] * out[..., :2] + wb[..., None] * blaze[..., :2]) / (wm + wb)[..., None]
    out[use, :, :2] = mixed[use]
    return out

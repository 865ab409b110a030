"""``report.json`` and ``report.html``: per-person quality numbers and plots."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from mocap.app.checks import video_warnings
from mocap.app.draw import color_for
from mocap.app.person import PersonResult
from mocap.geometry.camera import focal_px
from mocap.geometry.series import segments
from mocap.tracking.loop import TrackResult
from mocap.types import CameraPath


def camera_report(camera: CameraPath | None, applied: bool, width: int,
                  fov_deg: float) -> dict:
    """``report.json``'s ``camera`` block.

    ``measured``: whether the motion was estimated (not with ``--camera static``);
    ``moving``: the camera turned or zoomed; ``applied``: people were placed through the
    estimate; ``translating``: the background moves in ways no turn or zoom explains;
    per frame: ``pan_deg`` (right +), ``tilt_deg`` (up +), ``roll_deg`` relative to the
    first frame, ``focal_px``, ``residual_px`` (median background misfit, null where not
    measured), ``inlier_share``; ``unreliable_frames``: ``[first, last]`` ranges measured on
    too little background (interpolated).
    """
    if camera is None:
        return {"measured": False, "moving": False, "applied": False, "translating": False}
    angles = np.round(camera.angles_deg(), 3)

    def listed(x, digits):
        return [None if not np.isfinite(v) else round(float(v), digits) for v in x]

    return {
        "measured": True,
        "moving": camera.moving,
        "applied": bool(applied),
        "translating": camera.translating,
        "pan_deg": angles[:, 0].tolist(),
        "tilt_deg": angles[:, 1].tolist(),
        "roll_deg": angles[:, 2].tolist(),
        "focal_px": np.round(focal_px(width, fov_deg) * camera.zoom, 2).tolist(),
        "residual_px": listed(camera.residual_px, 3),
        "inlier_share": listed(camera.inlier_share, 3),
        "unreliable_frames": [[int(a), int(b - 1)] for a, b in segments(~camera.reliable)],
    }


def build_report(video: Path, people: list[PersonResult], tracked: TrackResult,
                 settings: dict, timings: dict[str, float],
                 camera_applied: bool = False) -> dict:
    """The content of ``report.json`` (without ``files``, added once all are staged).

    Args:
        video: the input video.
        people: the exported people.
        tracked: the tracking result.
        settings: ``rig``, ``units``, ``fov_deg``, ``bone_lengths`` of the conversion.
        timings: seconds per stage.
        camera_applied: people were placed through the measured camera motion.
    """
    fps = float(tracked.info.fps) if tracked.info.fps > 0 else 30.0
    return {
        "video": str(video),
        "frames": tracked.frame_count,
        "fps": fps,
        "width": tracked.info.width,
        "height": tracked.info.height,
        "truncated": tracked.truncated,
        **settings,
        "camera": camera_report(tracked.camera, camera_applied, tracked.info.width,
                                settings["fov_deg"]),
        "warnings": [w.to_json() for w in video_warnings(tracked.truncated,
                                                          tracked.frame_count, len(people),
                                                          tracked.camera)],
        "people": [{"id": p.id, "bvh": f"person_{p.id}.bvh", **p.stats.to_json(),
                    "warnings": [w.to_json() for w in p.warnings]} for p in people],
        "message": None if people else "no people found in the video",
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }


def _svg_lines(series: list[tuple[str, np.ndarray, np.ndarray, str]], width=640, height=180,
               ylabel="") -> str:
    """A small line chart as inline SVG (no plotting dependency)."""
    xs = np.concatenate([s[1] for s in series]) if series else np.zeros(1)
    ys = np.concatenate([s[2] for s in series]) if series else np.zeros(1)
    ys = ys[np.isfinite(ys)]
    x0, x1 = float(xs.min()), float(xs.max()) or 1.0
    y0, y1 = (float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = 30
    parts = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<rect x="{pad}" y="5" width="{width - pad - 5}" height="{height - pad}" '
             'fill="none" stroke="#ccc"/>',
             f'<text x="2" y="14" font-size="10">{y1:.2f}</text>',
             f'<text x="2" y="{height - pad + 5}" font-size="10">{y0:.2f}</text>',
             f'<text x="{pad}" y="{height - 8}" font-size="10">{html.escape(ylabel)}</text>']
    for label, x, y, color in series:
        ok = np.isfinite(y)
        px = pad + (x[ok] - x0) / max(x1 - x0, 1e-9) * (width - pad - 5)
        py = 5 + (1 - (y[ok] - y0) / (y1 - y0)) * (height - pad)
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
                     f'points="{pts}"><title>{html.escape(label)}</title></polyline>')
    parts.append("</svg>")
    return "".join(parts)


def render_report_html(video: Path, people: list[PersonResult], tracked: TrackResult,
                       settings: dict) -> str:
    """A self-contained HTML page: a table per person and plots over time."""

    def hexcolor(i):
        r, g, b = color_for(i)
        return f"#{r:02x}{g:02x}{b:02x}"

    rows = []
    for p in people:
        s = p.stats
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                p.id, f"{s.first_frame}-{s.last_frame}", s.frames_observed,
                f"{100 * s.coverage:.1f}%", s.mean_confidence, s.jitter_raw_px,
                s.jitter_smoothed_px, s.foot_contact_left, s.foot_contact_right,
                s.foot_skate_m_per_s, s.root_travel_m)) + "</tr>")
    conf = [(f"person {p.id}", p.track.frames.astype(float),
             np.where(p.track.observed, p.track.visibility.mean(1), np.nan),
             hexcolor(p.id - 1)) for p in people]
    height = [(f"person {p.id}", np.arange(len(p.motion.animation)) + p.track.first_frame,
               p.motion.animation.root_translation[:, 1], hexcolor(p.id - 1)) for p in people]
    top = [(f"person {p.id}", p.motion.animation.root_translation[:, 0],
            p.motion.animation.root_translation[:, 2], hexcolor(p.id - 1)) for p in people]
    bones = "".join(
        f"<h3>Person {p.id}: bone lengths (m)</h3><p>"
        + ", ".join(f"{html.escape(k)} {v:.3f}" for k, v in p.stats.bone_lengths_m.items())
        + "</p>" for p in people)
    warned = [(None, w) for w in video_warnings(tracked.truncated, tracked.frame_count,
                                                len(people), tracked.camera)]
    warned += [(p.id, w) for p in people for w in p.warnings]
    warnings_html = "" if not warned else "<h2>Warnings</h2><ul>" + "".join(
        f"<li><b>{html.escape(w.code)}</b>"
        f"{'' if pid is None else f' (person {pid})'}: {html.escape(w.message)}</li>"
        for pid, w in warned) + "</ul>"
    camera_html = ""
    if tracked.camera is not None and tracked.camera.moving:
        frames = np.arange(len(tracked.camera), dtype=float)
        ang = tracked.camera.angles_deg()
        camera_html = ("<h2>Camera pan and tilt (degrees from the first frame) per frame</h2>"
                       + _svg_lines([("pan (right +)", frames, ang[:, 0], "#1f77b4"),
                                     ("tilt (up +)", frames, ang[:, 1], "#d62728")],
                                    ylabel="frame; blue pan, red tilt"))
    body = ("<p>No people were found in this video.</p>" if not people else f"""
<table border="1" cellspacing="0" cellpadding="4">
<tr><th>id</th><th>frames</th><th>seen in</th><th>coverage</th><th>mean confidence</th>
<th>jitter raw (px)</th><th>jitter smoothed (px)</th><th>left foot contact</th>
<th>right foot contact</th><th>foot skate (m/s)</th><th>root travel (m)</th></tr>
{''.join(rows)}
</table>
<h2>Mean landmark confidence per frame</h2>{_svg_lines(conf, ylabel="frame")}
<h2>Root height (m) per frame</h2>{_svg_lines(height, ylabel="frame")}
<h2>Root trajectory seen from above (x right, z towards camera; m)</h2>
{_svg_lines(top, ylabel="x (m)")}
{bones}""")
    truncated = ("<b>The video is truncated: only the decodable frames were processed.</b>"
                 if tracked.truncated else "")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>mocap report: {html.escape(video.name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{font-size:13px}}</style></head>
<body><h1>mocap report: {html.escape(video.name)}</h1>
<p>{tracked.frame_count} frames at {tracked.info.fps:.3f} fps,
{tracked.info.width}x{tracked.info.height}; rig {html.escape(str(settings["rig"]))},
units {settings["units"]}, field of view {settings["fov_deg"]:g} deg. {truncated}</p>
{warnings_html}
{body}
{camera_html}
</body></html>
"""

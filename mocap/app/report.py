"""``report.json`` and ``report.html``: per-person quality numbers and plots."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import cv2
import numpy as np

from mocap.app.checks import QualityWarning, frame_ranges, video_warnings
from mocap.app.draw import color_for, draw_rig
from mocap.app.person import PersonResult
from mocap.app.preview import rig_pixels
from mocap.app.svgplot import Axes, figure
from mocap.geometry.camera import focal_px
from mocap.io.video import frames_at
from mocap.tracking.loop import TrackResult
from mocap.types import CameraPath


def camera_report(camera: CameraPath | None, applied: bool, width: int,
                  fov_deg: float, focal: dict | None = None) -> dict:
    """``report.json``'s ``camera`` block.

    ``measured``: whether the motion was estimated (not with ``--camera static``);
    ``moving``: the camera turned or zoomed; ``applied``: people were placed through the
    estimate; ``translating``: the background moves in ways no turn or zoom explains;
    per frame: ``pan_deg`` (right +), ``tilt_deg`` (up +), ``roll_deg`` relative to the
    first frame, ``focal_px``, ``residual_px`` (median background misfit, null where not
    measured), ``inlier_share``; ``unreliable_frames``: ``[first, last]`` ranges measured on
    too little background (interpolated); ``focal``: the first frame's focal length
    people were placed with, its source and uncertainty (:meth:`mocap.app.lens.Lens.report`).
    """
    lens = {} if focal is None else {"focal": focal}
    if camera is None:
        return {"measured": False, "moving": False, "applied": False, "translating": False,
                **lens}
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
        "focal_px": np.round(_first_focal(camera, width, fov_deg, focal) * camera.zoom,
                             2).tolist(),
        "residual_px": listed(camera.residual_px, 3),
        "inlier_share": listed(camera.inlier_share, 3),
        "unreliable_frames": frame_ranges(~camera.reliable),
        **lens,
    }


def _first_focal(camera: CameraPath, width: int, fov_deg: float, focal: dict | None) -> float:
    """The first frame's focal length the path's zoom multiplies: the one its turning was
    fitted at when the camera moved, else the one people were placed with."""
    if camera.moving and np.isfinite(camera.fitted_focal_px):
        return float(camera.fitted_focal_px)
    if focal is not None:
        return float(focal["focal_px"])
    return focal_px(width, fov_deg)


def build_report(video: Path, people: list[PersonResult], tracked: TrackResult,
                 settings: dict, timings: dict[str, float],
                 camera_applied: bool = False, *, extra: list[QualityWarning] = (),
                 views: dict | None = None) -> dict:
    """The content of ``report.json`` (without ``files``, added once all are staged).

    Args:
        video: the input video (the first, of several cameras).
        people: the exported people.
        tracked: the tracking result (of the first video, of several).
        settings: ``rig``, ``units``, ``fov_deg``, ``bone_lengths`` of the conversion.
        timings: seconds per stage.
        camera_applied: people were placed through the measured camera motion.
        extra: warnings of the take beyond the video's own (several cameras).
        views: several cameras: the ``views`` block
            (:func:`mocap.app.convert_views.convert_views`).
    """
    fps = tracked.info.rate
    report = {
        "video": str(video),
        "frames": tracked.frame_count,
        "fps": fps,
        "width": tracked.info.width,
        "height": tracked.info.height,
        "truncated": tracked.truncated,
        **{k: v for k, v in settings.items() if k != "focal"},  # focal: in "camera"
        "camera": camera_report(tracked.camera, camera_applied, tracked.info.width,
                                settings["fov_deg"], settings.get("focal")),
        "warnings": [w.to_json() for w in video_warnings(tracked.truncated,
                                                          tracked.frame_count, len(people),
                                                          tracked.camera)]
        + [w.to_json() for w in extra],
        "people": [{"id": p.id, "bvh": f"person_{p.id}.bvh", **p.stats.to_json(),
                    "warnings": [w.to_json() for w in p.warnings]} for p in people],
        "message": None if people else "no people found in the video",
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    if views is not None:
        report["videos"] = [c["video"] for c in views["cameras"]]
        report["views"] = views
    return report


#: At most this many people get a thumbnail in report.html (each is a seek in the video).
MAX_THUMBNAILS = 40


def _hex(index: int) -> str:
    r, g, b = color_for(index)
    return f"#{r:02x}{g:02x}{b:02x}"


def _plot(series, xlabel: str, ylabel: str, title: str, equal: bool = False,
          ylim: tuple[float, float] | None = None) -> str:
    """One line chart: ``series`` = [(label, x, y, colour, start marker?)], with a legend,
    labelled axes and ticks (inline SVG, :mod:`mocap.app.svgplot`)."""
    ax = Axes(title, xlabel, ylabel, equal=equal, ylim=ylim)
    for label, x, y, color, start in series:
        ax.plot(x, y, color, label=label)
        if start and len(x):
            ax.marker(x[:1], y[:1], color)
    return figure([ax], 640, 420 if equal else 260)


def thumbnail_frames(people: list[PersonResult]) -> dict[int, int]:
    """Person id -> the video frame of their thumbnail: the middle of the frames they were
    seen in (the first :data:`MAX_THUMBNAILS` people)."""
    chosen = {}
    for p in people[:MAX_THUMBNAILS]:
        seen = np.flatnonzero(p.track.observed)
        if len(seen):
            chosen[p.id] = p.track.first_frame + int(seen[len(seen) // 2])
    return chosen


def _thumbnails(video: Path, people: list[PersonResult], size: tuple[int, int],
                fov_deg: float, frames: dict[int, tuple[np.ndarray, float]] | None = None
                ) -> dict[int, str]:
    """Person id -> a JPEG (base64) of the frame in the middle of their observed frames,
    their rig drawn on it, cropped around them. ``frames``: video frame -> (image RGB,
    its scale to the video) where the caller kept them (the preview's, made while it was
    written); else they are read from ``video``."""
    chosen = thumbnail_frames(people)
    if frames is None:
        frames = {i: (im, 1.0) for i, im in frames_at(video, chosen.values()).items()}
    out = {}
    for p in people:
        if p.id not in chosen or chosen[p.id] not in frames:
            continue
        image, scale = frames[chosen[p.id]]
        pts = rig_pixels(p, size, fov_deg)[chosen[p.id] - p.track.first_frame] * scale
        if not np.isfinite(pts).all():
            continue
        img = draw_rig(np.ascontiguousarray(image.copy()), pts, p.animation.rig.parents,
                       color_for(p.id - 1))
        lo, hi = pts.min(0), pts.max(0)
        pad = 0.25 * max(hi - lo) + 10
        x0, y0 = np.clip(lo - pad, 0, None).astype(int)
        x1, y1 = np.minimum(hi + pad, [img.shape[1], img.shape[0]]).astype(int)
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        crop = img[y0:y1, x0:x1]
        h = 220 / crop.shape[0]
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * h)), 220),
                          interpolation=cv2.INTER_AREA if h < 1 else cv2.INTER_LINEAR)
        ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            out[p.id] = base64.b64encode(jpg.tobytes()).decode("ascii")
    return out


#: Poses drawn in each person's side and top views (evenly over the frames they were seen).
DEPTH_VIEW_POSES = 4


def depth_views_svg(p: PersonResult, poses: int = DEPTH_VIEW_POSES) -> str | None:
    """The person's exported rig seen from the side and from above (inline SVG), at
    ``poses`` frames spread over those they were seen in: depth made visible without
    Blender (an arm swinging out of the walking plane, bent knees). Side: the world's z
    across (from one video: towards the camera), y up; above: x across (from one video:
    the camera's right), z down the page. None when the person was never seen."""
    seen = np.flatnonzero(p.track.observed)
    if not len(seen):
        return None
    frames = seen[np.linspace(0, len(seen) - 1, min(poses, len(seen))).round().astype(int)]
    pos = p.animation.positions()[frames]  # (K, J, 3) m
    parents = p.animation.rig.parents
    side = Axes("From the side", "z (m)", "y (m), up", equal=True)
    top = Axes("From above", "x (m)", "z (m)", equal=True, invert_y=True)
    color = _hex(p.id - 1)
    for k, (f, pts) in enumerate(zip(frames, pos, strict=True)):
        shade = 0.25 + 0.75 * k / max(len(frames) - 1, 1)
        # every bone of the pose in one line (NaN breaks it between bones): one SVG
        # element per pose and view keeps the page small with many people
        bones = np.array([[pts[j], pts[parents[j]], np.full(3, np.nan)]
                          for j in range(1, len(parents))]).reshape(-1, 3)
        side.plot(bones[:, 2], bones[:, 1], color, 1.3, opacity=shade)
        top.plot(bones[:, 0], bones[:, 2], color, 1.3, opacity=shade)
        side.text(pts[0, 2], pts[0, 1], f" {p.track.first_frame + int(f)}", 6)
    return figure([side, top], 640, 300)


def _depth_block(p: PersonResult) -> str:
    svg = depth_views_svg(p)
    return ("" if svg is None else
            f'<div class="plot"><p>The exported rig at {DEPTH_VIEW_POSES} moments (labelled '
            f"with their video frame; darker: later), seen from the side and from above:"
            f"</p>{svg}</div>")


def _person_html(p: PersonResult, thumb: str | None) -> str:
    s = p.stats
    span = s.last_frame - s.first_frame + 1
    rows = [
        ("frames", f"{s.first_frame}-{s.last_frame} ({span} frames)"),
        ("seen in", f"{s.frames_observed} of those frames "
                    f"({100 * s.coverage_span:.0f} % of the person's span; "
                    f"{100 * s.coverage_video:.0f} % of the video)"),
        ("mean landmark confidence", f"{s.mean_confidence:.2f} (0-1)"),
        ("jitter, raw -> smoothed", f"{s.jitter_raw_px:.2f} -> {s.jitter_smoothed_px:.2f} px"),
        ("foot contact", f"left {100 * s.foot_contact_left:.0f} %, right "
                         f"{100 * s.foot_contact_right:.0f} % of frames"),
        ("foot skate", "no contact" if s.foot_skate_m_per_s is None
         else f"{s.foot_skate_m_per_s:.3f} m/s over the frames in contact (before locking "
              + ("no contact" if s.foot_skate_unlocked_m_per_s is None
                 else f"{s.foot_skate_unlocked_m_per_s:.3f} m/s") + ")"),
        ("hip re-projection error", "n/a" if s.hip_reprojection_px_median is None
         else f"{s.hip_reprojection_px_median:.1f} px (median)"),
        ("root path length", f"{s.root_path_length_m:.2f} m over the ground"),
        ("root net displacement", f"{s.root_net_displacement_m:.2f} m, first to last frame"),
    ]
    if s.hand_coverage is not None:
        rows.append(("hands found (--hands)", ", ".join(
            f"{side} {100 * s.hand_coverage[side]:.0f} %"
            + ("" if s.hand_score_mean[side] is None
               else f" (score {s.hand_score_mean[side]:.2f})")
            for side in ("left", "right")) + " of the frames the person was seen in"))
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                    for k, v in rows)
    rig = p.animation.rig
    bones = "".join(
        f"<tr><td>{html.escape(rig.joints[rig.parents[j]])}</td><td>"
        f"{html.escape(name)}</td><td>{100 * s.bone_lengths_m[name]:.1f}</td></tr>"
        for j, name in enumerate(rig.joints)
        if rig.parents[j] >= 0 and name in s.bone_lengths_m)
    img = (f'<img alt="person {p.id} with the exported rig" '
           f'src="data:image/jpeg;base64,{thumb}">' if thumb else "")
    warns = "".join(f"<li><b>{html.escape(w.code)}</b>: {html.escape(w.message)}</li>"
                    for w in p.warnings)
    return f"""<section class="person"><h2 style="color:{_hex(p.id - 1)}">Person {p.id}</h2>
<div class="row">{img}<table class="stats">{table}</table></div>
{f'<ul class="warn">{warns}</ul>' if warns else ''}
{_depth_block(p)}
<details><summary>Bone lengths (parent -&gt; child, cm)</summary>
<table class="bones"><tr><th>parent</th><th>child</th><th>length (cm)</th></tr>{bones}</table>
</details></section>"""


def _views_html(views: dict, people: list[PersonResult]) -> tuple[str, str]:
    """Several cameras: a table of the cameras (offset, reprojection error, coverage per
    person) and a plot of the cameras and the people's paths seen from above."""
    rows = []
    for v, c in enumerate(views["cameras"]):
        cover = ", ".join(
            f"#{p['id']} {100 * p['coverage_per_view'][v]:.0f} %"
            for p in views["persons"])
        err = c["median_reprojection_px"]
        rows.append(
            f"<tr><td>{html.escape(c['name'])}</td><td>{html.escape(c['video'])}</td>"
            f"<td>{c['width']}x{c['height']}</td><td>{c['offset_frames']:+.2f}</td>"
            f"<td>{'n/a' if err is None else f'{err:.1f}'}</td><td>{c['focal_px']:.0f}</td>"
            f"<td>{html.escape(cover)}</td></tr>")
    cal = views["calibration"]
    how = ("from the people (auto)" if cal["source"] == "auto"
           else f"from {html.escape(Path(cal['file']).name)} (videos matched by "
                f"{cal['matched_by']})")
    table = (f"<h2>Cameras</h2><p>Calibration {how}; time offsets "
             f"{views['offsets_source']}; written as {html.escape(cal['written'])} in the "
             "outputs' world (Y up, ground at 0).</p><table><tr><th>camera</th><th>video"
             "</th><th>size</th><th>offset (frames)</th><th>median reprojection (px)</th>"
             "<th>focal (px)</th><th>coverage per person</th></tr>" + "".join(rows)
             + "</table>")
    ax = Axes("Cameras (squares, arrow: view direction) and hip paths from above", "x (m)",
              "z (m)", equal=True)
    for c in views["cameras"]:
        x, _, z = c["center_m"]
        fx, _, fz = c["forward"]
        ax.marker([x], [z], "#000", "s", 6)
        ax.arrow(x, z, x + 0.6 * fx, z + 0.6 * fz)
        ax.text(x, z, f" {c['name']}")
    for p in people:
        root = p.animation.root_translation
        ax.plot(root[:, 0], root[:, 2], _hex(p.id - 1), label=f"person {p.id}")
        ax.marker(root[:1, 0], root[:1, 2], _hex(p.id - 1))
    return table, figure([ax], 640, 500)


def render_report_html(video: Path, people: list[PersonResult], tracked: TrackResult,
                       settings: dict, thumbnails: bool = True, *,
                       extra: list[QualityWarning] = (), views: dict | None = None,
                       frames: dict[int, tuple[np.ndarray, float]] | None = None) -> str:
    """A self-contained HTML page: warnings first, then per person a thumbnail (a frame with
    their exported rig), a table and their bone lengths, then plots over time (inline
    SVG, :mod:`mocap.app.svgplot`).

    Args:
        video: the input video (thumbnails are read from it unless ``frames`` are given).
        people: the exported people.
        tracked: the tracking result.
        settings: ``rig``, ``units``, ``fov_deg``, ``bone_lengths`` of the conversion.
        thumbnails: make the per-person thumbnails (from ``frames`` or ``video``).
        extra: warnings of the take beyond the video's (several cameras).
        views: several cameras: the report's ``views`` block (a camera table and a view
            from above are added).
        frames: the thumbnails' frames where they were kept (video frame -> (image RGB,
            its scale to the video): :func:`thumbnail_frames` says which); None: they
            are read from ``video``.
    """
    size = (tracked.info.width, tracked.info.height)
    warned = [(None, w) for w in video_warnings(tracked.truncated, tracked.frame_count,
                                                len(people), tracked.camera)]
    warned += [(None, w) for w in extra]
    warned += [(p.id, w) for p in people for w in p.warnings]
    warnings_html = "<h2>Warnings</h2>" + ("<p>None.</p>" if not warned else "<ul>" + "".join(
        f"<li><b>{html.escape(w.code)}</b>"
        f"{'' if pid is None else f' (person {pid})'}: {html.escape(w.message)}</li>"
        for pid, w in warned) + "</ul>")
    thumbs = (_thumbnails(video, people, size, settings["fov_deg"], frames)
              if thumbnails and people else {})
    persons = "".join(_person_html(p, thumbs.get(p.id)) for p in people)
    plots = []
    if people:
        plots.append(_plot(
            [(f"person {p.id}", p.track.frames, np.where(p.track.observed,
                                                         p.track.visibility.mean(1), np.nan),
              _hex(p.id - 1), False) for p in people],
            "video frame", "mean landmark confidence (0-1)",
            "Landmark confidence per frame (gaps: not seen)", ylim=(0, 1.02)))
        plots.append(_plot(
            [(f"person {p.id}", p.track.frames, p.animation.root_translation[:, 1],
              _hex(p.id - 1), False) for p in people],
            "video frame", "hip height above the ground (m)", "Hip height per frame"))
        plots.append(_plot(
            [(f"person {p.id}", p.animation.root_translation[:, 0],
              p.animation.root_translation[:, 2], _hex(p.id - 1), True) for p in people],
            *(("x (m), the camera's right", "z (m), towards the camera") if views is None
              else ("x (m)", "z (m)")),
            "Hip path seen from above (dot: first frame)", equal=True))
    cam = tracked.camera
    if cam is not None and cam.moving:
        frames = np.arange(len(cam))
        ang = cam.angles_deg()
        plots.append(_plot([("pan (right +)", frames, ang[:, 0], "#1f77b4", False),
                            ("tilt (up +)", frames, ang[:, 1], "#d62728", False)],
                           "video frame", "degrees from the first frame",
                           "Camera pan and tilt"))
    body = ("<p>No people were found in this video.</p>" if not people
            else persons + "<h2>Over time</h2>" + "".join(
                f'<div class="plot">{svg}</div>' for svg in plots))
    title = html.escape(video.name)
    if views is None:
        focal = settings.get("focal")
        lens = (f"field of view {settings['fov_deg']:.3g} deg" if not focal else
                f"focal length {focal['focal_px']:g} px ({focal['source']}), horizontal "
                f"field of view {settings['fov_deg']:.3g} deg")
    else:
        table, top = _views_html(views, people)
        body = table + f'<div class="plot">{top}</div>' + body
        title = html.escape(", ".join(c["video"] for c in views["cameras"]))
        lens = f"{len(views['cameras'])} calibrated cameras (frames of the first video)"
    truncated = ("<p><b>The video is truncated: only the decodable frames were "
                 "processed.</b></p>" if tracked.truncated else "")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>mocap report: {title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}} td,th{{font-size:13px;
text-align:left;padding:2px 8px}} .row{{display:flex;gap:1em;align-items:flex-start}}
.person{{border-top:1px solid #ccc;margin-top:1em}} .warn li{{color:#a00}}
img{{border:1px solid #ccc}}</style></head>
<body><h1>mocap report: {title}</h1>
<p>{tracked.frame_count} frames at {tracked.info.fps:.3f} fps,
{tracked.info.width}x{tracked.info.height}; {len(people)} {"person" if len(people) == 1
else "people"}; rig {html.escape(str(settings["rig"]))}, units {settings["units"]},
{lens}.</p>{truncated}
{warnings_html}
{body}
</body></html>
"""

"""The interactive viewer: one self-contained HTML file per pose file, working offline.

The page holds everything it shows: three.js (0.187.0, MIT; only the classes used plus
OrbitControls, bundled by ``tools/build_js_assets.sh`` into ``assets/three-viewer.min.js``), the
page's script (``assets/viewer.js``), the poses as JSON and, optionally, the source video as one
JPEG per frame (base64; each frame scaled to at most ``video_width`` pixels wide, JPEG quality 75).
Frames rather than an embedded mp4: every frame is exact and in sync with the skeleton when
scrubbing, and no codec is needed.  The size is capped (``max_video_mb``, 64 MB by default); above
that the page is refused with a line saying so (choose a smaller ``--video-width``).

Shown: the 3D skeleton (Y up: the pose file's world frame when it has ``poses_world``, else the
camera frame turned Y up, see :func:`~structpose.io.bvh_export.yup_poses`), with orbit and zoom; the
floor (y = 0 in the world frame; without one, a grid at the lowest foot, said on the page); the
root's path on the floor (the view follows the pelvis unless "follow" is unticked); foot-contact markers (contact probability >= 0.5); a timeline to scrub
and play; and the video frame with the 2D keypoints over it.
"""
from __future__ import annotations

import base64
import json
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import StructposeError
from .io.atomic import atomic_path
from .io.bvh_export import yup_poses
from .io.posefile import PoseSequence
from .skeleton import H36M17


def _asset(name: str) -> str:
    return resources.files("structpose").joinpath("assets", name).read_text(encoding="utf-8")


def _rows(a: np.ndarray, ok: np.ndarray, digits: int) -> list:
    """(T, ...) array -> nested lists, rows where ``ok`` is False as None, NaN values as None."""
    out = []
    for row, good in zip(a, ok):
        if not good:
            out.append(None)
            continue
        r = np.round(row.astype(np.float64), digits)
        out.append([v.tolist() if np.isfinite(v).all() else None for v in r] if r.ndim == 2
                   else [float(v) if np.isfinite(v) else None for v in r])
    return out


def read_video_frames(video: str | Path, num_frames: int, fps: float, width: int = 480,
                      allow_longer: bool = False) -> list[bytes]:
    """JPEG bytes of every frame of ``video``, scaled to at most ``width`` px wide.

    The video must be the one the pose file was made from: the same frame count (or more, with
    ``allow_longer``, for a pose file made from the first frames) and frame rate (within 1 %);
    otherwise one :class:`StructposeError` line naming both.
    """
    import cv2
    path = Path(video)
    if not path.is_file():
        raise StructposeError(f"--video {path}: no such file; expected the video the pose file was made from")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise StructposeError(f"--video {path}: cannot be decoded; expected a video file (mp4, avi, mov, mkv)")
        vfps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        out: list[bytes] = []
        while True:
            ok, img = cap.read()
            if not ok:
                break
            if len(out) == num_frames:
                if allow_longer:
                    break
                out.append(b"")                       # one more frame than the pose file: count it and stop
                break
            h, w = img.shape[:2]
            if w > width:
                img = cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 75])
            out.append(buf.tobytes())
    finally:
        cap.release()
    if len(out) != num_frames:
        n = "more than " + str(num_frames) if len(out) > num_frames else str(len(out))
        raise StructposeError(f"--video {path} has {n} frames but the pose file has {num_frames}; give the video "
                              "the pose file was made from")
    if vfps > 0 and abs(vfps - fps) > 0.01 * fps:
        raise StructposeError(f"--video {path} runs at {vfps:g} fps but the pose file at {fps:g} fps; give the "
                              "video the pose file was made from")
    return out


def page_data(seq: PoseSequence) -> dict:
    """What the page draws, as JSON-ready values (metres, Y up; 2D in the source image's pixels)."""
    poses, frame = yup_poses(seq)
    ok = np.asarray(seq.valid, bool) & np.isfinite(poses).all(axis=(1, 2))
    if not ok.any():
        raise StructposeError("the pose file has no frame with a pose (every frame is invalid); nothing to view")
    feet = [H36M17.index("r_ankle"), H36M17.index("l_ankle")]
    status = str((seq.meta.get("world") or {}).get("status", "ok"))
    if frame == "world" and status == "ok":
        w = seq.meta.get("world") or {}
        rms, height = w.get("floor_rms_m"), w.get("height_m")
        floor_y, note = 0.0, "world frame: floor fitted at y = 0" + (
            f" ({100 * rms:.1f} cm RMS)" if isinstance(rms, (int, float)) else "") + (
            f", person {height:.2f} m tall (prior)" if isinstance(height, (int, float)) else "")
    elif frame == "world":                      # the world step's documented fallback: camera turned Y up
        floor_y, note = 0.0, f"world frame {status}; grid at the lowest foot"
    else:
        floor_y = float(np.percentile(poses[ok][:, feet, 1], 5)) - 0.05
        note = "camera frame turned Y up (no world frame in the file): grid drawn at the lowest foot"
    path = poses[ok, 0]
    centre = [float(v) for v in np.median(path, 0)]
    lo, hi = np.percentile(path[:, [0, 2]], [5, 95], axis=0)          # robust to a few wild root depths
    extent = float((hi - lo).max() / 2 + 1.0)
    d = {"num_frames": seq.num_frames, "fps": float(seq.fps), "frame": frame, "frame_note": note,
         "names": list(H36M17.names), "parents": list(H36M17.parents),
         "left": [a for a, _ in H36M17.left_right], "right": [b for _, b in H36M17.left_right],
         "foot_joints": feet, "floor_y": floor_y, "centre": centre, "extent": extent,
         "valid": ok.tolist(), "poses": _rows(poses, ok, 5),
         "image_size": list(seq.image_size) if seq.image_size is not None else None,
         "poses_2d": _rows(np.asarray(seq.poses_2d), np.ones(len(ok), bool), 2) if seq.poses_2d is not None
         else None,
         "contacts": _rows(np.asarray(seq.contacts), ok, 3) if seq.contacts is not None else None}
    return d


def _json_script(value) -> str:
    # "<\/" is "</" in JSON, and a JSON text holding "</script" would otherwise close its <script> element
    return json.dumps(value, allow_nan=False).replace("</", "<\\/")


def _js(name: str) -> str:
    text = _asset(name)
    if "</script" in text.lower():          # cannot happen with the shipped assets; a rebuilt bundle is checked here
        raise RuntimeError(f"assets/{name} contains '</script' and cannot be inlined in the viewer page")
    return text


def render_page(seq: PoseSequence, jpeg_frames: list[bytes] | None = None, title: str = "structpose") -> str:
    """The viewer's HTML text for ``seq`` (and its video frames)."""
    data = page_data(seq)
    if jpeg_frames is not None:
        _check_video_fits(seq)
    video = {"frames": [base64.b64encode(f).decode("ascii") for f in jpeg_frames] if jpeg_frames else [],
             "note": "one JPEG per frame (quality 75)" if jpeg_frames else "none"}
    licence = _asset("three.LICENSE").replace("--", "- -")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
html, body {{ margin: 0; height: 100%; background: #111317; color: #dde; font: 14px system-ui, sans-serif; }}
#main {{ display: flex; height: calc(100% - 64px); }}
#main > div {{ flex: 1 1 50%; position: relative; min-width: 0; display: flex; align-items: center;
  justify-content: center; }}
canvas {{ display: block; }}
#bar {{ height: 36px; display: flex; gap: 10px; align-items: center; padding: 0 10px; }}
#slider {{ flex: 1; }}
#status {{ height: 28px; padding: 0 10px; color: #99a; font-size: 12px; }}
</style></head><body>
<div id="main"><div id="pane3d"><canvas id="view3d"></canvas></div><div id="pane2d"><canvas id="view2d"></canvas></div>
</div>
<div id="bar"><button id="play">play</button><input id="slider" type="range" min="0" max="0" value="0">
<label><input id="follow" type="checkbox" checked> follow</label><span id="label"></span></div>
<div id="status"></div>
<!-- three.js 0.187.0, bundled subset. Licence:
{licence}-->
<script>{_js("three-viewer.min.js")}</script>
<script type="application/json" id="structpose-data">{_json_script(data)}</script>
<script type="application/json" id="structpose-video">{_json_script(video)}</script>
<script>{_js("viewer.js")}</script>
</body></html>
"""


def _check_video_fits(seq: PoseSequence) -> None:
    if seq.image_size is None:
        raise StructposeError("the pose file has no image_size, so its 2D cannot be drawn over the video; "
                              "give a pose file written by `structpose video` or `lift`")


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_viewer(path: str | Path, seq: PoseSequence, video: str | Path | None = None, video_width: int = 480,
                 max_video_mb: float = 64.0, allow_longer_video: bool = False) -> Path:
    """Write the viewer page for ``seq`` (with ``video``'s frames beside the skeleton) to ``path``, atomically."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise StructposeError(f"{path}: the viewer is an HTML page; give a file name ending in .html")
    if video_width < 16:
        raise StructposeError(f"--video-width {video_width}; expected at least 16 pixels")
    jpegs = None
    if video is not None:
        page_data(seq)                           # refuse a file without any pose before decoding a video
        _check_video_fits(seq)
        jpegs = read_video_frames(video, seq.num_frames, seq.fps, video_width, allow_longer_video)
        mb = sum(len(j) for j in jpegs) * 4 / 3 / 1e6
        if mb > max_video_mb:
            raise StructposeError(f"the embedded video would take {mb:.0f} MB (limit {max_video_mb:g} MB); give a "
                                  "smaller --video-width or view a shorter pose file")
    text = render_page(seq, jpegs, title=f"structpose: {path.stem}")
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


__all__ = ["page_data", "read_video_frames", "render_page", "write_viewer"]

"""Convert any supported dataset file into a structpose pose file (``structpose data convert``).

Output: H36M-17, metres, camera frame (x right, y down, z forward), written atomically.

* Camera-frame 3D (mmpose H36M ``S``, 3DHP ``annot3``, pose files) is kept as it is.
* World-frame 3D (VideoPose3D ``data_3d``, Human3.6M's world: Z up) goes through the dataset's own
  camera when one is given (``camera_file`` = mmpose ``cameras.pkl`` and ``camera`` = its id or index
  0-3), otherwise through a virtual front camera: the world is first turned Y up
  (``(x, y, z) -> (x, z, -y)``, a proper rotation) and ``cameras.front_camera`` places a camera 5 m in
  front of the subject as it faces on the first frame, level with the pelvis; translation is kept.
  The camera used is recorded in ``meta["camera"]`` and the joints are projected into ``poses_2d``.
* 2D-only inputs (COCO, OpenPose, VideoPose3D 2D, MPII) give ``poses_2d``/``scores``/``image_size``,
  ``poses_3d`` all NaN, ``valid`` False and ``meta["has_3d"] = False``: run ``structpose lift`` on it.
* ``fps``: formats that record no frame rate need it; for the others it **resamples**.  An integer
  ratio (50 -> 25) keeps every k-th frame exactly; any other ratio interpolates linearly between the
  two neighbouring frames (a joint missing in either neighbour stays missing).  Per-frame metadata
  lists follow the nearest source frame.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cameras import TO_Y_UP, Camera, front_camera
from ..errors import StructposeError
from ..io.posefile import PoseSequence, save_pose_file
from .formats import FORMATS, Motion3D, check_format, detect_format, load_keypoints_2d, load_motion_3d
from .formats.mmpose_h36m import load_cameras
from .formats.vp3d import H36M_CAMERAS
from .keypoints import Keypoints2D
from .resample import resample, resample_times

#: mean head-over-feet alignment above which the detected up axis overrides the format's
UP_CONFIDENCE = 0.7


def detect_up_axis(poses: np.ndarray) -> tuple[str, float]:
    """World up axis of ``(T, 17, 3)`` H36M-17 poses: the axis the head-top-minus-ankles direction
    follows on average.  Returns (``"+z"`` etc., confidence = |mean unit vector| along it, 0..1)."""
    v = poses[:, 10] - poses[:, [3, 6]].mean(axis=1)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    ok = (n[:, 0] > 1e-6) & np.isfinite(n[:, 0])
    if not ok.any():
        return "+y", 0.0
    m = (v[ok] / n[ok]).mean(axis=0)
    axis = int(np.argmax(np.abs(m)))
    return f"{'+' if m[axis] > 0 else '-'}{'xyz'[axis]}", float(abs(m[axis]))
PER_FRAME_META = ("activity", "bb_crop", "video_frames", "images", "frames")


@dataclass
class Converted:
    path: Path
    sequence: PoseSequence
    source_format: str


# --- choosing one sequence ---------------------------------------------------------------------

def _camera_matches(want: str, have: str | None) -> bool:
    if have is None:
        return False
    if want == have or f"cam{want}" == have:
        return True
    return want.isdigit() and int(want) < len(H36M_CAMERAS) and H36M_CAMERAS[int(want)] == have


def _label(subject: str, action: str, camera: str | None, frames: int) -> str:
    return "/".join(x for x in (subject, action, camera) if x) + f" ({frames} frames)"


def describe(items: list[Motion3D] | list[Keypoints2D]) -> list[str]:
    """One line per sequence: subject/action/camera (frames)."""
    return [_label(*_keys(it), it.num_frames) for it in items]


def _keys(it: Motion3D | Keypoints2D) -> tuple[str, str, str | None]:
    if isinstance(it, Motion3D):
        return it.subject, it.action, it.camera_name
    m = it.meta
    return str(m.get("subject", it.name)), str(m.get("action", "")), m.get("camera")


def _matches(it, subject: str | None, action: str | None, camera: str | None, camera_selects: bool) -> bool:
    s, a, c = _keys(it)
    if subject is not None and subject.lower() != s.lower():
        return False
    if action is not None and action.lower() != a.lower():
        return False
    return camera is None or not camera_selects or _camera_matches(camera, c)


def select(items: list, source: Path, subject: str | None, action: str | None, camera: str | None,
           camera_selects: bool = True):
    """The one sequence matching the choices; a one-line error listing what is inside otherwise."""
    hits = [it for it in items if _matches(it, subject, action, camera, camera_selects)]
    if len(hits) == 1:
        return hits[0]
    listing = describe(items)
    shown = "; ".join(listing[:12]) + (f"; ... and {len(listing) - 12} more (see --list)" if len(listing) > 12 else "")
    chosen = ", ".join(f"{k}={v}" for k, v in (("subject", subject), ("action", action), ("camera", camera)) if v)
    if not hits:
        raise StructposeError(f"{source}: no sequence matches {chosen or 'the choice'}; it holds: {shown}")
    raise StructposeError(f"{source}: holds {len(hits)} sequences{' matching ' + chosen if chosen else ''}; "
                          f"choose one with --subject/--action/--camera: {shown}")


# --- resampling --------------------------------------------------------------------------------

def _neighbours(n: int, fps_in: float, fps_out: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source neighbours ``i0``, ``i1`` and weight ``w`` of ``i1`` for each output frame of
    :func:`structpose.data.resample.resample` (same output times), for masks and per-frame metadata."""
    pos = resample_times(n, fps_in, fps_out)
    i0 = np.clip(np.floor(pos + 1e-9).astype(int), 0, n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w = np.where(i1 == i0, 0.0, np.clip(pos - i0, 0.0, 1.0))
    return i0, i1, w


# --- conversion ---------------------------------------------------------------------------------

def _camera_meta(cam: Camera, kind: str) -> dict[str, Any]:
    return {"kind": kind, "R": cam.R.tolist(), "t": np.asarray(cam.t).tolist(), "f": np.asarray(cam.f).tolist(),
            "c": np.asarray(cam.c).tolist(), "image_size": list(cam.image_size), "dist": np.asarray(cam.dist).tolist()}


def _to_camera(m: Motion3D, camera: str | None, camera_file: str | Path | None) -> tuple[np.ndarray, dict]:
    """Camera-frame joints and the meta describing the camera used."""
    if m.frame == "camera":
        cam = m.camera
        meta = {"frame": "camera (as in the dataset)"}
        if cam is not None:
            meta["camera"] = _camera_meta(cam, "dataset")
        return m.poses, meta
    if camera_file is not None:
        if camera is None:
            raise StructposeError("--camera-file needs --camera (a camera id such as 54138969, or 0-3)")
        cams = load_cameras(camera_file)
        cid = H36M_CAMERAS[int(camera)] if camera.isdigit() and int(camera) < 4 else camera
        key = f"{m.subject}/{cid}"
        if key not in cams:
            raise StructposeError(f"{camera_file}: no camera {key}; it holds {', '.join(sorted(cams)[:8])} ...")
        cam = cams[key]
        return cam.world_to_camera(m.poses), {"frame": f"dataset camera {key}", "camera": _camera_meta(cam, "dataset")}
    if camera is not None:
        raise StructposeError(f"{m.name}: world-frame 3D; --camera needs --camera-file (mmpose cameras.pkl) "
                              "to know where that camera is; omit both for a front-facing camera")
    # the format documents its up axis; a body standing along another axis (a custom file written
    # Y up, say) is believed instead when it is clear, and the switch is recorded
    up = m.up_axis or "+y"
    found, conf = detect_up_axis(m.poses)
    meta: dict[str, Any] = {"up_axis": up, "up_axis_detected": found, "up_axis_confidence": round(conf, 3)}
    if found != up and conf >= UP_CONFIDENCE:
        meta["up_axis_note"] = (f"the format's world is {up} up, but the body stands along {found} "
                                f"(confidence {conf:.2f}); used {found}")
        up = found
        meta["up_axis"] = up
    world = m.poses @ TO_Y_UP[up].T
    cam = front_camera(world)
    return cam.world_to_camera(world), {**meta, "frame": f"virtual front camera (world up {up})",
                                        "camera": _camera_meta(cam, "front")}


def _resample_meta(meta: dict, idx: np.ndarray) -> dict:
    out = dict(meta)
    for k in PER_FRAME_META:
        if k in out and isinstance(out[k], list):
            out[k] = [out[k][i] for i in idx if i < len(out[k])]
    return out


def _finish(poses: np.ndarray, poses_2d, scores, valid, fps_src, fps, meta, image_size, name) -> PoseSequence:
    if fps_src is None and fps is None:
        raise StructposeError(f"{name}: the file records no frame rate; give --fps (the video's frames per "
                              "second, or 1 for a collection of photos)")
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise StructposeError(f"--fps {fps}: expected a positive frame rate")
    T = poses.shape[0]
    out_fps = float(fps if fps is not None else fps_src)
    if fps_src is not None and fps is not None and abs(fps - fps_src) > 1e-9:
        i0, i1, w = _neighbours(T, fps_src, fps)
        near = np.where(w < 0.5, i0, i1)
        poses = resample(poses, fps_src, fps)
        if poses_2d is not None:
            poses_2d = resample(poses_2d, fps_src, fps)
            scores = np.where(np.isfinite(poses_2d).all(-1), resample(scores, fps_src, fps), 0.0)
        valid = None if valid is None else valid[i0] & (valid[i1] | (w == 0))
        meta = _resample_meta(meta, near)
        meta["resampled_from_fps"] = float(fps_src)
    meta["fps_in_file"] = None if fps_src is None else float(fps_src)
    if valid is not None:
        valid = valid & np.isfinite(poses).all(axis=(1, 2)) if meta.get("has_3d", True) else valid
    return PoseSequence(poses_3d=poses.astype(np.float32), fps=out_fps, poses_2d=poses_2d, scores=scores,
                        image_size=image_size, valid=valid, meta=meta)


def _parse_size(image_size: tuple[int, int] | None, have: tuple[int, int] | None, name: str):
    if image_size is None:
        return have
    if have is not None and tuple(have) != tuple(image_size):
        raise StructposeError(f"{name}: the file says the images are {have[0]}x{have[1]}, --image-size says "
                              f"{image_size[0]}x{image_size[1]}; drop --image-size")
    return tuple(int(v) for v in image_size)


def _check_scale(poses: np.ndarray, name: str) -> None:
    """Refuse 3D whose legs are not human-sized in metres (a millimetre file read as metres, say)."""
    thigh = np.linalg.norm(poses[:, [1, 4]] - poses[:, [2, 5]], axis=-1)
    shin = np.linalg.norm(poses[:, [2, 5]] - poses[:, [3, 6]], axis=-1)
    legs = (thigh + shin)[np.isfinite(thigh + shin)]
    if legs.size == 0:
        return
    leg = float(np.median(legs))
    if not 0.2 <= leg <= 3.0:
        hint = " (looks like millimetres)" if 200 <= leg <= 3000 else ""
        raise StructposeError(f"{name}: median leg length is {leg:.4g} m{hint}; expected a human 0.2-3 m leg "
                              "in metres; the file's units do not match its format")


def _sequence_3d(m: Motion3D, base: dict, fmt: str, camera: str | None, camera_file, fps, image_size) -> PoseSequence:
    cam_poses, cam_meta = _to_camera(m, camera if fmt == "vp3d_3d" else None,
                                     camera_file if fmt == "vp3d_3d" else None)
    _check_scale(np.asarray(cam_poses), m.name)
    poses_2d, scores, size = m.poses_2d, m.scores, m.image_size
    if poses_2d is None and "camera" in cam_meta:
        c = cam_meta["camera"]
        cam = Camera(np.array(c["R"]), np.array(c["t"]), np.array(c["f"]), np.array(c["c"]),
                     tuple(c["image_size"]), np.array(c["dist"]))
        poses_2d = cam.project(cam_poses)
        scores = np.ones(poses_2d.shape[:2], np.float32)
        size = cam.image_size
    if poses_2d is not None and scores is None:
        scores = np.isfinite(poses_2d).all(-1).astype(np.float32)
    meta = {**base, **m.meta, **cam_meta, "name": m.name, "subject": m.subject, "action": m.action,
            "camera_name": m.camera_name, "has_3d": True, "units": "metres"}
    valid = m.valid if m.valid is not None else np.ones(m.num_frames, bool)
    return _finish(np.asarray(cam_poses, np.float64), poses_2d, scores, valid, m.fps, fps, meta,
                   _parse_size(image_size, size, m.name), m.name)


def _sequence_2d(k: Keypoints2D, base: dict, fps, image_size) -> PoseSequence:
    meta = {**base, **k.meta, "name": k.name, "has_3d": False,
            "note": "2D keypoints only: poses_3d is NaN; run `structpose lift` on this file"}
    return _finish(np.full((k.num_frames, 17, 3), np.nan), k.xy, k.scores, np.zeros(k.num_frames, bool),
                   k.fps, fps, meta, _parse_size(image_size, k.image_size, k.name), k.name)


def _load(src: Path, fmt: str, camera_file, universal: bool) -> list:
    if camera_file is not None and fmt not in ("vp3d_3d", "mmpose_h36m"):
        # read by those two formats only; anywhere else it would be silently ignored
        raise StructposeError(f"--camera-file is used with 3D inputs in the vp3d_3d and mmpose_h36m formats; "
                              f"{src} is {fmt}" + ("" if FORMATS[fmt].has_3d else " (2D keypoints)")
                              + ": drop --camera-file")
    if FORMATS[fmt].has_3d:
        return load_motion_3d(src, fmt, cameras=camera_file if fmt == "mmpose_h36m" else None, universal=universal)
    return load_keypoints_2d(src, fmt)


def _build(item, src: Path, fmt: str, camera, camera_file, fps, image_size) -> PoseSequence:
    base = {"source_format": fmt, "source_file": src.name}
    if isinstance(item, Motion3D) and item.meta.get("has_3d") is False:
        from .formats import _from_motion  # a 2D-only pose file stays 2D-only
        item = _from_motion(item)
    if isinstance(item, Motion3D):
        return _sequence_3d(item, base, fmt, camera, camera_file, fps, image_size)
    return _sequence_2d(item, base, fps, image_size)


def convert_file(src: str | Path, out: str | Path, fmt: str | None = None, subject: str | None = None,
                 action: str | None = None, camera: str | None = None, camera_file: str | Path | None = None,
                 fps: float | None = None, image_size: tuple[int, int] | None = None,
                 universal: bool = False) -> Converted:
    """Read ``src`` (any format in ``formats.FORMATS``), write one pose file to ``out``."""
    src, out = Path(src), Path(out)
    fmt = check_format(fmt) if fmt else detect_format(src)
    from ..io.guards import refuse_overwrite
    refuse_overwrite({"--out": out}, {"INPUT": src, "--camera-file": camera_file})
    item = select(_load(src, fmt, camera_file, universal), src, subject, action, camera,
                  camera_selects=fmt != "vp3d_3d")
    seq = _build(item, src, fmt, camera, camera_file, fps, image_size)
    return Converted(save_pose_file(out, seq), seq, fmt)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.") or "sequence"


def convert_all(src: str | Path, out_dir: str | Path, fmt: str | None = None, subject: str | None = None,
                action: str | None = None, camera: str | None = None, camera_file: str | Path | None = None,
                fps: float | None = None, image_size: tuple[int, int] | None = None,
                universal: bool = False) -> list[Converted]:
    """Every sequence of ``src`` matching the (optional) choices -> ``out_dir/<name>.npz``.

    All sequences are converted in memory first, so a problem with any of them writes nothing.
    """
    src, out_dir = Path(src), Path(out_dir)
    fmt = check_format(fmt) if fmt else detect_format(src)
    if out_dir.exists() and not out_dir.is_dir():
        raise StructposeError(f"--out {out_dir}: with --all, --out is a folder, but a file has that name")
    items = _load(src, fmt, camera_file, universal)
    picked = [it for it in items if _matches(it, subject, action, camera, fmt != "vp3d_3d")]
    if not picked:
        raise StructposeError(f"{src}: no sequence matches the choice; it holds: {'; '.join(describe(items)[:12])}")
    built = [(_safe_name(it.name), _build(it, src, fmt, camera, camera_file, fps, image_size)) for it in picked]
    names = [n for n, _ in built]
    if len(set(names)) != len(names):
        raise StructposeError(f"{src}: sequence names collide once made file-safe; convert them one by one")
    return [Converted(save_pose_file(out_dir / f"{n}.npz", seq), seq, fmt) for n, seq in built]

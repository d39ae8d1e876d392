"""SAP-Net weights judged on real pixels no SAP-Net ever trained on (issue 13, item 3).

Three measurements per weights file, all with MediaPipe supplying only the person's box (the product's
``image --model sapnet`` path, :func:`structpose.pipeline.sapnet.predict`):

* **2D against MediaPipe pseudo-labels** on real photos: opencv-doc messi5, basketball1, basketball2 and
  every 5th frame of Pose2Sim's four views (nobody in them is in any training set).  Error in torso heights
  of the pseudo-label (:func:`structpose.analysis.detector_errors.detector_errors`), limb joints whose
  MediaPipe visibility is >= 0.5; PCK@0.2 torso and the median error.
* **2D against the triangulated reference** (Pose2Sim, 4 calibrated views): for each view, MediaPipe's 2D
  of the *other three* views triangulated and projected into it (the view never votes for its own
  reference), on the 12 joints the real-pixels benchmark compares; MediaPipe's own per-frame 2D is scored
  the same way, so the ratio says how far SAP-Net is from the detector on the same frames.
* **3D on the real-pixels benchmark**: the ``sapnet`` row of ``docs/real_pixels.md`` recomputed with these
  weights (per-photo symmetric fit, MPJPE / PA-MPJPE on the 12 compared joints against the 4-view
  triangulation in that camera's frame).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import StructposeError
from .detector_errors import detector_errors

PHOTOS = ("messi5.jpg", "basketball1.png", "basketball2.png")
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
EVERY = 5          # Pose2Sim frames for the pseudo-label measure


def load_runner(weights: str | Path):
    from ..models.sapnet import load_weights
    from ..pipeline.sapnet import SapnetRunner
    net, bone_sum, _ = load_weights(weights, expect="realtime")
    return SapnetRunner(net, "torch"), bone_sum


def run_on(runner, bone_sum: float, bgr: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SAP-Net on one BGR frame, box from MediaPipe's keypoints (as the product) -> (2D (17, 2), pose_cam (17, 3))."""
    from ..pipeline.lifting import DEFAULT_FOV_DEG, focal_from_fov
    from ..pipeline.sapnet import predict
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 else cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    kp = keypoints[np.isfinite(keypoints).all(-1)]
    box = np.concatenate([kp.min(0), kp.max(0)]).astype(np.float32)
    h, w = rgb.shape[:2]
    out = predict(runner, rgb, box, bone_sum=bone_sum, focal=focal_from_fov((w, h), DEFAULT_FOV_DEG))
    return out["keypoints_2d"], out["pose_cam"]


def _frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        out.append(fr)
    cap.release()
    return out


def evaluate(weights: dict[str, str | Path]) -> dict[str, Any]:
    """``weights``: label -> file.  Returns per label the three measurements, plus MediaPipe's own 2D
    against the reference; also ``overlays``: frames and 2D for the figure."""
    from ..analysis import real_pixels as rp
    from ..analysis.tracks import detect_video
    from ..data.formats.qualisys import read_qualisys
    from ..data.holosoma import data_dir
    from ..data.realvideo import pose2sim_demo
    from ..pipeline.detector import PoseDetector
    from ..triangulate import triangulate
    runners = {k: load_runner(v) for k, v in weights.items()}
    cache = data_dir() / "real" / "cache"
    demo = pose2sim_demo()
    cams = rp.cameras_for(read_qualisys(demo.calibration), list(demo.names))
    vt = [detect_video(v, "video", cache) for v in demo.videos]
    it = [detect_video(v, "image", cache) for v in demo.videos]
    ref, _ = rp.triangulated_reference(vt, cams, inlier_px=30.0)
    valid3d = np.isfinite(rp.compared(ref)).all((1, 2))
    res: dict[str, Any] = {k: {"pseudo": {}, "reference": {}, "real_pixels": {}} for k in weights}
    lab = {k: {"uv": [], "det": [], "found": [], "valid": []} for k in ("pseudo",)}
    pred2d = {k: [] for k in weights}
    overlays: list[dict] = []
    # --- photos -----------------------------------------------------------------------------
    with PoseDetector(video=False) as det:
        for name in PHOTOS:
            bgr = cv2.imread(str(OPENCV_DATA / name), cv2.IMREAD_COLOR)
            if bgr is None:
                raise StructposeError(f"{OPENCV_DATA / name} not found; apt-get install opencv-doc")
            d = det(bgr)
            if not d.found:
                continue
            lab["pseudo"]["uv"].append(d.keypoints)
            lab["pseudo"]["valid"].append(d.scores >= 0.5)
            ov = {"name": name, "image": bgr, "mediapipe": d.keypoints}
            for k, (r, bs) in runners.items():
                uv, _ = run_on(r, bs, bgr, d.keypoints)
                pred2d[k].append(uv)
                ov[k] = uv
            overlays.append(ov)
    # --- Pose2Sim views ---------------------------------------------------------------------------
    comp = np.zeros(17, bool)
    comp[list(rp.COMPARED)] = True
    loo_ref, mp_img, sap_ref = [], [], {k: [] for k in weights}
    pose3d = {k: [] for k in weights}
    for v, video in enumerate(demo.videos):
        frames = _frames(Path(video))
        tr = it[v]
        T = min(len(frames), len(tr.found))
        others = [o for o in range(len(cams)) if o != v]
        tri = triangulate(np.stack([vt[o].keypoints[:T] for o in others]), np.stack([vt[o].scores[:T] for o in others]),
                          [cams[o] for o in others])
        r2d = cams[v].project(cams[v].world_to_camera(tri.points))
        poses = {k: np.full((T, 17, 3), np.nan) for k in weights}
        for t in range(T):
            if not tr.found[t]:
                for k in weights:
                    sap_ref[k].append(np.full((17, 2), np.nan))
                continue
            outs = {k: run_on(r, bs, frames[t], tr.keypoints[t]) for k, (r, bs) in runners.items()}
            for k, (uv, pc) in outs.items():
                poses[k][t] = pc
                sap_ref[k].append(uv)
                if t % EVERY == 0:
                    pred2d[k].append(uv)
            if t % EVERY == 0:
                lab["pseudo"]["uv"].append(tr.keypoints[t])
                lab["pseudo"]["valid"].append(tr.scores[t] >= 0.5)
            if t == 50:
                overlays.append({"name": f"pose2sim {demo.names[v]}", "image": frames[t], "mediapipe": tr.keypoints[t],
                                 **{k: outs[k][0] for k in weights}})
        found = tr.found[:T]
        loo_ref.append(np.where(found[:, None, None], r2d, np.nan)[found])
        mp_img.append(tr.keypoints[:T][found])
        ref_cam = cams[v].world_to_camera(ref[:T])
        for k in weights:
            pose3d[k].append((rp._per_photo_fit(poses[k]), ref_cam, valid3d[:T]))
    loo = np.concatenate(loo_ref)
    okr = np.isfinite(loo).all(-1) & comp[None]
    mp = np.concatenate(mp_img)
    res["mediapipe_reference"] = detector_errors(mp, np.ones(len(mp), bool), np.nan_to_num(loo), okr)
    uvp = np.stack(lab["pseudo"]["uv"])
    vp = np.stack(lab["pseudo"]["valid"])
    n_photos = sum(1 for o in overlays if not o["name"].startswith("pose2sim"))
    for k in weights:
        p = np.stack(pred2d[k])
        res[k]["pseudo"] = detector_errors(p, np.ones(len(p), bool), uvp, vp)
        res[k]["pseudo_photos"] = detector_errors(p[:n_photos], np.ones(n_photos, bool), uvp[:n_photos],
                                                  vp[:n_photos])
        s = np.stack(sap_ref[k])
        res[k]["reference"] = detector_errors(s, np.ones(len(s), bool), np.nan_to_num(loo), okr)
        res[k]["reference_ratio"] = res[k]["reference"]["median_err"] / res["mediapipe_reference"]["median_err"]
        per_view = [rp.evaluate_view(pred, rc, ok) for pred, rc, ok in pose3d[k]]
        n = sum(x["frames"] for x in per_view)
        res[k]["real_pixels"] = {"frames": n,
                                 "mpjpe": sum(x["mpjpe"] * x["frames"] for x in per_view) / n,
                                 "pa_mpjpe": sum(x["pa_mpjpe"] * x["frames"] for x in per_view) / n,
                                 "pa_per_view": [x["pa_mpjpe"] for x in per_view]}
    res["counts"] = {"photos": n_photos, "pseudo_samples": len(uvp), "reference_frames": len(loo)}
    res["overlays"] = overlays
    return res


COLOURS = {"mediapipe": (60, 200, 60), 0: (40, 40, 230), 1: (230, 120, 30)}     # BGR


def overlay_figure(overlays: list[dict], labels: list[str], out: str | Path, cell_h: int = 360) -> None:
    """Each photo with MediaPipe (green) and each weights' 2D skeleton (red, blue) drawn on it."""
    from ..io.atomic import atomic_path
    from ..skeleton import H36M17
    bones = H36M17.bones
    tiles = []
    for ov in overlays:
        img = ov["image"]
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()
        s = cell_h / img.shape[0]
        img = cv2.resize(img, (int(img.shape[1] * s), cell_h), interpolation=cv2.INTER_AREA)
        for key, col in [("mediapipe", COLOURS["mediapipe"])] + [(lb, COLOURS[i]) for i, lb in enumerate(labels)]:
            uv = np.asarray(ov[key], np.float64) * s
            for a, b in bones:
                if np.isfinite(uv[[a, b]]).all():
                    cv2.line(img, tuple(np.round(uv[a]).astype(int)), tuple(np.round(uv[b]).astype(int)), col, 2,
                             cv2.LINE_AA)
        cv2.putText(img, ov["name"], (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 2, cv2.LINE_AA)
        tiles.append(img)
    rows, row, width = [], [], 0
    for t in tiles:
        if width + t.shape[1] > 1600 and row:
            rows.append(row)
            row, width = [], 0
        row.append(t)
        width += t.shape[1]
    rows.append(row)
    W = max(sum(t.shape[1] for t in r) for r in rows)
    grid = np.vstack([np.hstack(r + [np.zeros((cell_h, W - sum(t.shape[1] for t in r), 3), np.uint8)]) for r in rows])
    with atomic_path(out) as tmp:
        Path(tmp).write_bytes(cv2.imencode(".png", grid)[1].tobytes())

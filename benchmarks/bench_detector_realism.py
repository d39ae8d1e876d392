"""How real do Anny renders look to MediaPipe?  Its detection rate, 2D error, PCK and left/right swaps on
renders of held-out motion against the same measures on real multi-view video (Pose2Sim's demo).

Renders: ``$STRUCTPOSE_DATA/renders/test_{stills,video}.npz`` from ``structpose data renders`` (made here,
small, if absent).  Real: Pose2Sim's single-person 4-camera trial (``pip download --no-deps pose2sim==0.10.49``
into the data folder; BSD-3): a lab, one person, 1088x1920 portrait videos.  Their reference 2D is a
*leave-one-view-out triangulation*: MediaPipe's 2D from the three other calibrated views, triangulated
(``structpose.triangulate``: robust DLT, views that disagree rejected, refined) and projected into the
held-out view, so the view scored never contributes to its own reference.  That reference carries the
other views' errors (reduced by triangulation), so the real figures bound MediaPipe's error from above.
Cameras: ``structpose.data.formats.qualisys``.
"""
from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import cv2
import numpy as np

from structpose.analysis.detector_errors import detector_errors
from structpose.data.formats.qualisys import read_qualisys
from structpose.triangulate import triangulate

DATA = Path(os.environ.get("STRUCTPOSE_DATA") or Path.home() / ".cache" / "structpose").expanduser()
WHEEL = DATA / "pose2sim-0.10.49-py3-none-any.whl"
# Demo_Batch/Trial_1 is the same recording; Trial_2 has a second person in front, so MediaPipe follows
# different people in different views and no triangulation holds (checked by eye): not used.
TRIALS = {"SinglePerson": "Pose2Sim/Demo_SinglePerson"}
CALIB = {"SinglePerson": "Pose2Sim/Demo_SinglePerson/calibration/Calib.qca.txt"}


def real_pose2sim() -> dict[str, np.ndarray] | None:
    from structpose.pipeline.detector import PoseDetector
    if not WHEEL.is_file():
        print(f"(no {WHEEL.name}: pip download --no-deps pose2sim==0.10.49 -d {DATA})")
        return None
    det_all, found_all, ref_all, valid_all = [], [], [], []
    tmp = DATA / "renders" / "pose2sim_frames"
    tmp.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(WHEEL) as zf:
        for trial, root in TRIALS.items():
            calib = tmp / f"{trial.replace('/', '_')}_Calib.qca.txt"
            calib.write_bytes(zf.read(CALIB[trial]))
            cams = list(read_qualisys(calib).values())
            names = sorted(n for n in zf.namelist() if re.fullmatch(re.escape(root) + r"/videos/cam0\d\.mp4", n))
            dets, scores = [], []
            for name in names:
                path = tmp / (trial.replace("/", "_") + "_" + Path(name).name)
                if not path.exists():
                    path.write_bytes(zf.read(name))
                cap = cv2.VideoCapture(str(path))
                kp, sc = [], []
                with PoseDetector(video=True) as pd:
                    while True:
                        ok, frame = cap.read()
                        if not ok:
                            break
                        d = pd(frame)
                        kp.append(d.keypoints)
                        sc.append(d.scores)
                cap.release()
                dets.append(np.array(kp))
                scores.append(np.array(sc))
            T = min(len(d) for d in dets)
            dets = np.stack([d[:T] for d in dets])                # (V, T, 17, 2)
            scores = np.stack([s[:T] for s in scores])
            for v in range(len(cams)):
                others = [o for o in range(len(cams)) if o != v]
                tri = triangulate(dets[others], scores[others], [cams[o] for o in others])
                ref = cams[v].project(cams[v].world_to_camera(tri.points))          # (T, 17, 2)
                w, h = cams[v].image_size
                valid = np.isfinite(ref).all(-1) & (ref[..., 0] >= 0) & (ref[..., 0] < w) & \
                    (ref[..., 1] >= 0) & (ref[..., 1] < h)
                det_all += list(dets[v])
                found_all += list(np.isfinite(dets[v, :, 0, 0]))
                ref_all += list(np.nan_to_num(ref))
                valid_all += list(valid)
    return {"det": np.array(det_all), "found": np.array(found_all), "ref": np.array(ref_all),
            "valid": np.array(valid_all)}


def renders(name: str, frames: int, video_length: int) -> dict[str, np.ndarray]:
    from structpose.train.render_pairs import generate, load_pairs
    path = DATA / "renders" / f"{name}.npz"
    if not path.is_file():
        generate(path, frames, video_length, "test", seed=11 if video_length == 1 else 12)
    return load_pairs(path)


def main() -> None:
    rows = []
    for name, n, vl in (("test_stills", 200, 1), ("test_video", 150, 30)):
        d = renders(name, n, vl)
        e = detector_errors(d["det_2d"], d["det_found"], d["uv"], d["in_image"])
        rows.append((f"Anny renders, held-out motion ({'video' if vl > 1 else 'stills'})", e))
        full = d["in_image"].all(1)
        e2 = detector_errors(d["det_2d"][full], d["det_found"][full], d["uv"][full])
        rows.append((f"  ... whole body in the image ({'video' if vl > 1 else 'stills'})", e2))
    real = real_pose2sim()
    if real is not None:
        rows.append(("Pose2Sim real video, 4 views (leave-one-view-out triangulation)",
                     detector_errors(real["det"], real["found"], real["ref"], real["valid"])))
    print("| images | frames | detected | median err (torso) | 90th pct | PCK@0.2 torso | L/R pair swaps | "
          "front/back flips |")
    print("|---|---|---|---|---|---|---|---|")
    for label, e in rows:
        print(f"| {label} | {int(e['frames'])} | {100 * e['detection_rate']:.1f} % | {e['median_err']:.3f} | "
              f"{e['p90_err']:.3f} | {e['pck']:.3f} | {100 * e['swap_rate']:.1f} % | {100 * e['flip_rate']:.1f} % |")
    if real is not None:
        ren = rows[0][1]
        re_ = rows[-1][1]
        print(f"ratios renders(stills) / real: median error {ren['median_err'] / re_['median_err']:.2f}, "
              f"PCK {ren['pck'] / re_['pck']:.2f}, swaps {ren['swap_rate'] / max(re_['swap_rate'], 1e-9):.2f}")


if __name__ == "__main__":
    main()

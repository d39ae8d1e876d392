"""``structpose image IMG... --out DIR``: a 3D pose per photo, an overlay PNG and a 3D view PNG.

For each photo ``NAME.ext`` the folder gets ``NAME.npz`` (a one-frame pose file: camera-frame
metres, the 2D keypoints and their scores), ``NAME_overlay.png`` (the 2D skeleton on the photo) and
``NAME_3d.png`` (the lifted pose seen from the camera and from its right).  A photo without a person
gets a pose file with ``valid = [False]`` (NaN pose) and no PNGs; the command says so in one line
and carries on (exit status 0 if at least one person was found, 1 if none was).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import StructposeError


def _run(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from ..io.atomic import atomic_path
    from ..io.posefile import PoseSequence, save_pose_file
    from ..pipeline._threads import single_threaded
    from ..pipeline.detector import PoseDetector, read_image
    from ..pipeline.lifting import PoseLifter, fit_symmetric
    from ..viz import draw_skeleton_2d, save_skeleton_figure
    single_threaded()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise StructposeError(f"--out {out} is a file; give a folder")
    images = [(Path(p), read_image(p)) for p in args.images]       # all readable before any output
    stems = [p.stem for p, _ in images]
    if len(set(stems)) != len(stems):
        raise StructposeError("two photos share a file name stem; their outputs would collide in --out")
    from ..io.guards import refuse_overwrite
    inputs = [("IMG", p) for p, _ in images] + [("--lifter", args.lifter)]
    for s in stems:
        refuse_overwrite([("--out", out / f"{s}{tail}") for tail in (".npz", "_overlay.png", "_3d.png")], inputs)
    out.mkdir(parents=True, exist_ok=True)
    lifter = PoseLifter(args.lifter, fov_deg=args.fov, min_score=args.min_score)
    found_any = False
    with PoseDetector(video=False) as det:
        for path, img in images:
            d = det(img)
            size = (img.shape[1], img.shape[0])
            cam, rel = lifter(d.keypoints, d.scores, size)
            if args.model == "sapnet" and d.found:
                from ..models.sapnet_cli import sapnet_on_detection
                cam, d = sapnet_on_detection(img, d, lifter.focal(size))
            if not d.found:
                cam = np.full((17, 3), np.nan, np.float32)
            ok = bool(np.isfinite(cam).all())
            if ok and not args.no_fit:
                # a single photo has no sequence to take bone lengths from: the lifter's own lengths,
                # made left/right symmetric (a body is symmetric)
                cam = fit_symmetric(cam[None])[0]
            seq = PoseSequence(poses_3d=cam[None], fps=1.0, poses_2d=d.keypoints[None], scores=d.scores[None],
                               image_size=size, valid=np.array([ok]),
                               meta={"source": str(path), "fov_deg_assumed": lifter.fov_deg,
                                     "focal_px": lifter.focal(size), "detector": "mediapipe-0.10.21-full", "model": args.model,
                                     "fit": ok and not args.no_fit})
            written = [save_pose_file(out / f"{path.stem}.npz", seq)]
            if ok:
                found_any = True
                # SAP-Net's scores are heatmap peaks (about 0.1-0.3 on photos), not detector confidences,
                # and its 3D pose uses all 17 joints: thresholding them at --min-score drew an empty overlay
                thr = 0.0 if args.model == "sapnet" else args.min_score
                overlay = draw_skeleton_2d(img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR),
                                           d.keypoints, d.scores, threshold=thr)
                p_ov = out / f"{path.stem}_overlay.png"
                with atomic_path(p_ov) as tmp:
                    if not cv2.imwrite(str(tmp), overlay):
                        raise StructposeError(f"{p_ov}: could not write the PNG")
                written.append(p_ov)
                written.append(save_skeleton_figure(cam, out / f"{path.stem}_3d.png", frames=[0],
                                                    title=f"{path.name}: lifted 3D pose",
                                                    frame_labels=[path.stem]))
                z = float(cam[0, 2])
                print(f"{path}: person found, root depth {z:.2f} m (assuming a {lifter.fov_deg:g} degree field of "
                      f"view); {int((d.scores >= thr).sum())}/17 joints seen -> "
                      + ", ".join(str(w) for w in written))
            else:
                print(f"{path}: no person found (pose file marked invalid: {written[0]})", file=sys.stderr)
    return 0 if found_any else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("image", help="3D pose per photo: pose file + overlay PNG + 3D view PNG",
                       description="Detect (MediaPipe, offline) and lift one person per photo. Intrinsics are "
                                   "unknown: root depth assumes --fov; the pose itself does not depend on it.")
    p.add_argument("images", nargs="+", metavar="IMG", help="photos (PNG, JPEG, ...)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--fov", type=float, default=55.0, help="assumed horizontal field of view, degrees")
    p.add_argument("--min-score", type=float, default=0.3, help="joints scored below this are masked")
    p.add_argument("--no-fit", action="store_true", help="skip the symmetric skeleton fit")
    p.add_argument("--lifter", default=None, help="lifter weights (default: shipped)")
    p.add_argument("--model", choices=["lifter", "sapnet"], default="lifter",
                   help="lifter: MediaPipe 2D + lifter (default); sapnet: SAP-Net on the detected person's box")
    p.set_defaults(func=_run)

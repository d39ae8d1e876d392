"""Photos -> 3D: detect (MediaPipe) -> lift (or SAP-Net on the detected box) -> fit -> files.

One person per photo.  Intrinsics are unknown: the root depth assumes the lifter's field of view; the
pose itself does not depend on it.  A single photo has no sequence to take bone lengths from: the
fitting policy (:mod:`structpose.fitting`) uses the pose's own lengths, made left/right symmetric.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import StructposeError
from ..io.posefile import PoseSequence, save_pose_file
from .lifting import PoseLifter, detector_lifter, detector_world

PHOTO_MODELS = ("lifter", "sapnet")
DETECTOR = "mediapipe-0.10.21-full"


def process_photo(image_bgr: np.ndarray, detection, lifter: PoseLifter, model: str = "lifter",
                  fit: bool = True, source: str = "", runtime: str = "auto") -> tuple[PoseSequence, object]:
    """One BGR photo and its MediaPipe detection -> (a one-frame :class:`PoseSequence`, the detection
    whose keypoints and scores the pose came from).

    ``model``: "lifter" lifts the detected 2D keypoints; "sapnet" runs SAP-Net on the detected
    person's box (the lifter is not run; ``runtime``: SAP-Net's, see
    :class:`structpose.pipeline.sapnet.SapnetRunner`, recorded in ``meta['sapnet_runtime']``).  No person:
    the frame is invalid (NaN pose).
    """
    if model not in PHOTO_MODELS:
        raise StructposeError(f"model {model!r} unknown; choose one of {', '.join(PHOTO_MODELS)}")
    size = (image_bgr.shape[1], image_bgr.shape[0])
    cam = np.full((17, 3), np.nan, np.float32)
    extra = {}
    if model == "sapnet":
        from .sapnet import shipped_runtime
        extra["sapnet_runtime"] = shipped_runtime(runtime)
    if detection.found:
        if model == "sapnet":
            from .sapnet import sapnet_on_detection
            cam, detection = sapnet_on_detection(image_bgr, detection, lifter.focal(size), runtime=runtime)
        else:
            cam, _ = lifter(detection.keypoints, detection.scores, size,
                            detector_world(detection) if lifter.uses_world else None)
    ok = bool(detection.found and np.isfinite(cam).all())
    if ok and fit:
        from ..fitting import fit_sequence
        cam = fit_sequence(cam[None])[0]
    seq = PoseSequence(poses_3d=np.asarray(cam, np.float32)[None], fps=1.0, poses_2d=detection.keypoints[None],
                       # pose files hold confidences in 0..1; SAP-Net's heatmap peaks can stray just outside
                       scores=np.clip(detection.scores, 0.0, 1.0)[None], image_size=size, valid=np.array([ok]),
                       meta={"source": source, "fov_deg_assumed": lifter.fov_deg, "focal_px": lifter.focal(size),
                             "detector": DETECTOR, "model": model, "fit": ok and fit,
                             **({"lifter": lifter.weights_label, "lifter_world_input": lifter.uses_world}
                                if model == "lifter" else {}), **extra})
    return seq, detection


@dataclass
class PhotoResult:
    """What :func:`process_photos` did for one photo."""

    path: Path
    sequence: PoseSequence
    joints_seen: int
    written: list[Path] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.sequence.valid[0])


def process_photos(paths: list[str | Path], out: str | Path, model: str = "lifter", fit: bool = True,
                   lifter: PoseLifter | None = None, runtime: str = "auto") -> list[PhotoResult]:
    """The photo command: for each ``NAME.ext`` write ``out/NAME.npz`` (a one-frame pose file), and when a
    person is found ``NAME_overlay.png`` (2D skeleton on the photo) and ``NAME_3d.png`` (3D views).

    Every photo is read before anything is written; two photos sharing a name stem are refused.
    """
    import cv2

    from ..data.imread import read_image
    from ..io.atomic import atomic_path
    from ..viz import draw_skeleton_2d, save_skeleton_figure
    from .detector import PoseDetector
    if model not in PHOTO_MODELS:
        raise StructposeError(f"model {model!r} unknown; choose one of {', '.join(PHOTO_MODELS)}")
    if model == "sapnet":
        from .sapnet import pick_runtime
        runtime = pick_runtime(runtime)             # refused before anything is read or written
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StructposeError(f"--out {out} is a file; give a folder")
    images = [(Path(p), read_image(p)) for p in paths]       # all readable before any output
    stems = [p.stem for p, _ in images]
    if len(set(stems)) != len(stems):
        raise StructposeError("two photos share a file name stem; their outputs would collide in --out")
    from ..io.guards import refuse_overwrite
    inputs = [("IMG", p) for p, _ in images]
    for s in stems:        # e.g. p.png and p_3d.png into their own folder: p's 3D view would replace p_3d.png
        refuse_overwrite([("--out", out / f"{s}{tail}") for tail in (".npz", "_overlay.png", "_3d.png")], inputs)
    out.mkdir(parents=True, exist_ok=True)
    lifter = lifter or PoseLifter(detector_lifter())
    # SAP-Net's scores are heatmap peaks (about 0.1-0.3 on photos), not detector confidences, and its
    # 3D pose uses all 17 joints: thresholding them at the lifter's min score drew an empty overlay
    thr = 0.0 if model == "sapnet" else lifter.min_score
    results = []
    with PoseDetector(video=False) as det:
        for path, img in images:
            seq, d = process_photo(img, det(img), lifter, model=model, fit=fit, source=str(path), runtime=runtime)
            res = PhotoResult(path, seq, int((d.scores >= thr).sum()) if seq.valid[0] else 0)
            res.written.append(save_pose_file(out / f"{path.stem}.npz", seq))
            if res.found:
                bgr = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
                overlay = draw_skeleton_2d(bgr, d.keypoints, d.scores, threshold=thr)
                p_ov = out / f"{path.stem}_overlay.png"
                with atomic_path(p_ov) as tmp:
                    if not cv2.imwrite(str(tmp), overlay):
                        raise StructposeError(f"{p_ov}: could not write the PNG")
                res.written.append(p_ov)
                res.written.append(save_skeleton_figure(seq.poses_3d, out / f"{path.stem}_3d.png", frames=[0],
                                                        title=f"{path.name}: lifted 3D pose",
                                                        frame_labels=[path.stem]))
            results.append(res)
    return results

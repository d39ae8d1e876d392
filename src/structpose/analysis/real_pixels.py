"""Judged on real pixels: systems, the triangulated reference, and the measures of ``benchmarks/bench_real.py``.

**Systems** are a registry: each turns one view's MediaPipe tracks into ``(T, 17, 3)`` camera-frame
poses (metres, H36M-17, NaN where it has none), seeing nothing but that view's pixels.  Add a row with
:func:`register_system`; every table then gets it.

**The reference** is MediaPipe's 33 landmarks in every view, triangulated (:mod:`structpose.triangulate`)
and converted to H36M-17 with ``skeleton.convert(..., "mediapipe33", "h36m17")``: hips, knees, ankles,
shoulders, elbows and wrists are MediaPipe's own landmarks; the pelvis is the hips' midpoint, the thorax
the shoulders' midpoint (spine, nose and head top are not compared).

**Compared joints**: only those that mean the same thing in every system, :data:`COMPARED` (hips, knees,
ankles, shoulders, elbows, wrists), each pose re-rooted at the hips' midpoint.  H36M's pelvis, spine,
thorax and head are defined differently by MediaPipe, by structpose's lifter (trained on mocap skeletons)
and by the triangulated landmarks, so comparing them would measure definitions, not accuracy.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import StructposeError
from ..skeleton import H36M17, SYMMETRIC_BONES, convert
from .tracks import Track

COMPARED = tuple(H36M17.index(n) for n in ("r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle",
                                           "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist"))
_LH, _RH = H36M17.index("l_hip"), H36M17.index("r_hip")


@dataclass
class ViewInput:
    """What a system may use for one view: the tracked (``video``) and per-frame (``image``) detections."""

    video: Track
    image: Track

    @property
    def fps(self) -> float:
        return self.video.fps

    @property
    def image_size(self) -> tuple[int, int]:
        return self.video.image_size


@dataclass(frozen=True)
class System:
    name: str
    label: str
    run: Callable[[ViewInput], np.ndarray]


SYSTEMS: dict[str, System] = {}


def register_system(name: str, label: str, run: Callable[[ViewInput], np.ndarray]) -> System:
    """Add a row to every real-pixels table: ``run(view) -> (T, 17, 3)`` camera-frame metres."""
    SYSTEMS[name] = System(name, label, run)
    return SYSTEMS[name]


def _mediapipe_world(view: ViewInput) -> np.ndarray:
    return convert(view.video.world33.astype(np.float64), "mediapipe33", "h36m17")


def _structpose_video(mode: str, lifter: str | None = None) -> Callable[[ViewInput], np.ndarray]:
    """``structpose video --mode MODE [--lifter NAME]``: MediaPipe's tracked 2D (and its world landmarks, for
    a lifter that reads them) through the lifter (None: the command's default), TP-Net and the fit."""
    def run(view: ViewInput) -> np.ndarray:
        from ..pipeline.lifting import PoseLifter, detector_lifter, lift_sequence
        v = view.video
        pl = PoseLifter(detector_lifter(lifter))
        seq = lift_sequence(v.keypoints, v.scores, v.fps, v.image_size, mode=mode, fit=True, lifter=pl,
                            world=_mediapipe_world(view) if pl.uses_world else None)
        return seq.poses_3d.astype(np.float64)
    return run


def _per_photo_fit(poses: np.ndarray) -> np.ndarray:
    """``structpose image``'s last step: each photo's own bone lengths, made left/right symmetric."""
    from ..fitting import fit_sequence
    out = np.array(poses, np.float64)
    for t in np.flatnonzero(np.isfinite(out).all((1, 2))):
        out[t] = fit_sequence(out[t][None])[0]
    return out


def _structpose_image(lifter: str | None = None) -> Callable[[ViewInput], np.ndarray]:
    """``structpose image [--lifter NAME]`` on every frame: per-frame detection, lifter, per-photo fit."""
    def run(view: ViewInput) -> np.ndarray:
        from ..pipeline.lifting import PoseLifter, detector_lifter
        im = view.image
        pl = PoseLifter(detector_lifter(lifter))
        world = convert(im.world33.astype(np.float64), "mediapipe33", "h36m17") if pl.uses_world else None
        cam, _ = pl(im.keypoints, im.scores, im.image_size, world)
        cam = np.where(im.found[:, None, None], cam, np.nan)
        return _per_photo_fit(cam)
    return run


def _sapnet(view: ViewInput) -> np.ndarray:
    if view.image.sapnet is None:
        raise StructposeError("the image-mode track has no SAP-Net poses; run detect_video(..., sapnet=True)")
    return _per_photo_fit(view.image.sapnet)


register_system("mediapipe_world", "MediaPipe world landmarks", _mediapipe_world)
register_system("video_online", "structpose video --mode online", _structpose_video("online"))
register_system("video_bidirectional", "structpose video --mode bidirectional", _structpose_video("bidirectional"))
register_system("video_none", "structpose video --mode none (lifter + fit)", _structpose_video("none"))
register_system("image", "structpose image (per frame)", _structpose_image())


def register_lifter_systems(lifter: str, label: str) -> list[str]:
    """Rows ``video_{online,bidirectional,none}@LIFTER`` and ``image@LIFTER`` for the lifter weights ``lifter``
    (a shipped name or a path); returns their names."""
    names = []
    for mode in ("online", "bidirectional", "none"):
        names.append(register_system(f"video_{mode}@{lifter}", f"structpose video --mode {mode} --lifter {label}",
                                     _structpose_video(mode, lifter)).name)
    names.append(register_system(f"image@{lifter}", f"structpose image --lifter {label} (per frame)",
                                 _structpose_image(lifter)).name)
    return names
register_system("sapnet", "structpose image --model sapnet", _sapnet)


# --- measures ---------------------------------------------------------------------------------

def compared(poses: np.ndarray) -> np.ndarray:
    """``(..., 17, 3)`` -> ``(..., 12, 3)``: the :data:`COMPARED` joints relative to the hips' midpoint."""
    p = np.asarray(poses, np.float64)
    return p[..., COMPARED, :] - 0.5 * (p[..., _LH:_LH + 1, :] + p[..., _RH:_RH + 1, :])


def evaluate_view(pred: np.ndarray, ref: np.ndarray, frames: np.ndarray) -> dict[str, float]:
    """MPJPE, PA-MPJPE (mm) and MPJVE (mm/frame) of ``pred`` against ``ref`` (both (T, 17, 3) in the same
    camera frame) on the :data:`COMPARED` joints, over the boolean ``frames`` (both must be finite there);
    MPJVE over consecutive pairs of such frames."""
    from ..metrics import mpjpe, pa_mpjpe
    p, g = compared(pred), compared(ref)
    ok = frames & np.isfinite(p).all((1, 2)) & np.isfinite(g).all((1, 2))
    if not ok.any():
        return {"frames": 0, "mpjpe": np.nan, "pa_mpjpe": np.nan, "mpjve": np.nan}
    pairs = ok[1:] & ok[:-1]
    dv = (p[1:] - p[:-1]) - (g[1:] - g[:-1])
    vel = np.linalg.norm(dv[pairs], axis=-1).mean() if pairs.any() else np.nan
    return {"frames": int(ok.sum()), "mpjpe": 1000 * float(mpjpe(p[ok], g[ok])),
            "pa_mpjpe": 1000 * float(pa_mpjpe(p[ok], g[ok])), "mpjve": 1000 * float(vel)}


def structural(poses: np.ndarray, found: np.ndarray) -> dict[str, Any]:
    """In-the-wild measures of one system on one video (no ground truth), each in % of the mean limb length.

    ``poses`` (T, 17, 3) metres (NaN where no pose), ``found`` (T,) whether the detector saw a person.
    Limb bones: upper arms, forearms, thighs, shins (:data:`structpose.skeleton.SYMMETRIC_BONES`).
    * ``symmetry``: mean |right - left| length over the four pairs and all frames;
    * ``bone_std``: per limb bone, the std of its length over frames, averaged over the 8 bones;
    * ``jitter``: mean norm of the second difference ``p[t+1] - 2 p[t] + p[t-1]`` of the :data:`COMPARED`
      joints rooted at the hips' midpoint (the change of frame-to-frame velocity: real motion is smooth at video rates, noise is not),
      over triples of consecutive frames with a pose.
    """
    p = np.asarray(poses, np.float64)
    ok = np.isfinite(p).all((1, 2))
    out: dict[str, Any] = {"frames": len(p), "person_pct": 100.0 * float(np.mean(found)),
                           "pose_pct": 100.0 * float(ok.mean())}
    if ok.sum() < 3:
        return {**out, "limb_mm": np.nan, "symmetry": np.nan, "bone_std": np.nan, "jitter": np.nan}
    q = p[ok]
    pairs = [(r, l) for r, l in SYMMETRIC_BONES]
    right = np.stack([np.linalg.norm(q[:, c] - q[:, a], axis=-1) for (a, c), _ in pairs], -1)
    left = np.stack([np.linalg.norm(q[:, c] - q[:, a], axis=-1) for _, (a, c) in pairs], -1)
    limb = float(np.concatenate([right, left], -1).mean())
    rel = compared(p)
    triple = ok[2:] & ok[1:-1] & ok[:-2]
    acc = rel[2:] - 2 * rel[1:-1] + rel[:-2]
    jit = float(np.linalg.norm(acc[triple], axis=-1).mean()) if triple.any() else np.nan
    return {**out, "limb_mm": 1000 * limb, "symmetry": 100 * float(np.abs(right - left).mean()) / limb,
            "bone_std": 100 * float(np.concatenate([right, left], -1).std(0).mean()) / limb,
            "jitter": 100 * jit / limb}


# --- the triangulated reference ---------------------------------------------------------------

def cameras_for(calibration: dict, names: list[str]) -> list:
    """The calibrated camera of each view, by name; a view the calibration lacks is one line."""
    missing = [n for n in names if n not in calibration]
    if missing:
        raise StructposeError(f"the calibration has no camera {', '.join(missing)}; it lists "
                              f"{', '.join(calibration) or 'none'} (name each video after its camera)")
    return [calibration[n] for n in names]


def check_view_sizes(tracks: list[Track], cameras: list, names: list[str], tolerance_px: int = 16) -> list[str]:
    """Each video's frame must match its camera's calibrated image size, up to ``tolerance_px`` lost on the
    right / bottom (encoders pad to 16-pixel blocks and crop there: Pose2Sim's cam01/cam02 are 1080 wide for
    a 1088-wide calibration, and their reprojection error grows when the crop is assumed elsewhere).
    Returns notes for the small mismatches; a larger one is a StructposeError."""
    notes = []
    for tr, cam, name in zip(tracks, cameras, names):
        (w, h), (cw, ch) = tr.image_size, cam.image_size
        if (w, h) == (cw, ch):
            continue
        if not (0 <= cw - w <= tolerance_px and 0 <= ch - h <= tolerance_px):
            raise StructposeError(f"view {name}: video is {w}x{h} but its calibration says {cw}x{ch}; give the "
                                  "videos the calibration was made for")
        notes.append(f"{name}: video {w}x{h}, calibration {cw}x{ch} (encoder crop on the right/bottom assumed)")
    return notes


def triangulated_reference(tracks: list[Track], cameras: list, inlier_px: float = 30.0,
                           min_confidence: float = 0.5):
    """MediaPipe's 33 landmarks from every view (``video``-mode tracks, same length) -> world H36M-17.

    Returns ``(reference (T, 17, 3) world metres, NaN where untrusted, Triangulation of the 33 landmarks)``.
    A view where no person is found contributes nothing for those frames; an instant needs 2 views.
    """
    from ..triangulate import triangulate
    lengths = {len(t) for t in tracks}
    if len(lengths) != 1:
        raise StructposeError(f"views have {sorted(lengths)} frames; the reference needs synchronised views "
                              "of equal length")
    uv = np.stack([t.landmarks33 for t in tracks]).astype(np.float64)
    vis = np.stack([t.visibility33 for t in tracks]).astype(np.float64)
    tri = triangulate(uv, vis, cameras, min_confidence=min_confidence, inlier_px=inlier_px)
    return convert(tri.points, "mediapipe33", "h36m17"), tri

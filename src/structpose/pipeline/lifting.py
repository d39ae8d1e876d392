"""2D keypoints in pixels -> 3D poses in the camera frame: the lifter plus a camera assumption.

The lifter itself needs no intrinsics (see :mod:`structpose.models.lifter`): it gives the
root-relative pose in metres.  Placing it in the camera frame needs a focal length, which is
usually unknown for a user's video or photo: :class:`PoseLifter` assumes a horizontal field of view
(default 55 degrees, a typical phone / webcam) with the principal point at the image centre, then
``root depth = f * scale / radius_px`` (weak perspective) and the root's x, y by back-projecting the
pelvis.  A wrong field of view scales the root depth (and x, y) proportionally; the root-relative
pose does not depend on it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import StructposeError
from ..io.posefile import PoseSequence
from ..models.npz_infer import J, NpzLifter, lifter_path, npz_for, torch_forced

if TYPE_CHECKING:
    from ..models.lifter import Lifter
from ..skeleton import H36M17

DEFAULT_FOV_DEG = 55.0
DEFAULT_MIN_SCORE = 0.3
_RH, _LH = H36M17.index("r_hip"), H36M17.index("l_hip")
MIN_JOINTS = 6      # fewer visible joints than this: no pose (a guess from 3 points would be noise)


def focal_from_fov(image_size: tuple[int, int], fov_deg: float) -> float:
    """Focal length in pixels from the image width and a horizontal field of view."""
    if not 1.0 < fov_deg < 179.0:
        raise StructposeError(f"field of view {fov_deg} degrees is out of range; expected 1-179")
    return 0.5 * image_size[0] / np.tan(np.radians(fov_deg) / 2)


def _pelvis_px(kp: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(N, 17, 2)``, ``(N, 17)`` -> ``(N, 2)``: the hips' midpoint when both are seen, else the mean seen joint."""
    m = mask > 0
    mean = np.where(m[..., None], np.nan_to_num(kp), 0).sum(1) / np.maximum(m.sum(1, keepdims=True), 1)
    both = m[:, H36M17.index("r_hip")] & m[:, H36M17.index("l_hip")]
    mid = 0.5 * (np.nan_to_num(kp[:, H36M17.index("r_hip")]) + np.nan_to_num(kp[:, H36M17.index("l_hip")]))
    return np.where(both[:, None], mid, mean)


def ray_rotation(pelvis_px: np.ndarray, c: np.ndarray, f: float) -> np.ndarray:
    """``(N, 2)`` pixels -> ``(N, 3, 3)``: the smallest rotation taking each pixel's viewing ray onto +z
    (Rodrigues about ``ray x z``)."""
    r = np.concatenate([(pelvis_px - c) / f, np.ones((len(pelvis_px), 1))], -1)
    r /= np.linalg.norm(r, axis=-1, keepdims=True)
    ax = np.cross(r, np.array([0.0, 0.0, 1.0]))
    s, co = np.linalg.norm(ax, axis=-1), r[:, 2]
    k = ax / np.maximum(s, 1e-12)[:, None]
    K = np.zeros((len(r), 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 0] = -k[:, 2], k[:, 1], k[:, 2]
    K[:, 1, 2], K[:, 2, 0], K[:, 2, 1] = -k[:, 0], -k[:, 1], k[:, 0]
    return np.eye(3) + s[:, None, None] * K + (1 - co)[:, None, None] * (K @ K)


class PoseLifter:
    """``(N, 17, 2)`` pixels + ``(N, 17)`` scores -> ``(N, 17, 3)`` camera-frame metres (NaN: no pose).

    ``min_score``: joints scored below it are treated as missing (masked, not zeroed); frames with
    fewer than :data:`MIN_JOINTS` usable joints get NaN.  ``focal_px`` overrides ``fov_deg``.

    ``on_axis`` (default): the lifter sees every person as if at the image centre (its input is
    centred and scaled 2D), so a person off to the side would come out turned by the angle between
    their viewing ray and the optical axis.  Before lifting, the keypoints are re-projected through
    the rotation that brings the pelvis ray onto the axis, and the lifted pose is rotated back.
    Measured on held-out clips through sampled cameras: MPJPE 103 -> 90 mm, PA-MPJPE unchanged
    (``benchmarks/bench_lifter_views.py``).
    """

    def __init__(self, weights: str | Path | Lifter | None = None, fov_deg: float = DEFAULT_FOV_DEG,
                 focal_px: float | None = None, min_score: float = DEFAULT_MIN_SCORE,
                 on_axis: bool = True) -> None:
        # Weights given as a file (or the shipped default) run in NumPy from their .npz, without
        # importing torch (:mod:`structpose.models.npz_infer`); a torch module, or
        # STRUCTPOSE_INFERENCE=torch, takes the torch path.
        self._model: Lifter | None = None
        self.backend = "numpy"
        if isinstance(weights, (str, Path)) or weights is None:
            path = lifter_path(weights)          # a path, a shipped name, or $STRUCTPOSE_LIFTER / lifter.pt
            if path.is_dir():
                raise StructposeError(f"{path} is a folder; expected a lifter weights file (.pt)")
            if not path.is_file():
                raise StructposeError(f"{path}: no lifter weights there; train them with "
                                      "`structpose train lifter --config configs/lifter.yaml`")
            if torch_forced():
                from ..models.lifter import load_lifter
                self._model, self.backend = load_lifter(path), "torch"
                self._np = None
            else:
                self._weights_path = path
                self._np = NpzLifter.from_file(npz_for(path))
        else:
            self._model, self.backend = weights.eval(), "torch"
            self._np = None
        if self._model is not None:
            from ..models.lifter import numpy_lifter
            self._small = numpy_lifter(self._model)   # small batches (streaming): NumPy is ~10x faster
        self.fov_deg, self.focal_px, self.min_score = float(fov_deg), focal_px, float(min_score)
        self.on_axis = bool(on_axis)
        if not (0.0 <= self.min_score <= 1.0):     # scores are in [0, 1]: above 1 masks every joint
            raise StructposeError(f"min score {min_score}; expected a detector confidence in [0, 1]")
        if focal_px is not None and not (np.isfinite(focal_px) and focal_px > 0):
            raise StructposeError(f"focal length {focal_px} px; expected a positive number")

    @property
    def model(self) -> Lifter:
        """The torch module (loaded on first use when inference runs in NumPy)."""
        if self._model is None:
            from ..models.lifter import load_lifter
            self._model = load_lifter(self._weights_path)
        return self._model

    def focal(self, image_size: tuple[int, int]) -> float:
        return float(self.focal_px) if self.focal_px is not None else focal_from_fov(image_size, self.fov_deg)

    def __call__(self, keypoints: np.ndarray, scores: np.ndarray | None, image_size: tuple[int, int]
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Returns ``(poses (N, 17, 3) camera metres, root-relative poses (N, 17, 3) metres)``."""
        kp = np.asarray(keypoints, np.float32)
        if kp.ndim == 2 and kp.shape == (J, 2) and self._np is not None and self.on_axis:
            return self._one(kp, scores, image_size)
        if kp.ndim == 2:
            return tuple(a[0] for a in self(kp[None], None if scores is None else np.asarray(scores)[None],
                                            image_size))  # type: ignore[return-value]
        if kp.ndim != 3 or kp.shape[1:] != (J, 2):
            raise StructposeError(f"keypoints have shape {kp.shape}; expected (N, 17, 2) pixels, H36M-17")
        sc = np.ones(kp.shape[:2], np.float32) if scores is None else np.asarray(scores, np.float32)
        if sc.shape != kp.shape[:2]:
            raise StructposeError(f"scores have shape {sc.shape}; expected {kp.shape[:2]}")
        mask = (np.isfinite(kp).all(-1) & (sc >= self.min_score)).astype(np.float32)
        f = self.focal(image_size)
        c = np.array([image_size[0] / 2.0, image_size[1] / 2.0])
        R = None
        if self.on_axis:
            R = ray_rotation(_pelvis_px(kp, mask), c, f)
            rays = np.concatenate([(kp - c) / f, np.ones(kp.shape[:2] + (1,))], -1) @ np.swapaxes(R, 1, 2)
            kp = np.where(mask[..., None] > 0, rays[..., :2] / rays[..., 2:] * f + c, np.nan).astype(np.float32)
        if self._np is not None:
            pose, log_s, xy_n, m2, centre, radius = self._np(np.nan_to_num(kp), mask)
        elif len(kp) <= 8:
            pose, log_s, xy_n, m2, centre, radius = self._small(np.nan_to_num(kp), mask)
        else:
            import torch

            from ..models.lifter import normalise_2d
            with torch.no_grad():
                xy_t, m_t = torch.from_numpy(np.nan_to_num(kp)), torch.from_numpy(mask)
                xy_n, m2, centre, radius = (a.numpy() for a in normalise_2d(xy_t, m_t))
                pose, log_s = (a.numpy() for a in self.model(torch.from_numpy(xy_n), torch.from_numpy(m2)))
        s = np.exp(log_s)
        rel = (pose * s[:, None, None]).astype(np.float64)
        # pelvis in the image: the normalisation centre when the pelvis is seen, otherwise the
        # centre moved by the mean offset between the input and the lifted pose's xy
        seen = m2 > 0
        off = np.where(seen[..., None], xy_n - pose[..., :2], 0).sum(1) / np.maximum(seen.sum(1, keepdims=True), 1)
        pelvis_px = centre + np.where(seen[:, 0:1], 0.0, off) * radius[:, None]
        z = f * s / radius
        root = np.concatenate([(pelvis_px - c) / f * z[:, None], z[:, None]], -1)
        if R is not None:                              # back to the real camera: R^T p, as rows p @ R
            rel = rel @ R
            root = (root[:, None] @ R)[:, 0]
        bad = mask.sum(-1) < MIN_JOINTS
        rel[bad] = np.nan
        cam = rel + root[:, None]
        return cam.astype(np.float32), rel.astype(np.float32)

    def _one(self, kp: np.ndarray, scores: np.ndarray | None, image_size: tuple[int, int]
             ) -> tuple[np.ndarray, np.ndarray]:
        """One frame (streaming): :meth:`__call__`'s steps written for a single ``(17, 2)`` frame in
        fewer NumPy calls (the batched path's Python overhead was most of a frame's lift; tested equal)."""
        sc = np.ones(J, np.float32) if scores is None else np.asarray(scores, np.float32)
        if sc.shape != (J,):
            raise StructposeError(f"scores have shape {sc.shape}; expected ({J},)")
        fin = np.isfinite(kp).all(-1)
        m = fin & (sc >= self.min_score)
        mask = m.astype(np.float32)
        f = self.focal(image_size)
        c = np.array([image_size[0] / 2.0, image_size[1] / 2.0])
        kz = np.where(fin[:, None], kp, np.float32(0))
        if m[_RH] and m[_LH]:                  # _pelvis_px, in its float32
            px = np.float32(0.5) * (kz[_RH] + kz[_LH])
        else:
            px = (kz * m[:, None]).sum(0) / np.maximum(m.sum(keepdims=True), 1)
        # the rotation taking the pelvis ray onto +z (ray_rotation, one ray: axis ray x z = (r1, -r0, 0))
        r0, r1 = (px - c) / f
        nr = np.sqrt(r0 * r0 + r1 * r1 + 1.0)
        r0, r1, co = r0 / nr, r1 / nr, 1.0 / nr
        sn = np.hypot(r0, r1)
        k0, k1 = (r1 / sn, -r0 / sn) if sn > 1e-12 else (0.0, 0.0)
        K = np.array([[0.0, 0.0, k1], [0.0, 0.0, -k0], [-k1, k0, 0.0]])
        R = np.eye(3) + sn * K + (1 - co) * (K @ K)
        rays = np.empty((J, 3))
        rays[:, :2] = (kp - c) / f
        rays[:, 2] = 1.0
        rays = rays @ R.T
        kp = np.where(m[:, None], rays[:, :2] / rays[:, 2:] * f + c, 0).astype(np.float32)
        pose, log_s, xy_n, m2, centre, radius = self._np.one(kp, mask)   # type: ignore[union-attr]
        s = np.exp(log_s)
        rel = (pose[0] * s[0]).astype(np.float64)
        seen = m2[0] > 0
        if seen[0]:
            pelvis_px = centre[0].astype(np.float64)
        else:
            off = np.where(seen[:, None], xy_n[0] - pose[0, :, :2], 0).sum(0) / max(int(seen.sum()), 1)
            pelvis_px = centre[0] + off * radius[0]
        z = (f * s / radius)[0]
        root = np.empty(3)
        root[:2], root[2] = (pelvis_px - c) / f * z, z
        rel = rel @ R
        root = root @ R
        if mask.sum() < MIN_JOINTS:
            rel[:] = np.nan
        return (rel + root).astype(np.float32), rel.astype(np.float32)



def lift_sequence(xy: np.ndarray, scores: np.ndarray, fps: float, image_size: tuple[int, int] | None,
                  mode: str = "bidirectional", fit: bool = True, lifter: PoseLifter | None = None,
                  tpnet: str | Path | None = None, meta: dict | None = None,
                  height: float | None = None) -> PoseSequence:
    """A whole 2D sequence ``(T, 17, 2)`` pixels + ``(T, 17)`` scores -> :class:`PoseSequence`.

    ``mode``: "online" / "bidirectional" (TP-Net) or "none" (lifter only), then ``fit``: the fitting
    policy of :mod:`structpose.fitting` — both through
    :func:`structpose.pipeline.refiner.refine_and_fit`, as ``video`` and ``refine`` do.
    ``image_size`` None: the principal point is put at the centre of the keypoints' extent and the
    width taken as 1.2 x that extent (recorded in ``meta['image_size_guessed']``); it only affects
    the root position, not the root-relative pose.  Frames with too few joints are NaN, valid False.
    ``height`` (metres): also place the poses in a world frame (:mod:`structpose.pipeline.world_step`).
    """
    from ..errors import check_fps, warn
    from .refiner import refine_and_fit
    lifter = lifter or PoseLifter()
    meta = dict(meta or {})
    check_fps(fps, "frame rate")
    xy = np.asarray(xy, np.float32)
    scores = np.asarray(scores, np.float32)
    fin = np.isfinite(xy)
    if fin.any() and float(np.abs(xy[fin]).max()) > 1e6:
        raise StructposeError(f"a keypoint lies {float(np.abs(xy[fin]).max()):.3g} px from the image origin; pixel "
                              "coordinates beyond +-1e6 are refused")
    if image_size is not None:
        if len(image_size) != 2 or not all(0 < int(v) <= 1_000_000 for v in image_size):
            raise StructposeError(f"image size {tuple(image_size)}; expected (width, height), two positive integers")
        W, H = int(image_size[0]), int(image_size[1])
        # more than one image width/height outside the frame: no detector puts a joint there
        far = ((xy[..., 0] < -W) | (xy[..., 0] > 2 * W) | (xy[..., 1] < -H) | (xy[..., 1] > 2 * H)) & fin.all(-1)
        if far.any():
            warn(f"{int(far.sum())} keypoint(s) lie more than one image size outside the {W}x{H} image; treated as "
                 "missing joints")
            xy, scores = xy.copy(), scores.copy()
            xy[far], scores[far] = np.nan, 0.0
            meta["keypoints_far_outside_image"] = int(far.sum())
    if image_size is None:
        fin = xy[np.isfinite(xy).all(-1)]
        if len(fin) == 0:
            raise StructposeError("no finite keypoint in the whole sequence; nothing to lift")
        lo, hi = fin.min(0), fin.max(0)
        ext = float(max(hi - lo).max()) * 1.2 + 1.0
        image_size = (round(ext), round(ext))
        shift = (lo + hi) / 2 - np.array(image_size) / 2
        meta["image_size_guessed"] = True
    else:
        shift = np.zeros(2)
    cam, _ = lifter(xy - shift.astype(np.float32), scores, image_size)
    ok = np.isfinite(cam).all((1, 2))
    if mode in ("online", "bidirectional") and not ok.any():
        raise StructposeError("no frame has enough visible joints to lift (need 6 with a score >= "
                              f"{lifter.min_score})")
    out = refine_and_fit(cam, fps, mode=mode, fit=bool(fit), model=tpnet)
    out = out.astype(np.float32)
    out[~ok] = np.nan
    meta.update({"mode": mode, "fit": bool(fit), "fov_deg_assumed": lifter.fov_deg,
                 "focal_px": lifter.focal(image_size), "min_score": lifter.min_score})
    seq = PoseSequence(poses_3d=out, fps=fps, poses_2d=xy, scores=np.asarray(scores, np.float32),
                       image_size=None if meta.get("image_size_guessed") else image_size,
                       valid=ok & np.isfinite(out).all((1, 2)), meta=meta)
    if height is not None:
        from .world_step import attach_world
        attach_world(seq, height, mode)
    return seq


@dataclass
class LiftResult:
    """One lifted sequence of :func:`lift_file`: its name, the pose sequence, whether the frame rate
    was assumed (30 fps: neither the file nor the caller gave one) and the files written."""

    name: str
    sequence: PoseSequence
    fps_assumed: bool
    written: list[Path]


def lift_file(keypoints: str | Path, out: str | Path, fmt: str | None = None, sequence: str | None = None,
              mode: str = "bidirectional", fit: bool = True, fps: float | None = None,
              image_size: tuple[int, int] | None = None, lifter: PoseLifter | None = None,
              tpnet: str | Path | None = None, formats: Sequence[str] = (), height: float | None = None
              ) -> list[LiftResult]:
    """The lift command: a 2D keypoint file (any format of
    :func:`structpose.data.formats.load_keypoints_2d`) -> one pose file per sequence (``out``, or
    ``OUT-NAME.npz`` when the file holds several) plus ``formats`` beside each.  ``height``: also the
    world frame (see :func:`lift_sequence`)."""
    import re

    from ..data.formats import load_keypoints_2d
    from ..errors import check_fps
    from .outputs import check_outputs, check_pose_path, write_outputs
    out = check_pose_path(out)
    if fps is not None:
        check_fps(fps, "--fps")
    if tpnet and mode == "none":       # accepted and silently unused otherwise
        raise StructposeError("--tpnet has no effect with --mode none (the lifter alone); drop one of them")
    inputs = {"KEYPOINTS": keypoints, "--tpnet": tpnet}
    check_outputs(out, formats, inputs)
    if tpnet:       # read (safely) and checked now, even if no frame ends up needing it
        from ..models.tpnet import load_model
        load_model(tpnet)
    seqs = load_keypoints_2d(keypoints, fmt)
    if sequence:
        names = [s.name for s in seqs]
        seqs = [s for s in seqs if s.name == sequence]
        if not seqs:
            raise StructposeError(f"no sequence {sequence!r} in {keypoints}; it holds: {', '.join(names)}")
    lifter = lifter or PoseLifter()
    results = []
    for s in seqs:
        rate = fps or s.fps or 30.0
        meta = {"source": str(keypoints), "sequence": s.name, "fps_assumed": not (fps or s.fps)}
        seq = lift_sequence(s.xy, s.scores, rate, image_size or s.image_size, mode=mode, fit=fit, lifter=lifter,
                            tpnet=tpnet, meta=meta, height=height)
        target = out if len(seqs) == 1 else out.with_name(
            f"{out.stem}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', s.name)}.npz")
        check_outputs(target, formats, inputs)
        written = write_outputs(seq, target, formats, name=s.name or "video")
        results.append(LiftResult(s.name, seq, not (fps or s.fps), written))
    return results

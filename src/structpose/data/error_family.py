"""A family of per-frame 3D estimator error models, for training TP-Net on several and testing on one it never saw.

Members (issue 12, item 4):

- ``depth`` — today's hand-made :class:`~structpose.data.error_model.ErrorModel` (slow bias, bone wobble,
  z noise 2.5x, outliers, left/right swaps).
- ``lifter`` — the shipped lifter's own predictions on projected clean poses with 2D detector noise
  (:func:`structpose.train.tpnet.lifted`).
- ``mediapipe`` — MediaPipe's real world-landmark errors on Anny renders of real motion
  (:func:`mediapipe_pairs`, from the renders files of :mod:`structpose.train.render_pairs`).
- ``iid`` — :class:`IIDJitter`: independent isotropic Gaussian jitter plus single-frame outliers, nothing
  correlated in time: the textbook case for classical filters, and the family held out for testing.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import StructposeError, check_shape
from ..io.atomic import atomic_path

FAMILY = ("depth", "lifter", "mediapipe", "iid")


@dataclass(frozen=True)
class IIDJitter:
    """Per joint and frame: ``x + N(0, jitter^2 I)``; with probability ``outlier_prob`` also
    ``+ N(0, outlier_scale^2 I)`` for that one frame.  The pelvis is then moved back to the origin
    (the output is root-relative, like a per-frame estimator's), so only joints 1..16 carry the
    noise as defined *relative to the pelvis's own noise*."""

    jitter: float = 0.02          # m, per axis
    outlier_prob: float = 0.01    # per joint and frame
    outlier_scale: float = 0.2    # m, per axis

    def __post_init__(self) -> None:
        for k, v in asdict(self).items():
            if not (np.isfinite(v) and v >= 0):
                raise StructposeError(f"iid error model parameter {k}={v}; expected a finite value >= 0")
        if self.outlier_prob > 1:
            raise StructposeError(f"iid error model outlier_prob={self.outlier_prob}; expected a probability <= 1")

    def apply(self, poses: np.ndarray, fps: float, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Clean poses ``(..., T, 17, 3)`` (metres) -> root-relative noisy poses, float32.  ``fps`` is
        accepted for the same call as :meth:`ErrorModel.apply`; i.i.d. noise does not depend on it."""
        check_shape(poses, ["...", 17, 3], "poses")
        if not fps > 0:
            raise StructposeError(f"fps is {fps}; expected a positive frame rate")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        x = np.asarray(poses, np.float64)
        noise = rng.standard_normal(x.shape) * self.jitter
        hit = rng.random(x.shape[:-1]) < self.outlier_prob
        noise += hit[..., None] * rng.standard_normal(x.shape) * self.outlier_scale
        x = x + noise
        return (x - x[..., :1, :]).astype(np.float32)


def mediapipe_pairs(renders: str | Path, min_len: int = 11, fps: float = 30.0
                    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, ground truth, prediction)`` root-relative ``(T, 17, 3)`` runs from a renders file
    (video mode): MediaPipe's world landmarks against the rendered body's true camera-frame joints.
    A sequence is cut where MediaPipe found no person; runs shorter than ``min_len`` frames and
    sequences not at ``fps`` are left out (TP-Net reads windows at 30 fps)."""
    d = _read_renders(renders)
    pred_all = d["det_world"].astype(np.float64)
    gt_all = d["joints_cam"].astype(np.float64)
    ok = d["det_found"] & np.isfinite(pred_all).all((-1, -2)) & d["video"]
    out = []
    for s in np.unique(d["sequence"]):
        idx = np.flatnonzero(d["sequence"] == s)
        idx = idx[np.argsort(d["seq_frame"][idx])]
        if abs(float(d["fps"][idx[0]]) - fps) > 1e-3:
            continue
        run: list[int] = []
        for i in [*idx, -1]:
            if i >= 0 and ok[i] and (not run or d["seq_frame"][i] == d["seq_frame"][run[-1]] + 1):
                run.append(i)
                continue
            if len(run) >= min_len:
                gt, pred = gt_all[run], pred_all[run]
                out.append((f"{d['clip'][run[0]]}#{s}@{d['seq_frame'][run[0]]}",
                            (gt - gt[:, :1]).astype(np.float32), (pred - pred[:, :1]).astype(np.float32)))
            run = [i] if i >= 0 and ok[i] else []
    if not out:
        raise StructposeError(f"{renders}: no MediaPipe run of {min_len}+ consecutive detected frames at {fps} fps")
    return out


_RENDER_KEYS = ("det_world", "det_found", "joints_cam", "sequence", "seq_frame", "fps", "video", "clip")


def _read_renders(path: str | Path) -> dict[str, np.ndarray]:
    """The keys :func:`mediapipe_pairs` needs from a renders npz (format: :mod:`structpose.train.render_pairs`)."""
    path = Path(path)
    if not path.is_file():
        raise StructposeError(f"renders file {path} not found; make one with `structpose data renders`")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in _RENDER_KEYS if k not in z.files]
            if missing:
                raise StructposeError(f"{path} is not a structpose renders file (missing {', '.join(missing[:4])})")
            d = {k: z[k] for k in _RENDER_KEYS}
    except (OSError, ValueError) as e:
        raise StructposeError(f"cannot read renders file {path}: {str(e).splitlines()[0][:100]}") from None
    n = len(d["joints_cam"])
    if d["joints_cam"].shape != (n, 17, 3) or d["det_world"].shape != (n, 17, 3):
        raise StructposeError(f"{path}: joints_cam {d['joints_cam'].shape} and det_world {d['det_world'].shape}; "
                              "expected (N, 17, 3) each")
    return d


def write_pairs(seqs: list[tuple[str, np.ndarray, np.ndarray]], out: str | Path, fps: float = 30.0) -> Path:
    """Write ``(name, gt, pred)`` sequences as the pairs npz that ``structpose train tpnet`` reads (``pairs:``)."""
    arrays: dict[str, np.ndarray] = {"names": np.array([n for n, _, _ in seqs]), "fps": np.array(fps)}
    for i, (_, gt, pred) in enumerate(seqs):
        arrays[f"gt_{i}"], arrays[f"pred_{i}"] = gt, pred
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return out

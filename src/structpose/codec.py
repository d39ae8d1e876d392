"""SAP-Net's codec: crop geometry, training targets, and decoding the network's output to 2D / 3D.

Below both :mod:`structpose.data` (which builds training samples with it) and
:mod:`structpose.models` / :mod:`structpose.pipeline` (which read the network's output with it).

Units.  A person crop is a square of ``side`` image pixels around ``centre``, resampled to
``size`` x ``size`` crop pixels (pixel centres at integers, OpenCV's convention); heatmaps are
``size / 4`` on a side.  Normalised crop units: ``xy_n = (uv - (size - 1) / 2) / size`` and the
depth ``z_n = (Z_j - Z_root) * f / (Z_root * size)`` (weak perspective, the same unit as xy_n;
Zhou's depth in heatmap units).  :func:`lift_to_3d` turns (xy_n, z_n) into metres by the total
bone length; :func:`place_in_camera` puts the pose in the camera frame.
"""
from __future__ import annotations

import numpy as np

from .geometry import bone_lengths

# ---------------------------------------------------------------- crop geometry ---------------

def box_to_square(box: np.ndarray, margin: float = 1.25) -> tuple[np.ndarray, float]:
    """``(x0, y0, x1, y1)`` pixels -> (centre ``(2,)``, side of a square ``margin`` x the longer edge)."""
    box = np.asarray(box, np.float64)
    centre = (box[:2] + box[2:]) / 2
    return centre, float(max(box[2] - box[0], box[3] - box[1]) * margin)


def crop_affine(centre: np.ndarray, side: float, size: int, rotation_deg: float = 0.0,
                flip: bool = False) -> np.ndarray:
    """``(2, 3)`` affine taking image pixels to crop pixels: the square of ``side`` around ``centre``
    (rotated by ``rotation_deg`` counter-clockwise on screen, optionally mirrored) -> ``size`` x ``size``.
    Pixel centres are at integer coordinates (OpenCV's convention)."""
    k = size / side
    a = np.radians(rotation_deg)
    R = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) * k
    if flip:
        R = np.diag([-1.0, 1.0]) @ R
    half = (size - 1) / 2.0
    return np.hstack([R, (np.array([half, half]) - R @ np.asarray(centre, np.float64))[:, None]])


def invert_affine(A: np.ndarray) -> np.ndarray:
    """The ``(2, 3)`` affine undoing ``A`` (crop pixels -> image pixels for a crop affine)."""
    M = np.linalg.inv(A[:, :2])
    return np.hstack([M, -M @ A[:, 2:]])


def apply_affine(A: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """``(..., 2)`` points through a ``(2, 3)`` affine."""
    return np.asarray(uv) @ A[:, :2].T + A[:, 2]


def crop_image(image: np.ndarray, centre: np.ndarray, side: float, size: int, rotation_deg: float = 0.0,
               flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``image`` (H, W, 3) into a ``size`` crop; outside the image is black.  -> (crop, affine)."""
    import cv2
    A = crop_affine(centre, side, size, rotation_deg, flip)
    crop = cv2.warpAffine(image, A, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return crop, A


# ---------------------------------------------------------------- targets ---------------------

def gaussian_heatmaps(uv_crop: np.ndarray, size: int, sigma: float = 1.0, stride: int = 4) -> np.ndarray:
    """``(k, 2)`` crop pixels -> ``(k, size/stride, size/stride)`` unnormalised Gaussians (peak 1),
    ``sigma`` in heatmap pixels, centred exactly (sub-pixel) at the joint."""
    hs = size // stride
    c = (np.asarray(uv_crop, np.float32) + 0.5) / stride - 0.5     # crop px -> heatmap px
    g = np.arange(hs, dtype=np.float32)
    gx = np.exp(-((g[None, :] - c[:, :1]) ** 2) / (2 * sigma ** 2))
    gy = np.exp(-((g[None, :] - c[:, 1:]) ** 2) / (2 * sigma ** 2))
    return gy[:, :, None] * gx[:, None, :]


def depth_target(cam_joints: np.ndarray, focal: float | np.ndarray, size: int, root: int = 0) -> np.ndarray:
    """Camera-frame joints ``(..., k, 3)`` m, crop focal (px) -> root-relative depth in crop units ``(..., k)``."""
    z = np.asarray(cam_joints)[..., 2]
    zr = z[..., root:root + 1]
    return ((z - zr) * np.asarray(focal)[..., None] / (zr * size)).astype(np.float32)


def bone_length_sum(pose: np.ndarray) -> np.ndarray:
    """``(..., 17, 3)`` -> ``(...)`` sum of the 16 H36M-17 bone lengths (same unit as the pose)."""
    return bone_lengths(np.asarray(pose)).sum(-1)


def lift_to_3d(xy_n: np.ndarray, z_n: np.ndarray, bone_sum: float, root: int = 0) -> np.ndarray:
    """Normalised 2D ``(..., k, 2)`` and depths ``(..., k)`` -> root-relative 3D ``(..., k, 3)`` metres.

    Weak perspective: both come in one unit, so the pose is known up to scale; the scale is fixed by
    giving the skeleton a total bone length ``bone_sum`` (metres) — the normalisation Zhou and Dabral
    apply before computing MPJPE.  Camera axes are kept (x right, y down, z forward).
    """
    pose = np.concatenate([np.asarray(xy_n), np.asarray(z_n)[..., None]], -1).astype(np.float64)
    pose = pose - pose[..., root:root + 1, :]
    s = bone_sum / np.maximum(bone_length_sum(pose), 1e-9)
    return (pose * s[..., None, None]).astype(np.float32)


# ---------------------------------------------------------------- decoding --------------------


def decode_heatmaps(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel peaks of ``(..., k, h, w)`` heatmaps -> ``(..., k, 2)`` (x, y) in heatmap pixels, scores.

    Integer argmax, then one Newton step on the log-heatmap from central differences: exact for a
    Gaussian peak (its log is quadratic), unlike Newell's quarter-pixel nudge.  The step is clipped to
    half a pixel so that flat or noisy maps cannot jump to a neighbour's peak.
    """
    hm = np.asarray(heatmaps, dtype=np.float64)
    *lead, k, h, w = hm.shape
    flat = hm.reshape(-1, k, h * w)
    idx = flat.argmax(-1)
    scores = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
    y, x = np.divmod(idx, w)
    logm = np.log(np.maximum(hm.reshape(-1, k, h, w), 1e-10))
    xm, xp = np.clip(x - 1, 0, w - 1), np.clip(x + 1, 0, w - 1)
    ym, yp = np.clip(y - 1, 0, h - 1), np.clip(y + 1, 0, h - 1)
    n, j = np.meshgrid(np.arange(flat.shape[0]), np.arange(k), indexing="ij")

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return logm[n, j, yy, xx]

    c = at(y, x)
    gx, gy = (at(y, xp) - at(y, xm)) / 2, (at(yp, x) - at(ym, x)) / 2
    hxx, hyy = at(y, xp) - 2 * c + at(y, xm), at(yp, x) - 2 * c + at(ym, x)
    hxy = (at(yp, xp) - at(yp, xm) - at(ym, xp) + at(ym, xm)) / 4
    det = hxx * hyy - hxy * hxy
    ok = (det > 1e-12) & (hxx < 0)      # a proper maximum; otherwise keep the integer peak
    safe = np.where(ok, det, 1.0)
    dx = np.where(ok, -(hyy * gx - hxy * gy) / safe, 0.0)
    dy = np.where(ok, -(hxx * gy - hxy * gx) / safe, 0.0)
    interior = (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
    dx, dy = np.where(interior, np.clip(dx, -0.5, 0.5), 0), np.where(interior, np.clip(dy, -0.5, 0.5), 0)
    xy = np.stack([x + dx, y + dy], -1).reshape(*lead, k, 2)
    return xy.astype(np.float32), scores.reshape(*lead, k).astype(np.float32)


def heatmap_to_input(xy_hm: np.ndarray, stride: int = 4) -> np.ndarray:
    """Heatmap pixel coordinates -> input-crop pixel coordinates (pixel centres at integers)."""
    return (np.asarray(xy_hm) + 0.5) * stride - 0.5


def normalise_xy(uv: np.ndarray, size: int) -> np.ndarray:
    """Crop pixels ``(..., 2)`` -> normalised crop units (centre 0, crop side 1)."""
    return (np.asarray(uv, dtype=np.float32) - (size - 1) / 2.0) / size


def place_in_camera(pose: np.ndarray, xy_n: np.ndarray, z_n: np.ndarray, root_px: np.ndarray, side: float,
                    bone_sum: float, focal: float, principal: np.ndarray, root: int = 0) -> np.ndarray:
    """A root-relative pose ``(k, 3)`` m (from :func:`lift_to_3d`) -> the camera frame ``(k, 3)`` m.

    Weak perspective: the network's normalised pose ``(xy_n, z_n)`` has total bone length
    ``bone_sum`` metres, so one normalised unit is ``bone_sum / sum`` metres and spans ``side``
    image pixels; the root's depth is then ``focal * metres_per_unit / side`` and its x, y come from
    back-projecting its pixel ``root_px`` through the principal point ``principal`` (pixels).
    """
    xy_n, z_n = np.asarray(xy_n), np.asarray(z_n)
    n_pose = np.concatenate([xy_n - xy_n[root:root + 1], (z_n - float(z_n[root]))[:, None]], -1)
    metres_per_unit = bone_sum / max(float(bone_length_sum(n_pose)), 1e-9)
    z_root = focal * metres_per_unit / side
    origin = np.append((np.asarray(root_px) - principal) * z_root / focal, z_root)
    return (pose + origin).astype(np.float32)

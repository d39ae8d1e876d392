"""Image datasets for SAP-Net: person crops from boxes, augmentation, heatmap / depth targets.

Sources: rendered real mocap (:mod:`structpose.render`, a STAND-IN for the image datasets, the only
images available here) and annotated photo datasets given as image paths + labels (Human3.6M frames
with mmpose annotations, MPII + JSON, MPI-INF-3DHP frames; their annotation files are parsed by
:mod:`structpose.data.formats`).  Every sample is a crop of side ``S`` with

* ``image`` float ``(3, S, S)`` in [0, 1];  ``heatmaps`` ``(k, S/4, S/4)`` Gaussian targets;
* ``weight`` ``(k,)`` 1 for joints inside the crop;  ``xy`` ``(k, 2)`` normalised crop coordinates;
* ``z`` ``(k,)`` root-relative depth in the same normalised unit (see :mod:`structpose.codec`),
  zeros when ``has3d`` is 0 (a 2D-only sample).

Augmentation (Newell / Zhou): scale 0.75-1.25, rotation +-30 deg (40 % of samples), horizontal flip
with left/right joint swap, colour gain per channel 0.8-1.2.  Depth scales with the crop scale (the
weak-perspective unit does) and is unchanged by in-plane rotation and flips.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..codec import apply_affine, crop_image, depth_target, gaussian_heatmaps
from ..errors import StructposeError
from ..skeleton import H36M17
from .imread import MAX_IMAGE_PIXELS, check_image_header, read_image  # noqa: F401  (re-exported)

FLIP = H36M17.flip_permutation


def load_image(path: str | Path) -> np.ndarray:
    """:func:`read_image` as RGB, the order the SAP-Net datasets use."""
    return cv2.cvtColor(read_image(path), cv2.COLOR_BGR2RGB)


@dataclass
class Augment:
    scale: float = 0.25          # crop side x U(1 - s, 1 + s)
    rotation: float = 30.0       # degrees, applied to ``rotation_p`` of the samples
    rotation_p: float = 0.4
    flip_p: float = 0.5
    colour: float = 0.2          # per-channel gain U(1 - c, 1 + c)

    @classmethod
    def none(cls) -> Augment:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)


def make_sample(image: np.ndarray, uv: np.ndarray, z: np.ndarray | None, centre: np.ndarray, side: float,
                size: int, rng: np.random.Generator, aug: Augment, sigma: float = 1.0) -> dict[str, torch.Tensor]:
    """Crop + augment one annotated image.  ``uv`` (17, 2) image pixels; ``z`` (17,) root-relative
    depth in units of ``side`` (normalised for the *unaugmented* crop) or None for a 2D-only sample."""
    k = rng.uniform(1 - aug.scale, 1 + aug.scale) if aug.scale else 1.0
    rot = rng.uniform(-aug.rotation, aug.rotation) if rng.random() < aug.rotation_p else 0.0
    flip = bool(rng.random() < aug.flip_p)
    crop, A = crop_image(image, centre, side * k, size, rot, flip)
    uv_c = apply_affine(A, uv)
    zz = np.zeros(17, np.float32) if z is None else np.asarray(z, np.float32) / k   # a smaller box zooms in
    if flip:
        uv_c, zz = uv_c[FLIP], zz[FLIP]
    img = crop.astype(np.float32) / 255.0
    if aug.colour:
        img = np.clip(img * rng.uniform(1 - aug.colour, 1 + aug.colour, 3).astype(np.float32), 0, 1)
    inside = ((uv_c >= 0) & (uv_c <= size - 1)).all(-1)
    return {
        "image": torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
        "heatmaps": torch.from_numpy(gaussian_heatmaps(uv_c, size, sigma)),
        "weight": torch.from_numpy(inside.astype(np.float32)),
        "xy": torch.from_numpy(((uv_c - (size - 1) / 2) / size).astype(np.float32)),
        "z": torch.from_numpy(zz),
        "has3d": torch.tensor(0.0 if z is None else 1.0),
    }


# ---------------------------------------------------------------- datasets --------------------

class RenderedImages(Dataset):
    """Crops rendered by :func:`structpose.render.render_dataset` (a STAND-IN for real images).

    ``arrays``: its dict (or an ``.npz`` of it).  ``three_d=False`` drops the depth labels (the
    2D-only half, as MPII in the paper).  Samples are deterministic in ``(seed, epoch, index)``.
    """

    def __init__(self, arrays: dict[str, np.ndarray] | str | Path, three_d: bool, size: int,
                 aug: Augment | None = None, seed: int = 0) -> None:
        if not isinstance(arrays, dict):
            with np.load(arrays) as f:
                arrays = {k: f[k] for k in f.files}
        self.a = arrays
        self.three_d, self.size, self.aug, self.seed = three_d, size, aug or Augment.none(), seed
        self.epoch = 0
        src = arrays["images"].shape[1]
        self.z = depth_target(arrays["joints_cam"], arrays["focal"], src)

    def __len__(self) -> int:
        return len(self.a["images"])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        img = self.a["images"][i]
        src = img.shape[0]
        rng = np.random.default_rng([self.seed, self.epoch, i])
        centre = np.array([(src - 1) / 2] * 2)
        return make_sample(img, self.a["uv"][i], self.z[i] if self.three_d else None, centre, float(src),
                           self.size, rng, self.aug)


class AnnotatedImages(Dataset):
    """Photos on disk with per-sample boxes and labels (H36M / MPII / 3DHP after parsing).

    ``paths`` N image files; ``centres`` (N, 2) and ``sides`` (N,) pixel boxes (mmpose / MPII give a
    centre and ``scale`` x 200 px); ``uv`` (N, 17, 2) image pixels (NaN = unlabelled, weight 0);
    ``cam`` (N, 17, 3) camera-frame metres and ``focal`` (N,) pixels for 3D samples, else None.
    """

    def __init__(self, paths: list[str | Path], centres: np.ndarray, sides: np.ndarray, uv: np.ndarray,
                 size: int, cam: np.ndarray | None = None, focal: np.ndarray | None = None,
                 aug: Augment | None = None, seed: int = 0) -> None:
        n = len(paths)
        for name, arr, shape in (("centres", centres, (n, 2)), ("sides", sides, (n,)), ("uv", uv, (n, 17, 2))):
            if np.shape(arr) != shape:
                raise StructposeError(f"{name} has shape {np.shape(arr)}; expected {shape} for {n} images")
        self.paths, self.centres, self.sides = list(paths), np.asarray(centres), np.asarray(sides)
        self.uv, self.size, self.aug, self.seed, self.epoch = np.asarray(uv), size, aug or Augment.none(), seed, 0
        self.z = None
        self.cam = None if cam is None else np.asarray(cam, np.float32)
        if cam is not None:
            # depth in units of the annotated box side: the box plays the crop's role
            self.z = depth_target(np.asarray(cam), np.asarray(focal), 1) / self.sides[:, None]

    def __len__(self) -> int:
        return len(self.paths)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        img = load_image(self.paths[i])
        rng = np.random.default_rng([self.seed, self.epoch, i])
        uv = self.uv[i]
        known = np.isfinite(uv).all(-1)
        # unlabelled joints are sent far outside the crop, where their weight becomes 0
        return make_sample(img, np.where(known[:, None], uv, -1e6), None if self.z is None else self.z[i],
                           self.centres[i], float(self.sides[i]), self.size, rng, self.aug)


def focal_from_correspondences(uv: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """Per-sample focal length (px) from 2D labels ``(N, 17, 2)`` and camera-frame 3D ``(N, 17, 3)``:
    least squares of ``u = f x/z + cx``, ``v = f y/z + cy`` over the labelled joints (one f per sample).
    Datasets whose annotation files carry no intrinsics (3DHP's annot.mat) still get exact depth units."""
    uv, cam = np.asarray(uv, np.float64), np.asarray(cam, np.float64)
    n = len(uv)
    out = np.full(n, np.nan)
    for i in range(n):
        ok = np.isfinite(uv[i]).all(-1) & np.isfinite(cam[i]).all(-1) & (cam[i, :, 2] > 1e-6)
        if ok.sum() < 3:
            continue
        x = cam[i, ok, :2] / cam[i, ok, 2:]
        m = int(ok.sum())
        A = np.zeros((2 * m, 3))
        A[:m, 0], A[m:, 0] = x[:, 0], x[:, 1]
        A[:m, 1], A[m:, 2] = 1, 1
        b = np.concatenate([uv[i, ok, 0], uv[i, ok, 1]])
        out[i] = np.linalg.lstsq(A, b, rcond=None)[0][0]
    return out


def annotated_images(annotations: str | Path, image_root: str | Path, size: int, three_d: bool,
                     fmt: str | None = None, box_margin: float = 1.25, aug: Augment | None = None,
                     seed: int = 0) -> AnnotatedImages:
    """A photo dataset from its annotation file, parsed by :mod:`structpose.data.formats`
    (mmpose ``h36m_*.npz``, MPII JSON, MPI-INF-3DHP ``annot.mat`` / ``annot_data.mat``).

    Crops: a square of ``box_margin`` x ``200 * scale`` px around the annotated centre (MPII's /
    mmpose's convention).  ``three_d`` uses the 3D labels (H36M, 3DHP); the 2D-only role (MPII) sets it
    False.  Images are read lazily from ``image_root / name``.
    """
    from .formats import load_image_annotations
    ann = load_image_annotations(annotations, fmt)
    root = Path(image_root)
    if not root.is_dir():
        raise StructposeError(f"image folder {root} not found (the annotation file names images relative to it)")
    cam = focal = None
    if three_d:
        if ann.joints_3d is None:
            raise StructposeError(f"{annotations} ({ann.dataset}) has no 3D labels; use it as a 2D-only set")
        cam = ann.joints_3d
        focal = focal_from_correspondences(ann.joints_2d, cam)
        if not np.isfinite(focal).all():
            raise StructposeError(f"{annotations}: {int((~np.isfinite(focal)).sum())} samples have fewer than 3 "
                                  "joints labelled in both 2D and 3D; drop them")
    return AnnotatedImages([root / str(n) for n in ann.images], ann.center, ann.scale * 200 * box_margin,
                           ann.joints_2d, size, cam, focal, aug, seed)

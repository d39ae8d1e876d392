"""VideoPose3D (Pavllo et al. 2019) dataset files.

``data_3d_h36m.npz``
    ``positions_3d`` = pickled dict ``{subject: {action: float32 (T, 32, 3)}}``, metres, Human3.6M
    world frame, which is **Z up** (x, y on the floor).  The 17 H36M-17 joints are the raw indices
    :data:`H36M32_TO_17` = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27], already in
    structpose's H36M-17 order (pelvis, right leg, left leg, spine, thorax, neck/nose, head top, left
    arm, right arm).  Human3.6M is captured at 50 fps; the file does not say, so :data:`H36M_FPS`.
``data_2d_h36m_<detector>.npz``
    ``positions_2d`` = ``{subject: {action: [4 arrays (T, 17, C)]}}`` pixels, one per camera in
    :data:`H36M_CAMERAS` order; ``metadata`` = ``{layout_name, num_joints, keypoints_symmetry}``.
    Custom videos (VideoPose3D's ``prepare_data_2d_custom.py``): ``positions_2d[video]['custom'] =
    [(T, 17, C)]`` in COCO-17 order (``layout_name`` 'coco') and ``metadata['video_metadata'][video]
    = {'w': W, 'h': H}``.  ``C`` is 2 (x, y: every joint seen), 3 (x, y, confidence) or 4
    (Detectron's x, y, logit, probability: the probability is used).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import StructposeError
from ...skeleton import COCO17, H36M17, conversion_matrix
from ..keypoints import Keypoints2D, map_to_h36m
from ._common import Motion3D, as_float_array, bad, check_file, image_size, read_npz, reading, require_dict

H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
H36M_CAMERAS = ("54138969", "55011271", "58860488", "60457274")
H36M_IMAGE_SIZES = {"54138969": (1000, 1002), "55011271": (1000, 1000),
                    "58860488": (1000, 1000), "60457274": (1000, 1002)}
H36M_FPS = 50.0

_EXPECT_3D = "VideoPose3D data_3d_h36m.npz: positions_3d = {subject: {action: (T, 32, 3)}}"
_EXPECT_2D = "VideoPose3D data_2d_*.npz: positions_2d = {subject: {action: [(T, 17, 2|3|4), ...]}} + metadata"


def load_3d(path: str | Path) -> list[Motion3D]:
    """Every (subject, action) of a ``data_3d_h36m.npz`` as world-frame (Z up) H36M-17 metres."""
    path = check_file(path, "a VideoPose3D data_3d_*.npz")
    out: list[Motion3D] = []
    with reading(path, "VideoPose3D 3D", _EXPECT_3D):
        z = read_npz(path)
        if "positions_3d" not in z:
            raise bad(f"no 'positions_3d' member (members: {', '.join(sorted(z)) or 'none'})")
        subjects = require_dict(z["positions_3d"], "positions_3d")
        fps = _fps_of(z.get("fps"), H36M_FPS)      # structpose's exports record it; H36M files do not
        for subject in sorted(subjects, key=str):
            actions = require_dict(subjects[subject], f"positions_3d[{subject!r}]")
            for action in sorted(actions, key=str):
                where = f"positions_3d[{subject!r}][{action!r}]"
                arr = as_float_array(actions[action], where, (3,))
                if arr.ndim != 3 or arr.shape[1] not in (32, 17) or arr.shape[0] == 0:
                    raise bad(f"{where} has shape {arr.shape}; expected (T>0, 32, 3) or (T>0, 17, 3)")
                if np.isnan(arr).any():
                    raise bad(f"{where} holds NaN; Human3.6M poses are complete")
                poses = arr[:, list(H36M32_TO_17)] if arr.shape[1] == 32 else arr
                out.append(Motion3D(
                    name=f"{subject}/{action}", subject=str(subject), action=str(action),
                    poses=poses.astype(np.float32), frame="world", up_axis="+z", fps=fps,
                    meta={"source": "vp3d_3d", "joints_in_file": int(arr.shape[1])}))
    if not out:
        raise_empty(path, "positions_3d")
    return out


def raise_empty(path: Path, key: str) -> None:
    raise StructposeError(f"{path}: {key} holds no sequences; expected at least one subject and action")


def _layout_of(meta: dict, path: Path) -> str:
    name = str(meta.get("layout_name", "h36m")).lower()
    if name in ("h36m", "h36m17"):
        return H36M17.name
    if name in ("coco", "coco17"):
        return COCO17.name
    raise bad(f"metadata layout_name is {name!r}; supported: 'h36m', 'coco'")


def _to_keypoints(arr: np.ndarray, layout: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    if arr.ndim != 3 or arr.shape[1] != 17 or arr.shape[2] not in (2, 3, 4) or arr.shape[0] == 0:
        raise bad(f"{where} has shape {arr.shape}; expected (T>0, 17, 2), (T, 17, 3) or (T, 17, 4)")
    if np.isnan(arr).any():
        raise bad(f"{where} holds NaN; detectors write a low confidence, not NaN")
    xy = arr[..., :2]
    scores = np.ones(arr.shape[:2]) if arr.shape[2] == 2 else arr[..., -1]
    if arr.shape[2] > 2 and ((scores < 0) | (scores > 1)).any():
        raise bad(f"{where} has confidences outside [0, 1] in its last channel")
    return map_to_h36m(xy, scores, conversion_matrix(layout, H36M17.name))


def _fps_of(value: object, default: float | None) -> float | None:
    """A frame rate recorded by structpose's VideoPose3D export (``fps``), else ``default``."""
    try:
        fps = float(np.asarray(value)) if value is not None else None
    except (TypeError, ValueError):
        fps = None
    return fps if fps is not None and np.isfinite(fps) and fps > 0 else default


def load_2d(path: str | Path) -> list[Keypoints2D]:
    """Every sequence of a ``data_2d_*.npz``: one :class:`Keypoints2D` per (subject, action, camera)
    named ``subject/action/camera`` (camera = the H36M camera id, or ``custom``)."""
    path = check_file(path, "a VideoPose3D data_2d_*.npz")
    out: list[Keypoints2D] = []
    with reading(path, "VideoPose3D 2D", _EXPECT_2D):
        z = read_npz(path)
        if "positions_2d" not in z:
            raise bad(f"no 'positions_2d' member (members: {', '.join(sorted(z)) or 'none'})")
        meta = require_dict(z["metadata"], "metadata") if "metadata" in z else {}
        layout = _layout_of(meta, path)
        video_meta = meta.get("video_metadata", {}) or {}
        if not isinstance(video_meta, dict):
            raise bad("metadata['video_metadata'] is not a dict of {video: {'w', 'h'}}")
        subjects = require_dict(z["positions_2d"], "positions_2d")
        for subject in sorted(subjects, key=str):
            actions = require_dict(subjects[subject], f"positions_2d[{subject!r}]")
            for action in sorted(actions, key=str):
                cams = actions[action]
                if isinstance(cams, np.ndarray) and cams.dtype != object:
                    cams = [cams] if cams.ndim == 3 else list(cams)
                if not isinstance(cams, (list, tuple, np.ndarray)) or len(cams) == 0:
                    raise bad(f"positions_2d[{subject!r}][{action!r}] is not a non-empty list of arrays")
                custom = str(action) == "custom"
                for k, cam_arr in enumerate(cams):
                    cam = "custom" if custom else (H36M_CAMERAS[k] if k < 4 else str(k))
                    where = f"positions_2d[{subject!r}][{action!r}][{k}]"
                    xy, scores = _to_keypoints(as_float_array(cam_arr, where), layout, where)
                    size = _image_size(video_meta.get(subject), where) if custom else H36M_IMAGE_SIZES.get(cam)
                    out.append(Keypoints2D(
                        xy=xy, scores=scores, image_size=size, fps=_fps_of(meta.get("fps"), None) if custom else H36M_FPS,
                        name=f"{subject}/{action}/{cam}" if not custom or len(cams) > 1 else f"{subject}/custom",
                        meta={"source": "vp3d_2d", "subject": str(subject), "action": str(action),
                              "camera": cam, "layout_in_file": layout}))
    if not out:
        raise_empty(path, "positions_2d")
    return out


def _image_size(entry: object, where: str) -> tuple[int, int] | None:
    if entry is None:
        return None
    if not isinstance(entry, dict) or "w" not in entry or "h" not in entry:
        raise bad(f"video_metadata for {where} is not {{'w': W, 'h': H}}")
    return image_size(entry["w"], entry["h"], f"video_metadata for {where}")

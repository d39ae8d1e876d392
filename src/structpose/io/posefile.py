"""The pose file: one ``.npz`` sequence format that every structpose command reads and writes.

Keys
----
``poses_3d``   float32 (T, 17, 3), metres, H36M-17, camera frame (x right, y down, z forward)
``layout``     "h36m17"
``fps``        float, frames per second, 0.1 .. 10000
optional: ``poses_2d`` float32 (T, 17, 2) pixels (|value| <= 1e6), ``scores`` float32 (T, 17) in [0, 1],
``image_size`` int (2,) = (width, height), both > 0, ``valid`` bool (T,) (False where no person was found;
those frames hold NaN in ``poses_3d``), ``meta`` a JSON string holding an object (source, subject, ...).

World-frame keys (all optional; files without them load as before, see ``docs/world.md``):
``poses_world``        float32 (T, 17, 3), metres, world frame: Y up, floor at y = 0, right-handed, +Z the
                       facing direction of the first valid frame projected on the floor, X = Y x Z. Includes the
                       root translation (the path is ``poses_world[:, 0]``); NaN where ``valid`` is False.
``contacts``           float32 (T, 2) in [0, 1]: foot-contact probability, columns (right foot, left foot) =
                       H36M joints 3 and 6; NaN where ``valid`` is False.
``floor``              float32 (4,): the floor plane in the camera frame, ``n . x + d = 0`` with unit ``n``
                       pointing up (against gravity) and ``d`` in metres (camera points are scaled first, below).
``world_from_camera``  float32 (4, 4): the rigid transform taking camera-frame points, after multiplying them by
                       ``meta["world"]["scale"]``, to the world frame: ``x_w = R (s x_c) + t``.
``meta["world"]``      {"status": "ok" | "fallback: <reason>", "height_m", "scale", "floor_rms_m",
                       "contact_threshold"} (JSON values).
"""
from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StructposeError, check_fps
from ..skeleton import H36M17
from .atomic import atomic_path

WORLD_KEYS = ("poses_world", "contacts", "floor", "world_from_camera")


@dataclass
class PoseSequence:
    poses_3d: np.ndarray
    fps: float
    layout: str = "h36m17"
    poses_2d: np.ndarray | None = None
    scores: np.ndarray | None = None
    image_size: tuple[int, int] | None = None
    valid: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    poses_world: np.ndarray | None = None
    contacts: np.ndarray | None = None
    floor: np.ndarray | None = None
    world_from_camera: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.poses_3d = _numeric(self.poses_3d, "poses_3d")
        T = self.validate()
        if self.valid is None:
            self.valid = np.isfinite(self.poses_3d).all(axis=(1, 2))
        self.valid = np.asarray(self.valid, dtype=bool)
        if self.valid.shape != (T,):
            raise StructposeError(f"valid has shape {self.valid.shape}; expected ({T},), one flag per frame")

    def validate(self) -> int:
        if self.layout != H36M17.name:
            raise StructposeError(f"pose file layout is {self.layout!r}; structpose pose files use 'h36m17' "
                                  "(convert with `structpose data convert`)")
        p = self.poses_3d
        if p.ndim != 3 or p.shape[1:] != (17, 3):
            raise StructposeError(f"poses_3d has shape {p.shape}; expected (T, 17, 3) in H36M-17 order")
        T = p.shape[0]
        if T == 0:
            raise StructposeError("pose file holds 0 frames; expected at least 1")
        check_fps(self.fps, "fps")
        if np.isinf(p).any():
            raise StructposeError("poses_3d contains inf values; mark missing frames with NaN and valid=False")
        for key, shape in (("poses_2d", (T, 17, 2)), ("scores", (T, 17))):
            v = getattr(self, key)
            if v is not None:
                v = _numeric(v, key)
                setattr(self, key, v)
                if v.shape != shape:
                    raise StructposeError(f"{key} has shape {v.shape}; expected {shape}")
        if self.image_size is not None:
            s = self.image_size
            ok = isinstance(s, (tuple, list)) and len(s) == 2 and all(
                isinstance(v, (int, np.integer)) and 0 < int(v) <= 1_000_000 for v in s)
            if not ok:
                raise StructposeError(f"image_size is {s!r}; expected (width, height) in pixels, two positive "
                                      "integers")
            self.image_size = (int(s[0]), int(s[1]))
        self._validate_world(T)
        return T

    def _validate_world(self, T: int) -> None:
        for key, shape in (("poses_world", (T, 17, 3)), ("contacts", (T, 2)), ("floor", (4,)),
                           ("world_from_camera", (4, 4))):
            v = getattr(self, key)
            if v is None:
                continue
            try:
                v = np.asarray(v, dtype=np.float32)
            except (TypeError, ValueError):
                raise StructposeError(f"{key} is not numeric; expected float32 {shape}") from None
            setattr(self, key, v)
            if v.shape != shape:
                raise StructposeError(f"{key} has shape {v.shape}; expected {shape}")
            if np.isinf(v).any() or (key in ("floor", "world_from_camera") and not np.isfinite(v).all()):
                raise StructposeError(f"{key} holds non-finite values; expected finite numbers "
                                      "(NaN only in frames marked invalid)")
        c = self.contacts
        if c is not None and ((c < 0) | (c > 1)).any():
            raise StructposeError("contacts lie outside [0, 1]; expected a probability per foot and frame")
        if self.floor is not None and abs(float(np.linalg.norm(self.floor[:3])) - 1) > 1e-3:
            raise StructposeError("floor normal is not unit length; expected (n, d) with |n| = 1")
        M = self.world_from_camera
        if M is not None:
            R = M[:3, :3].astype(np.float64)
            if (np.abs(R @ R.T - np.eye(3)).max() > 1e-3 or np.linalg.det(R) < 0
                    or np.abs(M[3] - [0, 0, 0, 1]).max() > 1e-6):
                raise StructposeError("world_from_camera is not a rigid transform; expected [[R, t], [0, 0, 0, 1]] "
                                      "with R a rotation")

    @property
    def num_frames(self) -> int:
        return int(self.poses_3d.shape[0])


def _numeric(v: Any, key: str) -> np.ndarray:
    """``v`` as float32, refusing strings, objects and booleans in one line."""
    a = np.asarray(v)
    if a.dtype.kind not in "fiu":
        raise StructposeError(f"{key} holds {a.dtype} values; expected numbers (float32)")
    return a.astype(np.float32)


def save_pose_file(path: str | Path, seq: PoseSequence) -> Path:
    """Write ``seq`` to ``path`` atomically (``.npz`` is appended if missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
    seq.validate()
    arrays: dict[str, Any] = {
        "poses_3d": seq.poses_3d.astype(np.float32), "layout": np.array(seq.layout),
        "fps": np.array(float(seq.fps)), "valid": np.asarray(seq.valid, bool),
        "meta": np.array(json.dumps(seq.meta)),
    }
    if seq.poses_2d is not None:
        arrays["poses_2d"] = np.asarray(seq.poses_2d, np.float32)
    if seq.scores is not None:
        arrays["scores"] = np.asarray(seq.scores, np.float32)
    if seq.image_size is not None:
        arrays["image_size"] = np.asarray(seq.image_size, np.int32)
    for key in WORLD_KEYS:
        if getattr(seq, key) is not None:
            arrays[key] = np.asarray(getattr(seq, key), np.float32)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


#: largest |pixel coordinate| accepted from a pose file (a keypoint 1e30 px away is not a keypoint)
MAX_PIXELS = 1e6


def load_pose_file(path: str | Path, fps: float | None = None) -> PoseSequence:
    """Read and validate a pose file; any problem is one :class:`StructposeError` line.

    ``fps``: the frame rate to use instead of the file's (required when the file has none).
    """
    path = Path(path)
    if path.is_dir():
        raise StructposeError(f"{path} is a folder; expected a structpose pose file (.npz)")
    if not path.is_file():
        raise StructposeError(f"{path}: no such file; expected a structpose pose file (.npz)")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, KeyError) as e:
        raise StructposeError(f"{path}: not a readable .npz pose file ({type(e).__name__})") from None
    missing = [k for k in ("poses_3d", "fps") if k not in data and not (k == "fps" and fps is not None)]
    if missing:
        raise StructposeError(f"{path}: pose file lacks {', '.join(missing)}; keys present: "
                              f"{', '.join(sorted(data)) or 'none'} (need poses_3d (T,17,3) and fps"
                              f"{'; `structpose refine --fps` supplies a missing frame rate' if missing == ['fps'] else ''})")
    try:
        fps = float(data["fps"] if fps is None else fps)
        meta = json.loads(str(data["meta"])) if "meta" in data else {}
    except (TypeError, ValueError) as e:
        raise StructposeError(f"{path}: pose file has a mistyped field ({e})") from None
    if not isinstance(meta, dict):
        raise StructposeError(f"{path}: meta holds a JSON {type(meta).__name__}; expected a JSON object "
                              "({\"key\": value, ...})")
    poses = data["poses_3d"]
    image_size = None
    if "image_size" in data:
        s = data["image_size"]
        if s.dtype.kind not in "iu" or s.shape != (2,):
            raise StructposeError(f"{path}: image_size is {s.tolist()!r}; expected two integers (width, height)")
        image_size = (int(s[0]), int(s[1]))
    sc = data.get("scores")
    if sc is not None and sc.dtype.kind in "fiu":
        fin = sc[np.isfinite(sc)]
        if fin.size and (fin.min() < 0 or fin.max() > 1):
            raise StructposeError(f"{path}: scores range {float(fin.min()):g}..{float(fin.max()):g}; expected "
                                  "confidences in 0..1")
    p2 = data.get("poses_2d")
    if p2 is not None and p2.dtype.kind in "fiu":
        fin = np.abs(p2[np.isfinite(p2)])
        if fin.size and fin.max() > MAX_PIXELS:
            raise StructposeError(f"{path}: poses_2d holds a coordinate of {float(fin.max()):.3g} px; pixel "
                                  f"coordinates beyond +-{MAX_PIXELS:.0e} are refused")
    try:
        return PoseSequence(
            poses_3d=poses, fps=fps, layout=str(data.get("layout", "h36m17")),
            poses_2d=data.get("poses_2d"), scores=data.get("scores"), image_size=image_size,
            valid=data.get("valid"), meta=meta, **{k: data.get(k) for k in WORLD_KEYS})
    except StructposeError as e:
        raise StructposeError(f"{path}: {e}") from None

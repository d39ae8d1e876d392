"""The pose file: one ``.npz`` sequence format that every structpose command reads and writes.

Keys
----
``poses_3d``   float32 (T, 17, 3), metres, H36M-17, camera frame (x right, y down, z forward)
``layout``     "h36m17"
``fps``        float, frames per second
optional: ``poses_2d`` float32 (T, 17, 2) pixels, ``scores`` float32 (T, 17) in [0, 1],
``image_size`` int (2,) = (width, height), ``valid`` bool (T,) (False where no person was found;
those frames hold NaN in ``poses_3d``), ``meta`` a JSON string (source, subject, action, ...).
"""
from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StructposeError
from ..skeleton import H36M17
from .atomic import atomic_path


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

    def __post_init__(self) -> None:
        self.poses_3d = np.asarray(self.poses_3d, dtype=np.float32)
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
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise StructposeError(f"fps is {self.fps}; expected a positive frame rate")
        if np.isinf(p).any():
            raise StructposeError("poses_3d contains inf values; mark missing frames with NaN and valid=False")
        for key, shape in (("poses_2d", (T, 17, 2)), ("scores", (T, 17))):
            v = getattr(self, key)
            if v is not None:
                v = np.asarray(v, dtype=np.float32)
                setattr(self, key, v)
                if v.shape != shape:
                    raise StructposeError(f"{key} has shape {v.shape}; expected {shape}")
        return T

    @property
    def num_frames(self) -> int:
        return int(self.poses_3d.shape[0])


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
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def load_pose_file(path: str | Path) -> PoseSequence:
    """Read and validate a pose file; any problem is one :class:`StructposeError` line."""
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
    missing = [k for k in ("poses_3d", "fps") if k not in data]
    if missing:
        raise StructposeError(f"{path}: pose file lacks {', '.join(missing)}; keys present: "
                              f"{', '.join(sorted(data)) or 'none'} (need poses_3d (T,17,3) and fps)")
    try:
        fps = float(data["fps"])
        meta = json.loads(str(data["meta"])) if "meta" in data else {}
        poses = np.asarray(data["poses_3d"], dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise StructposeError(f"{path}: pose file has a mistyped field ({e})") from None
    image_size = tuple(int(v) for v in data["image_size"]) if "image_size" in data else None
    try:
        return PoseSequence(
            poses_3d=poses, fps=fps, layout=str(data.get("layout", "h36m17")),
            poses_2d=data.get("poses_2d"), scores=data.get("scores"), image_size=image_size,
            valid=data.get("valid"), meta=meta)
    except StructposeError as e:
        raise StructposeError(f"{path}: {e}") from None

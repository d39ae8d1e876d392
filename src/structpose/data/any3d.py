"""Any 3D input as camera-frame H36M-17 poses: pose files, BVH, DeepMimic motion files, holosoma arrays,
the field's 3D dataset files and source clip names (what ``structpose data show`` draws).  World-frame
motion is seen by a front camera (:func:`structpose.cameras.front_camera`)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import StructposeError


def _from_motion3d(path: Path, index: int) -> tuple[np.ndarray, float | None, str]:
    from ..cameras import Z_UP_TO_Y_UP, front_camera
    from .formats import FORMATS, detect_format, load_motion_3d
    fmt = detect_format(path)
    if not FORMATS[fmt].has_3d:
        raise StructposeError(f"{path}: {fmt} holds only 2D keypoints; nothing 3D to draw "
                              "(convert it and run `structpose lift` first)")
    items = load_motion_3d(path, fmt)
    if not items:
        raise StructposeError(f"{path}: holds no sequences")
    if not 0 <= index < len(items):
        raise StructposeError(f"--sequence {index} is out of range; {path} holds {len(items)} sequences (0.."
                              f"{len(items) - 1})")
    m = items[index]
    poses = np.asarray(m.poses, dtype=float)
    if m.frame != "camera":
        if m.camera is not None:
            poses = m.camera.world_to_camera(poses)
        else:
            up = (m.up_axis or "+y").lower()
            if up not in ("+y", "y", "+z", "z"):
                raise StructposeError(f"{path}: world frame with up axis {m.up_axis!r}; cannot draw it")
            world = poses @ Z_UP_TO_Y_UP.T if "z" in up else poses
            ok = np.isfinite(world).all(axis=(1, 2))
            if not ok.any():
                raise StructposeError(f"{path}: sequence {m.name} has no finite pose to draw")
            poses = front_camera(world[ok]).world_to_camera(world)
    return poses, m.fps, f"{path.name}: {m.name} ({fmt})"


def _holosoma_npy(path: Path) -> tuple[np.ndarray, float | None, str]:
    from ..cameras import front_camera
    from . import holosoma
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise StructposeError(f"{path}: not a readable .npy array ({type(e).__name__})") from None
    if arr.ndim != 3 or arr.shape[1:] != (53, 3) or arr.shape[0] == 0 or not np.isfinite(arr).all():
        raise StructposeError(f"{path}: array of shape {arr.shape}; expected finite holosoma joints (T, 53, 3)")
    world = holosoma.to_h36m(arr)
    return front_camera(world).world_to_camera(world), holosoma.FPS, f"{path.name} (holosoma, 120 fps)"


def load_any_3d(text: str, sequence: int = 0) -> tuple[np.ndarray, float | None, str]:
    """``(T, 17, 3)`` camera-frame poses (metres), fps and a label for anything ``data show`` accepts:
    a pose file, a .bvh, a DeepMimic .txt, a holosoma .npy, any 3D dataset file, or a source clip name."""
    path = Path(text)
    if not path.exists():
        if re.fullmatch(r"[a-z_]+/[\w\-/]+", text):
            from .sources import KNOWN_SOURCES, load_clips
            source = text.split("/")[0]
            if source in KNOWN_SOURCES:
                clips = {c.name: c for c in load_clips(source)}
                if text not in clips:
                    raise StructposeError(f"no clip {text!r}; {source} clips: {', '.join(clips)}")
                c = clips[text]
                return c.in_camera(), c.fps, f"{c.name} ({c.fps:g} fps, front camera)"
        raise StructposeError(f"{text}: no such file, and not a source clip name (e.g. deepmimic/walk)")
    if path.is_file() and path.suffix.lower() == ".bvh":
        from .bvh import load_bvh_with_info
        clip, info = load_bvh_with_info(path)
        syn = f", synthesised {', '.join(info['synthesised'])}" if info["synthesised"] else ""
        return clip.in_camera(), clip.fps, (f"{path.name} ({clip.fps:g} fps, units {info['units']}, "
                                            f"up {info['up_axis']}{syn}, front camera)")
    if path.is_file() and path.suffix.lower() == ".txt":
        from .deepmimic import load_clip
        c = load_clip(path)
        return c.in_camera(), c.fps, f"{path.name} (DeepMimic, {c.fps:g} fps, front camera)"
    if path.is_file() and path.suffix.lower() == ".npy":
        return _holosoma_npy(path)
    if path.is_file() and path.suffix.lower() == ".npz":
        from ..io.posefile import load_pose_file
        try:
            seq = load_pose_file(path)
        except StructposeError:
            seq = None
        if seq is not None:
            if not np.isfinite(seq.poses_3d).any():
                raise StructposeError(f"{path}: pose file has no 3D poses (2D only?); run `structpose lift` first")
            return seq.poses_3d, seq.fps, f"{path.name} ({seq.fps:g} fps)"
    return _from_motion3d(path, sequence)

"""Climbing mocap of ``holosoma-retargeting==0.1.0``, read straight from its wheel (never installed).

The wheel holds five sequences ``demo_data/climb/mocap_climb_seq_{0..4}/*_joint_positions_f*.npy``:
float32 ``(T, 53, 3)`` joint positions, metres, world frame with **Z up**, joint names
``MOCAP_DEMO_JOINTS`` (``holosoma_retargeting/config_types/data_type.py``).

Frame rate: 120 Hz.  The file does not store it; the evidence is (1) the package's own code feeds
these files to its 30 fps pipeline after ``[::4]`` (``evaluation/eval_retargeting.py``:
``np.load(npy_file)[::4]``), and (2) at 120 Hz the motion has human speeds: the pelvis's 99th
percentile speed is 0.9-1.4 m/s and the wrists' 1.3-2.1 m/s per sequence, and the median pelvis
speed 0.2-0.4 m/s (slow, careful climbing); read as 30 Hz the same files would mean 4x those speeds.  ``tests/test_data_holosoma.py`` checks (2).

Mapping to H36M-17:

============  ==============================================================
H36M-17       holosoma MOCAP_DEMO_JOINTS
============  ==============================================================
pelvis        Hips (at hip-joint height, between the UpLegs)
r/l_hip       RightUpLeg / LeftUpLeg
r/l_knee      RightLeg / LeftLeg
r/l_ankle     RightFoot / LeftFoot
spine         Spine1 (mid-torso, ~0.33 m above Hips; Spine is only 8 cm above Hips)
thorax        Neck (base of the neck, shoulder height)
neck_nose     Head (the head joint at the top of the neck, ~0.14 m above Neck)
head_top      synthesised: Head + (Head - Neck), i.e. the neck segment continued once more
              (skull is about as tall above the head joint as the neck is long; gives
              standing heights of ~1.7 m for this 1.78 m-tall performer's joint set)
r/l_shoulder  RightArm / LeftArm (glenohumeral joint; *Shoulder is the clavicle)
r/l_elbow     RightForeArm / LeftForeArm
r/l_wrist     RightHand / LeftHand
============  ==============================================================

Y-up conversion: ``(x, y, z)_Zup -> (x, z, -y)``, a proper rotation (det +1) about x, so the
person's handedness is kept.  Left/right labels are the performer's own: forward (heel -> toe)
x up = left hip -> right hip on every frame (``tests/test_data_holosoma.py``).
"""
from __future__ import annotations

import io
import re
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..cameras import Z_UP_TO_Y_UP
from ..errors import StructposeError
from ..io.datafolder import data_folder
from ..skeleton import H36M17
from .clip import Clip
from .resample import segment_clip

WHEEL_NAME = "holosoma_retargeting-0.1.0-py3-none-any.whl"
FPS = 120.0
INSTALL_HINT = ("run `make setup` (or `pip download --no-deps holosoma-retargeting==0.1.0 -d "
                "~/.cache/structpose`; set STRUCTPOSE_DATA to use another folder)")

MOCAP_DEMO_JOINTS: tuple[str, ...] = (
    "Hips", "Spine", "Spine1", "Neck", "Head",
    "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand",
    *(f"LeftHand{f}{i}" for f in ("Thumb", "Index", "Middle", "Ring", "Pinky") for i in (1, 2, 3)),
    "RightShoulder", "RightArm", "RightForeArm", "RightHand",
    *(f"RightHand{f}{i}" for f in ("Thumb", "Index", "Middle", "Ring", "Pinky") for i in (1, 2, 3)),
    "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase",
    "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase",
    "LeftFootMod", "RightFootMod",
)

#: H36M-17 joint -> holosoma joint (head_top is synthesised, see the module docstring)
TO_H36M: dict[str, str] = {
    "pelvis": "Hips", "r_hip": "RightUpLeg", "r_knee": "RightLeg", "r_ankle": "RightFoot",
    "l_hip": "LeftUpLeg", "l_knee": "LeftLeg", "l_ankle": "LeftFoot",
    "spine": "Spine1", "thorax": "Neck", "neck_nose": "Head",
    "l_shoulder": "LeftArm", "l_elbow": "LeftForeArm", "l_wrist": "LeftHand",
    "r_shoulder": "RightArm", "r_elbow": "RightForeArm", "r_wrist": "RightHand",
}


_MEMBER = re.compile(r"demo_data/climb/mocap_climb_seq_(\d+)/[^/]*_joint_positions_f(\d+)-(\d+)\.npy$")


def data_dir() -> Path:
    """Folder holding the wheel: ``$STRUCTPOSE_DATA`` or ``~/.cache/structpose``."""
    return data_folder()


def wheel_path() -> Path | None:
    """The wheel if present, else ``None``."""
    p = data_dir() / WHEEL_NAME
    return p if p.is_file() else None


def require_wheel() -> Path:
    p = wheel_path()
    if p is None:
        raise StructposeError(f"holosoma climbing mocap not found ({data_dir() / WHEEL_NAME}); {INSTALL_HINT}")
    return p


def to_h36m(joints53: np.ndarray) -> np.ndarray:
    """``(..., 53, 3)`` holosoma joints, Z up -> ``(..., 17, 3)`` H36M-17, Y up, metres (float64)."""
    joints53 = np.asarray(joints53, dtype=float)
    if joints53.shape[-2:] != (53, 3):
        raise StructposeError(f"holosoma joints have shape {joints53.shape}; expected (..., 53, 3)")
    src = {n: i for i, n in enumerate(MOCAP_DEMO_JOINTS)}
    out = np.empty(joints53.shape[:-2] + (17, 3))
    for dst, name in TO_H36M.items():
        out[..., H36M17.index(dst), :] = joints53[..., src[name], :]
    head, neck = joints53[..., src["Head"], :], joints53[..., src["Neck"], :]
    out[..., H36M17.index("head_top"), :] = 2.0 * head - neck
    return out @ Z_UP_TO_Y_UP.T


def _members(zf: zipfile.ZipFile) -> list[tuple[int, str, tuple[int, int]]]:
    found = []
    for name in zf.namelist():
        m = _MEMBER.search(name)
        if m:
            found.append((int(m.group(1)), name, (int(m.group(2)), int(m.group(3)))))
    return sorted(found)


@lru_cache(maxsize=1)
def _load_raw(path: str, mtime: float) -> tuple[tuple[str, np.ndarray, tuple[int, int]], ...]:
    try:
        with zipfile.ZipFile(path) as zf:
            members = _members(zf)
            out = []
            for seq, member, frames in members:
                arr = np.load(io.BytesIO(zf.read(member)), allow_pickle=False)
                out.append((f"climb_seq_{seq}", arr, frames))
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as e:
        raise StructposeError(f"{path}: not a readable holosoma-retargeting wheel ({type(e).__name__}); "
                              f"delete it and {INSTALL_HINT}") from None
    if not out:
        raise StructposeError(f"{path}: holds no climbing mocap (demo_data/climb/*.npy); {INSTALL_HINT}")
    return tuple(out)


def load_all(segment_seconds: float | None = None) -> list[Clip]:
    """The five climbing sequences as H36M-17 :class:`Clip` s at 120 fps, Y up, metres.

    ``segment_seconds`` cuts each sequence into consecutive named pieces
    (``holosoma/climb_seq_0/part00`` ...; the last piece keeps the remainder if it is at least half
    a segment long, otherwise it is merged into the previous one).  Splits still go by the source
    sequence: :func:`structpose.data.splits.split_of` reads the sequence from the name.
    """
    p = require_wheel()
    clips = []
    for name, arr, _frames in _load_raw(str(p), p.stat().st_mtime):
        if arr.ndim != 3 or arr.shape[1:] != (53, 3) or arr.shape[0] == 0 or not np.isfinite(arr).all():
            raise StructposeError(f"{p}: {name} has shape {arr.shape} or non-finite values; expected "
                                  f"finite (T, 53, 3); {INSTALL_HINT}")
        world = to_h36m(arr)
        clips.extend(segment_clip(Clip(f"holosoma/{name}", "holosoma", world, FPS), segment_seconds))
    return clips

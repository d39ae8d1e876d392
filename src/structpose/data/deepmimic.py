"""DeepMimic mocap clips shipped in ``pybullet_data`` (``data/motions/humanoid3d_*.txt``, ``walker/*.txt``).

Each frame is 44 floats: duration, root position (Y up), root quaternion and the local rotations of
chest, neck, hips, knees, ankles, shoulders, elbows (quaternions **w first**; knees and elbows are a
single angle about local +Z).  Forward kinematics follow the humanoid URDF: a child's position is the
parent's position plus the parent's rotation applied to 0.25 x the URDF offset.

Mapping to H36M-17 (documented per source):

============  ==============================================
H36M-17       DeepMimic
============  ==============================================
pelvis        root
spine         chest joint (0.236 m above the root)
thorax        neck joint (base of the neck, shoulder level)
neck_nose     head centre, 0.175 m along the neck's +Y
head_top      0.2775 m along the neck's +Y
hips ...      hips, knees, ankles, shoulders, elbows, wrists
============  ==============================================

The character faces local +X and its right side is +Z, so forward x up = right holds (a right-handed
body); ``tests/test_data_deepmimic.py`` checks it on every clip.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import StructposeError
from ..skeleton import H36M17
from .clip import Clip

_S = 0.25  # URDF units -> metres
_OFF = {
    "chest": np.array([0, .944604, 0]) * _S,
    "neck": np.array([0, .895576, 0]) * _S,
    "r_hip": np.array([0, 0, .339548]) * _S,
    "l_hip": np.array([0, 0, -.339548]) * _S,
    "knee": np.array([0, -1.686184, 0]) * _S,
    "ankle": np.array([0, -1.63948, 0]) * _S,
    "r_shoulder": np.array([-.0962, .974, .73244]) * _S,
    "l_shoulder": np.array([-.0962, .974, -.73244]) * _S,
    "elbow": np.array([0, -1.099152, 0]) * _S,
    "wrist": np.array([0, -1.035788, 0]) * _S,
    "head": np.array([0, 0.175, 0]),
    "head_top": np.array([0, 0.2775, 0]),
}


def motions_dir() -> Path:
    """Folder of DeepMimic clips inside the installed ``pybullet_data``."""
    try:
        import pybullet_data
    except ImportError:
        raise StructposeError("pybullet is not installed; `pip install 'structpose[mocap]'` "
                              "(or pybullet==3.2.7) provides the DeepMimic clips") from None
    return Path(pybullet_data.getDataPath()) / "data" / "motions"


def clip_paths() -> list[Path]:
    """All humanoid clips: 15 ``humanoid3d_*.txt`` and the ``walker/*.txt`` set."""
    d = motions_dir()
    return sorted(d.glob("humanoid3d_*.txt")) + sorted((d / "walker").glob("*.txt"))


def _quat(q: np.ndarray) -> Rotation:
    q = np.asarray(q, float)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(n < 1e-6):
        raise StructposeError("DeepMimic frame has a zero quaternion; the motion file is corrupt")
    q = q / n
    return Rotation.from_quat(q[..., [1, 2, 3, 0]])   # w-first -> scipy's x, y, z, w


def _hinge(angle: np.ndarray) -> Rotation:
    return Rotation.from_rotvec(np.stack([np.zeros_like(angle), np.zeros_like(angle), angle], -1))


def forward_kinematics(frames: np.ndarray) -> np.ndarray:
    """``(T, 44)`` DeepMimic frames -> ``(T, 17, 3)`` H36M-17 world positions, metres, Y up."""
    frames = np.asarray(frames, float)
    if frames.ndim != 2 or frames.shape[1] != 44:
        raise StructposeError(f"DeepMimic frames have shape {frames.shape}; expected (T, 44)")
    T = frames.shape[0]
    out = np.zeros((T, 17, 3))
    j = H36M17.index
    root_p, root_r = frames[:, 1:4], _quat(frames[:, 4:8])
    chest_r = root_r * _quat(frames[:, 8:12])
    out[:, j("pelvis")] = root_p
    out[:, j("spine")] = chest = root_p + root_r.apply(_OFF["chest"])
    out[:, j("thorax")] = neck = chest + chest_r.apply(_OFF["neck"])
    neck_r = chest_r * _quat(frames[:, 12:16])
    out[:, j("neck_nose")] = neck + neck_r.apply(_OFF["head"])
    out[:, j("head_top")] = neck + neck_r.apply(_OFF["head_top"])
    # (side, hip q, knee angle, shoulder q, elbow angle) column slices
    for side, hq, kn, sq, el in (("r", 16, 20, 25, 29), ("l", 30, 34, 39, 43)):
        hip = root_p + root_r.apply(_OFF[f"{side}_hip"])
        hip_r = root_r * _quat(frames[:, hq:hq + 4])
        knee = hip + hip_r.apply(_OFF["knee"])
        knee_r = hip_r * _hinge(frames[:, kn])
        ankle = knee + knee_r.apply(_OFF["ankle"])
        sho = chest + chest_r.apply(_OFF[f"{side}_shoulder"])
        sho_r = chest_r * _quat(frames[:, sq:sq + 4])
        elbow = sho + sho_r.apply(_OFF["elbow"])
        elbow_r = sho_r * _hinge(frames[:, el])
        wrist = elbow + elbow_r.apply(_OFF["wrist"])
        for name, p in (("hip", hip), ("knee", knee), ("ankle", ankle),
                        ("shoulder", sho), ("elbow", elbow), ("wrist", wrist)):
            out[:, j(f"{side}_{name}")] = p
    assert T == out.shape[0]
    return out


def load_clip(path: str | Path) -> Clip:
    """Read one DeepMimic motion file into a :class:`Clip` (frame rate from the first frame's duration)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        frames = np.asarray(doc["Frames"], dtype=float)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise StructposeError(f"{path}: not a DeepMimic motion file (JSON with a 'Frames' list of "
                              f"44-float rows): {type(e).__name__}") from None
    if frames.ndim != 2 or frames.shape[0] == 0:
        raise StructposeError(f"{path}: DeepMimic 'Frames' is empty or ragged; expected rows of 44 floats")
    dur = float(frames[0, 0])
    if not dur > 0:
        raise StructposeError(f"{path}: first frame duration is {dur}; expected a positive number of seconds")
    stem = path.stem.replace("humanoid3d_", "")
    name = f"deepmimic/{'walker_' if path.parent.name == 'walker' else ''}{stem}"
    return Clip(name=name, source="deepmimic", world=forward_kinematics(frames), fps=round(1.0 / dur, 2))


def load_all() -> list[Clip]:
    return [load_clip(p) for p in clip_paths()]

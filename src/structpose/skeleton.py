"""Joint layouts as data, and the linear tables that convert between them.

A :class:`Layout` holds joint names, the kinematic parent of each joint and the
left/right twin pairs.  Conversions are matrices ``W`` of shape ``(J_dst, J_src)``
so that ``dst = W @ src`` for every frame; a destination joint that has no
counterpart in the source is a row of NaN (never a silent zero).  Joints that
must be synthesised (e.g. the H36M pelvis from two COCO hips) are weighted
averages and are listed in :data:`SYNTHESISED`.

H36M-17 is structpose's interchange layout; every loader converts to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from .errors import StructposeError


@dataclass(frozen=True)
class Layout:
    """A joint layout: ``names[j]``, ``parents[j]`` (-1 for the root), left/right pairs."""

    name: str
    names: tuple[str, ...]
    parents: tuple[int, ...]
    left_right: tuple[tuple[int, int], ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.names) != len(self.parents):
            raise StructposeError(f"layout {self.name}: {len(self.names)} names but {len(self.parents)} parents")

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(parent, child) index pairs, one per non-root joint, in joint order."""
        return tuple((p, c) for c, p in enumerate(self.parents) if p >= 0)

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps every left joint with its right twin (for flip augmentation)."""
        perm = np.arange(self.num_joints)
        for a, b in self.left_right:
            perm[a], perm[b] = b, a
        return perm

    @property
    def bone_twins(self) -> np.ndarray:
        """``(B,)`` index of every bone's left/right twin in :attr:`bones` order (torso bones: themselves)."""
        flip = self.flip_permutation
        where = {b: i for i, b in enumerate(self.bones)}
        return np.array([where[(int(flip[p]), int(flip[c]))] for p, c in self.bones], dtype=np.intp)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise StructposeError(f"layout {self.name!r} has no joint {name!r}; joints are {', '.join(self.names)}") from None


def _pairs(names: tuple[str, ...], left_prefix: str, right_prefix: str) -> tuple[tuple[int, int], ...]:
    out = []
    for i, n in enumerate(names):
        if n.startswith(left_prefix):
            twin = right_prefix + n[len(left_prefix):]
            if twin in names:
                out.append((i, names.index(twin)))
    return tuple(out)


def _layout(name: str, joints: list[tuple[str, str | None]], left: str, right: str) -> Layout:
    names = tuple(j for j, _ in joints)
    parents = tuple(-1 if p is None else names.index(p) for _, p in joints)
    return Layout(name, names, parents, _pairs(names, left, right))


# --- the layouts -----------------------------------------------------------------------------

H36M17 = _layout("h36m17", [
    ("pelvis", None), ("r_hip", "pelvis"), ("r_knee", "r_hip"), ("r_ankle", "r_knee"),
    ("l_hip", "pelvis"), ("l_knee", "l_hip"), ("l_ankle", "l_knee"),
    ("spine", "pelvis"), ("thorax", "spine"), ("neck_nose", "thorax"), ("head_top", "neck_nose"),
    ("l_shoulder", "thorax"), ("l_elbow", "l_shoulder"), ("l_wrist", "l_elbow"),
    ("r_shoulder", "thorax"), ("r_elbow", "r_shoulder"), ("r_wrist", "r_elbow"),
], "l_", "r_")

MPII16 = _layout("mpii16", [
    ("r_ankle", "r_knee"), ("r_knee", "r_hip"), ("r_hip", "pelvis"), ("l_hip", "pelvis"),
    ("l_knee", "l_hip"), ("l_ankle", "l_knee"), ("pelvis", None), ("thorax", "pelvis"),
    ("upper_neck", "thorax"), ("head_top", "upper_neck"), ("r_wrist", "r_elbow"), ("r_elbow", "r_shoulder"),
    ("r_shoulder", "thorax"), ("l_shoulder", "thorax"), ("l_elbow", "l_shoulder"), ("l_wrist", "l_elbow"),
], "l_", "r_")

COCO17 = _layout("coco17", [
    ("nose", None), ("l_eye", "nose"), ("r_eye", "nose"), ("l_ear", "l_eye"), ("r_ear", "r_eye"),
    ("l_shoulder", "nose"), ("r_shoulder", "nose"), ("l_elbow", "l_shoulder"), ("r_elbow", "r_shoulder"),
    ("l_wrist", "l_elbow"), ("r_wrist", "r_elbow"), ("l_hip", "l_shoulder"), ("r_hip", "r_shoulder"),
    ("l_knee", "l_hip"), ("r_knee", "r_hip"), ("l_ankle", "l_knee"), ("r_ankle", "r_knee"),
], "l_", "r_")

MEDIAPIPE33 = _layout("mediapipe33", [
    ("nose", None), ("l_eye_inner", "nose"), ("l_eye", "l_eye_inner"), ("l_eye_outer", "l_eye"),
    ("r_eye_inner", "nose"), ("r_eye", "r_eye_inner"), ("r_eye_outer", "r_eye"), ("l_ear", "l_eye_outer"),
    ("r_ear", "r_eye_outer"), ("l_mouth", "nose"), ("r_mouth", "nose"), ("l_shoulder", "nose"),
    ("r_shoulder", "nose"), ("l_elbow", "l_shoulder"), ("r_elbow", "r_shoulder"), ("l_wrist", "l_elbow"),
    ("r_wrist", "r_elbow"), ("l_pinky", "l_wrist"), ("r_pinky", "r_wrist"), ("l_index", "l_wrist"),
    ("r_index", "r_wrist"), ("l_thumb", "l_wrist"), ("r_thumb", "r_wrist"), ("l_hip", "l_shoulder"),
    ("r_hip", "r_shoulder"), ("l_knee", "l_hip"), ("r_knee", "r_hip"), ("l_ankle", "l_knee"),
    ("r_ankle", "r_knee"), ("l_heel", "l_ankle"), ("r_heel", "r_ankle"), ("l_foot_index", "l_ankle"),
    ("r_foot_index", "r_ankle"),
], "l_", "r_")

MPIINF3DHP17 = _layout("mpi_inf_3dhp17", [
    ("head_top", "head"), ("neck", "spine"), ("r_shoulder", "neck"), ("r_elbow", "r_shoulder"),
    ("r_wrist", "r_elbow"), ("l_shoulder", "neck"), ("l_elbow", "l_shoulder"), ("l_wrist", "l_elbow"),
    ("r_hip", "pelvis"), ("r_knee", "r_hip"), ("r_ankle", "r_knee"), ("l_hip", "pelvis"),
    ("l_knee", "l_hip"), ("l_ankle", "l_knee"), ("pelvis", None), ("spine", "pelvis"), ("head", "neck"),
], "l_", "r_")

LAYOUTS: dict[str, Layout] = {l.name: l for l in (H36M17, MPII16, COCO17, MEDIAPIPE33, MPIINF3DHP17)}


def get_layout(name: str | Layout) -> Layout:
    """Look a layout up by name; a clear error lists the known names."""
    if isinstance(name, Layout):
        return name
    try:
        return LAYOUTS[name]
    except KeyError:
        raise StructposeError(f"unknown layout {name!r}; known layouts: {', '.join(LAYOUTS)}") from None


# --- conversions -----------------------------------------------------------------------------
# Each table maps a destination joint to {source joint: weight}.  Identity entries are written
# out so that a reader sees the whole correspondence in one place.

def _same(names: tuple[str, ...], src: Layout) -> dict[str, dict[str, float]]:
    return {n: {n: 1.0} for n in names if n in src.names}


_MID_HIPS = {"l_hip": 0.5, "r_hip": 0.5}
_MID_SHOULDERS = {"l_shoulder": 0.5, "r_shoulder": 0.5}
# Head top from a face (approximation): nose + 0.6 * (nose - mid-shoulders), i.e. continue the
# shoulders-to-nose line upward by 60 %.  Detectors see no head top; the lifter is trained on
# the same synthesis applied to mocap, so the approximation is consistent between train and use.
_HEAD_TOP_FROM_FACE = {"nose": 1.6, "l_shoulder": -0.3, "r_shoulder": -0.3}

_TABLES: dict[tuple[str, str], dict[str, dict[str, float]]] = {
    ("mpii16", "h36m17"): {
        **_same(H36M17.names, MPII16),
        "spine": {"pelvis": 0.5, "thorax": 0.5},        # synthesised: MPII has no spine joint
        "neck_nose": {"upper_neck": 1.0},               # MPII's upper neck stands in for H36M's neck/nose
    },
    ("h36m17", "mpii16"): {
        **_same(MPII16.names, H36M17),
        "upper_neck": {"neck_nose": 1.0},
    },
    ("coco17", "h36m17"): {
        **_same(H36M17.names, COCO17),
        "pelvis": _MID_HIPS,                            # synthesised
        "thorax": _MID_SHOULDERS,                       # synthesised
        "spine": {"l_hip": 0.25, "r_hip": 0.25, "l_shoulder": 0.25, "r_shoulder": 0.25},  # synthesised
        "neck_nose": {"nose": 1.0},
        "head_top": _HEAD_TOP_FROM_FACE,                # synthesised, approximate
    },
    ("h36m17", "coco17"): {
        **_same(COCO17.names, H36M17),
        "nose": {"neck_nose": 1.0},                     # eyes and ears have no H36M counterpart: NaN
    },
    ("mediapipe33", "h36m17"): {
        **_same(H36M17.names, MEDIAPIPE33),
        "pelvis": _MID_HIPS,
        "thorax": _MID_SHOULDERS,
        "spine": {"l_hip": 0.25, "r_hip": 0.25, "l_shoulder": 0.25, "r_shoulder": 0.25},
        "neck_nose": {"nose": 1.0},
        "head_top": _HEAD_TOP_FROM_FACE,
    },
    ("mpi_inf_3dhp17", "h36m17"): {
        **_same(H36M17.names, MPIINF3DHP17),
        "thorax": {"neck": 1.0},                        # 3DHP "neck" is the joint between the shoulders
        "neck_nose": {"head": 1.0},
    },
    ("h36m17", "mpi_inf_3dhp17"): {
        **_same(MPIINF3DHP17.names, H36M17),
        "neck": {"thorax": 1.0},
        "head": {"neck_nose": 1.0},
    },
}

#: destination joints that are computed from several source joints, per conversion
SYNTHESISED: dict[tuple[str, str], tuple[str, ...]] = {
    key: tuple(d for d, w in table.items() if len(w) > 1) for key, table in _TABLES.items()
}


@cache
def conversion_matrix(src: str, dst: str) -> np.ndarray:
    """``(J_dst, J_src)`` weights with ``dst = W @ src``; rows of NaN where ``dst`` has no source."""
    s, d = get_layout(src), get_layout(dst)
    if s.name == d.name:
        return np.eye(s.num_joints)
    if (s.name, d.name) not in _TABLES:
        known = ", ".join(f"{a}->{b}" for a, b in _TABLES)
        raise StructposeError(f"no conversion {s.name} -> {d.name}; available: {known}")
    table = _TABLES[(s.name, d.name)]
    w = np.full((d.num_joints, s.num_joints), np.nan)
    for dj, sources in table.items():
        w[d.index(dj)] = 0.0
        for sj, weight in sources.items():
            w[d.index(dj), s.index(sj)] = weight
    return w


def convert(poses: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert ``(..., J_src, D)`` joints to ``(..., J_dst, D)``.  Unavailable joints become NaN."""
    w = conversion_matrix(src, dst)
    poses = np.asarray(poses)
    if poses.shape[-2] != w.shape[1]:
        raise StructposeError(f"layout {src} has {w.shape[1]} joints but the array has {poses.shape[-2]} "
                              f"(shape {poses.shape})")
    known = ~np.isnan(w).any(axis=1)
    out = np.full(poses.shape[:-2] + (w.shape[0], poses.shape[-1]), np.nan, dtype=np.result_type(poses, np.float32))
    # a missing (NaN) source joint makes only the joints built from it NaN, not every joint (NaN * 0 = NaN)
    wk = w[known]
    out[..., known, :] = np.einsum("ds,...sc->...dc", wk, np.nan_to_num(poses))
    missing = np.einsum("ds,...s->...d", (wk != 0).astype(np.float32), np.isnan(poses).any(-1).astype(np.float32)) > 0
    sub = out[..., known, :]
    sub[missing] = np.nan
    out[..., known, :] = sub
    return out


# --- the bone groups the structure-aware losses use ---------------------------------------

def _bone(a: str, b: str) -> tuple[int, int]:
    return H36M17.index(a), H36M17.index(b)


#: Zhou et al.'s groups of bones with fixed length ratios (H36M-17 indices)
BONE_GROUPS: tuple[tuple[tuple[int, int], ...], ...] = (
    (_bone("r_shoulder", "r_elbow"), _bone("r_elbow", "r_wrist"),
     _bone("l_shoulder", "l_elbow"), _bone("l_elbow", "l_wrist")),     # arms
    (_bone("r_hip", "r_knee"), _bone("r_knee", "r_ankle"),
     _bone("l_hip", "l_knee"), _bone("l_knee", "l_ankle")),             # legs
    (_bone("thorax", "r_shoulder"), _bone("thorax", "l_shoulder")),     # shoulders
    (_bone("pelvis", "r_hip"), _bone("pelvis", "l_hip")),               # hips
)

#: right-side limb bones and their left twins (Eq. 2 and Table 6); torso and head excluded
SYMMETRIC_BONES: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = (
    (_bone("r_shoulder", "r_elbow"), _bone("l_shoulder", "l_elbow")),   # upper arm
    (_bone("r_elbow", "r_wrist"), _bone("l_elbow", "l_wrist")),         # lower arm
    (_bone("r_hip", "r_knee"), _bone("l_hip", "l_knee")),               # upper leg
    (_bone("r_knee", "r_ankle"), _bone("l_knee", "l_ankle")),           # lower leg
)

"""One H36M-17 convention for every motion source, and body-proportion augmentation.

Rigs place joints differently (``docs/motion_sources.md`` has the measured table): Bandai's hip
joints are 13 cm apart and its shoulder joints 20 cm (DeepMimic 17 and 37 cm), its neck bone is a
third of the others', CMU's thorax sits low on the spine.  :func:`harmonise` rebuilds each pose
from the pelvis outwards, keeping every bone's direction and scaling its length to
``CONVENTION[bone] * leg``, where ``leg`` is the clip's median hip-knee-ankle length (the one
measure every rig agrees on to 4 %) and :data:`CONVENTION` the median over the four training
families (DeepMimic, holosoma, Bandai, CMU) of each bone's median length over leg length.  The
motion -- every bone's direction in every frame, the root's path -- is the source's own.

:func:`augment_proportions` then scales groups of bones (legs, arms, torso, neck and head, hip
width, shoulder width) by random factors per sample, so that no rig's proportions, nor the
convention's, become "the human body" to a model trained on them.
"""
from __future__ import annotations

import numpy as np

from ..skeleton import H36M17
from .clip import Clip

J = H36M17.index
_PARENTS = H36M17.parents
#: bone (child joint) -> length over leg length; medians over the four training families
#: (measured on the fetched sources, docs/motion_sources.md)
CONVENTION: dict[str, float] = {
    "r_hip": 0.110, "l_hip": 0.110,                 # pelvis-hip: half of hip width 0.220 / leg
    "r_knee": 0.495, "l_knee": 0.495, "r_ankle": 0.510, "l_ankle": 0.510,
    "spine": 0.297, "thorax": 0.237, "neck_nose": 0.196, "head_top": 0.124,
    "r_shoulder": 0.211, "l_shoulder": 0.211, "r_elbow": 0.343, "l_elbow": 0.343,
    "r_wrist": 0.293, "l_wrist": 0.293,
}
#: groups of bones (child joints) scaled together by augment_proportions, and each group's range
GROUPS: dict[str, tuple[tuple[str, ...], float]] = {
    "legs": (("r_knee", "l_knee", "r_ankle", "l_ankle"), 0.08),
    "arms": (("r_elbow", "l_elbow", "r_wrist", "l_wrist"), 0.10),
    "torso": (("spine", "thorax"), 0.10),
    "neck_head": (("neck_nose", "head_top"), 0.15),
    "hip_width": (("r_hip", "l_hip"), 0.20),
    "shoulder_width": (("r_shoulder", "l_shoulder"), 0.15),
}


def leg_length(world: np.ndarray) -> float:
    """Median over frames of the mean left/right hip-knee-ankle length."""
    n = lambda a, b: np.linalg.norm(world[:, J(a)] - world[:, J(b)], axis=-1)
    return float(np.median((n("r_hip", "r_knee") + n("r_knee", "r_ankle") + n("l_hip", "l_knee")
                            + n("l_knee", "l_ankle")) / 2))


def _rebuild(world: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Poses ``(..., 17, 3)`` with each bone (child joint j) multiplied by ``scale[..., j]``."""
    out = world.copy()
    bones = world - world[..., [max(p, 0) for p in _PARENTS], :]
    for j in range(1, 17):                       # parents precede children in H36M-17
        out[..., j, :] = out[..., _PARENTS[j], :] + scale[..., j, None] * bones[..., j, :]
    return out


def harmonise(clip: Clip) -> Clip:
    """The clip in :data:`CONVENTION`'s proportions (bone directions and the root's path kept)."""
    w = np.asarray(clip.world, np.float64)
    leg = leg_length(w)
    scale = np.ones(17)
    for j in range(1, 17):
        cur = float(np.median(np.linalg.norm(w[:, j] - w[:, _PARENTS[j]], axis=-1)))
        want = CONVENTION[H36M17.names[j]] * leg
        scale[j] = want / cur if cur > 1e-6 else 1.0
    return Clip(clip.name, clip.source, _rebuild(w, scale).astype(np.float32), clip.fps)


def augment_proportions(world: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """``(B, 17, 3)`` poses with each bone group scaled by ``1 + U(-r, r) * strength`` per sample."""
    B = world.shape[0]
    scale = np.ones((B, 17))
    for names, r in GROUPS.values():
        f = 1 + strength * r * rng.uniform(-1, 1, B)
        for n in names:
            scale[:, J(n)] = f
    return _rebuild(np.asarray(world, np.float64), scale).astype(np.float32)

"""Anny bodies (NAVER's MakeHuman-based body model, Apache-2.0 code, CC0 assets) posed by real mocap.

Optional: ``pip install 'structpose[render]'`` (``anny==0.6.2`` with ``--no-deps``, ``roma``, ``trimesh``,
``safetensors``; ``make setup`` installs it).  The first model build takes ~2 min and writes a ~0.8 GB cache
to ``$STRUCTPOSE_DATA/anny`` (``ANNY_CACHE_DIR``); later loads take ~2 s.

**Retargeting** (:func:`retarget`).  A clip gives H36M-17 joint positions only, so every Anny bone of the
``cmu_mb`` rig gets a world orientation from a *frame* built on two joint vectors of the clip — a primary
direction (the bone's own, e.g. knee -> ankle) and a secondary one fixing its twist (the knee's hinge axis,
or the hip / shoulder line when the limb is straight; see ``_BONES``).  The same frame is built on Anny's
own rest joints (this shape, rest pose); the rotation between the two, ``Q = F_clip F_rest^T``, is applied
to the bone's rest orientation: ``D = Q R_rest`` (Anny's ``world-orient`` parameterisation, each bone's
head following its parent).  That is the per-bone rest correction: bones are matched by direction, never
by copying the clip's bone lengths, so the body keeps its sampled proportions.  Hands, feet and toes
follow their forearm / shank (H36M-17 has no hand or foot joints); the head turns with the torso about
the neck's axis (no head yaw in H36M-17).  How far the joints move is measured in
``docs/realistic_renders.md``.

**Labels** (:func:`regress_h36m`): H36M-17 joints of the *posed mesh*:

============  ==============================================================================
H36M-17       from Anny
============  ==============================================================================
hips, knees,  Anny's COCO keypoint regressor (``data/keypoints/coco.pth``: fixed vertex averages,
ankles, ...   i.e. points inside the limb at the joint, as annotators and detectors place them)
pelvis        midpoint of the two regressed hips (H36M's pelvis lies between the hip centres)
spine         head of the rig's ``Spine`` bone (lumbar/thoracic junction, ~0.24 m above the hips)
thorax        midpoint of the two regressed shoulders (as the COCO / MediaPipe conversions place it;
              the rig's ``Neck`` head sits 7 cm higher, above the shoulder line)
neck_nose     the regressed COCO nose
head_top      tail of the rig's ``Head`` bone (top of the skull; within 5 mm of the highest vertex)
============  ==============================================================================

Residual differences to Human3.6M (whose joints come from a marker-based skeleton fit): H36M's hip joints
sit wider and higher than surface-annotated hips (about 2-3 cm); its neck/nose joint lies between chin and
nose rather than at the nose tip; its thorax is a spine point at shoulder height, not the shoulders'
midpoint (which moves with shrugs).  The mocap loaders differ too: DeepMimic's neck_nose is the head
centre on the neck axis (so thorax -> neck_nose differs by ~45 degrees from Anny's nose), holosoma's is
the skull base.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..cameras import Z_UP_TO_Y_UP
from ..errors import StructposeError
from ..io.datafolder import data_folder
from ..skeleton import H36M17

#: shape controls sampled by :func:`sample_shapes` (Anny's default phenotype set, in its order)
PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")
#: uniform ranges: adults (Anny's age 0.5 = young adult, 1.0 = old), both genders, thin to heavy
SHAPE_RANGES = {"gender": (0.0, 1.0), "age": (0.5, 1.0), "muscle": (0.15, 0.85), "weight": (0.1, 0.9),
                "height": (0.1, 0.9), "proportions": (0.0, 0.7)}

#: Y-up clip world -> Anny's native frame (Z up, faces -Y, +X on the body's left): x, -z, y
CLIP_TO_ANNY = Z_UP_TO_Y_UP.T

_J = H36M17.index
_COCO_USED = {"neck_nose": "nose", "l_shoulder": "left_shoulder", "r_shoulder": "right_shoulder",
              "l_elbow": "left_elbow", "r_elbow": "right_elbow", "l_wrist": "left_wrist",
              "r_wrist": "right_wrist", "l_hip": "left_hip", "r_hip": "right_hip", "l_knee": "left_knee",
              "r_knee": "right_knee", "l_ankle": "left_ankle", "r_ankle": "right_ankle"}

# (primary from, primary to, secondary) per group of bones.  Secondary: "lr_hips" / "lr_shoulders" (the
# body's left-right line), "up" (pelvis -> thorax), or "hinge_leg_L" ... (the knee / elbow hinge axis).
_GROUPS: dict[str, tuple[str, str, str]] = {
    "pelvis": ("pelvis", "spine", "lr_hips"),
    "chest": ("spine", "thorax", "lr_shoulders"),
    "neck": ("thorax", "head_top", "lr_shoulders"),
    "clav_L": ("thorax", "l_shoulder", "up"),
    "clav_R": ("thorax", "r_shoulder", "up"),
    "uarm_L": ("l_shoulder", "l_elbow", "hinge_arm_L"),
    "farm_L": ("l_elbow", "l_wrist", "hinge_arm_L"),
    "uarm_R": ("r_shoulder", "r_elbow", "hinge_arm_R"),
    "farm_R": ("r_elbow", "r_wrist", "hinge_arm_R"),
    "thigh_L": ("l_hip", "l_knee", "hinge_leg_L"),
    "shank_L": ("l_knee", "l_ankle", "hinge_leg_L"),
    "thigh_R": ("r_hip", "r_knee", "hinge_leg_R"),
    "shank_R": ("r_knee", "r_ankle", "hinge_leg_R"),
}
_BONES: dict[str, str] = {
    "Hips": "pelvis", "LHipJoint": "pelvis", "RHipJoint": "pelvis", "LowerBack": "pelvis",
    "Spine": "chest", "Spine1": "chest", "Neck": "neck", "Neck1": "neck", "Head": "neck",
    "LeftShoulder": "clav_L", "RightShoulder": "clav_R",
    "LeftArm": "uarm_L", "RightArm": "uarm_R",
    **{f"{s}{b}": f"farm_{s[0]}" for s in ("Left", "Right")
       for b in ("ForeArm", "Hand", "FingerBase", "HandFinger1")},
    "LThumb": "farm_L", "RThumb": "farm_R",
    "LeftUpLeg": "thigh_L", "RightUpLeg": "thigh_R",
    **{f"{s}{b}": f"shank_{s[0]}" for s in ("Left", "Right") for b in ("Leg", "Foot", "ToeBase")},
}


def anny_cache_dir() -> Path:
    """``$STRUCTPOSE_DATA/anny`` (default ``~/.cache/structpose/anny``): Anny's model cache, never the repo."""
    return data_folder() / "anny"


def _import_anny():
    os.environ.setdefault("ANNY_CACHE_DIR", str(anny_cache_dir()))
    try:
        import anny
        import anny.paths
    except ImportError:
        raise StructposeError("the realistic renderer needs Anny: pip install --no-deps anny==0.6.2 roma trimesh "
                              "safetensors (or `make setup`, extra `render`)") from None
    anny.paths.set_anny_cache_path(os.environ["ANNY_CACHE_DIR"])
    return anny


@dataclass
class AnnyBody:
    """A loaded Anny model with what posing, labelling and texturing need.

    ``faces`` (F, 3) vertex indices; ``uv_faces`` (F, 3) indices into ``uv`` (N, 2) texture coordinates;
    ``coco`` (23, V) regressor weights with ``coco_labels``; ``bone_labels`` / ``bone_parents`` of the rig;
    ``vertex_bone`` (V,) each vertex's most-weighted bone."""

    model: object
    faces: np.ndarray
    uv: np.ndarray
    uv_faces: np.ndarray
    coco: object
    coco_labels: list[str]
    bone_labels: list[str]
    vertex_bone: np.ndarray
    build_seconds: float

    def bone(self, name: str) -> int:
        return self.bone_labels.index(name)


@cache
def load_body() -> AnnyBody:
    """Build (first time: ~2 min, ~0.8 GB cache) or load the ``cmu_mb``-rigged Anny model, float32, CPU."""
    import torch
    anny = _import_anny()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # "Fallback to lbs skinning" without NVIDIA Warp: expected on CPU
        model = anny.Anny(rig="cmu_mb", pose_parameterization="world-orient").to(torch.float32).eval()
    reg = anny.KeypointsRegressor.coco(model)
    idx = model.vertex_bone_indices.cpu().numpy()
    w = model.vertex_bone_weights.cpu().numpy()
    vertex_bone = idx[np.arange(len(idx)), np.argmax(w, axis=1)]
    return AnnyBody(model=model, faces=model.faces.cpu().numpy().astype(np.int64),
                    uv=model.texture_coordinates.cpu().numpy().astype(np.float32),
                    uv_faces=model.face_texture_coordinate_indices.cpu().numpy().astype(np.int64),
                    coco=reg, coco_labels=list(reg.labels), bone_labels=list(model.bone_labels),
                    vertex_bone=vertex_bone.astype(np.int64), build_seconds=time.perf_counter() - t0)


def sample_shapes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, 6)`` phenotype values in :data:`PHENOTYPES` order, uniform over :data:`SHAPE_RANGES`."""
    lo = np.array([SHAPE_RANGES[k][0] for k in PHENOTYPES])
    hi = np.array([SHAPE_RANGES[k][1] for k in PHENOTYPES])
    return (lo + (hi - lo) * rng.random((n, len(PHENOTYPES)))).astype(np.float32)


# ------------------------------------------------------------------------------------------- frames ----

def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` orthonormal frames, columns (primary, secondary made orthogonal, their cross)."""
    e1 = _unit(primary)
    e2 = _unit(secondary - np.sum(secondary * e1, -1, keepdims=True) * e1)
    return np.stack([e1, e2, np.cross(e1, e2)], -1)


def _secondary(j: np.ndarray, kind: str) -> np.ndarray:
    """``(..., 17, 3)`` joints (Anny frame) -> ``(..., 3)`` twist reference of one kind (see ``_GROUPS``)."""
    left_hips = _unit(j[..., _J("l_hip"), :] - j[..., _J("r_hip"), :])
    left_sh = _unit(j[..., _J("l_shoulder"), :] - j[..., _J("r_shoulder"), :])
    up = _unit(j[..., _J("thorax"), :] - j[..., _J("pelvis"), :])
    if kind == "lr_hips":
        return left_hips
    if kind == "lr_shoulders":
        return left_sh
    if kind == "up":
        return up
    limb, side = kind.split("_")[1:]
    s = side.lower()
    a, b, c = ((f"{s}_hip", f"{s}_knee", f"{s}_ankle") if limb == "leg"
               else (f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist"))
    upper = j[..., _J(b), :] - j[..., _J(a), :]
    lower = j[..., _J(c), :] - j[..., _J(b), :]
    # flexion axis: for knees thigh x shank, for elbows forearm x upper arm; both point to the body's left
    hinge = np.cross(upper, lower) if limb == "leg" else np.cross(lower, upper)
    cos = np.sum(_unit(upper) * _unit(lower), -1, keepdims=True)
    bend = np.arccos(np.clip(cos, -1.0, 1.0))
    w = np.clip((bend - np.radians(5.0)) / np.radians(25.0), 0.0, 1.0)     # straight limbs: no hinge axis
    fallback = left_hips if limb == "leg" else left_sh
    s2 = w * _unit(hinge) + (1 - w) * fallback
    # a hinge opposite to the fallback (hyper-extension, arms overhead) can cancel it: keep the hinge then
    weak = np.linalg.norm(s2, axis=-1, keepdims=True) < 0.3
    return np.where(weak, _unit(hinge), s2)


def group_frames(j: np.ndarray) -> dict[str, np.ndarray]:
    """``(..., 17, 3)`` H36M-17 joints (Anny frame) -> ``{group: (..., 3, 3) frame}``."""
    return {g: _frame(j[..., _J(b), :] - j[..., _J(a), :], _secondary(j, kind))
            for g, (a, b, kind) in _GROUPS.items()}


# ----------------------------------------------------------------------------------------- labels ----

def regress_h36m(body: AnnyBody, vertices, bone_poses, rest_bone_poses, rest_heads, rest_tails):
    """H36M-17 joints of posed meshes (torch, Anny frame): ``vertices`` (B, V, 3), posed ``bone_poses``
    (B, NB, 4, 4), rest poses / heads / tails of the same shapes -> (B, 17, 3).  Table in the module doc."""
    import torch
    coco = body.coco({"vertices": vertices})                              # (B, 23, 3)
    out = torch.empty(vertices.shape[0], 17, 3, dtype=vertices.dtype)
    for h36m, name in _COCO_USED.items():
        out[:, _J(h36m)] = coco[:, body.coco_labels.index(name)]
    out[:, _J("pelvis")] = 0.5 * (out[:, _J("l_hip")] + out[:, _J("r_hip")])
    out[:, _J("spine")] = bone_poses[:, body.bone("Spine"), :3, 3]
    out[:, _J("thorax")] = 0.5 * (out[:, _J("l_shoulder")] + out[:, _J("r_shoulder")])
    h = body.bone("Head")
    # the tail moves rigidly with the bone: posed = W (P_rest^-1 tail_rest)
    local = torch.einsum("bji,bj->bi", rest_bone_poses[:, h, :3, :3], rest_tails[:, h] - rest_heads[:, h])
    out[:, _J("head_top")] = bone_poses[:, h, :3, 3] + torch.einsum("bij,bj->bi", bone_poses[:, h, :3, :3], local)
    return out


# ------------------------------------------------------------------------------------------ posing ----

@dataclass
class PosedBodies:
    """``vertices`` (B, V, 3) and ``joints`` (B, 17, 3) H36M-17 of the posed meshes, in the clip's Y-up
    world frame (metres, pelvis on the clip's pelvis); ``source`` the clip joints they were posed from."""

    vertices: np.ndarray
    joints: np.ndarray
    source: np.ndarray


def rest_state(body: AnnyBody, shapes: np.ndarray) -> dict:
    """Rest meshes and rigs of ``(B, 6)`` shapes (torch tensors, Anny frame)."""
    import torch
    m = body.model
    phen = torch.as_tensor(np.asarray(shapes, np.float32))
    with torch.no_grad():
        coeffs = m._get_phenotype_blendshape_coefficients(
            phen, phen.new_zeros(phen.shape[0], len(m.local_change_labels)),
            phen.new_zeros(phen.shape[0], len(m.facial_action_labels)))
        rest = m.get_rest_model(coeffs)
    return {k: v.expand(phen.shape[0], *v.shape[1:]) for k, v in rest.items()}


def _forward(body: AnnyBody, rest: dict, D) -> tuple:
    import torch
    m = body.model
    with torch.no_grad():
        T, poses = m.get_bone_transforms(D, rest["rest_bone_poses"], pose_parameterization="world-orient")
        verts = m.get_skinned_vertices(bone_transforms=T, rest_vertices=rest["rest_vertices"])
        joints = regress_h36m(body, verts, poses, rest["rest_bone_poses"], rest["rest_bone_heads"],
                              rest["rest_bone_tails"])
    return verts, joints


def rest_joints(body: AnnyBody, rest: dict) -> np.ndarray:
    """``(B, 17, 3)`` H36M-17 joints of the rest meshes (Anny frame).  Posing every bone at its rest
    orientation reproduces the rest mesh and rest bone poses exactly (checked in the tests), so no
    skinning pass is needed here."""
    import torch
    with torch.no_grad():
        joints = regress_h36m(body, rest["rest_vertices"], rest["rest_bone_poses"], rest["rest_bone_poses"],
                              rest["rest_bone_heads"], rest["rest_bone_tails"])
    return joints.numpy().astype(np.float64)


def retarget(body: AnnyBody, clip_joints: np.ndarray, shapes: np.ndarray) -> PosedBodies:
    """Pose Anny bodies of ``(B, 6)`` shapes like ``(B, 17, 3)`` H36M-17 clip joints (Y-up world, metres).

    Per bone: ``D = F_clip F_rest^T R_rest`` (module doc); then the mesh is shifted so that its pelvis lands
    on the clip's.  Returns vertices and the mesh's own H36M-17 joints in the clip's frame."""
    import torch
    src = np.asarray(clip_joints, np.float64)
    if src.ndim != 3 or src.shape[1:] != (17, 3) or not np.isfinite(src).all():
        raise StructposeError(f"clip joints have shape {src.shape}; expected finite (B, 17, 3) H36M-17 metres")
    shapes = np.asarray(shapes, np.float32)
    if shapes.shape != (src.shape[0], len(PHENOTYPES)):
        raise StructposeError(f"shapes have shape {shapes.shape}; expected ({src.shape[0]}, {len(PHENOTYPES)})")
    rest = rest_state(body, shapes)
    f_rest = group_frames(rest_joints(body, rest))
    f_src = group_frames(src @ CLIP_TO_ANNY.T)
    R_rest = rest["rest_bone_poses"][:, :, :3, :3].numpy().astype(np.float64)
    D = np.tile(np.eye(4), (src.shape[0], len(body.bone_labels), 1, 1))
    for b, name in enumerate(body.bone_labels):
        g = _BONES[name]
        Q = f_src[g] @ np.swapaxes(f_rest[g], -1, -2)
        D[:, b, :3, :3] = Q @ R_rest[:, b]
    verts, joints = _forward(body, rest, torch.as_tensor(D, dtype=torch.float32))
    verts, joints = verts.numpy(), joints.numpy()
    shift = src[:, _J("pelvis")] @ CLIP_TO_ANNY.T - joints[:, _J("pelvis")]
    verts = (verts + shift[:, None]) @ CLIP_TO_ANNY       # back to the clip's Y-up frame (inverse = transpose)
    joints = (joints + shift[:, None]) @ CLIP_TO_ANNY
    return PosedBodies(verts.astype(np.float32), joints.astype(np.float32), src.astype(np.float32))

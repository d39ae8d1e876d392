"""BVH export: H36M-17 joint positions -> a CMU-style hierarchy with per-frame joint rotations.

A BVH file has *fixed* bone offsets, so a sequence is first fitted to constant bone lengths
(:func:`structpose.fitting.fit_skeleton`, the fitting policy: symmetrised per-bone median over the
valid frames).  The rotations
are then exact: reading the file with any BVH parser and running forward kinematics gives back
those fitted joints (to float precision of the printed degrees, ~1e-5 m).

Hierarchy (CMU names, so Blender / MotionBuilder / CMU-aware tools recognise it)::

    Hips (pelvis, 6 channels)
      LHipJoint (zero offset) > LeftUpLeg (l_hip) > LeftLeg (l_knee) > LeftFoot (l_ankle) > End Site
      RHipJoint (zero offset) > RightUpLeg ...                                        (same, right)
      Spine (spine) > Neck (thorax) > Head (neck_nose) > End Site (head_top)
                      Neck > LeftShoulder (zero offset) > LeftArm (l_shoulder) > LeftForeArm (l_elbow)
                             > LeftHand (l_wrist) > End Site;   RightShoulder ... (same, right)

The zero-offset joints (``LHipJoint``, ``LeftShoulder`` ...) exist because a BVH joint rotates all
of its children together: hips, spine and both clavicles move independently of each other in
real (and lifted) poses, so each branch needs its own rotation.  Rest pose: a T-pose, Y up,
facing +Z (the subject's left is +X).  Frame (:func:`yup_poses`): the pose file's world frame
(``poses_world``: Y up, floor at y = 0, +Z the first frame's facing direction) when it has one;
otherwise structpose's camera frame (x right, y down, z forward) turned to Y up by a 180-degree
turn about x: ``(x, -y, -z)``.  Either way the root (Hips) carries the pelvis' translation in every
frame: root motion.  Units: centimetres by default.  Rotations: ``Zrotation Xrotation Yrotation`` (``R = Rz Rx Ry``, degrees), the order CMU
files use.  The twist of a limb segment is the minimal rotation from its parent (no roll is
invented); the hips' frame follows the spine and the hip line.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..cameras import Y_UP_FLIP
from ..errors import StructposeError, check_shape
from ..skeleton import H36M17
from .atomic import atomic_path

_j = H36M17.index
# (bvh name, h36m joint whose position this joint has, parent bvh name, rest direction of the offset)
# helpers have h36m joint None: zero offset, same position as the parent
_X, _Y = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
_HIERARCHY: list[tuple[str, str | None, str | None, np.ndarray | None]] = [
    ("Hips", "pelvis", None, None),
    ("LHipJoint", None, "Hips", None), ("LeftUpLeg", "l_hip", "LHipJoint", _X),
    ("LeftLeg", "l_knee", "LeftUpLeg", -_Y), ("LeftFoot", "l_ankle", "LeftLeg", -_Y),
    ("RHipJoint", None, "Hips", None), ("RightUpLeg", "r_hip", "RHipJoint", -_X),
    ("RightLeg", "r_knee", "RightUpLeg", -_Y), ("RightFoot", "r_ankle", "RightLeg", -_Y),
    ("Spine", "spine", "Hips", _Y), ("Neck", "thorax", "Spine", _Y), ("Head", "neck_nose", "Neck", _Y),
    ("LeftShoulder", None, "Neck", None), ("LeftArm", "l_shoulder", "LeftShoulder", _X),
    ("LeftForeArm", "l_elbow", "LeftArm", _X), ("LeftHand", "l_wrist", "LeftForeArm", _X),
    ("RightShoulder", None, "Neck", None), ("RightArm", "r_shoulder", "RightShoulder", -_X),
    ("RightForeArm", "r_elbow", "RightArm", -_X), ("RightHand", "r_wrist", "RightForeArm", -_X),
]
# End Sites: (parent bvh name, h36m joint it reaches or None, rest direction, length if no joint)
_END_SITES = {"LeftFoot": (None, np.array([0, 0, 1.0])), "RightFoot": (None, np.array([0, 0, 1.0])),
              "Head": ("head_top", _Y), "LeftHand": (None, _X), "RightHand": (None, -_X)}
#: BVH joint name -> H36M-17 joint it carries (End Site of Head = head_top)
BVH_TO_H36M = {n: h for n, h, _, _ in _HIERARCHY if h is not None}


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) minimal rotations taking unit vectors a (T, 3) onto unit vectors b (T, 3)."""
    k = np.cross(a, b)
    c = np.einsum("ti,ti->t", a, b)
    K = np.zeros(a.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    K = K - np.swapaxes(K, -1, -2)
    anti = c < -1 + 1e-8
    R = np.eye(3) + K + K @ K / np.maximum(1 + c, 1e-8)[..., None, None]
    if anti.any():       # opposite vectors: half turn about any axis perpendicular to a
        ax = np.cross(a[anti], np.array([1.0, 0, 0]))
        small = np.linalg.norm(ax, axis=-1) < 1e-6
        ax[small] = np.cross(a[anti][small], np.array([0, 1.0, 0]))
        ax /= np.linalg.norm(ax, axis=-1, keepdims=True)
        R[anti] = Rotation.from_rotvec(np.pi * ax).as_matrix()
    return R


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def yup_poses(seq) -> tuple[np.ndarray, str]:
    """The ``(T, 17, 3)`` Y-up metres that animation exports (BVH, glTF, viewer) use, and their frame's name.

    ``seq.poses_world`` (world frame: Y up, floor at y = 0) when the pose file has it, else the
    camera-frame ``poses_3d`` turned by 180 degrees about x, ``(x, -y, -z)`` (root translation as
    stored).  NaN frames stay NaN.
    """
    world = getattr(seq, "poses_world", None)
    if world is not None:
        return np.asarray(world, np.float64), "world"
    return np.asarray(seq.poses_3d, np.float64) * Y_UP_FLIP, "camera"


def bvh_from_poses(poses: np.ndarray, valid: np.ndarray | None = None, frame: str = "camera"
                   ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Fit and convert ``(T, 17, 3)`` metres to BVH quantities (metres, Y up).

    ``frame``: "camera" (x right, y down, z forward: turned to Y up here) or "yup" (already Y up,
    e.g. the world frame from :func:`yup_poses`).

    Returns ``(offsets {name: (3,)}, root_pos (T, 3), local_rot (T, n_joints, 3, 3) in _HIERARCHY
    order, fitted (T, 17, 3) Y-up joints the rotations reproduce)``.  Invalid frames (``valid``
    False or any NaN) hold the nearest valid frame's pose (a BVH cannot hold "no pose").
    """
    from ..fitting import fit_skeleton, symmetric_bone_lengths
    check_shape(poses, ["T", 17, 3], "poses")
    p = np.asarray(poses, np.float64)
    ok = np.isfinite(p).all(axis=(1, 2)) if valid is None else (np.asarray(valid, bool)
                                                             & np.isfinite(p).all(axis=(1, 2)))
    if not ok.any():
        raise StructposeError("no valid frame to export to BVH (every frame lacks a pose)")
    idx = np.arange(len(p))
    good = idx[ok]
    nearest = good[np.clip(np.searchsorted(good, idx), 0, len(good) - 1)]
    prev = good[np.clip(np.searchsorted(good, idx) - 1, 0, len(good) - 1)]
    nearest = np.where(np.abs(prev - idx) < np.abs(nearest - idx), prev, nearest)
    if frame not in ("camera", "yup"):
        raise StructposeError(f"pose frame {frame!r} unknown; expected 'camera' or 'yup'")
    p = p[nearest] * (Y_UP_FLIP if frame == "camera" else 1.0)       # camera -> Y up: 180 deg about x
    lengths = symmetric_bone_lengths(p[ok])                      # filled frames are copies: skip them
    fitted = fit_skeleton(p, lengths)
    bone_len = {c: float(lengths[b]) for b, (_, c) in enumerate(H36M17.bones)}
    offsets: dict[str, np.ndarray] = {}
    for name, h, parent, d in _HIERARCHY:
        offsets[name] = np.zeros(3) if (h is None or parent is None) else d * bone_len[_j(h)]
    T = len(p)
    G: dict[str, np.ndarray] = {}
    local = np.zeros((T, len(_HIERARCHY), 3, 3))
    children = {n: [c for c, _, par, _ in _HIERARCHY if par == n] for n, *_ in _HIERARCHY}
    pos = {n: fitted[:, _j(h)] for n, h, _, _ in _HIERARCHY if h is not None}
    for i, (name, h, parent, _) in enumerate(_HIERARCHY):
        if parent is None:
            up = _unit(fitted[:, _j("spine")] - fitted[:, _j("pelvis")])
            side = fitted[:, _j("l_hip")] - fitted[:, _j("r_hip")]
            x = _unit(side - np.einsum("ti,ti->t", side, up)[:, None] * up)
            G[name] = np.stack([x, up, np.cross(x, up)], -1)      # columns: rest x, y, z in world
            local[:, i] = G[name]
            continue
        Gp = G[parent]
        kids = children[name]
        if name in _END_SITES and _END_SITES[name][0] is not None:
            target, d_rest = fitted[:, _j(_END_SITES[name][0])], _END_SITES[name][1]
        elif kids and name not in ("Hips", "Neck"):
            child = next(c for c in _HIERARCHY if c[0] == kids[0])
            target, d_rest = pos[child[0]], child[3]
        else:
            target = None
        if name == "Neck":                  # Neck orients the Head bone; clavicles have their own joints
            child = next(c for c in _HIERARCHY if c[0] == "Head")
            target, d_rest = pos["Head"], child[3]
        if target is None:                  # hands and feet: no bone below, keep the parent's frame
            G[name] = Gp
        else:
            here = pos[name] if h is not None else pos[parent]
            a = np.einsum("tij,j->ti", Gp, d_rest)
            G[name] = _swing(a, _unit(target - here)) @ Gp
        local[:, i] = np.swapaxes(Gp, -1, -2) @ G[name]
    return offsets, fitted[:, _j("pelvis")].copy(), local, fitted


def write_bvh(path: str | Path, poses: np.ndarray, fps: float, valid: np.ndarray | None = None,
              units: str = "cm", frame: str = "camera") -> np.ndarray:
    """Write ``(T, 17, 3)`` metres as a BVH file (atomically), the root translated in every frame.

    ``frame``: "camera" (the pose file's ``poses_3d``) or "yup" (e.g. ``poses_world``).  ``units``:
    "cm" (default), "m" or "mm".  Returns the fitted ``(T, 17, 3)`` joints in the BVH's Y-up frame
    and units — what a BVH reader + forward kinematics gives back.
    """
    scale = {"m": 1.0, "cm": 100.0, "mm": 1000.0}.get(units)
    if scale is None:
        raise StructposeError(f"BVH units {units!r} unknown; choose m, cm or mm")
    if not (np.isfinite(fps) and fps > 0):
        raise StructposeError(f"fps is {fps}; expected a positive frame rate")
    offsets, root, local, fitted = bvh_from_poses(poses, valid, frame)
    eul = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_euler("ZXY", degrees=True).reshape(len(root), -1, 3)
    lines = ["HIERARCHY"]
    children = {n: [c for c, _, par, _ in _HIERARCHY if par == n] for n, *_ in _HIERARCHY}

    def bone_len(joint: str) -> float:
        j = _j(joint)
        return float(np.linalg.norm(fitted[0, j] - fitted[0, H36M17.parents[j]]))

    def emit(name: str, depth: int) -> None:
        ind = "  " * depth
        kind = "ROOT" if depth == 0 else "JOINT"
        lines.append(f"{ind}{kind} {name}")
        lines.append(f"{ind}{{")
        o = offsets[name] * scale
        lines.append(f"{ind}  OFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}")
        ch = "6 Xposition Yposition Zposition" if depth == 0 else "3"
        lines.append(f"{ind}  CHANNELS {ch} Zrotation Xrotation Yrotation")
        for c in children[name]:
            emit(c, depth + 1)
        if name in _END_SITES:
            h, d = _END_SITES[name]
            # head: reaches head_top; hands and feet: a short tip (a quarter of the last bone)
            e = d * (bone_len(h) if h is not None else 0.25 * bone_len(BVH_TO_H36M[name])) * scale
            lines.extend([f"{ind}  End Site", f"{ind}  {{", f"{ind}    OFFSET {e[0]:.6f} {e[1]:.6f} {e[2]:.6f}",
                           f"{ind}  }}"])
        lines.append(f"{ind}}}")

    emit("Hips", 0)
    lines += ["MOTION", f"Frames: {len(root)}", f"Frame Time: {1.0 / fps:.8f}"]
    order = []

    def walk(name: str) -> None:
        order.append(next(i for i, h in enumerate(_HIERARCHY) if h[0] == name))
        for c in children[name]:
            walk(c)
    walk("Hips")
    rows = np.concatenate([root * scale, eul[:, order].reshape(len(root), -1)], axis=1)
    lines += [" ".join(f"{v:.6f}" for v in r) for r in rows]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return fitted * scale


def write_bvh_sequence(path: str | Path, seq, units: str = "cm") -> np.ndarray:
    """Write a :class:`PoseSequence` as BVH in the frame of :func:`yup_poses` (world if the file has one)."""
    poses, _ = yup_poses(seq)
    return write_bvh(path, poses, seq.fps, seq.valid, units=units, frame="yup")

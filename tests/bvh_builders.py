"""A real DeepMimic clip re-expressed as a BVH rig (CMU-like or Mixamo-like names, any unit, Y or Z up):
BVH test files whose joint positions are DeepMimic's own forward kinematics (shared by the BVH and
convert tests)."""
from __future__ import annotations

import json

import numpy as np
from scipy.spatial.transform import Rotation

from structpose.data import deepmimic
from structpose.data.bvh import BvhData

O = deepmimic._OFF
CMU = {"hips": "Hips", "spine": "Spine", "neck": "Neck", "head": "Head", "clav": "{S}Shoulder", "arm": "{S}Arm",
       "fore": "{S}ForeArm", "hand": "{S}Hand", "hipj": "{s}HipJoint", "up": "{S}UpLeg", "leg": "{S}Leg",
       "foot": "{S}Foot"}
MIXAMO = {k: "mixamorig:" + v.replace("{s}HipJoint", "{S}HipJoint") for k, v in CMU.items()}


def _frames(name: str = "spinkick") -> np.ndarray:
    path = next(p for p in deepmimic.clip_paths() if p.stem.endswith(name))
    return np.asarray(json.loads(path.read_text())["Frames"], float)


def deepmimic_bvh(frames: np.ndarray, names=CMU, scale: float = 1.0, z_up: bool = False,
                  head_end: bool = True) -> BvhData:
    """The DeepMimic character as a BVH rig: same offsets, its local rotations as ZXY Euler angles."""
    T = len(frames)
    q = lambda c: Rotation.from_quat(frames[:, [c + 1, c + 2, c + 3, c]])
    hinge = lambda c: Rotation.from_rotvec(np.outer(frames[:, c], [0, 0, 1]))
    ident = Rotation.identity(T)
    C = Rotation.from_matrix([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]) if z_up else Rotation.identity()
    joints: list[list] = []

    def add(key, parent, off, rot, pos=None, side=""):
        name = names[key].format(S=side, s=side[:1])
        joints.append([name, parent, np.asarray(off, float), rot, pos, False])
        return len(joints) - 1

    def end(parent, off):
        joints.append([joints[parent][0] + "_End", parent, np.asarray(off, float), None, None, True])

    h = add("hips", -1, [0, 0, 0], q(4), frames[:, 1:4])
    s = add("spine", h, O["chest"], q(8))
    n = add("neck", s, O["neck"], q(12))
    hd = add("head", n, O["head"], ident)
    if head_end:
        end(hd, O["head_top"] - O["head"])
    for side, hq, kn, aq, sq, el in (("Right", 16, 20, 21, 25, 29), ("Left", 30, 34, 35, 39, 43)):
        c = add("clav", s, O[f"{side[0].lower()}_shoulder"], ident, side=side)
        a = add("arm", c, [0, 0, 0], q(sq), side=side)
        f = add("fore", a, O["elbow"], hinge(el), side=side)
        end(add("hand", f, O["wrist"], ident, side=side), [0, -0.08, 0])
        hj = add("hipj", h, [0, 0, 0], ident, side=side)
        u = add("up", hj, O[f"{side[0].lower()}_hip"], q(hq), side=side)
        lg = add("leg", u, O["knee"], hinge(kn), side=side)
        end(add("foot", lg, O["ankle"], q(aq), side=side), [0.15, -0.05, 0])   # toes: the front is +X
    cols, chans = [], []
    for name, parent, off, rot, pos, is_end in joints:
        if is_end:
            chans.append(())
            continue
        ch = []
        if pos is not None:
            ch += ["Xposition", "Yposition", "Zposition"]
            cols.append(C.apply(pos) * scale)
        ch += ["Zrotation", "Xrotation", "Yrotation"]
        cols.append((C * rot * C.inv()).as_euler("ZXY", degrees=True))
        chans.append(tuple(ch))
    offsets = np.array([C.apply(j[2]) * scale for j in joints])
    return BvhData([j[0] for j in joints], [j[1] for j in joints], offsets, chans, [j[5] for j in joints],
                   np.concatenate(cols, axis=1), float(frames[0, 0]))

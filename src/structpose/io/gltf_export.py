"""glTF 2.0 binary (``.glb``) export: an animated, skinned skeleton with root motion.

The skeleton is the BVH export's (:mod:`structpose.io.bvh_export`): the same joints, names, fitted
bone lengths and per-frame local rotations, so a BVH and a GLB written from one pose file animate
identically.  Every joint is a glTF node; its rest transform is a translation by the bone's offset
(T-pose, Y up, facing +Z); the animation has one ``rotation`` channel per joint and a
``translation`` channel on ``Hips`` (root motion, world frame when the pose file has one: see
:func:`~structpose.io.bvh_export.yup_poses`).  End sites (``Head_end`` = head top, hand and foot
tips) are joints too, so that every bone has a tail in Blender.

The joints form a skin, bound to a small mesh of octahedral "bones" (one per bone, each weighted
fully to the joint that rotates it): importers such as Blender's make an armature from a skin, and
three.js plays the animation on the skinned mesh.  Units: metres (glTF's).  Times: frame / fps.
Written with ``pygltflib`` and numpy buffers, atomically.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import StructposeError
from ..skeleton import H36M17
from .atomic import atomic_path
from .bvh_export import _END_SITES, _HIERARCHY, BVH_TO_H36M, bvh_from_poses, yup_poses

#: glTF node name -> H36M-17 joint at its head (Head_end is the head top)
GLB_TO_H36M = {**BVH_TO_H36M, "Head_end": "head_top"}


def _joints(fitted0: np.ndarray, offsets: dict[str, np.ndarray]) -> list[tuple[str, int, np.ndarray]]:
    """[(name, parent index or -1, rest offset (3,))]: the BVH hierarchy, then one end-site joint per tip."""
    out = [(n, -1 if par is None else [h[0] for h in _HIERARCHY].index(par), offsets[n])
           for n, _, par, _ in _HIERARCHY]
    names = [n for n, *_ in _HIERARCHY]
    for parent, (h, d) in _END_SITES.items():
        j = H36M17.index(BVH_TO_H36M[parent])
        last = float(np.linalg.norm(fitted0[j] - fitted0[H36M17.parents[j]]))
        length = (float(np.linalg.norm(fitted0[H36M17.index(h)] - fitted0[j])) if h is not None
                  else 0.25 * last)
        out.append((f"{parent}_end", names.index(parent), d * length))
    return out


def _bone_mesh(heads: np.ndarray, tails: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat-shaded octahedra from ``heads`` to ``tails`` (B, 3): (B*24, 3) positions, (B*24, 3) normals."""
    pos, nrm = [], []
    for h, t in zip(heads, tails):
        u = t - h
        L = float(np.linalg.norm(u))
        u = u / L
        a = np.cross(u, [0.0, 0.0, 1.0] if abs(u[2]) < 0.9 else [1.0, 0.0, 0.0])
        a /= np.linalg.norm(a)
        b = np.cross(u, a)
        ring = [h + 0.15 * L * u + 0.08 * L * v for v in (a, b, -a, -b)]
        for k in range(4):
            r0, r1 = ring[k], ring[(k + 1) % 4]
            for tri in ((h, r1, r0), (t, r0, r1)):
                n = np.cross(tri[1] - tri[0], tri[2] - tri[0])
                n /= max(np.linalg.norm(n), 1e-12)
                pos.extend(tri)
                nrm.extend([n] * 3)
    return np.asarray(pos, np.float32), np.asarray(nrm, np.float32)


def write_glb(path: str | Path, seq) -> np.ndarray:
    """Write a :class:`PoseSequence` as an animated, skinned ``.glb`` (atomically).

    Returns the ``(T, 17, 3)`` Y-up metres the animation reproduces (the fitted joints; invalid
    frames hold the nearest valid pose, as in BVH).  A file without any valid frame is refused.
    """
    import pygltflib as g

    poses, _ = yup_poses(seq)
    offsets, root, local, fitted = bvh_from_poses(poses, seq.valid, frame="yup")
    joints = _joints(fitted[0], offsets)
    J, T = len(joints), len(root)
    rest = np.zeros((J, 3))
    for i, (_, par, off) in enumerate(joints):
        rest[i] = (root[0] if par < 0 else rest[par] + off)
    q = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_quat().reshape(T, -1, 4)      # x, y, z, w (glTF order)
    sign = np.sign(np.einsum("tjk,tjk->tj", q[1:], q[:-1]))
    sign[sign == 0] = 1
    q[1:] *= np.cumprod(sign, axis=0)[..., None]          # continuous quaternions: LINEAR takes the short way

    bones = [(par, i) for i, (_, par, off) in enumerate(joints) if par >= 0 and np.linalg.norm(off) > 1e-9]
    mesh_pos, mesh_nrm = _bone_mesh(rest[[p for p, _ in bones]], rest[[c for _, c in bones]])
    mesh_joint = np.repeat(np.array([p for p, _ in bones], np.uint16), 24)
    blobs: list[bytes] = []
    views: list[g.BufferView] = []
    accessors: list[g.Accessor] = []
    offset = 0

    def add(arr: np.ndarray, kind: str, ctype: int, minmax: bool = False, vertex: bool = False) -> int:
        nonlocal offset
        data = np.ascontiguousarray(arr).tobytes()
        views.append(g.BufferView(buffer=0, byteOffset=offset, byteLength=len(data),
                                  target=g.ARRAY_BUFFER if vertex else None))
        pad = (-len(data)) % 4
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
        flat = arr.reshape(len(arr), -1)
        accessors.append(g.Accessor(bufferView=len(views) - 1, componentType=ctype, count=len(arr), type=kind,
                                    min=flat.min(0).tolist() if minmax else None,
                                    max=flat.max(0).tolist() if minmax else None))
        return len(accessors) - 1

    F32, U16 = g.FLOAT, g.UNSIGNED_SHORT
    a_pos = add(mesh_pos, g.VEC3, F32, minmax=True, vertex=True)
    a_nrm = add(mesh_nrm, g.VEC3, F32, vertex=True)
    a_jnt = add(np.stack([mesh_joint] + [np.zeros_like(mesh_joint)] * 3, -1), g.VEC4, U16, vertex=True)
    a_wgt = add(np.tile(np.array([1, 0, 0, 0], np.float32), (len(mesh_joint), 1)), g.VEC4, F32, vertex=True)
    ibm = np.tile(np.eye(4, dtype=np.float32), (J, 1, 1))
    ibm[:, :3, 3] = -rest
    a_ibm = add(np.swapaxes(ibm, 1, 2).reshape(J, 16), g.MAT4, F32)     # glTF matrices are column-major
    a_time = add((np.arange(T) / float(seq.fps)).astype(np.float32), g.SCALAR, F32, minmax=True)
    a_root = add(root.astype(np.float32), g.VEC3, F32)
    samplers, channels = [g.AnimationSampler(input=a_time, output=a_root, interpolation="LINEAR")], [
        g.AnimationChannel(sampler=0, target=g.AnimationChannelTarget(node=0, path="translation"))]
    for i in range(len(_HIERARCHY)):
        samplers.append(g.AnimationSampler(input=a_time, output=add(q[:, i].astype(np.float32), g.VEC4, F32),
                                           interpolation="LINEAR"))
        channels.append(g.AnimationChannel(sampler=len(samplers) - 1,
                                           target=g.AnimationChannelTarget(node=i, path="rotation")))
    nodes = [g.Node(name=name, translation=(rest[i] if par < 0 else off).astype(float).tolist(),
                    children=[c for c, (_, p, _) in enumerate(joints) if p == i] or None)
             for i, (name, par, off) in enumerate(joints)]
    nodes.append(g.Node(name="Skeleton", mesh=0, skin=0))
    gl = g.GLTF2(
        asset=g.Asset(generator="structpose", version="2.0"),
        scene=0, scenes=[g.Scene(name=str(seq.meta.get("name", "structpose")), nodes=[0, J])],
        nodes=nodes,
        meshes=[g.Mesh(name="bones", primitives=[g.Primitive(
            attributes=g.Attributes(POSITION=a_pos, NORMAL=a_nrm, JOINTS_0=a_jnt, WEIGHTS_0=a_wgt), material=0)])],
        materials=[g.Material(name="bone", pbrMetallicRoughness=g.PbrMetallicRoughness(
            baseColorFactor=[0.8, 0.8, 0.85, 1.0], metallicFactor=0.0, roughnessFactor=0.8))],
        skins=[g.Skin(name="structpose_h36m", joints=list(range(J)), skeleton=0, inverseBindMatrices=a_ibm)],
        animations=[g.Animation(name="motion", samplers=samplers, channels=channels)],
        accessors=accessors, bufferViews=views, buffers=[g.Buffer(byteLength=offset)])
    gl.set_binary_blob(b"".join(blobs))
    if not np.isfinite(mesh_pos).all():
        raise StructposeError("GLB export: the fitted skeleton has a zero-length bone; cannot draw it")
    with atomic_path(path) as tmp:
        gl.save_binary(str(tmp))
    return fitted


__all__ = ["GLB_TO_H36M", "write_glb"]

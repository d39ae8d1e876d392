"""DeepMimic clips (pybullet_data): real-mocap invariants of the conversion to H36M-17."""
from __future__ import annotations

import json

import numpy as np
import pytest

from structpose.data import deepmimic
from structpose.errors import StructposeError
from structpose.skeleton import H36M17

J = H36M17.index
UP = np.array([0.0, 1.0, 0.0])


def _frames(name: str) -> np.ndarray:
    path = next(p for p in deepmimic.clip_paths() if p.stem.endswith(name))
    return np.asarray(json.loads(path.read_text())["Frames"], float)


def test_every_clip_converts(deepmimic_clips):
    """20 clips, each (T, 17, 3) finite, frame count equal to the file's own row count."""
    paths = deepmimic.clip_paths()
    assert len(deepmimic_clips) == len(paths) == 20
    for path, clip in zip(paths, deepmimic_clips):
        rows = len(json.loads(path.read_text())["Frames"])
        assert clip.world.shape == (rows, 17, 3)
        assert np.isfinite(clip.world).all()
        assert clip.fps in (16.0, 24.0, 30.0, 60.0)


def test_bone_lengths_constant(deepmimic_clips):
    """Rigid links: every bone keeps its length to float precision on every frame."""
    for clip in deepmimic_clips:
        for p, c in H36M17.bones:
            length = np.linalg.norm(clip.world[:, c] - clip.world[:, p], axis=-1)
            assert length.std() < 1e-6, (clip.name, H36M17.names[c])


def test_heights_human(deepmimic_clips):
    """Skeleton height (legs + pelvis-to-head-top chain) is human: DeepMimic's is ~1.57 m."""
    for clip in deepmimic_clips:
        w = clip.world[0]
        def bone(a: str, b: str, w=w) -> float:
            return float(np.linalg.norm(w[J(a)] - w[J(b)]))
        height = (bone("r_hip", "r_knee") + bone("r_knee", "r_ankle") + bone("pelvis", "spine")
                  + bone("spine", "thorax") + bone("thorax", "neck_nose") + bone("neck_nose", "head_top"))
        assert 1.4 < height < 2.0, clip.name
    walk = next(c for c in deepmimic_clips if c.name == "deepmimic/walk")
    stature = walk.world[:, J("head_top"), 1] - walk.world[:, [J("l_ankle"), J("r_ankle")], 1].min(axis=1)
    assert 1.4 < np.median(stature) < 2.0


def test_left_right_is_the_persons_own(deepmimic_clips):
    """Forward (root's local +X, from the raw quaternion; the knee test below shows it is the
    front) x up = the l_hip -> r_hip direction, on every frame with an upright torso."""
    for clip, path in zip(deepmimic_clips, deepmimic.clip_paths()):
        raw = np.asarray(json.loads(path.read_text())["Frames"], float)
        fwd = deepmimic._quat(raw[:, 4:8]).apply([1.0, 0.0, 0.0])
        torso = clip.world[:, J("thorax")] - clip.world[:, J("pelvis")]
        upright = torso[:, 1] / np.linalg.norm(torso, axis=1) > 0.7
        right = clip.world[:, J("r_hip")] - clip.world[:, J("l_hip")]
        side = np.einsum("ti,ti->t", np.cross(fwd, UP), right)
        assert (side[upright] > 0).all(), clip.name
    assert sum(len(c.world) for c in deepmimic_clips) > 1500


def test_knees_bend_backward_relative_to_facing(deepmimic_clips):
    """At a clearly bent knee (> 20 deg), the shin points behind the thigh's line: (thigh x shin)
    points to the person's left, i.e. the knee flexes about the right-left axis the normal way."""
    for clip in deepmimic_clips:
        w = clip.world
        right = w[:, J("r_hip")] - w[:, J("l_hip")]
        for s in "rl":
            thigh = w[:, J(f"{s}_knee")] - w[:, J(f"{s}_hip")]
            shin = w[:, J(f"{s}_ankle")] - w[:, J(f"{s}_knee")]
            cos = np.einsum("ti,ti->t", thigh, shin) / np.linalg.norm(thigh, axis=1) / np.linalg.norm(shin, axis=1)
            bent = cos < np.cos(np.radians(20))
            side = np.einsum("ti,ti->t", np.cross(thigh, shin), right)
            if bent.sum() > 0:
                assert (side[bent] < 0).mean() > 0.95, (clip.name, s)


def test_fk_matches_pybullet_link_positions():
    """Our numpy forward kinematics agree with pybullet's own, on the URDF, for real frames."""
    import pybullet as pb
    import pybullet_data
    raw = _frames("spinkick")[::10]
    cid = pb.connect(pb.DIRECT)
    try:
        body = pb.loadURDF(f"{pybullet_data.getDataPath()}/humanoid/humanoid.urdf", globalScaling=0.25,
                           useFixedBase=False, physicsClientId=cid)
        names = {pb.getJointInfo(body, k, physicsClientId=cid)[1].decode(): k
                 for k in range(pb.getNumJoints(body, physicsClientId=cid))}
        cols = {"chest": 8, "neck": 12, "right_hip": 16, "right_knee": 20, "right_ankle": 21,
                "right_shoulder": 25, "right_elbow": 29, "left_hip": 30, "left_knee": 34, "left_ankle": 35,
                "left_shoulder": 39, "left_elbow": 43}
        ours = deepmimic.forward_kinematics(raw)
        for f, row in enumerate(raw):
            def q(c: int, row=row) -> list[float]:      # w-first file quaternion -> pybullet's x, y, z, w
                v = row[c:c + 4] / np.linalg.norm(row[c:c + 4])
                return [v[1], v[2], v[3], v[0]]
            pb.resetBasePositionAndOrientation(body, row[1:4].tolist(), q(4), physicsClientId=cid)
            for name, c in cols.items():
                if name.endswith(("knee", "elbow")):
                    pb.resetJointState(body, names[name], row[c], physicsClientId=cid)
                else:
                    pb.resetJointStateMultiDof(body, names[name], q(c), physicsClientId=cid)
            for link, ours_joint in (("right_knee", "r_knee"), ("left_elbow", "l_elbow"),
                                     ("right_ankle", "r_ankle"), ("left_shoulder", "l_shoulder"),
                                     ("neck", "thorax")):
                pos = np.array(pb.getLinkState(body, names[link], computeForwardKinematics=True,
                                               physicsClientId=cid)[4])
                assert np.allclose(pos, ours[f, J(ours_joint)], atol=1e-5), (f, link)
    finally:
        pb.disconnect(cid)


def test_corrupt_motion_file_is_one_error(tmp_path):
    for text in ("", "{", '{"Frames": []}', '{"Frames": [[0.0, 1.0]]}', '{"Loop": "none"}'):
        p = tmp_path / "humanoid3d_bad.txt"
        p.write_text(text)
        with pytest.raises(StructposeError):
            deepmimic.load_clip(p)


def test_foundation_illegal_angle_check_passes_real_frames(deepmimic_camera_poses):
    """The foundation's Eq. 1 legality (geometry.limb_legality): clearly bent limbs of real frames
    are legal; the same frames with the limb mirrored through its plane become illegal."""
    from structpose.geometry import LIMB_NAMES, limb_legality, mirror_limb
    g = limb_legality(deepmimic_camera_poses)
    for k, limb in enumerate(LIMB_NAMES):
        clear = np.abs(g[:, k]) > 0.1
        assert clear.sum() > 500 and (g[clear, k] > 0).mean() > 0.97, limb
        flipped = limb_legality(mirror_limb(deepmimic_camera_poses[clear], limb))[:, k]
        assert (flipped < 0).mean() > 0.97, limb

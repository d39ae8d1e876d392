"""holosoma climbing mocap (read from the wheel): mapping, frame, rate and real-mocap invariants."""
from __future__ import annotations

import ast
import io
import zipfile

import numpy as np
import pytest

from structpose.data import holosoma
from structpose.errors import StructposeError
from structpose.skeleton import H36M17

J = H36M17.index


@pytest.fixture(scope="module")
def raw():
    """The wheel's own arrays and joint list, read here independently of the loader."""
    with zipfile.ZipFile(holosoma.require_wheel()) as zf:
        src = zf.read("holosoma_retargeting/config_types/data_type.py").decode()
        names = next(ast.literal_eval(n.value) for n in ast.parse(src).body
                     if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "MOCAP_DEMO_JOINTS")
        arrays = {m: np.load(io.BytesIO(zf.read(m))) for m in sorted(zf.namelist())
                  if "demo_data/climb/" in m and m.endswith(".npy")}
    return names, list(arrays.values())


@pytest.fixture(scope="module")
def clips():
    return holosoma.load_all()


def test_joint_names_match_the_package(raw):
    names, _ = raw
    assert tuple(names) == holosoma.MOCAP_DEMO_JOINTS


def test_every_sequence_converts(raw, clips):
    _, arrays = raw
    assert [c.name for c in clips] == [f"holosoma/climb_seq_{k}" for k in range(5)]
    for a, c in zip(arrays, clips):
        assert a.shape[1:] == (53, 3) and c.world.shape == (a.shape[0], 17, 3)
        assert np.isfinite(c.world).all() and c.fps == 120.0
    assert sum(c.num_frames for c in clips) == 12939


def test_mapping_and_y_up(raw, clips):
    """Joints equal the named source joints with (x, y, z)_Zup -> (x, z, -y): heights carry over."""
    names, arrays = raw
    a, c = arrays[0], clips[0]
    for dst, src in (("pelvis", "Hips"), ("r_knee", "RightLeg"), ("l_wrist", "LeftHand"), ("thorax", "Neck")):
        s = a[:, names.index(src)]
        assert np.allclose(c.world[:, J(dst)], np.stack([s[:, 0], s[:, 2], -s[:, 1]], -1), atol=1e-6)
    # head above feet (Y up) on nearly every frame of climbing
    assert (c.world[:, J("head_top"), 1] > c.world[:, J("r_ankle"), 1]).mean() > 0.95


def test_bone_lengths_constant_to_source_precision(clips):
    """Bones made of one source bone are as rigid as the source (< 1 mm std); bones that skip a
    source joint (pelvis-spine over Spine, thorax-shoulder over the clavicle) stay within 6 mm."""
    skipping = {(J("pelvis"), J("spine")), (J("thorax"), J("l_shoulder")), (J("thorax"), J("r_shoulder"))}
    for c in clips:
        for p, ch in H36M17.bones:
            length = np.linalg.norm(c.world[:, ch] - c.world[:, p], axis=-1)
            tol = 0.006 if (p, ch) in skipping else 0.001
            assert length.std() < tol, (c.name, H36M17.names[ch], length.std())


def test_heights_human(clips):
    for c in clips:
        w = c.world
        stature = w[:, J("head_top"), 1] - w[:, [J("l_ankle"), J("r_ankle")], 1].min(axis=1)
        assert 1.4 < np.percentile(stature, 99) < 2.0, c.name


def test_frame_rate_gives_human_speeds(clips):
    """Read at 120 Hz the pelvis moves like a climber (99th pct 0.5-2 m/s); at 30 Hz it would be 4x."""
    for c in clips:
        speed = np.linalg.norm(np.diff(c.world[:, J("pelvis")], axis=0), axis=-1) * c.fps
        assert 0.5 < np.percentile(speed, 99) < 2.0, c.name
        assert np.percentile(speed * 4, 99) > 2.0


def test_left_right_is_the_persons_own(raw, clips):
    """Forward = heel -> toe of the raw feet; forward x up points from the left hip to the right."""
    names, arrays = raw
    for a, c in zip(arrays, clips):
        toe = a[:, [names.index("LeftToeBase"), names.index("RightToeBase")]]
        heel = a[:, [names.index("LeftFoot"), names.index("RightFoot")]]
        fwd = (toe - heel).mean(axis=1)
        fwd[:, 2] = 0                                    # horizontal, Z-up source frame
        right = a[:, names.index("RightUpLeg")] - a[:, names.index("LeftUpLeg")]
        side = np.einsum("ti,ti->t", np.cross(fwd, [0.0, 0.0, 1.0]), right)
        assert (side > 0).mean() > 0.97, c.name
        # and the converted clip keeps it (Y up now)
        fwd_y = np.stack([fwd[:, 0], fwd[:, 2], -fwd[:, 1]], -1)
        right_y = c.world[:, J("r_hip")] - c.world[:, J("l_hip")]
        assert (np.einsum("ti,ti->t", np.cross(fwd_y, [0.0, 1.0, 0.0]), right_y) > 0).mean() > 0.97


def test_knees_and_elbows_bend_the_right_way(clips):
    """The paper's illegal-angle rule (Eq. 1, camera frame, unit vectors) holds on clearly bent
    limbs: right elbow n.v >= 0, left elbow and right knee <= 0, left knee >= 0."""
    from structpose.cameras import front_camera
    for c in clips:
        P = front_camera(c.world).world_to_camera(c.world)
        u = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)
        for root, a, b, d, sign in (("thorax", "r_shoulder", "r_elbow", "r_wrist", 1),
                                    ("thorax", "l_shoulder", "l_elbow", "l_wrist", -1),
                                    ("pelvis", "r_hip", "r_knee", "r_ankle", -1),
                                    ("pelvis", "l_hip", "l_knee", "l_ankle", 1)):
            n = np.cross(u(P[:, J(a)] - P[:, J(root)]), u(P[:, J(b)] - P[:, J(a)]))
            e = np.einsum("ti,ti->t", n, u(P[:, J(d)] - P[:, J(b)]))
            clear = np.abs(e) > 0.1
            assert clear.sum() > 100 and (sign * e[clear] > 0).mean() > 0.97, (c.name, b)


def test_segments_keep_every_frame_and_name_the_sequence(clips):
    segs = holosoma.load_all(segment_seconds=5.0)
    assert sum(s.num_frames for s in segs) == sum(c.num_frames for c in clips)
    assert all(s.name.startswith("holosoma/climb_seq_") and "/part" in s.name for s in segs)
    assert min(s.num_frames for s in segs) >= 300          # tails shorter than half a piece merge


def test_missing_wheel_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("STRUCTPOSE_DATA", str(tmp_path))
    with pytest.raises(StructposeError, match="make setup"):
        holosoma.load_all()
    (tmp_path / holosoma.WHEEL_NAME).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(StructposeError, match="not a readable"):
        holosoma.load_all()


def test_foundation_illegal_angle_check_passes_real_frames(clips):
    from structpose.geometry import LIMB_NAMES, limb_legality
    P = np.concatenate([c.in_camera() for c in clips])
    g = limb_legality(P)
    for k, limb in enumerate(LIMB_NAMES):
        clear = np.abs(g[:, k]) > 0.1
        assert clear.sum() > 1000 and (g[clear, k] > 0).mean() > 0.97, limb

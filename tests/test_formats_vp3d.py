"""VideoPose3D files: written in the real layout, read back through the public loaders."""
from __future__ import annotations

import numpy as np
import pytest
from formats_builders import (
    RAW17,
    Y_UP_TO_Z_UP,
    embed32,
    mmpose_camera,
    write_pickle,
    write_vp3d_2d,
    write_vp3d_3d,
)

from structpose.data.convert import convert_file
from structpose.data.formats import detect_format, load_keypoints_2d, load_motion_3d, vp3d
from structpose.errors import StructposeError
from structpose.io.posefile import load_pose_file
from structpose.skeleton import COCO17, H36M17

# Human3.6M's 32 joint names (Ionescu et al.'s skeleton), for checking the 32 -> 17 selection by name
H36M32_NAMES = ["Hips", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase", "Site", "LeftUpLeg", "LeftLeg",
                "LeftFoot", "LeftToeBase", "Site", "Spine", "Spine1", "Neck", "Head", "Site", "LeftShoulder",
                "LeftArm", "LeftForeArm", "LeftHand", "LeftHandThumb", "Site", "L_Wrist_End", "Site",
                "RightShoulder", "RightArm", "RightForeArm", "RightHand", "RightHandThumb", "Site",
                "R_Wrist_End", "Site"]


@pytest.fixture(scope="module")
def walk(deepmimic_clips):
    """Real motion (DeepMimic walk, 24 frames) in a Z-up world like Human3.6M's, metres."""
    clip = next(c for c in deepmimic_clips if "walk" in c.name)
    return (clip.world[:24] @ Y_UP_TO_Z_UP.T).astype(np.float32)


def test_selection_is_the_documented_raw_indices():
    assert list(vp3d.H36M32_TO_17) == [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
    picked = [H36M32_NAMES[i] for i in vp3d.H36M32_TO_17]
    # side and limb of each kept raw joint agree with the H36M-17 name at the same position
    for raw, ours in zip(picked, H36M17.names):
        if ours.startswith("r_"):
            assert raw.startswith("Right"), (raw, ours)
        if ours.startswith("l_"):
            assert raw.startswith("Left"), (raw, ours)
    assert picked[0] == "Hips" and picked[8] == "Neck" and picked[9] == "Head"


def test_3d_round_trip_and_marker_values(tmp_path, walk):
    rng = np.random.default_rng(1)
    marker = np.zeros((3, 32, 3), np.float32)
    marker[..., 0] = np.arange(32)                      # x coordinate = raw joint index
    path = write_vp3d_3d(tmp_path / "data_3d_h36m.npz",
                         {"S1": {"Walking": embed32(walk, rng), "Directions 1": marker}})
    assert detect_format(path) == "vp3d_3d"
    seqs = {m.name: m for m in load_motion_3d(path)}
    assert set(seqs) == {"S1/Walking", "S1/Directions 1"}
    np.testing.assert_array_equal(seqs["S1/Directions 1"].poses[0, :, 0], RAW17)
    m = seqs["S1/Walking"]
    np.testing.assert_allclose(m.poses, walk, atol=1e-6)
    assert m.frame == "world" and m.up_axis == "+z" and m.fps == 50.0


def test_front_camera_conversion_keeps_geometry_and_sides(tmp_path, walk):
    path = write_vp3d_3d(tmp_path / "d.npz", {"S9": {"Walking": embed32(walk, np.random.default_rng(2))}})
    seq = convert_file(path, tmp_path / "out.npz").sequence
    p = seq.poses_3d
    # rigid transform: every pairwise distance is kept
    d_in = np.linalg.norm(walk[:, :, None] - walk[:, None], axis=-1)
    d_out = np.linalg.norm(p[:, :, None] - p[:, None], axis=-1)
    np.testing.assert_allclose(d_out, d_in, atol=1e-5)
    # y down: head above pelvis on every frame; the subject faces the camera, so its right hip is
    # on the image's left (smaller x) and its chest is nearer than its back is not needed
    assert (p[:, H36M17.index("head_top"), 1] < p[:, 0, 1]).all()
    assert p[0, H36M17.index("r_hip"), 0] < p[0, H36M17.index("l_hip"), 0]
    assert (p[:, :, 2] > 1.0).all()
    assert seq.meta["camera"]["kind"] == "front" and seq.poses_2d.shape == (24, 17, 2)


def test_dataset_camera_from_mmpose_pickle(tmp_path, walk):
    """--camera-file: X_cam = R_c2w.T (X - centre), computed here independently."""
    ang = 0.4
    R_w2c = np.array([[np.cos(ang), np.sin(ang), 0], [0, 0, -1], [-np.sin(ang), np.cos(ang), 0]])
    centre = np.array([-3.0 * np.sin(ang), -3.0 * np.cos(ang), 1.0]) + walk[0, 0]
    cams = {("S1", cid): mmpose_camera(R_w2c.T, centre, cid=cid, index=i) for i, cid in enumerate(vp3d.H36M_CAMERAS)}
    write_pickle(tmp_path / "cameras.pkl", cams)
    path = write_vp3d_3d(tmp_path / "d.npz", {"S1": {"Walking": embed32(walk, np.random.default_rng(3))}})
    seq = convert_file(path, tmp_path / "o.npz", camera="1", camera_file=tmp_path / "cameras.pkl").sequence
    want = (walk - centre) @ R_w2c.T
    np.testing.assert_allclose(seq.poses_3d, want, atol=1e-5)
    uv = want[..., :2] / want[..., 2:] * np.array([1145.0, 1144.0]) + np.array([512.5, 515.4])
    np.testing.assert_allclose(seq.poses_2d, uv, atol=1e-2)
    assert seq.image_size == (1000, 1002)
    with pytest.raises(StructposeError, match="--camera-file"):
        convert_file(path, tmp_path / "o2.npz", camera="1")


def test_2d_h36m_layout_four_cameras(tmp_path):
    rng = np.random.default_rng(4)
    cams = [rng.uniform(0, 1000, (9, 17, 2)).astype(np.float32) for _ in range(4)]
    path = write_vp3d_2d(tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz", {"S11": {"Walking": cams}})
    assert detect_format(path) == "vp3d_2d"
    seqs = load_keypoints_2d(path)
    assert [k.name for k in seqs] == [f"S11/Walking/{c}" for c in vp3d.H36M_CAMERAS]
    for k, arr in zip(seqs, cams):
        np.testing.assert_allclose(k.xy, arr, atol=1e-4)
        assert (k.scores == 1).all() and k.fps == 50.0
    assert seqs[0].image_size == (1000, 1002) and seqs[1].image_size == (1000, 1000)


def test_2d_custom_coco_entry(tmp_path):
    """A detector's custom entry (COCO order, x, y, score) with video_metadata image size."""
    rng = np.random.default_rng(5)
    T = 7
    kps = np.concatenate([rng.uniform(100, 900, (T, 17, 2)), rng.uniform(0.2, 1.0, (T, 17, 1))], -1).astype(np.float32)
    kps[2, COCO17.index("l_hip"), 2] = 0.0                       # an undetected joint
    path = write_vp3d_2d(tmp_path / "data_2d_custom_myvideos.npz", {"clip.mp4": {"custom": [kps]}},
                         layout="coco", video_metadata={"clip.mp4": {"w": 1920, "h": 1080}})
    (k,) = load_keypoints_2d(path)
    assert k.name == "clip.mp4/custom" and k.image_size == (1920, 1080) and k.fps is None
    h = H36M17.index
    for name in ("l_shoulder", "r_wrist", "l_ankle", "r_knee"):
        np.testing.assert_allclose(k.xy[:, h(name)], kps[:, COCO17.index(name), :2], atol=1e-4)
    # pelvis synthesised from the hips, score = min of the two * 0.8
    mid = (kps[:, COCO17.index("l_hip"), :2] + kps[:, COCO17.index("r_hip"), :2]) / 2
    ok = np.arange(T) != 2
    np.testing.assert_allclose(k.xy[ok, 0], mid[ok], atol=1e-4)
    np.testing.assert_allclose(k.scores[ok, 0], 0.8 * np.minimum(kps[ok, 11, 2], kps[ok, 12, 2]), atol=1e-6)
    # the missing left hip removes itself, the pelvis and the spine, nothing else
    assert np.isnan(k.xy[2, [0, h("l_hip"), h("spine")]]).all() and (k.scores[2, [0, 4, 7]] == 0).all()
    assert np.isfinite(k.xy[2, h("r_hip")]).all() and k.scores[2, h("r_hip")] > 0


def test_detectron_four_channels_use_probability(tmp_path):
    kps = np.zeros((3, 17, 4), np.float32)
    kps[..., :2] = 500
    kps[..., 2] = 7.0                      # logit
    kps[..., 3] = 0.6                      # probability
    path = write_vp3d_2d(tmp_path / "d2.npz", {"v": {"custom": [kps]}}, layout="coco")
    (k,) = load_keypoints_2d(path)
    assert np.allclose(k.scores[:, H36M17.index("l_wrist")], 0.6)


@pytest.mark.parametrize("bad", ["nan", "shape", "layout", "nokey"])
def test_bad_vp3d_files_raise_one_line(tmp_path, walk, bad):
    rng = np.random.default_rng(6)
    path = tmp_path / "bad.npz"
    if bad == "nan":
        arr = embed32(walk, rng)
        arr[3, 5, 1] = np.nan
        write_vp3d_3d(path, {"S1": {"Walking": arr}})
    elif bad == "shape":
        write_vp3d_3d(path, {"S1": {"Walking": np.zeros((4, 31, 3), np.float32)}})
    elif bad == "layout":
        np.savez_compressed(path, positions_2d={"v": {"custom": [np.zeros((2, 17, 2))]}},
                            metadata={"layout_name": "mpii"})
    else:
        np.savez_compressed(path, positions_3d=np.zeros(3), other=np.ones(2))
    with pytest.raises(StructposeError) as e:
        (load_motion_3d if bad != "layout" else load_keypoints_2d)(path, "vp3d_3d" if bad != "layout" else "vp3d_2d")
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_pickle_with_code_is_refused(tmp_path):
    """The restricted unpickler never runs code hidden in a dataset file."""
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    arr = np.empty((), dtype=object)
    arr[()] = {"S1": {"Walking": Evil()}}
    path = tmp_path / "evil.npz"
    np.savez(path, positions_3d=arr)
    with pytest.raises(StructposeError, match="builtins.print"):
        load_motion_3d(path)


def test_converted_file_loads_as_pose_file(tmp_path, walk):
    path = write_vp3d_3d(tmp_path / "d.npz", {"S1": {"Walking": embed32(walk, np.random.default_rng(7))}})
    out = convert_file(path, tmp_path / "w.npz").path
    seq = load_pose_file(out)
    assert seq.poses_3d.shape == (24, 17, 3) and seq.fps == 50.0 and seq.valid.all()
    assert seq.meta["has_3d"] and seq.meta["subject"] == "S1"


@pytest.mark.parametrize("up", ["+y", "-x"])
def test_file_written_with_another_up_axis_is_detected(tmp_path, deepmimic_clips, up):
    """A custom data_3d file written Y up (or any axis) still gives an upright front view."""
    from structpose.cameras import TO_Y_UP
    clip = next(c for c in deepmimic_clips if "walk" in c.name)
    world = (clip.world[:24] @ TO_Y_UP[up]).astype(np.float32)        # Y-up -> `up`-up (inverse rotation)
    path = write_vp3d_3d(tmp_path / "d.npz", {"S1": {"Walking": embed32(world, np.random.default_rng(8))}})
    seq = convert_file(path, tmp_path / "o.npz").sequence
    p = seq.poses_3d
    assert seq.meta["up_axis"] == up and "up_axis_note" in seq.meta
    assert (p[:, H36M17.index("head_top"), 1] < p[:, H36M17.index("r_ankle"), 1]).all()
    assert p[0, H36M17.index("r_hip"), 0] < p[0, H36M17.index("l_hip"), 0]

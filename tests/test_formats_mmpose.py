"""mmpose's h36m_*.npz and cameras.pkl, written as preprocess_h36m.py writes them."""
from __future__ import annotations

import numpy as np
import pytest
from formats_builders import mmpose_camera, project, write_mmpose, write_pickle

from structpose.data.convert import convert_file
from structpose.data.formats import detect_format, load_image_annotations, load_motion_3d, mmpose_h36m
from structpose.errors import StructposeError
from structpose.skeleton import H36M17


@pytest.fixture(scope="module")
def rows(deepmimic_clips):
    """Two actions x two cameras, every 5th video frame, rows shuffled as a real file may be."""
    clip = next(c for c in deepmimic_clips if "dance_a" in c.name)
    cam = clip.in_camera()[:30]
    names, S, part, truth = [], [], [], {}
    for action, off in (("Walking_1", 0), ("Eating", 10)):
        for cid in ("54138969", "55011271"):
            base = f"S9_{action}.{cid}"
            frames = np.arange(0, 20, 5)
            poses = cam[off + frames]
            truth[(action, cid)] = poses
            names += [f"S9/{base}/{base}_{i + 1:06d}.jpg" for i in frames]
            S.append(np.concatenate([poses, np.ones((len(frames), 17, 1))], -1))
            part.append(np.concatenate([project(poses), np.ones((len(frames), 17, 1))], -1))
    S, part = np.concatenate(S), np.concatenate(part)
    perm = np.random.default_rng(0).permutation(len(names))
    return np.array(names)[perm], S[perm], part[perm], truth


def _write(tmp_path, rows):
    names, S, part, _ = rows
    xy = part[..., :2]
    lo, hi = xy.min(1), xy.max(1)
    return write_mmpose(tmp_path / "h36m_test.npz", names, (lo + hi) / 2, 1.2 * (hi - lo).max(1) / 200, part, S)


def test_sequences_grouped_sorted_and_timed(tmp_path, rows):
    path = _write(tmp_path, rows)
    assert detect_format(path) == "mmpose_h36m"
    seqs = {(m.action, m.camera_name): m for m in load_motion_3d(path)}
    assert set(seqs) == set(rows[3])
    for key, m in seqs.items():
        np.testing.assert_allclose(m.poses, rows[3][key], atol=1e-6)
        np.testing.assert_allclose(m.poses_2d, project(rows[3][key]), atol=1e-3)
        assert m.fps == 10.0 and m.frame == "camera" and m.meta["video_frames"] == [1, 6, 11, 16]


def test_image_records(tmp_path, rows):
    path = _write(tmp_path, rows)
    ann = load_image_annotations(path)
    names, S, part, _ = rows
    assert len(ann) == len(names) and list(ann.images) == list(names)
    np.testing.assert_allclose(ann.joints_3d, S[..., :3], atol=1e-6)
    np.testing.assert_allclose(ann.joints_2d, part[..., :2], atol=1e-3)
    rec = ann[3]
    assert rec["image"] == names[3] and rec["joints_2d"].shape == (17, 2)
    # the centre lies inside the joints' bounding box
    assert (ann.center >= ann.bbox[:, :2] - 1e-3).all() and (ann.center <= ann.bbox[:, :2] + ann.bbox[:, 2:] + 1e-3).all()


def test_camera_pickle_convention(tmp_path):
    """mmpose's R rotates camera to world and T is the camera centre: X_cam = R.T (X - T)."""
    ang = 1.1
    R_w2c = np.array([[np.cos(ang), 0, -np.sin(ang)], [0, 1, 0], [np.sin(ang), 0, np.cos(ang)]]) @ \
        np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])
    centre = np.array([1.5, -4.0, 1.6])
    path = write_pickle(tmp_path / "cameras.pkl", {("S9", "54138969"): mmpose_camera(R_w2c.T, centre)})
    cam = mmpose_h36m.load_cameras(path)["S9/54138969"]
    X = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(cam.world_to_camera(X), (X - centre) @ R_w2c.T, atol=1e-9)
    np.testing.assert_allclose(cam.center, centre, atol=1e-9)


def test_convert_needs_a_choice_then_writes(tmp_path, rows):
    path = _write(tmp_path, rows)
    with pytest.raises(StructposeError, match="choose one with") as e:
        convert_file(path, tmp_path / "o.npz", subject="S9")
    assert "Eating/54138969 (4 frames)" in str(e.value)
    assert not (tmp_path / "o.npz").exists()
    seq = convert_file(path, tmp_path / "o.npz", action="Eating", camera="1").sequence
    np.testing.assert_allclose(seq.poses_3d, rows[3][("Eating", "55011271")], atol=1e-6)
    assert seq.fps == 10.0 and seq.meta["has_3d"]
    # left/right survive: the front camera sees the subject's right hip at smaller x
    assert (seq.poses_3d[:, H36M17.index("r_hip"), 0] < seq.poses_3d[:, H36M17.index("l_hip"), 0]).mean() > 0.5


def test_mismatched_rows_and_bad_names(tmp_path, rows):
    names, S, part, _ = rows
    p = write_mmpose(tmp_path / "a.npz", names, np.zeros((len(names), 2)), np.ones(len(names)), part[:-1], S)
    with pytest.raises(StructposeError, match="rows"):
        load_motion_3d(p)
    p = write_mmpose(tmp_path / "b.npz", ["x.jpg"] * len(names), np.zeros((len(names), 2)), np.ones(len(names)), part, S)
    with pytest.raises(StructposeError, match="does not follow"):
        load_motion_3d(p)


def test_convert_with_camera_file_records_intrinsics(tmp_path, rows):
    path = _write(tmp_path, rows)
    cams = {("S9", cid): mmpose_camera(np.eye(3), np.zeros(3), cid=cid, w=1000, h=1000 + i)
            for i, cid in enumerate(("54138969", "55011271"))}
    write_pickle(tmp_path / "cameras.pkl", cams)
    seq = convert_file(path, tmp_path / "o.npz", action="Walking_1", camera="55011271",
                       camera_file=tmp_path / "cameras.pkl").sequence
    assert seq.image_size == (1000, 1001) and seq.meta["camera"]["kind"] == "dataset"
    np.testing.assert_allclose(seq.meta["camera"]["f"], [1145.0, 1144.0])

"""MPI-INF-3DHP: training annot.mat (MATLAB cells) and test annot_data.mat (MATLAB v7.3 / HDF5)."""
from __future__ import annotations

import numpy as np
import pytest
from formats_builders import RAW3DHP, project, write_3dhp_test, write_3dhp_train

from structpose.data.convert import convert_file
from structpose.data.formats import detect_format, load_image_annotations, load_motion_3d, mpi_inf_3dhp
from structpose.errors import StructposeError
from structpose.skeleton import H36M17, MPIINF3DHP17, convert

# 3DHP's 28 joint names (its documentation's order), to check the 17-joint selection by name
NAMES28 = ["spine3", "spine4", "spine2", "spine", "pelvis", "neck", "head", "head_top", "left_clavicle",
           "left_shoulder", "left_elbow", "left_wrist", "left_hand", "right_clavicle", "right_shoulder",
           "right_elbow", "right_wrist", "right_hand", "left_hip", "left_knee", "left_ankle", "left_foot",
           "left_toe", "right_hip", "right_knee", "right_ankle", "right_foot", "right_toe"]


@pytest.fixture(scope="module")
def motion(deepmimic_clips):
    """Real motion in a camera frame (metres), 3 cameras' worth (shifted copies), 15 frames."""
    clip = next(c for c in deepmimic_clips if "dance_a" in c.name)
    cam = clip.in_camera()[:15].astype(np.float64)
    return [cam + np.array([0.3 * k, 0.0, 0.5 * k]) for k in range(3)]


def _as28(h36m: np.ndarray, rng) -> np.ndarray:
    """H36M-17 metres -> 3DHP 28 joints in mm, the 17 at their raw places, junk elsewhere."""
    out = rng.normal(size=h36m.shape[:1] + (28, h36m.shape[-1])) * 1000
    out[:, RAW3DHP] = convert(h36m, H36M17.name, MPIINF3DHP17.name) * 1000
    return out


def test_selection_names():
    assert list(mpi_inf_3dhp.TRAIN_28_TO_17) == [7, 5, 14, 15, 16, 9, 10, 11, 23, 24, 25, 18, 19, 20, 4, 3, 6]
    picked = [NAMES28[i] for i in mpi_inf_3dhp.TRAIN_28_TO_17]
    for raw, ours in zip(picked, MPIINF3DHP17.names):
        assert raw.replace("left_", "l_").replace("right_", "r_") == ours, (raw, ours)


def test_train_round_trip(tmp_path, motion):
    rng = np.random.default_rng(0)
    path = write_3dhp_train(tmp_path / "S3" / "Seq2" / "annot.mat",
                            [_as28(project(m)[..., :2], rng) / 1000 for m in motion],
                            [_as28(m, rng) for m in motion])
    assert detect_format(path) == "mpi_inf_3dhp"
    seqs = load_motion_3d(path)
    assert [s.name for s in seqs] == ["S3/Seq2/cam0", "S3/Seq2/cam1", "S3/Seq2/cam2"]
    for s, m in zip(seqs, motion):
        np.testing.assert_allclose(s.poses, m, atol=1e-6)            # mm -> m, all 17 joints exact
        np.testing.assert_allclose(s.poses_2d, project(m), atol=1e-3)
        assert s.fps == 25.0 and s.frame == "camera" and s.image_size == (2048, 2048)
    ann = load_image_annotations(path)
    assert len(ann) == 45 and ann.images[15] == "S3/Seq2/imageFrames/video_1/frame_000001.jpg"


def test_test_set_hdf5_round_trip(tmp_path, motion):
    m = motion[1]
    N = m.shape[0]
    m3 = convert(m, H36M17.name, MPIINF3DHP17.name) * 1000
    m2 = convert(project(m), H36M17.name, MPIINF3DHP17.name)
    valid = np.ones(N, bool)
    valid[[2, 9]] = False
    activity = np.arange(N) % 7 + 1
    bb = np.stack([np.arange(N), np.arange(N) + 1, np.full(N, 300), np.full(N, 400)], 1).astype(float)
    path = write_3dhp_test(tmp_path / "TS5" / "annot_data.mat", m2, m3, valid, activity, bb)
    assert path.read_bytes()[:10] == b"MATLAB 7.3"
    assert detect_format(path) == "mpi_inf_3dhp"
    (s,) = load_motion_3d(path)
    np.testing.assert_allclose(s.poses, m, atol=1e-6)
    np.testing.assert_allclose(s.poses_2d, project(m), atol=1e-3)
    np.testing.assert_array_equal(s.valid, valid)
    assert s.fps == 50.0 and s.image_size == (1920, 1080) and s.meta["activity"] == activity.tolist()
    assert s.meta["bb_crop"][3] == [3, 4, 300, 400]
    ann = load_image_annotations(path)
    assert len(ann) == N - 2 and "img_000003.jpg" not in " ".join(ann.images)
    out = convert_file(path, tmp_path / "ts5.npz", fps=25).sequence     # 50 -> 25: every 2nd frame
    np.testing.assert_allclose(out.poses_3d, m[::2], atol=1e-6)
    np.testing.assert_array_equal(out.valid, valid[::2])
    assert out.meta["activity"] == activity[::2].tolist()


def test_sides_by_geometry(tmp_path, motion):
    """The camera looks at the subject's front: its right shoulder is on the image's left."""
    rng = np.random.default_rng(3)
    path = write_3dhp_train(tmp_path / "S1" / "Seq1" / "annot.mat", [_as28(project(motion[0]), rng)],
                            [_as28(motion[0], rng)])
    (s,) = load_motion_3d(path)
    r, l = H36M17.index("r_shoulder"), H36M17.index("l_shoulder")
    assert (s.poses_2d[:, r, 0] < s.poses_2d[:, l, 0]).mean() > 0.5


def test_bad_3dhp(tmp_path, motion):
    rng = np.random.default_rng(4)
    a3 = _as28(motion[0], rng)
    a3[4, 3, 2] = np.nan
    p = write_3dhp_train(tmp_path / "S1" / "Seq1" / "annot.mat", [_as28(project(motion[0]), rng)], [a3])
    with pytest.raises(StructposeError, match="NaN"):
        load_motion_3d(p)
    import scipy.io
    q = tmp_path / "other.mat"
    scipy.io.savemat(str(q), {"something": np.ones(3)})
    with pytest.raises(StructposeError, match="no 'annot2'") as e:
        load_motion_3d(q)
    assert "\n" not in str(e.value)


def test_own_mat_reader_agrees_with_scipy_on_valid_files(tmp_path):
    """The pure-Python MAT v5 reader returns what scipy.io.loadmat returns, compressed or not."""
    import scipy.io

    from structpose.data.formats._matv5 import loadmat
    rng = np.random.default_rng(5)
    c = np.empty((3, 1), object)
    for i in range(3):
        c[i, 0] = rng.normal(size=(4, 6 + i))
    vars_ = {"a": rng.normal(size=(3, 5)), "cellv": c, "i": np.arange(6, dtype=np.int32).reshape(2, 3),
             "f": np.float32([[1.5, 2.5]]), "z": np.array([[1 + 2j, 3 - 1j]]), "e": np.zeros((0, 3))}
    for compress in (False, True):
        p = tmp_path / f"v{compress}.mat"
        scipy.io.savemat(str(p), vars_, do_compression=compress)
        ours, ref = loadmat(p), scipy.io.loadmat(str(p))
        for k in vars_:
            if k == "cellv":
                for i in range(3):
                    np.testing.assert_array_equal(ours[k][i, 0], ref[k][i, 0])
            else:
                assert ours[k].shape == ref[k].shape
                np.testing.assert_array_equal(ours[k], ref[k])


def test_byte_flip_that_crashes_scipy_is_a_clear_error(tmp_path):
    """Flipping byte 233 of this file (a cell's dimensions) makes scipy 1.17.1's loadmat die with
    SIGSEGV (seen while fuzzing); our reader must answer with a StructposeError instead."""
    rng = np.random.default_rng(0)
    p = write_3dhp_train(tmp_path / "S1" / "Seq1" / "annot.mat", [rng.normal(size=(6, 28, 2))],
                         [rng.normal(size=(6, 28, 3)) * 1000])
    raw = bytearray(p.read_bytes())
    for flip in (0x40, 0xFF):
        b = raw.copy()
        b[233] ^= flip
        p.write_bytes(bytes(b))
        with pytest.raises(StructposeError):
            load_motion_3d(p)


def test_camera_calibration_beside_annot(tmp_path, deepmimic_clips):
    """camera.calibration gives each camera: world -> camera reproduces annot3, K reproduces annot2."""
    from formats_builders import write_3dhp_calibration

    from structpose.cameras import look_at
    rng = np.random.default_rng(9)
    world = next(c for c in deepmimic_clips if "walk" in c.name).world[:10].astype(np.float64)   # Y up, metres
    cams, a2, a3 = [], [], []
    for k, yaw in enumerate((0.3, 2.0)):
        eye = world[0, 0] + 4.0 * np.array([np.sin(yaw), 0.2, np.cos(yaw)])
        R, t = look_at(eye, world[0, 0])
        f, c = 1400.0 + 50 * k, (1020.0, 1030.0)
        cam_pts = world @ R.T + t
        cams.append((R, t * 1000.0, f, c))
        a3.append(_as28(cam_pts, rng))
        a2.append(_as28(cam_pts[..., :2] / cam_pts[..., 2:] * f + np.array(c), rng) / 1000)
    d = tmp_path / "S4" / "Seq1"
    write_3dhp_train(d / "annot.mat", a2, a3)
    write_3dhp_calibration(d / "camera.calibration", cams)
    seqs = load_motion_3d(d / "annot.mat")
    for s in seqs:
        assert s.camera is not None
        np.testing.assert_allclose(s.camera.camera_to_world(s.poses), world, atol=1e-5)
        np.testing.assert_allclose(s.camera.project(s.poses), s.poses_2d, atol=1e-3)
    ann = load_image_annotations(d / "annot.mat")
    assert ann[12]["camera"].f[0] == 1450.0 and ann[2]["camera"].f[0] == 1400.0      # frames of cam1, cam0
    (d / "camera.calibration").write_text("Skeletool Camera Calibration File V1.0\nname 0\n  size 10 10\n")
    with pytest.raises(StructposeError, match="lacks size, intrinsic or extrinsic"):
        load_motion_3d(d / "annot.mat")

"""Exports: BVH round trip through an independent parser + FK, JSON / CSV / VP3D read back, atomicity."""
from __future__ import annotations

import csv
import json

import bvh as bvhlib
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from structpose.errors import StructposeError
from structpose.io.bvh_export import BVH_TO_H36M, write_bvh
from structpose.io.export import export, parse_formats, write_csv, write_json, write_vp3d
from structpose.io.posefile import PoseSequence
from structpose.skeleton import H36M17


def _fk(path):
    """Forward kinematics written here from the BVH definition, on the `bvh` package's parse."""
    with open(path) as fh:
        m = bvhlib.Bvh(fh.read())
    names = m.get_joints_names()
    out = np.zeros((m.nframes, len(names), 3))
    for f in range(m.nframes):
        pos, rot = {}, {}
        for n in names:
            ch = m.joint_channels(n)
            d = dict(zip(ch, m.frame_joint_channels(f, n, ch)))
            R = Rotation.from_euler("ZXY", [d["Zrotation"], d["Xrotation"], d["Yrotation"]], degrees=True).as_matrix()
            par = m.joint_parent(n)
            if par is None:
                pos[n], rot[n] = np.array([d["Xposition"], d["Yposition"], d["Zposition"]]), R
            else:
                pos[n] = pos[par.name] + rot[par.name] @ np.array(m.joint_offset(n))
                rot[n] = rot[par.name] @ R
        out[f] = [pos[n] for n in names]
    return names, out, m


def _lifted_like(deepmimic_camera_poses, seed=0):
    """Real poses with per-frame bone-length noise and a moving root, as a lifter would give."""
    rng = np.random.default_rng(seed)
    p = deepmimic_camera_poses[::40][:40].astype(np.float64)
    return p + rng.normal(scale=0.01, size=p.shape)


def test_bvh_round_trip_gives_back_the_exported_joints(tmp_path, deepmimic_camera_poses):
    poses = _lifted_like(deepmimic_camera_poses)
    path = tmp_path / "a.bvh"
    fitted = write_bvh(path, poses, fps=30.0, units="cm")
    names, fk, m = _fk(path)
    assert m.frame_time == pytest.approx(1 / 30, rel=1e-6)
    for bname, h in BVH_TO_H36M.items():
        assert np.abs(fk[:, names.index(bname)] - fitted[:, H36M17.index(h)]).max() < 1e-3   # cm
    # the exported joints are the input poses in the BVH frame (Y up, cm), fitted to constant bones:
    # every bone keeps its direction, lengths are the same in every frame
    yup = poses * np.array([1, -1, -1]) * 100
    for p, c in H36M17.bones:
        d_in = yup[:, c] - yup[:, p]
        d_out = fitted[:, c] - fitted[:, p]
        cos = (d_in * d_out).sum(-1) / np.linalg.norm(d_in, axis=-1) / np.linalg.norm(d_out, axis=-1)
        assert cos.min() > 0.9999
        assert np.ptp(np.linalg.norm(d_out, axis=-1)) < 1e-6
    assert np.allclose(fitted[:, 0], yup[:, 0], atol=1e-6)               # the root is not moved


def test_bvh_is_read_by_the_structpose_bvh_loader(tmp_path, deepmimic_camera_poses):
    """Our own BVH reader (CMU rig mapping, unit detection) finds every H36M joint where the export put it."""
    from structpose.data.bvh import bvh_forward_kinematics, load_bvh, parse_bvh
    poses = _lifted_like(deepmimic_camera_poses, 1)
    path = tmp_path / "b.bvh"
    fitted = write_bvh(path, poses, fps=25.0, units="cm")
    data = parse_bvh(path.read_text())
    pos = bvh_forward_kinematics(data)
    for bname, h in BVH_TO_H36M.items():
        assert np.abs(pos[:, data.index(bname)] - fitted[:, H36M17.index(h)]).max() < 1e-3
    clip = load_bvh(path)                                  # H36M-17, metres, Y up, all 17 joints
    assert clip.fps == pytest.approx(25.0)
    assert np.abs(clip.world - fitted / 100).max() < 1e-5


def test_bvh_invalid_frames_hold_the_nearest_pose_and_all_invalid_is_refused(tmp_path, deepmimic_camera_poses):
    poses = _lifted_like(deepmimic_camera_poses)[:6].copy()
    poses[2] = np.nan
    valid = np.isfinite(poses).all((1, 2))
    fitted = write_bvh(tmp_path / "c.bvh", poses, 30.0, valid)
    assert np.isfinite(fitted).all()
    assert np.allclose(fitted[2], fitted[1]) or np.allclose(fitted[2], fitted[3])
    target = tmp_path / "d.bvh"
    target.write_text("old")
    with pytest.raises(StructposeError, match="no valid frame"):
        write_bvh(target, np.full((3, 17, 3), np.nan), 30.0)
    assert target.read_text() == "old"                                  # untouched: atomic
    assert not list(tmp_path.glob(".d.bvh*"))                           # no temp file left


def _seq(deepmimic_camera_poses):
    p = deepmimic_camera_poses[:12].copy()
    p[5] = np.nan
    rng = np.random.default_rng(3)
    xy = (p[..., :2] / p[..., 2:] * 500 + 320).astype(np.float32)
    sc = rng.uniform(0.2, 1.0, size=xy.shape[:2]).astype(np.float32)
    xy[5], sc[5] = np.nan, 0
    xy[7, 3], sc[7, 3] = np.nan, 0
    return PoseSequence(poses_3d=p, fps=25.0, poses_2d=xy, scores=sc, image_size=(640, 480),
                        valid=np.isfinite(p).all((1, 2)))


def test_json_and_csv_read_back_with_nulls_for_missing(tmp_path, deepmimic_camera_poses):
    seq = _seq(deepmimic_camera_poses)
    doc = json.loads(write_json(tmp_path / "s.json", seq).read_text())
    assert doc["joints"] == list(H36M17.names) and doc["fps"] == 25.0
    assert doc["frames"][5]["joints_3d"] is None and doc["frames"][5]["valid"] is False
    assert doc["frames"][7]["keypoints_2d"][3] is None
    got = np.array([f["joints_3d"] for i, f in enumerate(doc["frames"]) if i != 5], float)
    assert np.allclose(got, np.delete(seq.poses_3d, 5, 0), atol=1e-6)
    with open(write_csv(tmp_path / "s.csv", seq)) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and rows[5]["valid"] == "0" and rows[5]["pelvis_x"] == ""
    assert rows[7]["r_ankle_u"] == "" and rows[7]["r_ankle_score"] == "0.000000"
    assert float(rows[3]["l_wrist_z"]) == pytest.approx(float(seq.poses_3d[3, 13, 2]), abs=1e-6)


def test_vp3d_npz_is_read_by_the_videopose3d_loader(tmp_path, deepmimic_camera_poses):
    from structpose.data.formats import load_keypoints_2d
    from structpose.data.formats.vp3d import load_3d
    seq = _seq(deepmimic_camera_poses)
    path, path3 = write_vp3d(tmp_path / "v.vp3d.npz", seq, name="clip")
    z = np.load(path, allow_pickle=True)
    arr = z["positions_2d"].item()["clip"]["custom"][0]
    assert arr.shape == (12, 17, 3) and np.isfinite(arr).all()          # VP3D readers cannot take NaN
    m = load_3d(path3)[0]
    assert m.up_axis == "+z" and m.name == "structpose/clip"
    # Z-up world: z is the camera's "up" (-y); a proper rotation keeps left and right
    back = m.poses[..., [0, 2, 1]] * np.array([1, -1, 1])
    ok = seq.valid
    assert np.allclose(back[ok], seq.poses_3d[ok], atol=1e-6)
    assert np.allclose(back[5], back[4]) or np.allclose(back[5], back[6])   # the gap holds a neighbour
    k = load_keypoints_2d(path)[0]
    assert k.image_size == (640, 480)
    seen = seq.scores > 0
    assert np.allclose(k.xy[seen], seq.poses_2d[seen], atol=1e-4)
    assert (k.scores[~seen] == 0).all()


def test_export_dispatch_and_format_names(tmp_path, deepmimic_camera_poses):
    seq = _seq(deepmimic_camera_poses)
    paths = export(seq, tmp_path / "run.npz", parse_formats("json, csv,bvh,vp3d,npz"))
    assert sorted(p.name for p in paths) == sorted(["run.json", "run.csv", "run.bvh", "run.vp3d.npz",
                                                    "run.vp3d_3d.npz", "run.npz"])
    with pytest.raises(StructposeError, match="unknown export format fbx"):
        parse_formats("json,fbx")

"""OpenPose folders with missing frame numbers keep the time axis: absent frames are invalid/NaN, by number."""
from __future__ import annotations

import numpy as np
import pytest
from formats_builders import openpose_frame, project, write_json

from structpose.cli import main
from structpose.data.formats import load_keypoints_2d, openpose
from structpose.errors import StructposeError
from structpose.io.posefile import load_pose_file
from structpose.skeleton import H36M17

PRESENT = [*range(10), *range(30, 60)]           # frames 10-29 were never written


@pytest.fixture(scope="module")
def pix(deepmimic_clips):
    clip = max(deepmimic_clips, key=lambda c: len(c.in_camera()))
    return project(clip.in_camera()[:60].astype(np.float64))


def _body25(p17: np.ndarray) -> np.ndarray:
    src = {"nose": "neck_nose", "neck": "thorax", "mid_hip": "pelvis"}
    out = np.zeros((25, 3))
    for i, n in enumerate(openpose.BODY25):
        if src.get(n, n) in H36M17.names:
            out[i, :2], out[i, 2] = p17[H36M17.index(src.get(n, n))], 0.9
    return out


def _folder(tmp_path, pix, frames=PRESENT, start=0):
    folder = tmp_path / "op"
    for t in frames:
        write_json(folder / f"clip_{start + t:012d}_keypoints.json", openpose_frame([_body25(pix[t])]))
    return folder


def test_reader_places_each_file_at_its_frame_number(tmp_path, pix):
    (k,) = load_keypoints_2d(_folder(tmp_path, pix, start=100))   # numbering need not start at 0
    assert k.num_frames == 60 and k.meta["absent_frames"] == 20 and k.meta["first_frame_number"] == 100
    gap = np.zeros(60, bool)
    gap[10:30] = True
    assert np.isnan(k.xy[gap]).all() and (k.scores[gap] == 0).all()
    # present frames hold their own pose (frame 30 is frame 30 of the motion, not frame 10)
    np.testing.assert_allclose(k.xy[~gap, H36M17.index("l_wrist")], pix[~gap, H36M17.index("l_wrist")], atol=1e-3)


def test_lift_and_convert_keep_sixty_frames(tmp_path, pix, capsys):
    folder = _folder(tmp_path, pix)
    assert main(["lift", str(folder), "--out", str(tmp_path / "l.npz"), "--mode", "none", "--fps", "30"]) == 0
    assert main(["data", "convert", str(folder), "--out", str(tmp_path / "c.npz"), "--fps", "30"]) == 0
    capsys.readouterr()
    lifted, conv = load_pose_file(tmp_path / "l.npz"), load_pose_file(tmp_path / "c.npz")
    assert lifted.num_frames == conv.num_frames == 60
    assert not lifted.valid[10:30].any() and lifted.valid[:10].all() and lifted.valid[30:].all()
    assert np.isnan(conv.poses_2d[10:30]).all() and np.isfinite(conv.poses_2d[30]).all()


def test_duplicate_and_absurd_frame_numbers_are_one_line(tmp_path, pix):
    folder = _folder(tmp_path, pix, frames=[0, 1])
    write_json(folder / "other_000000000001_keypoints.json", openpose_frame([_body25(pix[1])]))
    with pytest.raises(StructposeError, match="frame number 1"):
        load_keypoints_2d(folder)
    far = _folder(tmp_path / "far", pix, frames=[0])
    write_json(far / f"clip_{10**9:012d}_keypoints.json", openpose_frame([_body25(pix[1])]))
    with pytest.raises(StructposeError, match="span"):
        load_keypoints_2d(far)


def test_names_without_numbers_keep_name_order(tmp_path, pix):
    folder = tmp_path / "named"
    for i, name in enumerate(("a", "b", "c")):
        write_json(folder / f"{name}.json", openpose_frame([_body25(pix[i])]))
    (k,) = load_keypoints_2d(folder, "openpose")
    assert k.num_frames == 3 and np.isfinite(k.xy).all()

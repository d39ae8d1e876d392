"""``structpose data convert``: choices, resampling, 2D-only output, and bad input -> exit 2."""
from __future__ import annotations

import numpy as np
import pytest
from formats_builders import Y_UP_TO_Z_UP, embed32, openpose_frame, project, write_json, write_vp3d_3d

from structpose.cli import main
from structpose.io.posefile import load_pose_file
from structpose.skeleton import COCO17, H36M17, convert


@pytest.fixture(scope="module")
def world(deepmimic_clips):
    clip = next(c for c in deepmimic_clips if "walk" in c.name)
    return (clip.world[:40] @ Y_UP_TO_Z_UP.T).astype(np.float32)


@pytest.fixture
def vp3d_file(tmp_path, world):
    rng = np.random.default_rng(0)
    return write_vp3d_3d(tmp_path / "data_3d_h36m.npz", {
        "S1": {"Walking": embed32(world, rng), "Walking 1": embed32(world[:10], rng)},
        "S5": {"Walking": embed32(world[:20], rng)}})


def run(capsys, *argv):
    code = main(["data", "convert", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_several_sequences_need_a_choice(tmp_path, capsys, vp3d_file):
    out = tmp_path / "o.npz"
    code, _, err = run(capsys, vp3d_file, "--out", out)
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and "S1/Walking 1 (10 frames)" in err and "S5/Walking (20 frames)" in err
    code, _, err = run(capsys, vp3d_file, "--out", out, "--action", "Walking")
    assert code == 2 and "matching action=Walking" in err          # S1 and S5 both have it
    code, text, _ = run(capsys, vp3d_file, "--out", out, "--subject", "S5", "--action", "walking")
    assert code == 0 and out.exists() and "20 frames at 50 fps" in text
    assert load_pose_file(out).meta["subject"] == "S5"


def test_list(capsys, vp3d_file, world):
    code, text, _ = run(capsys, vp3d_file, "--list")
    assert code == 0 and "3 sequence(s)" in text and f"S1/Walking ({len(world)} frames)" in text


def test_resampling_is_linear_in_time(tmp_path, capsys, vp3d_file):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert run(capsys, vp3d_file, "--out", a, "--subject", "S1", "--action", "Walking")[0] == 0
    assert run(capsys, vp3d_file, "--out", b, "--subject", "S1", "--action", "Walking", "--fps", "30")[0] == 0
    p, q = load_pose_file(a), load_pose_file(b)
    t_src = np.arange(p.num_frames) / 50.0
    t_out = np.arange(q.num_frames) / 30.0
    assert q.fps == 30.0 and t_out[-1] <= t_src[-1] + 1e-9 and t_out[-1] > t_src[-1] - 1 / 30
    want = np.stack([np.interp(t_out, t_src, p.poses_3d[:, j, c]) for j in range(17) for c in range(3)], 1)
    np.testing.assert_allclose(q.poses_3d.reshape(len(t_out), -1), want, atol=1e-5)
    c = tmp_path / "c.npz"                                           # integer ratio: exact frames
    assert run(capsys, vp3d_file, "--out", c, "--subject", "S1", "--action", "Walking", "--fps", "25")[0] == 0
    np.testing.assert_array_equal(load_pose_file(c).poses_3d, p.poses_3d[::2])


def _openpose_folder(tmp_path, pix):
    folder = tmp_path / "op"
    for t in range(len(pix)):
        k = np.zeros((18, 3))
        coco = convert(pix[t], H36M17.name, COCO17.name)
        names = ("nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip",
                 "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle")
        for i, n in enumerate(names):
            xy = pix[t, H36M17.index("thorax")] if n == "neck" else coco[COCO17.index(n)]
            k[i] = [*xy, 0.9]
        write_json(folder / f"v_{t:012d}_keypoints.json", openpose_frame([k]))
    return folder


def test_2d_only_input_gives_a_lift_ready_file(tmp_path, capsys, deepmimic_clips):
    pix = project(deepmimic_clips[3].in_camera()[:9].astype(np.float64))
    folder = _openpose_folder(tmp_path, pix)
    out = tmp_path / "kp.npz"
    code, _, err = run(capsys, folder, "--out", out)
    assert code == 2 and "--fps" in err and not out.exists()
    code, text, _ = run(capsys, folder, "--out", out, "--fps", "24", "--image-size", "1000x1000")
    assert code == 0 and "lift" in text
    seq = load_pose_file(out)
    assert seq.meta["has_3d"] is False and not seq.valid.any() and np.isnan(seq.poses_3d).all()
    assert seq.fps == 24 and seq.image_size == (1000, 1000)
    np.testing.assert_allclose(seq.poses_2d[:, H36M17.index("l_knee")], pix[:, H36M17.index("l_knee")], atol=1e-3)


def _bad_inputs(tmp_path, world):
    good = write_vp3d_3d(tmp_path / "good.npz", {"S1": {"Walking": embed32(world, np.random.default_rng(1))}})
    raw = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "empty.npz").write_bytes(b"")
    np.savez(tmp_path / "wrongkeys.npz", poses=np.zeros((3, 17, 3)))
    nan = embed32(world, np.random.default_rng(2))
    nan[5, 0, 0] = np.nan
    write_vp3d_3d(tmp_path / "nan.npz", {"S1": {"Walking": nan}})
    write_json(tmp_path / "settings.json", {"theme": "dark", "fontSize": 12})
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "random.bin").write_bytes(bytes(range(256)) * 4)
    return ["truncated.npz", "empty.npz", "wrongkeys.npz", "nan.npz", "settings.json", "emptydir", "random.bin",
            "missing.npz"]


def test_bad_input_exit_2_one_line_nothing_written(tmp_path, capsys, world):
    names = _bad_inputs(tmp_path, world)
    outdir = tmp_path / "out"
    outdir.mkdir()
    for name in names:
        code, _, err = run(capsys, tmp_path / name, "--out", outdir / "x.npz", "--fps", "30")
        assert code == 2, name
        assert err.startswith("structpose data convert: error: ") and err.count("\n") == 1, (name, err)
        assert "Traceback" not in err and name in err, (name, err)
    assert list(outdir.iterdir()) == []                                 # no output, no temp files


def test_out_must_differ_from_input(capsys, vp3d_file):
    code, _, err = run(capsys, vp3d_file, "--out", vp3d_file, "--subject", "S5")
    assert code == 2 and "is the same file as INPUT" in err


def test_pose_file_input_resamples(tmp_path, capsys, vp3d_file):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    run(capsys, vp3d_file, "--out", a, "--subject", "S5")
    assert run(capsys, a, "--out", b, "--fps", "10")[0] == 0
    np.testing.assert_allclose(load_pose_file(b).poses_3d, load_pose_file(a).poses_3d[::5], atol=1e-6)


def test_converted_2d_file_feeds_load_keypoints_2d(tmp_path, capsys, deepmimic_clips):
    """The path `structpose lift` takes: convert a 2D input, read its poses_2d back."""
    from structpose.data.formats import load_keypoints_2d
    pix = project(deepmimic_clips[3].in_camera()[:6].astype(np.float64))
    folder = _openpose_folder(tmp_path, pix)
    out = tmp_path / "kp.npz"
    assert run(capsys, folder, "--out", out, "--fps", "30")[0] == 0
    (direct,) = load_keypoints_2d(folder)
    (again,) = load_keypoints_2d(out)
    np.testing.assert_array_equal(again.xy, direct.xy)
    np.testing.assert_array_equal(again.scores, direct.scores)
    assert again.fps == 30.0


def test_all_writes_one_file_per_sequence(tmp_path, capsys, vp3d_file, world):
    outdir = tmp_path / "all"
    code, text, _ = run(capsys, vp3d_file, "--all", "--out", outdir)
    assert code == 0 and "wrote 3 pose files" in text
    assert sorted(p.name for p in outdir.iterdir()) == ["S1_Walking.npz", "S1_Walking_1.npz", "S5_Walking.npz"]
    assert load_pose_file(outdir / "S1_Walking_1.npz").num_frames == 10
    code, text, _ = run(capsys, vp3d_file, "--all", "--out", tmp_path / "s1", "--subject", "S1")
    assert code == 0 and len(list((tmp_path / "s1").iterdir())) == 2


def test_millimetres_in_a_metre_format_are_refused(tmp_path, capsys, world):
    path = write_vp3d_3d(tmp_path / "mm.npz", {"S1": {"Walking": embed32(world * 1000, np.random.default_rng(3))}})
    code, _, err = run(capsys, path, "--out", tmp_path / "o.npz")
    assert code == 2 and "millimetres" in err and not (tmp_path / "o.npz").exists()


def test_2d_only_pose_file_stays_2d_when_resampled(tmp_path, capsys, deepmimic_clips):
    pix = project(deepmimic_clips[3].in_camera()[:8].astype(np.float64))
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert run(capsys, _openpose_folder(tmp_path, pix), "--out", a, "--fps", "30")[0] == 0
    assert run(capsys, a, "--out", b, "--fps", "15")[0] == 0
    seq = load_pose_file(b)
    assert seq.meta["has_3d"] is False and not seq.valid.any() and seq.num_frames == 4
    np.testing.assert_array_equal(seq.poses_2d, load_pose_file(a).poses_2d[::2])


def test_convert_reads_mocap_files_bvh_and_deepmimic(tmp_path):
    """A BVH (Mixamo rig, cm, Z up) and the DeepMimic original of the same real clip convert to
    the same camera-frame motion: two independent readers agree after `data convert`."""
    from bvh_builders import MIXAMO, _frames, deepmimic_bvh

    from structpose.data import deepmimic
    from structpose.data.bvh import dumps_bvh
    from structpose.io.posefile import load_pose_file

    frames = _frames("spinkick")
    bvh = tmp_path / "spinkick.bvh"
    bvh.write_text(dumps_bvh(deepmimic_bvh(frames, MIXAMO, 100.0, True), precision=6))
    src = next(p for p in deepmimic.clip_paths() if p.stem.endswith("spinkick"))
    for inp, out in ((bvh, tmp_path / "a.npz"), (src, tmp_path / "b.npz")):
        assert main(["data", "convert", str(inp), "--out", str(out)]) == 0
    a, b = load_pose_file(tmp_path / "a.npz"), load_pose_file(tmp_path / "b.npz")
    assert a.fps == b.fps == 60
    assert np.abs(a.poses_3d - b.poses_3d).max() < 1e-3

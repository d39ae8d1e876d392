"""Corrupted dataset files (truncated, flipped bytes, dropped keys, wrong dtypes/shapes) only ever
raise StructposeError from every public reader and from ``data convert`` — never a traceback, never
an output file."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from formats_builders import (
    embed32,
    mmpose_camera,
    openpose_frame,
    write_3dhp_calibration,
    write_3dhp_test,
    write_3dhp_train,
    write_json,
    write_mmpose,
    write_pickle,
    write_vp3d_2d,
    write_vp3d_3d,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structpose.data.convert import convert_file
from structpose.data.formats import (
    FORMATS,
    detect_format,
    load_image_annotations,
    load_keypoints_2d,
    load_motion_3d,
    mmpose_h36m,
    mpi_inf_3dhp,
)
from structpose.errors import StructposeError

# STRUCTPOSE_FUZZ_EXAMPLES=2000 for a deeper run; the default keeps the file well under 30 s
SETTINGS = settings(max_examples=int(os.environ.get("STRUCTPOSE_FUZZ_EXAMPLES", "120")), derandomize=True,
                    deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _seeds(d: Path) -> dict[str, Path]:
    """One small valid file per format."""
    rng = np.random.default_rng(0)
    pose = (rng.normal(size=(6, 17, 3)) * 0.2).astype(np.float32) + np.array([0, 0, 4], np.float32)
    xy = rng.uniform(0, 900, (6, 17, 2)).astype(np.float32)
    out = {
        "vp3d_3d": write_vp3d_3d(d / "d3.npz", {"S1": {"Walking": embed32(pose, rng)}}),
        "vp3d_2d": write_vp3d_2d(d / "d2.npz", {"v.mp4": {"custom": [np.concatenate([xy, np.ones((6, 17, 1), np.float32)], -1)]}},
                                 layout="coco", video_metadata={"v.mp4": {"w": 640, "h": 480}}),
        "mmpose_h36m": write_mmpose(d / "h36m_test.npz", [f"S9/S9_Eat.54138969/S9_Eat.54138969_{i + 1:06d}.jpg" for i in range(6)],
                                    xy[:, 0], np.ones(6), np.concatenate([xy, np.ones((6, 17, 1))], -1),
                                    np.concatenate([pose, np.ones((6, 17, 1))], -1)),
        "cameras": write_pickle(d / "cameras.pkl", {("S9", "54138969"): mmpose_camera(np.eye(3), np.zeros(3))}),
        "mpi_train": write_3dhp_train(d / "S1" / "Seq1" / "annot.mat", [rng.normal(size=(6, 28, 2))],
                                      [rng.normal(size=(6, 28, 3)) * 1000]),
        "mpi_test": write_3dhp_test(d / "TS1" / "annot_data.mat", xy.astype(float), pose * 1000.0, np.ones(6),
                                    np.ones(6), np.ones((6, 4))),
        "mpii": write_json(d / "mpii.json", [{"joints_vis": [1] * 16, "joints": xy[0, :16].tolist(), "image": "a.jpg",
                                              "scale": 2.0, "center": [10.0, 20.0]}] * 3),
        "coco": write_json(d / "coco.json", {"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
                                             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                                                              "area": 10.0, "bbox": [0, 0, 5, 5],
                                                              "keypoints": [5.0, 6.0, 2] * 17}]}),
        "openpose": write_json(d / "op" / "v_000000000000_keypoints.json",
                               openpose_frame([np.abs(rng.normal(size=(25, 3)))])).parent,
    }
    out["calibration"] = write_3dhp_calibration(d / "calib" / "camera.calibration",
                                                [(np.eye(3), np.array([10.0, 20.0, 3000.0]), 1400.0, (1000.0, 1000.0))])
    write_json(d / "op" / "v_000000000001_keypoints.json", openpose_frame([np.abs(rng.normal(size=(25, 3)))]))
    return out


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return _seeds(tmp_path_factory.mktemp("seeds"))


def _exercise(path: Path, out: Path) -> None:
    """Every public entry point on ``path``; each may succeed or raise StructposeError only."""
    for call in (lambda: detect_format(path), lambda: load_keypoints_2d(path), lambda: load_motion_3d(path),
                 lambda: load_image_annotations(path), lambda: mmpose_h36m.load_cameras(path),
                 lambda: mpi_inf_3dhp.load_calibration(path),
                 lambda: convert_file(path, out, fps=30.0)):
        try:
            call()
        except StructposeError as e:
            assert "\n" not in str(e)
            assert not out.exists() or out.stat().st_size > 0
    for fmt in FORMATS:
        try:
            load_keypoints_2d(path, fmt)
        except StructposeError:
            pass


def _target(seed: Path, work: Path) -> Path:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if seed.is_dir():
        dst = work / seed.name
        shutil.copytree(seed, dst)
        return min(dst.iterdir())
    dst = work / seed.parent.name / seed.name          # keep S1/Seq1-style parent names
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(seed, dst)
    return dst


@SETTINGS
@given(which=st.sampled_from(["vp3d_3d", "vp3d_2d", "mmpose_h36m", "cameras", "mpi_train", "mpi_test", "mpii",
                              "coco", "openpose", "calibration"]),
       op=st.sampled_from(["truncate", "flip", "flip_many"]), where=st.floats(0, 1), value=st.integers(1, 255))
def test_byte_corruption(seeds, tmp_path, which, op, where, value):
    f = _target(seeds[which], tmp_path / "w")
    raw = bytearray(f.read_bytes())
    pos = min(int(where * len(raw)), len(raw) - 1)
    if op == "truncate":
        raw = raw[:pos]
    elif op == "flip":
        raw[pos] ^= value
    else:
        for k in range(0, len(raw), max(1, len(raw) // 16)):
            raw[(k + pos) % len(raw)] ^= value
    f.write_bytes(bytes(raw))
    _exercise(f.parent if which == "openpose" else f, tmp_path / "o" / "out.npz")


_JUNK = [None, "text", -1, 0, 1e308, [], {}, [[1, 2], [3]], [float("nan")] * 3, True]


def _mutate_json(obj, rng: np.random.Generator):
    """Replace or drop one randomly chosen node of a JSON tree."""
    if isinstance(obj, dict) and obj:
        k = list(obj)[rng.integers(len(obj))]
        if rng.random() < 0.3:
            return {kk: v for kk, v in obj.items() if kk != k}
        return {**obj, k: _mutate_json(obj[k], rng)}
    if isinstance(obj, list) and obj:
        i = int(rng.integers(len(obj)))
        if rng.random() < 0.2:
            return obj[:i] + obj[i + 1:]
        return obj[:i] + [_mutate_json(obj[i], rng)] + obj[i + 1:]
    return _JUNK[rng.integers(len(_JUNK))]


@SETTINGS
@given(which=st.sampled_from(["mpii", "coco", "openpose"]), seed=st.integers(0, 10 ** 6))
def test_json_structure_corruption(seeds, tmp_path, which, seed):
    f = _target(seeds[which], tmp_path / "w")
    obj = json.loads(f.read_text())
    rng = np.random.default_rng(seed)
    for _ in range(int(rng.integers(1, 4))):
        obj = _mutate_json(obj, rng)
    f.write_text(json.dumps(obj))
    _exercise(f.parent if which == "openpose" else f, tmp_path / "o" / "out.npz")


_BAD_VALUES = [lambda a: a.astype(str), lambda a: a.reshape(-1), lambda a: a[..., :1], lambda a: a[:0],
               lambda a: np.full_like(a, np.inf, dtype=float), lambda a: np.array(None, dtype=object),
               lambda a: np.array({"x": a}, dtype=object)]


@SETTINGS
@given(which=st.sampled_from(["vp3d_3d", "vp3d_2d", "mmpose_h36m"]), key=st.integers(0, 10),
       mode=st.integers(0, len(_BAD_VALUES)))
def test_npz_member_corruption(seeds, tmp_path, which, key, mode):
    """Drop a member or give it a wrong dtype/shape, then save with numpy as the tools do."""
    from structpose.data.formats._common import read_npz
    z = read_npz(seeds[which])
    name = sorted(z)[key % len(z)]
    if mode == len(_BAD_VALUES):
        del z[name]
    else:
        val = z[name]
        if val.dtype == object and val.shape == ():          # dict member: corrupt one leaf
            d = val.item()
            leaf = next(iter(d))
            d = {leaf: _BAD_VALUES[mode](np.zeros((3, 17, 2)))}
            val = np.array(None, dtype=object)
            val[()] = d
        else:
            val = _BAD_VALUES[mode](val)
        z[name] = val
    f = tmp_path / "w" / "x.npz"
    f.parent.mkdir(parents=True, exist_ok=True)
    np.savez(f, **z)
    _exercise(f, tmp_path / "o" / "out.npz")


@SETTINGS
@given(key=st.sampled_from(["annot2", "annot3", "univ_annot3", "cameras"]), mode=st.integers(0, 4))
def test_mat_variable_corruption(tmp_path, key, mode):
    import scipy.io
    rng = np.random.default_rng(1)
    f = write_3dhp_train(tmp_path / "S2" / "Seq1" / "annot.mat", [rng.normal(size=(4, 28, 2))] * 2,
                         [rng.normal(size=(4, 28, 3))] * 2)
    assert sum(len(m.poses) for m in load_motion_3d(f)) > 0    # the intact file reads: the corruption is tested
    mat = {k: v for k, v in scipy.io.loadmat(str(f)).items() if not k.startswith("__")}
    bad = [None, "text", np.zeros((2, 5)), np.array([[np.zeros((4, 10))]], dtype=object), np.ones((0, 0))][mode]
    if bad is None:
        del mat[key]
    else:
        mat[key] = bad
    scipy.io.savemat(str(f), mat)
    _exercise(f, tmp_path / "o" / "out.npz")

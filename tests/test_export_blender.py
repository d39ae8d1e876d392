"""BVH and GLB exports read back by real Blender (Debian's, headless; `make setup` installs it).

A held-out real walk (DeepMimic, constant bone lengths, so a fixed-offset rig can reproduce it
exactly) is exported once with its world-frame path (``poses_world``) and once camera-only.  Blender
imports each file; the harness reads every pose bone's world head per frame.  Those positions,
turned from Blender's Z up back to Y up, must be the pose file's joints — root translation
included, no alignment of any kind.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from structpose.data import deepmimic
from structpose.io.blender_check import blender_joints
from structpose.io.export import export
from structpose.io.posefile import PoseSequence

T, FPS = 24, 30


def _walk() -> tuple[np.ndarray, np.ndarray]:
    clip = next(c for c in deepmimic.load_all() if c.name.endswith("/walk"))
    return clip.world[:T].astype(np.float32), clip.in_camera()[:T]


@pytest.fixture(scope="module")
def readback(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blender")
    world, cam = _walk()
    valid = np.ones(T, bool)
    valid[[5, 6]] = False                            # frames without a person
    nanw, nanc = world.copy(), cam.copy()
    nanw[~valid] = np.nan
    nanc[~valid] = np.nan
    files = []
    for tag, seq in (("world", PoseSequence(poses_3d=nanc, fps=FPS, valid=valid, poses_world=nanw)),
                     ("camera", PoseSequence(poses_3d=nanc, fps=FPS, valid=valid))):
        files += export(seq, tmp / f"{tag}.npz", ["bvh", "glb"])
    assert shutil.which("blender"), "Debian's blender is missing: run `make setup` (it installs blender)"
    got = dict(zip([p.name for p in files], blender_joints(files, T, FPS)))
    return world, cam, valid, got


def _errors_mm(got, expected, valid):
    near = np.where(valid)[0]
    idx = np.array([near[np.argmin(np.abs(near - t))] for t in range(T)])       # invalid: nearest valid frame
    return 1000 * np.linalg.norm(got - expected[idx], axis=-1)


@pytest.mark.parametrize("name", ["world.bvh", "world.glb"])
def test_blender_reads_back_the_world_frame_with_root_motion(readback, name):
    world, _, valid, got = readback
    e = _errors_mm(got[name], world, valid)
    print(f"{name}: Blender vs pose file, mean {e.mean():.4f} mm, max {e.max():.4f} mm")
    assert e.mean() < 0.1 and e.max() < 0.5            # no alignment: positions as stored, in metres
    path = got[name][:, 0]
    assert np.linalg.norm(path[-1] - path[0]) > 0.3   # the walk really travels: root motion is in the file


@pytest.mark.parametrize("name", ["camera.bvh", "camera.glb"])
def test_blender_reads_back_camera_poses_turned_y_up(readback, name):
    _, cam, valid, got = readback
    e = _errors_mm(got[name], cam * np.array([1, -1, -1]), valid)
    assert e.mean() < 0.1 and e.max() < 0.5


def test_bvh_and_glb_animate_identically(readback):
    *_, got = readback
    assert np.abs(got["world.bvh"] - got["world.glb"]).max() < 1e-3        # metres

"""BVH and GLB exports read back by real Blender (Debian's, headless; `make setup` installs it).

A held-out real walk (DeepMimic, constant bone lengths, so a fixed-offset rig can reproduce it
exactly) is exported once with its world-frame path (``poses_world``) and once camera-only.  Blender
imports each file; the harness reads every pose bone's world head per frame.  Those positions,
turned from Blender's Z up back to Y up, must be the pose file's joints — root translation
included, no alignment of any kind.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from structpose.data import deepmimic
from structpose.io.bvh_export import BVH_TO_H36M
from structpose.io.export import export
from structpose.io.gltf_export import GLB_TO_H36M
from structpose.io.posefile import PoseSequence
from structpose.skeleton import H36M17

HARNESS = Path(__file__).parent / "blender" / "readback.py"
T, FPS = 24, 30


def _walk() -> tuple[np.ndarray, np.ndarray]:
    clip = next(c for c in deepmimic.load_all() if c.name.endswith("/walk"))
    return clip.world[:T].astype(np.float32), clip.in_camera()[:T]


def _blender_positions(jobs: list[tuple[str, Path, int]], tmp: Path) -> dict[str, np.ndarray]:
    """{file name: (T, 17, 3) Y-up metres} read back through one headless Blender run."""
    blender = shutil.which("blender")
    assert blender, "Debian's blender is missing: run `make setup` (it installs blender)"
    spec = [f"{k}:{f}:{tmp / (f.name + '.json')}:{first}:{first + T - 1}:{0.01 if k == 'bvh' else 1}" for k, f, first in jobs]
    r = subprocess.run([blender, "-b", "--factory-startup", "--python", str(HARNESS), "--", str(FPS), *spec],
                       capture_output=True, text=True, timeout=240, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    out = {}
    for kind, f, first in jobs:
        d = json.loads((tmp / (f.name + ".json")).read_text())
        names = BVH_TO_H36M if kind == "bvh" else GLB_TO_H36M
        got = np.full((T, 17, 3), np.nan)
        for t in range(T):
            bones = d["frames"][str(first + t)]
            for n, h in names.items():
                got[t, H36M17.index(h)] = bones[n][0]
            if kind == "bvh":                        # BVH end site: the Head bone's tail is the head top
                got[t, H36M17.index("head_top")] = bones["Head"][1]
        out[f.name] = got[..., [0, 2, 1]] * np.array([1.0, 1.0, -1.0])       # Blender Z up -> Y up
    return out


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
    # BVH: centimetres (the default), imported at scale 0.01 from Blender's frame 1; glTF: metres,
    # its time 0 is Blender's frame 0
    got = _blender_positions([(p.suffix[1:], p, 1 if p.suffix == ".bvh" else 0) for p in files], tmp)
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

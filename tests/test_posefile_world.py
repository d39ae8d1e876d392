"""Pose file world-frame keys: round trip, old files still load, malformed world keys refused in one line."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from structpose.errors import StructposeError
from structpose.io.posefile import PoseSequence, load_pose_file, save_pose_file


def _seq(T=5, **kw):
    rng = np.random.default_rng(0)
    return PoseSequence(poses_3d=rng.normal(size=(T, 17, 3)), fps=30.0, **kw)


def _rigid(seed=1):
    M = np.eye(4)
    M[:3, :3] = Rotation.random(random_state=seed).as_matrix()
    M[:3, 3] = [0.1, 1.2, -3.0]
    return M


def test_world_keys_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    T = 6
    world = rng.normal(size=(T, 17, 3))
    world[2] = np.nan
    contacts = rng.uniform(size=(T, 2))
    contacts[2] = np.nan
    n = np.array([0.1, -0.98, 0.2])
    n /= np.linalg.norm(n)
    seq = _seq(T, poses_world=world, contacts=contacts, floor=np.r_[n, 1.4], world_from_camera=_rigid(),
               meta={"world": {"status": "ok", "height_m": 1.7, "scale": 1.02, "floor_rms_m": 0.01,
                               "contact_threshold": 0.5}})
    back = load_pose_file(save_pose_file(tmp_path / "w.npz", seq))
    np.testing.assert_array_equal(back.poses_world, world.astype(np.float32))
    np.testing.assert_array_equal(back.contacts, contacts.astype(np.float32))
    np.testing.assert_allclose(back.floor[:3], n, atol=1e-7)
    np.testing.assert_allclose(back.world_from_camera, _rigid(), atol=1e-6)
    assert back.meta["world"]["status"] == "ok" and back.meta["world"]["scale"] == 1.02
    for k in ("poses_world", "contacts", "floor", "world_from_camera"):
        assert getattr(back, k).dtype == np.float32


def test_file_without_world_keys_loads_with_none(tmp_path):
    """A file written by the old format (only the original keys) loads; the world keys are absent."""
    path = tmp_path / "old.npz"
    np.savez(path, poses_3d=np.zeros((3, 17, 3), np.float32), fps=np.array(25.0), layout=np.array("h36m17"))
    back = load_pose_file(path)
    assert back.poses_world is None and back.contacts is None and back.floor is None
    assert back.world_from_camera is None
    saved = np.load(save_pose_file(tmp_path / "again.npz", back))
    assert not {"poses_world", "contacts", "floor", "world_from_camera"} & set(saved.files)


@pytest.mark.parametrize("kw, words", [
    ({"poses_world": np.zeros((4, 17, 3))}, "poses_world has shape"),
    ({"contacts": np.zeros((5, 3))}, "contacts has shape"),
    ({"contacts": np.full((5, 2), 1.5)}, "outside [0, 1]"),
    ({"floor": np.array([0, -2.0, 0, 1])}, "not unit length"),
    ({"floor": np.array([0, -1.0, 0, np.nan])}, "non-finite"),
    ({"world_from_camera": np.diag([2.0, 2, 2, 1])}, "not a rigid transform"),
    ({"world_from_camera": np.diag([1.0, 1, -1, 1])}, "not a rigid transform"),      # a reflection
    ({"poses_world": np.full((5, 17, 3), np.inf)}, "non-finite"),
])
def test_malformed_world_keys_are_one_line_errors(kw, words):
    with pytest.raises(StructposeError, match=None) as e:
        _seq(5, **kw)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_malformed_world_key_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, poses_3d=np.zeros((3, 17, 3), np.float32), fps=np.array(25.0), floor=np.array(["a", "b"]))
    with pytest.raises(StructposeError, match="bad.npz: floor"):
        load_pose_file(path)

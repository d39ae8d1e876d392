"""Capsule renderer (a STAND-IN for image datasets): exact labels, occlusion order, determinism."""
from __future__ import annotations

import numpy as np

from structpose.cameras import Camera
from structpose.render import Appearance, render_body, render_dataset
from structpose.render.scene import vary_proportions
from structpose.skeleton import H36M17

J = H36M17.index


def _flat_look() -> Appearance:
    # flat colours: skin red, top green, bottom blue, head white; no shading
    return Appearance(colours=np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], float),
                      light_dir=np.array([0, 0, -1.0]), ambient=1.0, diffuse=0.0, specular=0.0)


def _camera(size: int = 128) -> Camera:
    return Camera(np.eye(3), np.zeros(3), np.array([120.0, 120.0]), np.array([(size - 1) / 2] * 2), (size, size))


def _standing(depth: float = 4.0) -> np.ndarray:
    """A front-facing H36M-17 body (camera frame, y down) standing ``depth`` m in front of the camera."""
    p = np.zeros((17, 3))
    p[J("r_hip")], p[J("l_hip")] = [-0.12, 0, 0], [0.12, 0, 0]
    p[J("r_knee")], p[J("l_knee")] = [-0.12, 0.45, 0], [0.12, 0.45, 0]
    p[J("r_ankle")], p[J("l_ankle")] = [-0.12, 0.9, 0], [0.12, 0.9, 0]
    p[J("spine")], p[J("thorax")], p[J("neck_nose")], p[J("head_top")] = [0, -0.25, 0], [0, -0.5, 0], [0, -0.6, 0], [0, -0.8, 0]
    p[J("l_shoulder")], p[J("r_shoulder")] = [0.18, -0.5, 0], [-0.18, -0.5, 0]
    p[J("l_elbow")], p[J("l_wrist")] = [0.45, -0.5, 0], [0.7, -0.5, 0]
    p[J("r_elbow")], p[J("r_wrist")] = [-0.45, -0.5, 0], [-0.7, -0.5, 0]
    return p + [0, -0.1, depth]


def test_body_is_drawn_where_the_labels_say():
    cam, pose = _camera(), _standing()
    bg = np.zeros((128, 128, 3))
    img, zbuf, vis = render_body(pose, cam, bg, _flat_look(), supersample=1)
    uv = np.round(cam.project(pose)).astype(int)
    assert vis.all()
    # every joint's pixel is body (not the black background), and the depth map there is within a
    # capsule radius in front of the joint
    assert (img[uv[:, 1], uv[:, 0]].sum(-1) > 0.5).all()
    assert (zbuf[uv[:, 1], uv[:, 0]] <= pose[:, 2] + 1e-6).all()
    assert (zbuf[uv[:, 1], uv[:, 0]] >= pose[:, 2] - 0.2).all()
    # a corner far from the body stays background
    assert img[0, 0].sum() == 0 and np.isinf(zbuf[0, 0])


def test_nearer_capsule_wins_and_hides_the_joint_behind():
    cam, bg = _camera(), np.zeros((128, 128, 3))
    pose = _standing()
    # swing the right forearm across the chest, 30 cm in front of it
    pose[J("r_elbow")] = pose[J("thorax")] + [-0.25, 0.1, -0.3]
    pose[J("r_wrist")] = pose[J("thorax")] + [0.2, 0.1, -0.3]
    img, _, vis = render_body(pose, cam, bg, _flat_look(), supersample=1)
    mid = np.round(cam.project(pose[J("thorax")] + [0, 0.1, -0.3])).astype(int)
    assert np.allclose(img[mid[1], mid[0]], [1, 0, 0])      # skin (forearm) in front of the green top
    # now put it 30 cm behind the back: the torso hides it, its wrist becomes invisible
    pose[J("r_elbow"), 2] += 0.6
    pose[J("r_wrist"), 2] += 0.6
    img, _, vis = render_body(pose, cam, bg, _flat_look(), supersample=1)
    assert np.allclose(img[mid[1], mid[0]], [0, 1, 0])
    assert not vis[J("r_wrist")] and vis[J("l_wrist")]


def test_proportions_keep_bone_directions(deepmimic_clips):
    world = deepmimic_clips[0].world[5]
    out = vary_proportions(world, np.random.default_rng(1))
    assert np.allclose(out[0], world[0])
    for p, c in H36M17.bones:
        a, b = world[c] - world[p], out[c] - out[p]
        cos = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
        assert cos > 1 - 1e-9
        assert 0.75 < np.linalg.norm(b) / np.linalg.norm(a) < 1.3


def test_dataset_labels_are_the_projection_of_the_3d_labels(deepmimic_clips):
    d = render_dataset(deepmimic_clips[:2], 6, 64, seed=3)
    assert d["images"].shape == (6, 64, 64, 3) and d["images"].dtype == np.uint8
    assert (d["joints_cam"][..., 2] > 0.5).all()
    # crop camera: u = f x / z + c for one c per sample (principal point), shared by all 17 joints
    xz = d["joints_cam"][..., :2] / d["joints_cam"][..., 2:]
    c = d["uv"] - d["focal"][:, None, None] * xz
    assert np.abs(c - c.mean(1, keepdims=True)).max() < 1e-2
    # deterministic in the seed, different across seeds
    again = render_dataset(deepmimic_clips[:2], 6, 64, seed=3)
    assert np.array_equal(d["images"], again["images"])
    other = render_dataset(deepmimic_clips[:2], 6, 64, seed=4)
    assert not np.array_equal(d["images"], other["images"])
    # the body fills a good part of the crop: the labels are inside it
    assert ((d["uv"] > -1) & (d["uv"] < 64)).mean() > 0.95

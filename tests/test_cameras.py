"""Cameras: transforms, projection, distortion, look_at, and the virtual-camera sampler on real motion."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.cameras import (
    Camera,
    distort,
    in_view,
    intrinsics_from_fov,
    look_at,
    project_clip,
    sample_virtual_camera,
    undistort,
)
from structpose.errors import StructposeError
from structpose.skeleton import H36M17


def _camera(dist: np.ndarray | None = None) -> Camera:
    dist = np.zeros(5) if dist is None else dist
    R, t = look_at(np.array([3.0, 1.5, -4.0]), np.array([0.0, 1.0, 0.0]))
    return Camera(R, t, np.array([900.0, 910.0]), np.array([512.0, 380.0]), (1024, 768), np.asarray(dist))


def test_project_backproject_round_trip():
    rng = np.random.default_rng(0)
    for dist in (np.zeros(5), np.array([-0.2, 0.05, 0.001, -0.002, 0.0])):
        cam = _camera(dist)
        pts = rng.uniform([-1, 0, -1], [1, 2, 1], size=(50, 3))
        x_cam = cam.world_to_camera(pts)
        back = cam.backproject(cam.project(x_cam), x_cam[:, 2])
        assert np.allclose(back, x_cam, atol=1e-6)
        assert np.allclose(cam.camera_to_world(back), pts, atol=1e-6)


def test_projection_is_the_pinhole_formula():
    """Computed another way: homogeneous K [R | t] X, divided by the third row."""
    cam = _camera()
    X = np.random.default_rng(1).normal(size=(10, 3)) * 0.5
    K = np.array([[cam.f[0], 0, cam.c[0]], [0, cam.f[1], cam.c[1]], [0, 0, 1]])
    h = (K @ (cam.R @ X.T + cam.t[:, None])).T
    assert np.allclose(cam.project(cam.world_to_camera(X)), h[:, :2] / h[:, 2:], atol=1e-9)


def test_look_at_axes():
    eye, target = np.array([2.0, 3.0, 5.0]), np.array([0.0, 1.0, 0.0])
    R, t = look_at(eye, target)
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12) and np.isclose(np.linalg.det(R), 1.0)
    assert np.allclose(R[2], (target - eye) / np.linalg.norm(target - eye))   # z looks at the target
    assert R[1] @ np.array([0.0, 1.0, 0.0]) < 0                               # image y points down
    assert abs(R[0] @ np.array([0.0, 1.0, 0.0])) < 1e-12                      # no roll: x level
    cam = Camera(R, t, np.array([500.0, 500.0]), np.array([320.0, 240.0]), (640, 480))
    assert np.allclose(cam.project(cam.world_to_camera(target)), [320, 240])
    assert np.allclose(cam.center, eye)
    with pytest.raises(StructposeError):
        look_at(target, target)


def test_distortion_inverse():
    xy = np.random.default_rng(2).uniform(-0.5, 0.5, size=(200, 2))
    dist = np.array([-0.25, 0.08, 0.002, -0.001, -0.01])
    assert np.allclose(undistort(distort(xy, dist), dist), xy, atol=1e-8)
    assert not np.allclose(distort(xy, dist), xy)


def test_fov_gives_the_focal_length():
    f, c = intrinsics_from_fov(90.0, (800, 600))
    assert np.allclose(f, 400.0) and np.allclose(c, [400, 300])   # tan(45) = 1: half-width = f


def test_front_camera_sees_the_person_from_the_front(deepmimic_clips):
    """A person facing the camera shows their right side on the image's left (x < 0)."""
    walk = next(c for c in deepmimic_clips if c.name == "deepmimic/walk")
    P = walk.in_camera()
    r, l = H36M17.index("r_hip"), H36M17.index("l_hip")
    assert (P[:, r, 0] < P[:, l, 0]).all()
    assert (P[:, H36M17.index("head_top"), 1] < P[:, H36M17.index("pelvis"), 1]).all()   # y down


def test_sampled_cameras_keep_real_motion_in_view(deepmimic_clips):
    rng = np.random.default_rng(3)
    yaws = []
    for k in range(60):
        clip = deepmimic_clips[k % len(deepmimic_clips)]
        cam = sample_virtual_camera(rng, clip.world)
        uv, P = project_clip(clip, cam)
        w, h = cam.image_size
        assert (P[..., 2] > 0.3).all()
        assert (uv[..., 0] >= 0).all() and (uv[..., 0] <= w).all() and (uv[..., 1] >= 0).all() and (uv[..., 1] <= h).all()
        d = cam.center - clip.world.reshape(-1, 3).mean(axis=0)
        horiz = np.hypot(d[0], d[2])
        assert abs(np.degrees(np.arctan2(d[1], horiz))) < 45             # pitch limit (+ aim jitter)
        assert 2.0 < np.linalg.norm(d) < 30
        yaws.append(np.arctan2(d[2], d[0]))
        fov = np.degrees(2 * np.arctan(0.5 * max(w, h) / cam.f[0]))      # across the longer side
        assert 40 - 1e-6 < fov < 80 + 1e-6
    counts = np.histogram(yaws, bins=4, range=(-np.pi, np.pi))[0]
    assert (counts > 5).all()                                            # all round


def test_sampler_is_deterministic_and_validates():
    pose = np.zeros((17, 3)) + np.linspace(0, 1.7, 17)[:, None] * np.array([0, 1, 0])
    a = sample_virtual_camera(np.random.default_rng(7), pose)
    b = sample_virtual_camera(np.random.default_rng(7), pose)
    assert np.allclose(a.R, b.R) and np.allclose(a.t, b.t) and a.image_size == b.image_size
    assert in_view(a, pose)
    with pytest.raises(StructposeError):
        sample_virtual_camera(np.random.default_rng(0), np.full((17, 3), np.nan))
    with pytest.raises(StructposeError):
        sample_virtual_camera(np.random.default_rng(0), pose, fov_deg=(80, 40))


def test_camera_batch_equals_single_cameras(deepmimic_clips):
    from structpose.cameras import camera_from_uniforms, cameras_from_uniforms_batch
    poses = np.stack([c.world[k % c.num_frames] for k, c in enumerate(deepmimic_clips * 3)])
    u = np.random.default_rng(5).random((len(poses), 9))
    batch = cameras_from_uniforms_batch(u, poses)
    for i in range(len(poses)):
        one = camera_from_uniforms(u[i], poses[i])
        assert np.allclose(one.R, batch.R[i]) and np.allclose(one.t, batch.t[i])
        assert np.allclose(one.f, batch.f[i]) and one.image_size == batch.camera(i).image_size
        assert in_view(batch.camera(i), poses[i])


def test_camera_batch_equals_single_cameras_through_back_off_and_re_aim(deepmimic_clips):
    """Both samplers share their checks and derivations but not the retry loop.  A narrow field of view
    and a large aim jitter push the subject out of the first views: cameras back off, and after half the
    tries re-aim at the subject's centre.  Whatever happened, the two paths must give the same camera."""
    from structpose.cameras import camera_from_uniforms, cameras_from_uniforms_batch
    poses = np.stack([c.world[k % c.num_frames] for k, c in enumerate(deepmimic_clips * 2)])
    u = np.random.default_rng(11).random((len(poses), 9))
    ranges = {"distance": (2.0, 3.0), "fov_deg": (30.0, 40.0), "aim_jitter": 2.0, "max_tries": 20}
    batch = cameras_from_uniforms_batch(u, poses, **ranges)
    re_aimed = 0
    for i in range(len(poses)):
        one = camera_from_uniforms(u[i], poses[i], **ranges)
        assert np.allclose(one.R, batch.R[i]) and np.allclose(one.t, batch.t[i], atol=1e-9)
        assert in_view(one, poses[i])
        centre = (poses[i].min(0) + poses[i].max(0)) / 2
        c = one.world_to_camera(centre)
        if np.hypot(c[0], c[1]) < 1e-9 * c[2]:          # the optical axis runs through the centre: re-aimed,
            re_aimed += 1                                # after 11 back-offs of 15 % from at least 2 m
            assert c[2] >= 2.0 * 1.15 ** 11 - 1e-9
    assert 0 < re_aimed < len(poses)


@pytest.mark.parametrize("bad", [{"distance": (3.0, 2.0)}, {"distance": (0.0, 2.0)}, {"fov_deg": (40.0, 180.0)},
                                 {"image_sizes": ()}])
def test_both_samplers_refuse_the_same_bad_ranges(bad):
    from structpose.cameras import camera_from_uniforms, cameras_from_uniforms_batch
    pose = np.zeros((17, 3)) + np.linspace(0, 1.7, 17)[:, None] * np.array([0, 1, 0])
    u = np.full(9, 0.5)
    with pytest.raises(StructposeError) as single:
        camera_from_uniforms(u, pose, **bad)
    with pytest.raises(StructposeError) as batch:
        cameras_from_uniforms_batch(u[None], pose[None], **bad)
    assert str(single.value) == str(batch.value) and "\n" not in str(single.value)


def test_both_samplers_report_a_subject_that_never_fits():
    from structpose.cameras import camera_from_uniforms, cameras_from_uniforms_batch
    pose = np.zeros((17, 3)) + np.linspace(0, 1.7, 17)[:, None] * np.array([0, 1, 0])
    u = np.full(9, 0.5)
    with pytest.raises(StructposeError, match="no camera sees the whole subject") as single:
        camera_from_uniforms(u, pose, distance=(0.3, 0.3), max_tries=2)
    with pytest.raises(StructposeError, match="no camera sees the whole subject") as batch:
        cameras_from_uniforms_batch(u[None], pose[None], distance=(0.3, 0.3), max_tries=2)
    assert str(single.value) == str(batch.value)

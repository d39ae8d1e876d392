"""Triangulation against synthetic calibrated cameras built with structpose.cameras (known geometry)."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.cameras import Camera, look_at, undistort
from structpose.errors import StructposeError
from structpose.triangulate import dlt, reprojection_error, triangulate, undistort_normalised

UP = np.array([0.0, 0.0, 1.0])
DIST = np.array([-0.05, 0.12, 0.0008, -0.0005, 0.0])


def rig(n: int = 4, dist: np.ndarray = DIST) -> list[Camera]:
    cams = []
    for k in range(n):
        a = 2 * np.pi * k / n + 0.3
        eye = np.array([3.5 * np.cos(a), 3.5 * np.sin(a), 1.8 + 0.2 * k])
        R, t = look_at(eye, np.array([0.0, 0.0, 0.9]), up=UP)
        cams.append(Camera(R, t, np.array([1680.0, 1678.0]), np.array([540.0, 955.0]), (1088, 1920), dist.copy()))
    return cams


def points(rng, n=40) -> np.ndarray:
    return rng.normal(size=(n, 3)) * np.array([0.3, 0.3, 0.5]) + np.array([0.0, 0.0, 0.9])


def observe(cams, X):
    return np.stack([c.project(c.world_to_camera(X)) for c in cams])


def test_cv2_undistortion_agrees_with_the_camera_model():
    cam = rig(1)[0]
    rng = np.random.default_rng(0)
    uv = rng.uniform([0, 0], [1088, 1920], size=(200, 2))
    ours = undistort((uv - cam.c) / cam.f, cam.dist, iterations=50)
    np.testing.assert_allclose(undistort_normalised(uv, cam), ours, atol=1e-6)


def test_exact_recovery_without_noise():
    rng = np.random.default_rng(1)
    cams, X = rig(), points(rng)
    uv = observe(cams, X)
    res = triangulate(uv, np.ones(uv.shape[:2]), cams)
    np.testing.assert_allclose(res.points, X, atol=1e-6)
    assert res.trusted.all() and res.inliers.all()
    assert np.nanmax(res.error_px) < 1e-4


def test_plain_dlt_exact_for_two_views_and_needs_two():
    rng = np.random.default_rng(2)
    cams, X = rig(2, dist=np.zeros(5)), points(rng, 10)
    xy = np.stack([c.world_to_camera(X)[:, :2] / c.world_to_camera(X)[:, 2:] for c in cams])
    np.testing.assert_allclose(dlt(xy, np.ones((2, 10)), cams), X, atol=1e-9)
    w = np.ones((2, 10))
    w[1, :3] = 0
    assert np.isnan(dlt(xy, w, cams)[:3]).all() and np.isfinite(dlt(xy, w, cams)[3:]).all()


def test_outlier_view_is_rejected():
    """One view's detections are off by 80 px (a left/right swap, a wrong person): the other three agree,
    so that view is dropped and the point is recovered to the noise level of the rest."""
    rng = np.random.default_rng(3)
    cams, X = rig(), points(rng)
    uv = observe(cams, X) + rng.normal(scale=1.0, size=(4, len(X), 2))
    uv[2] += np.array([80.0, -40.0])
    res = triangulate(uv, np.ones(uv.shape[:2]), cams, inlier_px=10)
    assert not res.inliers[2].any() and res.inliers[[0, 1, 3]].all()
    naive = triangulate(uv, np.ones(uv.shape[:2]), cams, inlier_px=1e6)     # every view kept
    err = np.linalg.norm(res.points - X, axis=-1)
    err_naive = np.linalg.norm(naive.points - X, axis=-1)
    assert np.median(err) < 0.01 and np.median(err_naive) > 3 * np.median(err)
    assert np.all(res.error_px[2] > 60)          # the reported error still shows the rejected view


def test_refinement_lowers_reprojection_error_with_noise():
    rng = np.random.default_rng(4)
    cams, X = rig(), points(rng, 60)
    uv = observe(cams, X) + rng.normal(scale=3.0, size=(4, 60, 2))
    conf = np.ones((4, 60))
    raw = triangulate(uv, conf, cams, refine=False)
    ref = triangulate(uv, conf, cams)
    assert np.nansum(ref.error_px ** 2) < np.nansum(raw.error_px ** 2)
    # the refined point is a least-squares optimum: nudging it increases the summed squared error
    e0 = np.nansum(reprojection_error(ref.points, uv, cams) ** 2)
    for d in np.eye(3) * 1e-3:
        assert np.nansum(reprojection_error(ref.points + d, uv, cams) ** 2) > e0


def test_low_confidence_and_missing_views_leave_points_untrusted():
    rng = np.random.default_rng(5)
    cams, X = rig(), points(rng, 6)
    uv = observe(cams, X)
    conf = np.ones((4, 6))
    conf[1:, 0] = 0.1                      # point 0 confidently seen by one view only
    uv[:3, 1] = np.nan                     # point 1 detected in one view only
    res = triangulate(uv, conf, cams, min_confidence=0.5)
    assert not res.trusted[:2].any() and np.isnan(res.points[:2]).all()
    np.testing.assert_allclose(res.points[2:], X[2:], atol=1e-6)
    assert np.isnan(res.error_px[:3, 1]).all()


def test_batched_leading_dims_and_bad_shapes():
    rng = np.random.default_rng(6)
    cams, X = rig(3), points(rng, 12)
    uv = observe(cams, X).reshape(3, 4, 3, 2)
    res = triangulate(uv, np.ones((3, 4, 3)), cams)
    assert res.points.shape == (4, 3, 3) and res.error_px.shape == (3, 4, 3)
    np.testing.assert_allclose(res.points.reshape(12, 3), X, atol=1e-6)
    with pytest.raises(StructposeError, match="expected"):
        triangulate(uv[:2], np.ones((2, 4, 3)), cams)
    with pytest.raises(StructposeError, match="at least 2"):
        triangulate(uv[:1], np.ones((1, 4, 3)), cams[:1])

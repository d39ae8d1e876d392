"""The SAP-Net codec (structpose.codec): crop geometry, heatmap targets and their sub-pixel decoding,
the weak-perspective lift to metres."""
from __future__ import annotations

import numpy as np

from structpose.codec import (
    apply_affine,
    bone_length_sum,
    crop_affine,
    decode_heatmaps,
    depth_target,
    gaussian_heatmaps,
    heatmap_to_input,
    invert_affine,
    lift_to_3d,
    normalise_xy,
)


def test_crop_affine_maps_box_to_crop():
    A = crop_affine(np.array([100.0, 50.0]), 40.0, 64)
    # the box centre -> the crop centre; the square's edges (centre +- side/2) -> the outer edges of
    # the crop's first and last pixels (pixel centres at integers: -0.5 and 63.5)
    assert np.allclose(apply_affine(A, np.array([[100.0, 50.0]])), [[31.5, 31.5]])
    corners = np.array([[80.0, 30.0], [120.0, 70.0]])
    assert np.allclose(apply_affine(A, corners), [[-0.5, -0.5], [63.5, 63.5]])
    assert np.allclose(apply_affine(invert_affine(A), apply_affine(A, corners)), corners)
    # rotation by 90 deg turns an offset to the right into an offset upwards (screen, y down)
    R = crop_affine(np.array([0.0, 0.0]), 64.0, 64, rotation_deg=90)
    assert np.allclose(apply_affine(R, np.array([[10.0, 0.0]])) - 31.5, [[0, -10]], atol=1e-9)


def test_heatmap_target_decodes_to_the_joint():
    uv = np.random.default_rng(0).uniform(8, 56, (17, 2))
    hm = gaussian_heatmaps(uv, 64, sigma=1.0)
    xy, _ = decode_heatmaps(hm)
    assert np.abs(heatmap_to_input(xy) - uv).max() < 0.05


def _gauss(centres: np.ndarray, h: int, sigma: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:h]
    return np.exp(-((xx - centres[:, 0, None, None]) ** 2 + (yy - centres[:, 1, None, None]) ** 2) / (2 * sigma ** 2))


def test_subpixel_decoding_recovers_gaussian_peaks():
    rng = np.random.default_rng(0)
    c = rng.uniform(3, 28, (17, 2))
    xy, scores = decode_heatmaps(_gauss(c, 32, 1.5)[None])
    assert np.abs(xy[0] - c).max() < 1e-3            # log of a Gaussian is quadratic: one Newton step is exact
    integer = np.abs(np.round(c) - c).max()
    assert integer > 0.1                               # the test is not trivial
    assert (scores > 0.7).all()


def test_decoding_survives_flat_and_edge_maps():
    hm = np.zeros((2, 17, 16, 16))
    hm[1, :, 0, 15] = 1.0                              # peak on the border
    xy, _ = decode_heatmaps(hm)
    assert np.isfinite(xy).all()
    assert np.allclose(xy[1], [15, 0])


def test_heatmap_to_input_pixel_centres():
    # heatmap pixel 0 covers input pixels 0..3, whose centre is 1.5
    assert np.allclose(heatmap_to_input(np.array([0.0, 1.0])), [1.5, 5.5])


def test_lift_recovers_pose_under_weak_perspective(deepmimic_camera_poses):
    pose = deepmimic_camera_poses[::97][:20].astype(np.float64)
    pose = pose - pose[:, :1] + np.array([0, 0, 200.0])      # far away: perspective ~ weak perspective
    f, size = 20000.0, 128
    uv = pose[..., :2] / pose[..., 2:] * f + (size - 1) / 2
    z_n = depth_target(pose, np.full(len(pose), f), size)
    gt = pose - pose[:, :1]
    out = lift_to_3d(normalise_xy(uv, size), z_n, bone_sum=1.0)
    out = out * bone_length_sum(gt)[:, None, None]          # lift gives unit total bone length
    assert np.abs(out - gt).max() < 0.01                      # < 1 cm

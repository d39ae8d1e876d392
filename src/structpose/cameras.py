"""Pinhole cameras: world <-> camera transforms, projection, back-projection, virtual cameras.

Camera frame is OpenCV's: right-handed, x right, y down, z forward; pixels (u, v) with u to the
right and v down.  World frames of mocap sources are metres with **Y up** (see ``structpose.data``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import StructposeError, check_shape

WORLD_UP = np.array([0.0, 1.0, 0.0])


@dataclass
class Camera:
    """``X_cam = R @ X_world + t``; intrinsics ``f`` = (fx, fy), ``c`` = (cx, cy) in pixels.

    ``dist`` holds OpenCV-order distortion (k1, k2, p1, p2, k3); zeros mean an ideal pinhole.
    """

    R: np.ndarray
    t: np.ndarray
    f: np.ndarray
    c: np.ndarray
    image_size: tuple[int, int] = (1000, 1000)      # (width, height)
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))

    def world_to_camera(self, x: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world points -> camera frame."""
        return np.einsum("ij,...j->...i", self.R, x) + self.t

    def camera_to_world(self, x: np.ndarray) -> np.ndarray:
        return np.einsum("ji,...j->...i", self.R, x - self.t)

    def project(self, x_cam: np.ndarray) -> np.ndarray:
        """``(..., 3)`` camera-frame points (z > 0) -> ``(..., 2)`` pixels, with distortion if set."""
        z = x_cam[..., 2:3]
        xy = x_cam[..., :2] / np.where(np.abs(z) < 1e-9, 1e-9, z)
        if np.any(self.dist):
            xy = distort(xy, self.dist)
        return xy * self.f + self.c

    def backproject(self, uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """``(..., 2)`` pixels and ``(...)`` depths (camera z) -> ``(..., 3)`` camera-frame points."""
        xy = (uv - self.c) / self.f
        if np.any(self.dist):
            xy = undistort(xy, self.dist)
        depth = np.asarray(depth)[..., None]
        return np.concatenate([xy * depth, depth], axis=-1)

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates."""
        return -self.R.T @ self.t


def distort(xy: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Apply Brown-Conrady distortion (OpenCV order k1, k2, p1, p2, k3) to normalised coordinates."""
    k1, k2, p1, p2, k3 = np.asarray(dist, dtype=float)
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def undistort(xy_d: np.ndarray, dist: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Invert :func:`distort` by fixed-point iteration (as OpenCV's ``undistortPoints`` does)."""
    xy = xy_d.copy()
    for _ in range(iterations):
        xy = xy + (xy_d - distort(xy, dist))
    return xy


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = WORLD_UP) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and translation of a camera at ``eye`` looking at ``target`` with image-up = ``up``."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    z = target - eye
    n = np.linalg.norm(z)
    if n < 1e-9:
        raise StructposeError("camera eye and target coincide; place the camera away from the subject")
    z /= n
    x = np.cross(z, np.asarray(up, float))           # x = y x z with y = -up, i.e. z x up
    if np.linalg.norm(x) < 1e-9:
        raise StructposeError("camera looks straight along the up axis; choose another viewpoint")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return R, -R @ eye


def intrinsics_from_fov(fov_deg: float, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Focal length (both axes) from a horizontal field of view; principal point at the centre."""
    w, h = image_size
    f = 0.5 * w / np.tan(np.radians(fov_deg) / 2)
    return np.array([f, f]), np.array([w / 2.0, h / 2.0])


def facing_direction(world_poses: np.ndarray, l_hip: int, r_hip: int) -> np.ndarray:
    """Unit horizontal direction a body faces, from its hips: forward = up x right."""
    right = (world_poses[..., r_hip, :] - world_poses[..., l_hip, :]).reshape(-1, 3).mean(axis=0)
    fwd = np.cross(WORLD_UP, right)
    fwd[1] = 0.0
    n = np.linalg.norm(fwd)
    return fwd / n if n > 1e-9 else np.array([1.0, 0.0, 0.0])


def front_camera(world_poses: np.ndarray, distance: float = 5.0, fov_deg: float = 55.0,
                 image_size: tuple[int, int] = (1000, 1000)) -> Camera:
    """A camera in front of the subject (as it faces on the first frame), level with the pelvis,
    ``distance`` metres from the clip's mean pelvis position, looking at it.  H36M-17 input."""
    check_shape(world_poses, ["T", 17, 3], "world poses")
    from .skeleton import H36M17
    fwd = facing_direction(world_poses[:1], H36M17.index("l_hip"), H36M17.index("r_hip"))
    target = world_poses[:, 0].mean(axis=0)
    R, t = look_at(target + distance * fwd, target)
    f, c = intrinsics_from_fov(fov_deg, image_size)
    return Camera(R, t, f, c, image_size)

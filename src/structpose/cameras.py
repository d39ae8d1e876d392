"""Pinhole cameras: world <-> camera transforms, projection, back-projection, virtual cameras.

Camera frame is OpenCV's: right-handed, x right, y down, z forward; pixels (u, v) with u to the
right and v down.  World frames of mocap sources are metres with **Y up** (see ``structpose.data``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .errors import StructposeError, check_shape

WORLD_UP = np.array([0.0, 1.0, 0.0])

# --- frame conventions, defined once -------------------------------------------------------------
#: per-axis signs between a Y-up world (facing +z) and the camera frame (x right, y down, z forward):
#: a 180-degree turn about x, its own inverse (``p_cam = p_world * Y_UP_FLIP`` and back)
Y_UP_FLIP = np.array([1.0, -1.0, -1.0])
#: proper rotations (det +1) taking each possible world up axis to +Y (``p @ R.T``)
TO_Y_UP = {
    "+y": np.eye(3), "-y": np.diag([1.0, -1.0, -1.0]),
    "+z": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]),        # (x, y, z) -> (x, z, -y)
    "-z": np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]),
    "+x": np.array([[0, -1.0, 0], [1.0, 0, 0], [0, 0, 1.0]]),
    "-x": np.array([[0, 1.0, 0], [-1.0, 0, 0], [0, 0, 1.0]]),
}
#: Z-up -> Y-up: x stays, new y = old z, new z = -old y
Z_UP_TO_Y_UP = TO_Y_UP["+z"]


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


# --- virtual cameras for (2D, 3D) training pairs ----------------------------------------------

#: image sizes (width, height) a virtual camera picks from: square crops, landscape and portrait video
IMAGE_SIZES: tuple[tuple[int, int], ...] = ((1000, 1000), (1920, 1080), (1280, 720), (1080, 1920), (640, 480))


def _points(target_world: np.ndarray) -> np.ndarray:
    pts = np.asarray(target_world, dtype=float)
    if pts.ndim == 0 or pts.shape[-1] != 3:
        raise StructposeError(f"camera target has shape {pts.shape}; expected (3,) or (..., 3) world points")
    pts = pts.reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        raise StructposeError("camera target holds no finite point; give world points in metres")
    return pts


def in_view(camera: Camera, points_world: np.ndarray, margin: float = 0.05, near: float = 0.3) -> bool:
    """Whether every finite ``(..., 3)`` world point is ``near`` metres or more in front of the camera
    and projects inside the image shrunk by ``margin`` (a fraction of each side)."""
    pts = _points(points_world)
    cam = camera.world_to_camera(pts)
    if np.any(cam[:, 2] < near):
        return False
    uv = camera.project(cam)
    w, h = camera.image_size
    lo = np.array([margin * w, margin * h])
    hi = np.array([(1 - margin) * w, (1 - margin) * h])
    return bool(np.all((uv >= lo) & (uv <= hi)))


def sample_virtual_camera(rng: np.random.Generator, target_world: np.ndarray,
                          distance: tuple[float, float] = (2.5, 7.0),
                          height: tuple[float, float] = (-0.5, 1.5),
                          pitch_limit_deg: float = 40.0,
                          fov_deg: tuple[float, float] = (40.0, 80.0),
                          image_sizes: tuple[tuple[int, int], ...] = IMAGE_SIZES,
                          aim_jitter: float = 0.25, roll_deg: float = 5.0,
                          margin: float = 0.05, max_tries: int = 50) -> Camera:
    """A plausible camera that sees every given point.

    ``target_world``: ``(3,)`` or ``(..., 3)`` world points (Y up, metres), e.g. a pose ``(17, 3)`` or a
    whole clip ``(T, 17, 3)``; the camera aims at their bounding-box centre.  Drawn uniformly: yaw all
    round, distance (metres from the centre), eye height relative to the centre (the resulting
    pitch is clipped to ``±pitch_limit_deg``), field of view across the image's longer side (as
    phones and camcorders quote it), one of ``image_sizes``; the aim point is jittered by up to
    ``aim_jitter`` x the subject's extent so the subject is not always centred, and the camera rolls
    by up to ``±roll_deg``.  If the points leave the image (with ``margin``), the camera backs off
    15 % along its ray and tries again (up to ``max_tries``; the aim returns to the centre after
    half of them); a subject that never fits raises :class:`StructposeError`.
    """
    return camera_from_uniforms(rng.random(9), target_world, distance, height, pitch_limit_deg, fov_deg,
                                image_sizes, aim_jitter, roll_deg, margin, max_tries)


def _lerp(r: tuple[float, float], x):
    """``r[0]`` at ``x = 0`` to ``r[1]`` at ``x = 1``; ``x`` a float or an array."""
    return r[0] + (r[1] - r[0]) * x


def _sampler_setup(distance: tuple[float, float], fov_deg: tuple[float, float],
                   image_sizes: tuple[tuple[int, int], ...], pitch_limit_deg: float) -> float:
    """The checks and derivations :func:`camera_from_uniforms` and :func:`cameras_from_uniforms_batch`
    share: validates the ranges and returns the eye-height bound ``tan(pitch_limit)``, a fraction of
    the horizontal distance.  Pure Python: the scalar sampler runs once per training item."""
    if not (0 < distance[0] <= distance[1] and 0 < fov_deg[0] <= fov_deg[1] < 180 and image_sizes):
        raise StructposeError(f"virtual camera ranges distance={distance}, fov={fov_deg}, "
                              f"image_sizes={image_sizes} are invalid; expected 0 < lo <= hi, fov < 180")
    return math.tan(math.radians(pitch_limit_deg))


def _no_view(extent: float, max_tries: int) -> StructposeError:
    return StructposeError(f"no camera sees the whole subject (extent {extent:.2f} m) within "
                           f"{max_tries} tries; widen the field of view or the distance range")


def camera_from_uniforms(u: np.ndarray, target_world: np.ndarray,
                         distance: tuple[float, float] = (2.5, 7.0),
                         height: tuple[float, float] = (-0.5, 1.5),
                         pitch_limit_deg: float = 40.0,
                         fov_deg: tuple[float, float] = (40.0, 80.0),
                         image_sizes: tuple[tuple[int, int], ...] = IMAGE_SIZES,
                         aim_jitter: float = 0.25, roll_deg: float = 5.0,
                         margin: float = 0.05, max_tries: int = 50) -> Camera:
    """:func:`sample_virtual_camera` with its 9 uniform ``[0, 1)`` draws given (yaw, distance, height,
    fov, image size, aim x/y/z, roll), so callers can derive them from a counter-based hash."""
    pts = _points(target_world)
    pitch_max = _sampler_setup(distance, fov_deg, image_sizes, pitch_limit_deg)
    u = [float(v) for v in np.asarray(u, dtype=float).reshape(-1)[:9]]  # type: ignore[assignment]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre, extent = (lo + hi) / 2, float(np.linalg.norm(hi - lo))
    yaw, d, dh = 2 * math.pi * u[0], _lerp(distance, u[1]), _lerp(height, u[2])
    horiz = math.sqrt(max(d * d - dh * dh, 1e-6))
    dh = min(max(dh, -pitch_max * horiz), pitch_max * horiz)
    fov = _lerp(fov_deg, u[3])
    w, h = (int(v) for v in image_sizes[min(int(u[4] * len(image_sizes)), len(image_sizes) - 1)])
    aim = centre + (2 * np.array(u[5:8]) - 1) * aim_jitter * extent * np.array([1.0, 0.5, 1.0])
    n = math.sqrt(horiz * horiz + dh * dh)
    back = np.array([math.cos(yaw) * horiz, dh, math.sin(yaw) * horiz]) / n   # aim -> eye
    # look_at in closed form (up = +Y): z = -back, x = z x up (level), y = z x x; then roll about z
    z0, z1, z2 = -back
    hx = math.hypot(z0, z2)
    x0, x2 = -z2 / hx, z0 / hx                         # x1 = 0: the image x axis stays level
    z = np.array([z0, z1, z2])
    x = np.array([x0, 0.0, x2])
    y = np.array([z1 * x2, z2 * x0 - z0 * x2, -z1 * x0])   # z x x, written out (np.cross is slow)
    roll = math.radians(_lerp((-roll_deg, roll_deg), u[8]))
    cr, sr = math.cos(roll), math.sin(roll)
    R = np.stack([cr * x - sr * y, sr * x + cr * y, z])
    fpx = 0.5 * max(w, h) / math.tan(math.radians(fov) / 2)
    f, c = np.array([fpx, fpx]), np.array([w / 2.0, h / 2.0])
    lo_px, hi_px = np.array([margin * w, margin * h]), np.array([(1 - margin) * w, (1 - margin) * h])
    rel = pts - aim
    for attempt in range(max_tries):
        # camera-frame points for an eye at aim + back * d: R @ (p - aim) - d * R @ back = R(p-aim) + d z
        cam_pts = rel @ R.T
        cam_pts[:, 2] += d
        if np.all(cam_pts[:, 2] >= 0.3):
            uv = cam_pts[:, :2] / cam_pts[:, 2:] * f + c
            if np.all((uv >= lo_px) & (uv <= hi_px)):
                eye = aim + back * d
                return Camera(R, -R @ eye, f, c, (w, h))
        if attempt == max_tries // 2:
            aim = centre                     # jitter may push the subject out at any distance
            rel = pts - aim
        d *= 1.15
    raise _no_view(extent, max_tries)


class CameraBatch(NamedTuple):
    """N pinhole cameras as arrays: ``R`` (N, 3, 3), ``t`` (N, 3), ``f`` (N, 2), ``c`` (N, 2) pixels,
    ``image_size`` (N, 2) int (width, height).  ``X_cam = R @ X_world + t`` per camera."""

    R: np.ndarray
    t: np.ndarray
    f: np.ndarray
    c: np.ndarray
    image_size: np.ndarray

    def camera(self, i: int) -> Camera:
        w, h = (int(v) for v in self.image_size[i])
        return Camera(self.R[i], self.t[i], self.f[i], self.c[i], (w, h))


def cameras_from_uniforms_batch(u: np.ndarray, targets_world: np.ndarray,
                                distance: tuple[float, float] = (2.5, 7.0),
                                height: tuple[float, float] = (-0.5, 1.5),
                                pitch_limit_deg: float = 40.0,
                                fov_deg: tuple[float, float] = (40.0, 80.0),
                                image_sizes: tuple[tuple[int, int], ...] = IMAGE_SIZES,
                                aim_jitter: float = 0.25, roll_deg: float = 5.0,
                                margin: float = 0.05, max_tries: int = 50) -> CameraBatch:
    """:func:`camera_from_uniforms` for N subjects at once (same numbers, vectorised).

    ``u``: (N, 9) uniforms; ``targets_world``: (N, P, 3) world points per camera (NaN ignored).
    """
    pts = np.asarray(targets_world, dtype=float)
    u = np.asarray(u, dtype=float)
    if pts.ndim != 3 or pts.shape[-1] != 3 or u.shape != (pts.shape[0], 9):
        raise StructposeError(f"camera batch got uniforms {u.shape} and targets {pts.shape}; expected "
                              "(N, 9) and (N, P, 3)")
    pitch_max = _sampler_setup(distance, fov_deg, image_sizes, pitch_limit_deg)
    finite = np.isfinite(pts).all(-1)
    if not finite.any(-1).all():
        raise StructposeError("a camera target holds no finite point; give world points in metres")
    lo = np.where(finite[..., None], pts, np.inf).min(1)
    hi = np.where(finite[..., None], pts, -np.inf).max(1)
    centre, extent = (lo + hi) / 2, np.linalg.norm(hi - lo, axis=-1)
    yaw, d, dh = 2 * np.pi * u[:, 0], _lerp(distance, u[:, 1]), _lerp(height, u[:, 2])
    horiz = np.sqrt(np.maximum(d * d - dh * dh, 1e-6))
    dh = np.minimum(np.maximum(dh, -pitch_max * horiz), pitch_max * horiz)
    fov = _lerp(fov_deg, u[:, 3])
    sizes = np.asarray(image_sizes, dtype=np.int64)[np.minimum((u[:, 4] * len(image_sizes)).astype(int),
                                                               len(image_sizes) - 1)]
    w, h = sizes[:, 0].astype(float), sizes[:, 1].astype(float)
    aim = centre + (2 * u[:, 5:8] - 1) * aim_jitter * extent[:, None] * np.array([1.0, 0.5, 1.0])
    n = np.sqrt(horiz * horiz + dh * dh)
    back = np.stack([np.cos(yaw) * horiz, dh, np.sin(yaw) * horiz], -1) / n[:, None]
    z = -back
    hx = np.hypot(z[:, 0], z[:, 2])
    x = np.stack([-z[:, 2] / hx, np.zeros_like(hx), z[:, 0] / hx], -1)
    y = np.stack([z[:, 1] * x[:, 2], z[:, 2] * x[:, 0] - z[:, 0] * x[:, 2], -z[:, 1] * x[:, 0]], -1)
    roll = np.radians(_lerp((-roll_deg, roll_deg), u[:, 8]))
    cr, sr = np.cos(roll)[:, None], np.sin(roll)[:, None]
    R = np.stack([cr * x - sr * y, sr * x + cr * y, z], 1)
    fpx = 0.5 * np.maximum(w, h) / np.tan(np.radians(fov) / 2)
    f, c = np.stack([fpx, fpx], -1), np.stack([w / 2.0, h / 2.0], -1)
    lo_px = np.stack([margin * w, margin * h], -1)[:, None]
    hi_px = np.stack([(1 - margin) * w, (1 - margin) * h], -1)[:, None]
    todo = np.ones(len(u), bool)
    for attempt in range(max_tries):
        if attempt == max_tries // 2 + 1:
            aim[todo] = centre[todo]          # as the single-camera sampler: re-aim after half the tries
        k = np.flatnonzero(todo)
        cam_pts = np.einsum("nij,npj->npi", R[k], pts[k] - aim[k, None])
        cam_pts[..., 2] += d[k, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = cam_pts[..., :2] / cam_pts[..., 2:] * f[k, None] + c[k, None]
            ok = (cam_pts[..., 2] >= 0.3) & ((uv >= lo_px[k]) & (uv <= hi_px[k])).all(-1)
        ok = (ok | ~finite[k]).all(-1)
        todo[k[ok]] = False
        if not todo.any():
            break
        d[todo] *= 1.15
    else:
        raise _no_view(float(extent[todo].max()), max_tries)
    eye = aim + back * d[:, None]
    return CameraBatch(R, -np.einsum("nij,nj->ni", R, eye), f, c, sizes)


def project_clip(clip, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """``clip`` (a :class:`structpose.data.Clip` or ``(T, 17, 3)`` world array) seen by ``camera``.

    Returns ``poses_2d`` ``(T, 17, 2)`` pixels and ``poses_3d_cam`` ``(T, 17, 3)`` metres in the
    camera frame (x right, y down, z forward), both float32.
    """
    world = np.asarray(getattr(clip, "world", clip), dtype=float)
    check_shape(world, ["...", 3], "clip poses")
    cam3d = camera.world_to_camera(world)
    return camera.project(cam3d).astype(np.float32), cam3d.astype(np.float32)

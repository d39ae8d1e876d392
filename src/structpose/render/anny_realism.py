"""Cheap realism for Anny stills: a ground contact shadow, a second person in the background, simple
occluding objects, motion blur, sensor noise and JPEG compression (issue 13, item 3).

Each effect is drawn with its own probability (:class:`RealismConfig`); :func:`realistic_still` builds
one image from one mocap frame with the same body, texture bank, camera sampler and backgrounds as
:class:`structpose.render.anny_scene.AnnyScenes`, then applies them in the order a camera would see
them: the shadow is painted into the background photo before the people are composited, a second
body (another clip, further from the camera than the first) is composited before the main one, an
occluder is drawn over everything, then blur, noise and compression act on the whole frame.

Labels stay the rendered main body's joints (the mesh regressor of :mod:`.anny_body`); ``unoccluded``
is False for joints behind an occluder or hidden by the body itself, ``in_image`` for joints that
project inside the frame.  Nothing here changes what :class:`AnnyScenes` renders by default.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..cameras import Camera, sample_virtual_camera
from ..data.clip import Clip
from .anny_body import retarget, sample_shapes
from .anny_scene import AnnyScenes, _edge_shift
from .anny_textures import random_background

ANKLES = (3, 6)


@dataclass
class RealismConfig:
    """Probabilities of each effect per image, and their ranges."""

    shadow: float = 0.7
    second_person: float = 0.35
    occluder: float = 0.35
    motion_blur: float = 0.3
    blur_px: tuple[float, float] = (3.0, 11.0)       # kernel length in pixels of a 640-wide frame
    noise: float = 0.4
    jpeg: float = 0.5


@dataclass
class Still:
    """One realistic image: ``image`` (H, W, 3) uint8 RGB; ``uv`` (17, 2), ``joints_cam`` (17, 3) of the main
    body; ``in_image`` / ``unoccluded`` (17,) bool; ``camera``; ``effects``: which effects were applied."""

    image: np.ndarray
    uv: np.ndarray
    joints_cam: np.ndarray
    in_image: np.ndarray
    unoccluded: np.ndarray
    camera: Camera
    effects: dict


def floor_height(clip: Clip) -> float:
    """Height (Y up) of the floor a clip stands on: its lowest ankle minus an ankle's height above the sole."""
    return float(np.nanmin(clip.world[:, list(ANKLES), 1])) - 0.07


def shadow_mask(cam: Camera, vertices: np.ndarray, floor_y: float, light_world: np.ndarray,
                softness_px: float) -> np.ndarray:
    """``(H, W)`` float mask in [0, 1] of the body's shadow cast along ``light_world`` (pointing down,
    towards the floor) onto the plane ``y = floor_y``, blurred by ``softness_px``."""
    w, h = cam.image_size
    d = np.asarray(light_world, np.float64)
    p = np.asarray(vertices, np.float64)
    above = np.maximum(p[:, 1] - floor_y, 0.0)
    on_floor = p + d[None] * (above / -d[1])[:, None]
    on_floor[:, 1] = floor_y
    pc = cam.world_to_camera(on_floor)
    mask = np.zeros((h, w), np.float32)
    front = pc[:, 2] > 0.05
    if front.sum() < 3:
        return mask
    uv = cam.project(pc[front])
    hull = cv2.convexHull(np.round(uv).astype(np.int32).reshape(-1, 1, 2))
    cv2.fillConvexPoly(mask, hull, 1.0)
    k = int(2 * round(3 * softness_px) + 1)
    return cv2.GaussianBlur(mask, (k, k), softness_px)


def _occluder(image: np.ndarray, uv: np.ndarray, photos: list[np.ndarray], rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray, str]:
    """Draw one simple object over part of the body: a pole, a box rising from the bottom edge, or a
    blob (ellipse) near a random joint; filled with a photo crop or a shaded flat colour.
    Returns (image, mask (H, W) bool, kind)."""
    h, w = image.shape[:2]
    lo, hi = uv.min(0), uv.max(0)
    bh = max(hi[1] - lo[1], 10.0)
    mask = np.zeros((h, w), np.uint8)
    kind = ("pole", "box", "blob")[int(rng.integers(3))]
    j = uv[int(rng.integers(len(uv)))]
    if kind == "pole":
        half = rng.uniform(0.03, 0.10) * bh
        x = j[0] + rng.uniform(-0.1, 0.1) * bh
        tilt = rng.uniform(-0.15, 0.15) * h
        pts = np.array([[x - half - tilt, 0], [x + half - tilt, 0], [x + half + tilt, h], [x - half + tilt, h]])
        cv2.fillConvexPoly(mask, np.round(pts).astype(np.int32), 1)
    elif kind == "box":
        top = lo[1] + rng.uniform(0.45, 0.85) * bh
        x0 = j[0] - rng.uniform(0.2, 0.6) * bh
        x1 = j[0] + rng.uniform(0.2, 0.6) * bh
        cv2.rectangle(mask, (int(x0), int(top)), (int(x1), h), 1, -1)
    else:
        axes = (int(rng.uniform(0.08, 0.22) * bh), int(rng.uniform(0.08, 0.22) * bh))
        centre = (int(j[0] + rng.normal(0, 0.05 * bh)), int(j[1] + rng.normal(0, 0.05 * bh)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    if rng.random() < 0.5:
        fill = random_background(photos, (w, h), rng).astype(np.float32)
    else:
        colour = rng.uniform(20, 235, 3)
        ramp = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0), w, dtype=np.float32)[None, :, None]
        fill = np.broadcast_to(colour[None, None] * ramp, (h, w, 3)).astype(np.float32)
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0.7)[..., None]
    out = (alpha * fill + (1 - alpha) * image.astype(np.float32) + 0.5).astype(np.uint8)
    return out, mask.astype(bool), kind


def motion_blur(image: np.ndarray, length_px: float, angle_deg: float) -> np.ndarray:
    """Linear motion blur: the average along a ``length_px`` segment at ``angle_deg``."""
    n = max(round(length_px), 1) | 1
    kernel = np.zeros((n, n), np.float32)
    kernel[n // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (n, n))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def realistic_still(scenes: AnnyScenes, clip: Clip, frame: int, rng: np.random.Generator, realism: RealismConfig,
                    others: list[Clip]) -> Still:
    """One still of ``clip`` at ``frame`` with the effects of ``realism``; a second person, if drawn, takes a
    random frame of a random clip of ``others`` (the same set, so held-out motion stays held out)."""
    cfg = scenes.config
    shape = sample_shapes(rng, 1)
    posed = retarget(scenes.body, clip.world[[frame]], shape)
    verts = posed.vertices[0]
    pts = verts[::25]
    cam = sample_virtual_camera(rng, pts, distance=cfg.distance, fov_deg=cfg.fov_deg, image_sizes=(cfg.image_size,))
    joints_cam = cam.world_to_camera(posed.joints[0].astype(np.float64))
    if rng.random() < cfg.edge_occlusion:
        cam = _edge_shift(cam, cam.project(cam.world_to_camera(pts)), cfg.edge_cut, rng)
    uv = cam.project(joints_cam)
    w, h = cfg.image_size
    background = random_background(scenes.photos, cfg.image_size, rng)
    d = rng.normal(size=3) * np.array([1.0, 0.6, 0.3]) + np.array([0.0, 0.5, 1.0])
    light = {"direction": d, "intensity": float(rng.uniform(1.5, 5.0)), "ambient": float(rng.uniform(0.15, 0.5))}
    effects: dict = {}
    floor_y = floor_height(clip)
    eye_y = float(cam.center[1]) if hasattr(cam, "center") else float((-cam.R.T @ cam.t)[1])
    lift = float(verts[:, 1].min() - floor_y)
    if rng.random() < realism.shadow and lift < 0.6 and eye_y > floor_y + 0.2:
        lw = cam.R.T @ (d / np.linalg.norm(d))          # light direction in the world (towards the scene)
        lw[1] = min(lw[1], -0.5)                         # from above: shadows fall near the feet
        lw = lw / np.linalg.norm(lw)
        px_per_m = float(np.mean(cam.f)) / max(float(joints_cam[0, 2]), 0.5)
        mask = shadow_mask(cam, verts[::7], floor_y, lw, softness_px=max(1.0, 0.06 * px_per_m))
        strength = rng.uniform(0.35, 0.65) * np.exp(-max(lift, 0.0) / 0.25)
        background = (background * (1 - strength * mask[..., None]) + 0.5).astype(np.uint8)
        effects["shadow"] = round(float(strength), 3)
    if others and rng.random() < realism.second_person:
        other = others[int(rng.integers(len(others)))]
        f2 = int(rng.integers(other.num_frames))
        body2 = retarget(scenes.body, other.world[[f2]], sample_shapes(rng, 1))
        v2 = body2.vertices[0].astype(np.float64)
        # put its pelvis 1.5-5 m further along a ray through the image, on the same floor
        ray_px = np.array([rng.uniform(0.05, 0.95) * w, rng.uniform(0.35, 0.75) * h])
        ray = np.linalg.solve(np.diag([cam.f[0], cam.f[1], 1.0]), np.array([*(ray_px - cam.c), 1.0]))
        depth = float(joints_cam[0, 2]) + rng.uniform(1.5, 5.0)
        target_cam = ray / ray[2] * depth
        target_w = cam.camera_to_world(target_cam[None])[0]
        shift = target_w - v2.mean(0)
        shift[1] = floor_y - floor_height(other)
        yaw = rng.uniform(0, 2 * np.pi)
        c, s = np.cos(yaw), np.sin(yaw)
        Ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        root = body2.joints[0, 0].astype(np.float64)
        v2 = (v2 - root) @ Ry.T + root + shift
        if (cam.world_to_camera(v2)[:, 2] > 0.3).all():
            background, _ = scenes.renderer.render(v2, cam, int(rng.integers(len(scenes.textures))), background,
                                                   light)
            effects["second_person"] = other.name
    texture = int(rng.integers(len(scenes.textures)))
    image, zbuf = scenes.renderer.render(verts, cam, texture, background, light)
    px = np.round(uv).astype(int)
    in_image = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    surf = zbuf[np.clip(px[:, 1], 0, h - 1), np.clip(px[:, 0], 0, w - 1)]
    unocc = in_image & ((surf <= 0) | (joints_cam[:, 2] - surf < 0.10))
    if rng.random() < realism.occluder:
        image, mask, kind = _occluder(image, uv, scenes.photos, rng)
        unocc &= ~mask[np.clip(px[:, 1], 0, h - 1), np.clip(px[:, 0], 0, w - 1)]
        effects["occluder"] = kind
    if rng.random() < realism.motion_blur:
        n = rng.uniform(*realism.blur_px) * w / 640
        image = motion_blur(image, n, float(rng.uniform(0, 180)))
        effects["motion_blur"] = round(float(n), 1)
    if rng.random() < realism.noise:
        sigma = rng.uniform(1.5, 6.0)
        image = np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)
        effects["noise"] = round(float(sigma), 1)
    if rng.random() < realism.jpeg:
        q = int(rng.integers(35, 90))
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
            effects["jpeg"] = q
    return Still(image, uv.astype(np.float32), joints_cam.astype(np.float32), in_image, unocc, cam, effects)

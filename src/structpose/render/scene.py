"""Random scenes around real mocap frames: body proportions, virtual cameras, backgrounds, lighting,
occluders -> square person crops with exact labels.  A STAND-IN for Human3.6M / MPII images.

Every sample is a function of ``(seed, index)`` alone, so a dataset is reproducible and can be
generated in any order or in parallel.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..cameras import Camera, look_at
from ..data.clip import Clip
from ..errors import StructposeError
from ..skeleton import H36M17
from .capsules import Appearance, render_body

_PARENTS = np.array(H36M17.parents)
_ARM = {H36M17.index(n) for n in ("l_elbow", "l_wrist", "r_elbow", "r_wrist")}
_LEG = {H36M17.index(n) for n in ("l_knee", "l_ankle", "r_knee", "r_ankle")}


@dataclass
class RenderedSample:
    """One crop: ``image`` (S, S, 3) uint8 RGB; ``uv`` (17, 2) crop pixels; ``joints_cam`` (17, 3)
    metres, the crop camera's frame; ``focal`` crop focal length (px); ``visible`` (17,) bool."""

    image: np.ndarray
    uv: np.ndarray
    joints_cam: np.ndarray
    focal: float
    visible: np.ndarray


def vary_proportions(world: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rescale bones of ``(17, 3)`` joints (root kept): overall 0.85-1.15, arms and legs +-10 % more.
    Walks the tree from the root so that every bone keeps its direction."""
    overall = rng.uniform(0.85, 1.15)
    arm, leg = rng.uniform(0.9, 1.1, 2)
    out = world.copy()
    for j in range(1, 17):   # H36M-17 parents precede their children
        p = _PARENTS[j]
        k = overall * (arm if j in _ARM else leg if j in _LEG else 1.0)
        out[j] = out[p] + k * (world[j] - world[p])
    return out


def random_background(size: int, rng: np.random.Generator) -> np.ndarray:
    """``(size, size, 3)`` float 0..1: gradient (sky / floor) + low-frequency noise + clutter shapes."""
    top, bottom = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    horizon = rng.uniform(0.3, 0.8)
    y = np.linspace(0, 1, size)[:, None, None]
    img = np.where(y < horizon, top + (bottom - top) * y * 0.5, bottom * (0.6 + 0.4 * y))
    img = np.broadcast_to(img, (size, size, 3)).astype(np.float32).copy()
    cells = int(rng.integers(2, 9))
    noise = cv2.resize(rng.uniform(-1, 1, (cells, cells, 3)).astype(np.float32), (size, size),
                       interpolation=cv2.INTER_CUBIC)
    img += rng.uniform(0.05, 0.3) * noise
    for _ in range(int(rng.integers(0, 7))):
        colour = tuple(float(c) for c in rng.uniform(0, 1, 3))
        p = rng.integers(-size // 4, size + size // 4, 4)
        if rng.random() < 0.5:
            cv2.rectangle(img, (int(p[0]), int(p[1])), (int(p[2]), int(p[3])), colour, -1)
        else:
            axes = (int(abs(p[2] - p[0]) // 3 + 2), int(abs(p[3] - p[1]) // 3 + 2))
            cv2.ellipse(img, (int(p[0]), int(p[1])), axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    if rng.random() < 0.3:   # stripes: a high-frequency texture the network must learn to ignore
        period = rng.uniform(4, 16)
        ang = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:size, 0:size]
        img += 0.15 * np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 2 * np.pi / period)[..., None]
    return np.clip(img, 0, 1)


def random_appearance(rng: np.random.Generator) -> Appearance:
    skin = np.array([0.95, 0.75, 0.6]) * rng.uniform(0.35, 1.0)
    colours = np.stack([skin, rng.uniform(0, 1, 3), rng.uniform(0, 1, 3), skin * rng.uniform(0.5, 1.0)])
    light = np.array([rng.uniform(-1, 1), rng.uniform(-1.2, 0.2), rng.uniform(-1.2, -0.2)])
    return Appearance(colours=colours, light_dir=light, ambient=float(rng.uniform(0.2, 0.55)),
                      diffuse=float(rng.uniform(0.4, 0.8)), specular=float(rng.uniform(0, 0.25)),
                      girth=float(rng.uniform(0.8, 1.3)))


def random_camera(world: np.ndarray, rng: np.random.Generator) -> Camera:
    """A camera 3.5-7 m from the pelvis, any azimuth, elevation -10..35 deg, fov 40-70 deg, small roll."""
    az, el = rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(-10, 35))
    dist = rng.uniform(3.5, 7.0)
    target = world[0] + rng.normal(0, 0.1, 3)
    eye = target + dist * np.array([np.cos(el) * np.cos(az), np.sin(el), np.cos(el) * np.sin(az)])
    R, t = look_at(eye, target)
    roll = np.radians(rng.normal(0, 5))
    Rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    f = 500.0 / np.tan(np.radians(rng.uniform(40, 70)) / 2)
    return Camera(Rz @ R, Rz @ t, np.array([f, f]), np.array([500.0, 500.0]), (1000, 1000))


def crop_camera(camera: Camera, joints_cam: np.ndarray, size: int, rng: np.random.Generator) -> Camera:
    """The same camera re-aimed at a square box around the projected body (margin 1.15-1.45, jitter)."""
    uv = camera.project(joints_cam)
    lo, hi = uv.min(0), uv.max(0)
    side = float((hi - lo).max() * rng.uniform(1.15, 1.45))
    centre = (lo + hi) / 2 + rng.normal(0, 0.04, 2) * side
    k = size / side
    # image pixel p -> crop pixel (p - centre) * k + (size - 1) / 2
    c = (camera.c - centre) * k + (size - 1) / 2
    return Camera(camera.R, camera.t, camera.f * k, c, (size, size))


def add_occluder(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paint a random textured box/ellipse over ~10-35 % of the crop; returns its (S, S) mask."""
    size = img.shape[0]
    mask = np.zeros((size, size), np.uint8)
    w, h = (rng.uniform(0.2, 0.6, 2) * size).astype(int)
    x, y = rng.integers(0, size, 2)
    if rng.random() < 0.5:
        cv2.rectangle(mask, (int(x - w // 2), int(y - h // 2)), (int(x + w // 2), int(y + h // 2)), 1, -1)
    else:
        cv2.ellipse(mask, (int(x), int(y)), (int(w // 2), int(h // 2)), float(rng.uniform(0, 180)), 0, 360, 1, -1)
    tex = random_background(size, rng)
    m = mask.astype(bool)
    img[m] = tex[m]
    return m


def render_sample(world: np.ndarray, size: int, rng: np.random.Generator, occlusion: float = 0.3,
                  supersample: int = 2) -> RenderedSample:
    """Render one real mocap frame ``world`` ``(17, 3)`` (metres, Y up) as a ``size`` x ``size`` crop."""
    body = vary_proportions(np.asarray(world, np.float64), rng)
    cam = random_camera(body, rng)
    joints = cam.world_to_camera(body)
    if (joints[:, 2] < 0.5).any():
        raise StructposeError("rendered body is behind or too close to the camera")
    crop = crop_camera(cam, joints, size, rng)
    img, _, visible = render_body(joints, crop, random_background(size, rng), random_appearance(rng),
                                  supersample)
    uv = crop.project(joints).astype(np.float32)
    if rng.random() < occlusion:
        m = add_occluder(img, rng)
        x = np.clip(np.round(uv).astype(int), 0, size - 1)
        visible &= ~m[x[:, 1], x[:, 0]]
    # sensor effects: gain, noise, blur
    img = img * rng.uniform(0.7, 1.3) + rng.normal(0, rng.uniform(0, 0.04), img.shape)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), float(rng.uniform(0.4, 1.2)))
    image = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    return RenderedSample(image, uv, joints.astype(np.float32), float(crop.f[0]), visible)


def render_dataset(clips: Sequence[Clip], num: int, size: int, seed: int, stride_s: float = 0.05,
                   occlusion: float = 0.3, supersample: int = 2) -> dict[str, np.ndarray]:
    """``num`` crops of frames drawn from ``clips`` (a clip uniformly, then one of its frames ``stride_s``
    seconds apart), each
    with its own random scene from ``(seed, i)``.  Returns stacked arrays: images (N, S, S, 3) uint8,
    uv (N, 17, 2), joints_cam (N, 17, 3), focal (N,), visible (N, 17), clip (N,) names, frame (N,)."""
    if not clips:
        raise StructposeError("no clips to render")
    # a clip first, then a frame of it: long clips (20 s of climbing) must not drown short ones
    frames = [np.arange(0, c.num_frames, max(1, round(stride_s * c.fps))) for c in clips]
    out: dict[str, list] = {k: [] for k in ("images", "uv", "joints_cam", "focal", "visible", "clip", "frame")}
    for i in range(num):
        rng = np.random.default_rng([seed, i])
        ci = int(rng.integers(len(clips)))
        t = int(frames[ci][rng.integers(len(frames[ci]))])
        s = render_sample(clips[ci].world[t], size, rng, occlusion, supersample)
        for k, v in (("images", s.image), ("uv", s.uv), ("joints_cam", s.joints_cam), ("focal", s.focal),
                     ("visible", s.visible), ("clip", clips[ci].name), ("frame", t)):
            out[k].append(v)
    return {k: np.stack(v) if k != "clip" else np.array(v) for k, v in out.items()}

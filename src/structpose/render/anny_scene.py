"""Scenes of realistic people: real mocap -> Anny body (random shape, clothes, face) -> virtual camera ->
real photo background, lighting, occlusion by the frame edge -> image with exact H36M-17 labels.

Stills take one frame of a clip; *sequences* take consecutive frames of one clip at its own frame rate,
with one body, one camera and one background, so a video detector's tracking sees real motion.  Every
sequence is a function of ``(seed, index)`` alone.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..cameras import Camera, sample_virtual_camera
from ..data.clip import Clip
from ..errors import StructposeError
from .anny_body import load_body, retarget, sample_shapes
from .anny_render import AnnyRenderer
from .anny_textures import load_photos, mesh_layout, paint_texture, random_background


@dataclass
class SceneConfig:
    """``image_size`` (W, H); ``textures``: size of the pre-painted bank; ``edge_occlusion``: probability
    that the camera is shifted so the frame edge cuts the body (up to ``edge_cut`` of its box);
    ``distance`` / ``fov_deg``: virtual camera ranges (``cameras.sample_virtual_camera``)."""

    image_size: tuple[int, int] = (640, 480)
    textures: int = 48
    texture_size: int = 512
    edge_occlusion: float = 0.2
    edge_cut: float = 0.35
    distance: tuple[float, float] = (2.5, 6.0)
    fov_deg: tuple[float, float] = (40.0, 75.0)


@dataclass
class RenderedFrames:
    """One sequence (a still is a sequence of 1): ``images`` (T, H, W, 3) uint8 RGB; ``uv`` (T, 17, 2) pixels
    and ``joints_cam`` (T, 17, 3) metres of the rendered body's joints (camera frame, x right, y down, z
    forward); ``joints_world`` (T, 17, 3) Y-up world; ``source_world`` the clip joints it was posed from;
    ``in_image`` / ``unoccluded`` (T, 17) bool; ``camera``; ``shape`` (6,) Anny phenotype; ``texture`` and
    ``background`` indices; ``clip`` name; ``frames`` (T,) clip frame indices; ``fps``."""

    images: np.ndarray
    uv: np.ndarray
    joints_cam: np.ndarray
    joints_world: np.ndarray
    source_world: np.ndarray
    in_image: np.ndarray
    unoccluded: np.ndarray
    camera: Camera
    shape: np.ndarray
    texture: int
    clip: str
    frames: np.ndarray
    fps: float
    light: dict = field(default_factory=dict)


def _edge_shift(cam: Camera, uv: np.ndarray, cut: float, rng: np.random.Generator) -> Camera:
    """Move the principal point so that up to ``cut`` of the body's box leaves the image on one side."""
    lo, hi = uv.reshape(-1, 2).min(0), uv.reshape(-1, 2).max(0)
    w, h = cam.image_size
    side = int(rng.integers(4))
    amount = rng.uniform(0.1, cut) * (hi - lo)
    c = cam.c.copy()
    if side == 0:
        c[0] -= lo[0] + amount[0]                 # left edge cuts
    elif side == 1:
        c[0] += (w - hi[0]) + amount[0]           # right
    elif side == 2:
        c[1] -= lo[1] + amount[1]                 # top
    else:
        c[1] += (h - hi[1]) + amount[1]           # bottom (feet out of view: common in real photos)
    return Camera(cam.R, cam.t, cam.f, c, cam.image_size, cam.dist)


class AnnyScenes:
    """Builds the body, texture bank, photos and renderer once; :meth:`sequence` renders one sample."""

    def __init__(self, config: SceneConfig | None = None, seed: int = 0) -> None:
        self.config = cfg = config or SceneConfig()
        self.body = load_body()
        self.layout = mesh_layout(self.body, cfg.texture_size)
        self.photos = load_photos()
        bank_rng = np.random.default_rng([seed, 7919])
        self.textures = [paint_texture(self.layout, bank_rng, self.photos) for _ in range(cfg.textures)]
        self.renderer = AnnyRenderer(self.body, self.layout, self.textures)

    def close(self) -> None:
        self.renderer.close()

    def sequence(self, clip: Clip, start: int, length: int, rng: np.random.Generator,
                 stride: int = 1) -> RenderedFrames:
        """Frames ``start, start + stride, ...`` (``length`` of them) of ``clip`` as one scene."""
        cfg = self.config
        idx = start + stride * np.arange(length)
        if length < 1 or start < 0 or idx[-1] >= clip.num_frames:
            raise StructposeError(f"clip {clip.name} has {clip.num_frames} frames; cannot take {length} from "
                                  f"frame {start} every {stride}")
        shape = sample_shapes(rng, 1)
        posed = retarget(self.body, clip.world[idx], np.repeat(shape, length, 0))
        pts = posed.vertices[:, ::25].reshape(-1, 3)
        cam = sample_virtual_camera(rng, pts, distance=cfg.distance, fov_deg=cfg.fov_deg,
                                    image_sizes=(cfg.image_size,))
        joints_cam = cam.world_to_camera(posed.joints.astype(np.float64))
        if rng.random() < cfg.edge_occlusion:
            cam = _edge_shift(cam, cam.project(cam.world_to_camera(pts)), cfg.edge_cut, rng)
        uv = cam.project(joints_cam)
        texture = int(rng.integers(len(self.textures)))
        background = random_background(self.photos, cfg.image_size, rng)
        d = rng.normal(size=3) * np.array([1.0, 0.6, 0.3]) + np.array([0.0, 0.5, 1.0])   # mostly from above-front
        light = {"direction": d, "intensity": float(rng.uniform(1.5, 5.0)), "ambient": float(rng.uniform(0.15, 0.5))}
        w, h = cfg.image_size
        images = np.empty((length, h, w, 3), np.uint8)
        unocc = np.zeros((length, 17), bool)
        for t in range(length):
            images[t], depth = self.renderer.render(posed.vertices[t], cam, texture, background, light)
            px = np.round(uv[t]).astype(int)
            ok = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
            surf = depth[np.clip(px[:, 1], 0, h - 1), np.clip(px[:, 0], 0, w - 1)]
            # a joint lies inside its limb: hidden if the surface in front of it is > 10 cm nearer
            unocc[t] = ok & ((surf <= 0) | (joints_cam[t, :, 2] - surf < 0.10))
        in_image = (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & (uv[..., 1] < h)
        return RenderedFrames(images, uv.astype(np.float32), joints_cam.astype(np.float32), posed.joints,
                              posed.source, in_image, unocc, cam, shape[0], texture, clip.name, idx, clip.fps,
                              {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in light.items()})


def pick_starts(clips: Sequence[Clip], n: int, length: int, stride: int, rng: np.random.Generator
                ) -> list[tuple[int, int]]:
    """``n`` (clip index, start frame) pairs: a clip uniformly (long climbs must not drown short clips),
    then a start that leaves room for ``length`` frames every ``stride``."""
    span = (length - 1) * stride + 1
    ok = [i for i, c in enumerate(clips) if c.num_frames >= span]
    if not ok:
        raise StructposeError(f"no clip has the {span} frames a sequence of {length} needs")
    out = []
    for _ in range(n):
        i = ok[int(rng.integers(len(ok)))]
        out.append((i, int(rng.integers(0, clips[i].num_frames - span + 1))))
    return out

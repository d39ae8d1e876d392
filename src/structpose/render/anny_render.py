"""Off-screen rendering of posed Anny bodies with pyrender on OSMesa (CPU), composited on real photos.

``PYOPENGL_PLATFORM=osmesa`` (Debian ``libosmesa6``) is set before pyrender loads.  Pitfalls met and handled
here: OSMesa gives no alpha channel, so the body is composited with the depth buffer (depth > 0 = body),
its edge softened by a 1-pixel blur of that mask; pyrender flips texture images vertically on upload, so
textures are handed over upside down; every bank texture stays resident in the scene (on an invisible
one-triangle mesh), otherwise pyrender deletes and re-uploads a texture whenever the body's changes.

Geometry: vertices go to the OpenCV camera frame of a :class:`structpose.cameras.Camera` (x right, y down,
z forward) and then to OpenGL's (x right, y up, z backward) for a pyrender camera at the origin with the
same intrinsics; a joint therefore projects through ``Camera.project`` where the mesh around it is drawn.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..cameras import Camera
from ..errors import StructposeError
from .anny_body import AnnyBody
from .anny_textures import MeshLayout

_CV_TO_GL = np.array([1.0, -1.0, -1.0])


def _import_pyrender():
    os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
    try:
        import pyrender
    except ImportError:
        raise StructposeError("the realistic renderer needs pyrender and OSMesa: pip install pyrender and "
                              "apt-get install libosmesa6 (or `make setup`)") from None
    except Exception as e:  # noqa: BLE001  (PyOpenGL raises its own types when no OSMesa library exists)
        raise StructposeError(f"pyrender cannot start off-screen ({type(e).__name__}: {e}); "
                              "apt-get install libosmesa6") from None
    return pyrender


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(V, 3)`` area-weighted unit vertex normals of a triangle mesh."""
    v = vertices[faces]
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    idx = faces.reshape(-1)
    rep = np.repeat(n, 3, axis=0)
    out = np.stack([np.bincount(idx, rep[:, k], minlength=len(vertices)) for k in range(3)], 1)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


class AnnyRenderer:
    """Renders one posed body at a time into images of any size, with a bank of textures.

    ``render(vertices_world, camera, texture, background, light)`` -> (RGB uint8 image, depth (H, W) metres,
    0 where no body).  ``light``: dict with ``direction`` (camera frame, towards the scene), ``intensity``
    and ``ambient`` (0..1)."""

    def __init__(self, body: AnnyBody, layout: MeshLayout, textures: list[np.ndarray]) -> None:
        self.pyrender = pr = _import_pyrender()
        self.body, self.layout = body, layout
        self.materials = []
        self.scene = pr.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=[0.3, 0.3, 0.3])
        for tex in textures:
            t = pr.Texture(source=np.ascontiguousarray(tex[::-1]), source_channels="RGB")
            mat = pr.MetallicRoughnessMaterial(baseColorTexture=t, metallicFactor=0.0, roughnessFactor=0.85)
            self.materials.append(mat)
            keep = pr.Mesh([pr.Primitive(positions=np.zeros((3, 3), np.float32), indices=np.array([[0, 1, 2]]),
                                         texcoord_0=np.zeros((3, 2), np.float32), material=mat)],
                           is_visible=False)
            self.scene.add(keep)
        self.light = pr.DirectionalLight(color=np.ones(3), intensity=3.0)
        self.light_node = self.scene.add(self.light, pose=np.eye(4))
        self._camera_node = None
        self._body_node = None
        self._renderers: dict[tuple[int, int], object] = {}
        self.seconds = {"mesh": 0.0, "render": 0.0, "composite": 0.0}

    def _renderer(self, size: tuple[int, int]):
        if size not in self._renderers:
            self._renderers[size] = self.pyrender.OffscreenRenderer(*size)
        return self._renderers[size]

    def close(self) -> None:
        for r in self._renderers.values():
            r.delete()
        self._renderers.clear()

    def render(self, vertices_world: np.ndarray, camera: Camera, texture: int, background: np.ndarray,
               light: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        pr = self.pyrender
        w, h = camera.image_size
        if background.shape != (h, w, 3):
            raise StructposeError(f"background has shape {background.shape}; expected ({h}, {w}, 3)")
        t0 = time.perf_counter()
        cam_v = camera.world_to_camera(np.asarray(vertices_world, np.float64))
        normals = vertex_normals(cam_v, self.body.faces)
        lay = self.layout
        prim = pr.Primitive(positions=(cam_v[lay.vertex] * _CV_TO_GL).astype(np.float32),
                            normals=(normals[lay.vertex] * _CV_TO_GL).astype(np.float32),
                            texcoord_0=lay.uv, indices=lay.faces, material=self.materials[texture])
        if self._body_node is not None:
            self.scene.remove_node(self._body_node)
        self._body_node = self.scene.add(pr.Mesh([prim]))
        if self._camera_node is not None:
            self.scene.remove_node(self._camera_node)
        near = max(0.05, float(cam_v[:, 2].min()) * 0.5)
        self._camera_node = self.scene.add(pr.IntrinsicsCamera(
            fx=float(camera.f[0]), fy=float(camera.f[1]), cx=float(camera.c[0]), cy=float(camera.c[1]),
            znear=near, zfar=float(cam_v[:, 2].max()) * 2 + 1), pose=np.eye(4))
        light = light or {}
        d = np.asarray(light.get("direction", (0.3, 0.6, 1.0)), np.float64)      # OpenCV camera frame
        z = -(d / np.linalg.norm(d)) * _CV_TO_GL                                  # light looks down its -z
        x = np.cross([0.0, 1.0, 0.0], z)
        x = x / np.linalg.norm(x) if np.linalg.norm(x) > 1e-6 else np.array([1.0, 0.0, 0.0])
        pose = np.eye(4)
        pose[:3, :3] = np.stack([x, np.cross(z, x), z], 1)
        self.scene.set_pose(self.light_node, pose)
        self.light.intensity = float(light.get("intensity", 3.0))
        self.scene.ambient_light = np.full(3, float(light.get("ambient", 0.3)))
        t1 = time.perf_counter()
        colour, depth = self._renderer((w, h)).render(self.scene)
        t2 = time.perf_counter()
        import cv2
        image = background.copy()
        rows, cols = np.flatnonzero((depth > 0).any(1)), np.flatnonzero((depth > 0).any(0))
        if len(rows):                    # blend only inside the body's box (plus the blur's reach)
            y0, y1 = max(rows[0] - 2, 0), min(rows[-1] + 3, h)
            x0, x1 = max(cols[0] - 2, 0), min(cols[-1] + 3, w)
            alpha = cv2.GaussianBlur((depth[y0:y1, x0:x1] > 0).astype(np.float32), (3, 3), 0.7)[..., None]
            image[y0:y1, x0:x1] = (alpha * colour[y0:y1, x0:x1, :3]
                                   + (1 - alpha) * background[y0:y1, x0:x1] + 0.5).astype(np.uint8)
        self.seconds["mesh"] += t1 - t0
        self.seconds["render"] += t2 - t1
        self.seconds["composite"] += time.perf_counter() - t2
        return image, depth

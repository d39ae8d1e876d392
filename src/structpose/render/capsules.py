"""Shaded-capsule body renderer (numpy): a STAND-IN for real image datasets, not a photo-realistic one.

A body is a set of capsules (tapered cylinders with round ends) between H36M-17 joints.  Each capsule
is ray-cast analytically per pixel in image space: closest point on the projected axis, the surface
depth in front of the axis, a z-buffer across capsules, Lambert + ambient + a little specular
shading.  The joint positions that drive it are real mocap, so the 2D/3D labels are exact by
construction: 2D = the camera's projection of the same joints, 3D = the camera-frame joints.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cameras import Camera
from ..errors import check_shape
from ..skeleton import H36M17

_J = H36M17.index
# (joint a, joint b, radius at a (m), radius at b (m), part): parts 0 skin, 1 top, 2 bottom, 3 head
CAPSULES: tuple[tuple[int, int, float, float, int], ...] = (
    (_J("pelvis"), _J("spine"), 0.13, 0.13, 1),
    (_J("spine"), _J("thorax"), 0.13, 0.14, 1),
    (_J("l_shoulder"), _J("l_hip"), 0.07, 0.08, 1),
    (_J("r_shoulder"), _J("r_hip"), 0.07, 0.08, 1),
    (_J("l_hip"), _J("r_hip"), 0.09, 0.09, 2),
    (_J("l_shoulder"), _J("r_shoulder"), 0.065, 0.065, 1),
    (_J("thorax"), _J("neck_nose"), 0.055, 0.05, 0),
    (_J("neck_nose"), _J("head_top"), 0.095, 0.085, 3),
    (_J("r_hip"), _J("r_knee"), 0.08, 0.06, 2),
    (_J("r_knee"), _J("r_ankle"), 0.055, 0.045, 2),
    (_J("l_hip"), _J("l_knee"), 0.08, 0.06, 2),
    (_J("l_knee"), _J("l_ankle"), 0.055, 0.045, 2),
    (_J("r_shoulder"), _J("r_elbow"), 0.05, 0.042, 1),
    (_J("r_elbow"), _J("r_wrist"), 0.04, 0.033, 0),
    (_J("l_shoulder"), _J("l_elbow"), 0.05, 0.042, 1),
    (_J("l_elbow"), _J("l_wrist"), 0.04, 0.033, 0),
    # hands and feet as short capsules at the extremities (no hand/toe joints in H36M-17)
    (_J("r_wrist"), _J("r_wrist"), 0.045, 0.045, 0),
    (_J("l_wrist"), _J("l_wrist"), 0.045, 0.045, 0),
    (_J("r_ankle"), _J("r_ankle"), 0.055, 0.055, 2),
    (_J("l_ankle"), _J("l_ankle"), 0.055, 0.055, 2),
)


@dataclass
class Appearance:
    """Colours (RGB 0..1) per part, lighting and body girth."""

    colours: np.ndarray            # (4, 3): skin, top, bottom, head
    light_dir: np.ndarray          # (3,) camera frame, direction *towards* the light
    ambient: float = 0.35
    diffuse: float = 0.65
    specular: float = 0.15
    girth: float = 1.0             # multiplies every radius


def render_body(joints_cam: np.ndarray, camera: Camera, background: np.ndarray, look: Appearance,
                supersample: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one body over ``background`` ``(H, W, 3)`` float 0..1.

    ``joints_cam`` ``(17, 3)`` metres, camera frame (all z > 0).  Returns (image ``(H, W, 3)`` float
    0..1, body depth map ``(H, W)`` metres (inf where no body), per-joint visibility ``(17,)`` bool: the
    joint's own surface point is not hidden behind another body part).
    """
    check_shape(joints_cam, [17, 3], "joints")
    h, w = background.shape[:2]
    s = supersample
    ys, xs = np.mgrid[0:h * s, 0:w * s].astype(np.float32)
    # supersampled pixel centres in original pixel units (pixel centres at integers)
    px = (xs + 0.5) / s - 0.5
    py = (ys + 0.5) / s - 0.5
    uv = camera.project(joints_cam).astype(np.float32)
    z = joints_cam[:, 2].astype(np.float32)
    f = float(np.mean(camera.f))

    a_idx = np.array([c[0] for c in CAPSULES])
    b_idx = np.array([c[1] for c in CAPSULES])
    ra_m = np.array([c[2] for c in CAPSULES], np.float32) * look.girth
    rb_m = np.array([c[3] for c in CAPSULES], np.float32) * look.girth
    part = np.array([c[4] for c in CAPSULES])
    a, b = uv[a_idx], uv[b_idx]
    za, zb = z[a_idx], z[b_idx]
    ra, rb = f * ra_m / za, f * rb_m / zb                  # radii in pixels at each end

    zbuf = np.full(px.shape, np.inf, np.float32)
    nx = np.zeros(px.shape, np.float32)
    ny = np.zeros(px.shape, np.float32)
    owner = np.full(px.shape, -1, np.int16)
    for i in range(len(CAPSULES)):
        # only the capsule's bounding box is touched: ~20x less work than the full frame
        r_max = max(ra[i], rb[i])
        x0, x1 = min(a[i, 0], b[i, 0]) - r_max, max(a[i, 0], b[i, 0]) + r_max
        y0, y1 = min(a[i, 1], b[i, 1]) - r_max, max(a[i, 1], b[i, 1]) + r_max
        c0, c1 = int(max(np.floor((x0 + 0.5) * s), 0)), int(min(np.ceil((x1 + 0.5) * s) + 1, w * s))
        r0, r1 = int(max(np.floor((y0 + 0.5) * s), 0)), int(min(np.ceil((y1 + 0.5) * s) + 1, h * s))
        if c0 >= c1 or r0 >= r1:
            continue
        qx, qy = px[r0:r1, c0:c1], py[r0:r1, c0:c1]
        d = b[i] - a[i]
        dd = float(d @ d)
        t = np.clip(((qx - a[i, 0]) * d[0] + (qy - a[i, 1]) * d[1]) / dd, 0, 1) if dd > 1e-9 else np.zeros_like(qx)
        ox, oy = qx - (a[i, 0] + t * d[0]), qy - (a[i, 1] + t * d[1])
        dist2 = ox * ox + oy * oy
        r = ra[i] + t * (rb[i] - ra[i])
        inside = dist2 < r * r
        if not inside.any():
            continue
        axis_z = za[i] + t * (zb[i] - za[i])
        bulge = np.sqrt(np.maximum(r * r - dist2, 0))
        depth = axis_z - bulge * axis_z / f                 # surface in front of the axis, metres
        win = inside & (depth < zbuf[r0:r1, c0:c1])
        zbuf[r0:r1, c0:c1][win] = depth[win]
        rr = np.maximum(r, 1e-6)
        nx[r0:r1, c0:c1][win] = (ox / rr)[win]
        ny[r0:r1, c0:c1][win] = (oy / rr)[win]
        owner[r0:r1, c0:c1][win] = i

    body = owner >= 0
    nz = -np.sqrt(np.clip(1 - nx * nx - ny * ny, 0, 1))    # surface faces the camera (-z)
    L = np.asarray(look.light_dir, np.float32)
    L = L / np.linalg.norm(L)
    lambert = np.clip(nx * L[0] + ny * L[1] + nz * L[2], 0, 1)
    # Blinn-Phong highlight with the viewer along -z
    hv = L + np.array([0, 0, -1], np.float32)
    hv /= np.linalg.norm(hv)
    spec = np.clip(nx * hv[0] + ny * hv[1] + nz * hv[2], 0, 1) ** 24
    colour = np.asarray(look.colours, np.float32)[part[np.maximum(owner, 0)]]
    shade = look.ambient + look.diffuse * lambert
    lit = np.clip(colour * shade[..., None] + look.specular * spec[..., None], 0, 1)

    bg = background.astype(np.float32)
    if s > 1:
        bg = np.repeat(np.repeat(bg, s, 0), s, 1)
    img = np.where(body[..., None], lit, bg)
    if s > 1:   # box-filter down: anti-aliased edges
        img = img.reshape(h, s, w, s, 3).mean((1, 3))
        zbuf = zbuf.reshape(h, s, w, s).min((1, 3))
    # a joint sits inside its own capsules: allow the thickest radius plus a margin
    visible = joint_visibility(uv, z, zbuf, f, float(max(ra_m.max(), rb_m.max())) + 0.03)
    return img, zbuf, visible


def joint_visibility(uv: np.ndarray, z: np.ndarray, zbuf: np.ndarray, focal: float,
                     tolerance_m: float = 0.15) -> np.ndarray:
    """A joint is visible when it lies in the image and no surface is more than ``tolerance_m``
    (about a limb's thickness) in front of it at its pixel."""
    h, w = zbuf.shape
    x, y = np.round(uv[:, 0]).astype(int), np.round(uv[:, 1]).astype(int)
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    front = zbuf[np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)]
    return inside & (front > z - tolerance_m)

"""Appearance of Anny bodies: clothing, skin, hair and a simple face painted through the UV map, and real
people-free photo backgrounds.

Regions come from each vertex's most-weighted rig bone (torso -> top, hips and thighs -> trousers, feet ->
shoes, head -> skin, with hair over the crown and the back of the head).  A *texture bank* of pre-painted
textures is built once (painting a 512² texture and uploading it costs more than a render); each region
gets a flat colour with noise, stripes, checks or a crop of a real photo, sleeves and trouser legs are
long or short, and skin tones range from light to dark.  The face is painted where Anny's COCO regressor
puts eyes and nose (eyes, brows, mouth).  Plain grey bodies are not found by MediaPipe (the issue's trial:
10 % of images): its person detector keys on faces and clothing contrast.

Backgrounds: photos shipped in Debian's ``opencv-doc`` (OpenCV's BSD-3 sample data, read from the
installed package at run time, never copied into this repository), only those without people, faces or
face-like drawings (checked by eye: ``docs/realistic_renders.md``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import StructposeError
from .anny_body import AnnyBody

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
#: people-free photos of opencv-doc (no faces, no cartoon faces, no human silhouettes)
BACKGROUND_PHOTOS = ("building.jpg", "home.jpg", "fruits.jpg", "aero1.jpg", "aero3.jpg", "aloeL.jpg",
                     "board.jpg", "leuvenA.jpg", "leuvenB.jpg", "orange.jpg", "apple.jpg", "smarties.png",
                     "starry_night.jpg", "stuff.jpg", "butterfly.jpg", "blox.jpg",
                     "licenseplate_motion.jpg", "left.jpg", "right.jpg", "ela_original.jpg")

REGIONS = ("none", "skin", "top", "forearm", "bottom", "shank", "shoes", "hair")
_R = {name: i for i, name in enumerate(REGIONS)}
_BONE_REGION = {"Head": "skin", "Neck1": "skin", "Neck": "skin", "LowerBack": "top", "Spine": "top",
                "Spine1": "top", "LeftShoulder": "top", "RightShoulder": "top", "LeftArm": "top",
                "RightArm": "top", "LeftForeArm": "forearm", "RightForeArm": "forearm", "Hips": "bottom",
                "LHipJoint": "bottom", "RHipJoint": "bottom", "LeftUpLeg": "bottom", "RightUpLeg": "bottom",
                "LeftLeg": "shank", "RightLeg": "shank", "LeftFoot": "shoes", "RightFoot": "shoes",
                "LeftToeBase": "shoes", "RightToeBase": "shoes"}        # hands and fingers: skin

SKIN_TONES = np.array([[0.96, 0.80, 0.69], [0.90, 0.72, 0.58], [0.80, 0.60, 0.46], [0.67, 0.48, 0.34],
                       [0.52, 0.36, 0.25], [0.36, 0.24, 0.17]])
HAIR_COLOURS = np.array([[0.08, 0.06, 0.05], [0.22, 0.14, 0.08], [0.45, 0.30, 0.15], [0.75, 0.62, 0.38],
                         [0.55, 0.55, 0.55], [0.35, 0.12, 0.06]])


def load_photos() -> list[np.ndarray]:
    """The people-free opencv-doc photos as RGB uint8 arrays (``apt-get install opencv-doc``)."""
    photos = []
    for name in BACKGROUND_PHOTOS:
        img = cv2.imread(str(OPENCV_DATA / name), cv2.IMREAD_COLOR)
        if img is not None:
            photos.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    if len(photos) < 5:
        raise StructposeError(f"background photos not found in {OPENCV_DATA}; apt-get install opencv-doc")
    return photos


def random_background(photos: list[np.ndarray], size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A ``(H, W, 3)`` uint8 crop of a random photo: random scale, position, flip, brightness."""
    w, h = size
    img = photos[int(rng.integers(len(photos)))]
    scale = max(w / img.shape[1], h / img.shape[0]) * rng.uniform(1.0, 2.0)
    big = cv2.resize(img, (int(np.ceil(img.shape[1] * scale)), int(np.ceil(img.shape[0] * scale))),
                     interpolation=cv2.INTER_LINEAR)
    y0 = int(rng.integers(0, big.shape[0] - h + 1))
    x0 = int(rng.integers(0, big.shape[1] - w + 1))
    out = big[y0:y0 + h, x0:x0 + w].astype(np.float32)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    out = out * rng.uniform(0.6, 1.2) + rng.uniform(-20, 20, 3)
    return np.clip(out, 0, 255).astype(np.uint8)


@dataclass
class MeshLayout:
    """Anny's mesh split at UV seams for rendering: render vertex ``i`` is body vertex ``vertex[i]`` with
    texture coordinate ``uv[i]``; ``faces`` index render vertices; ``region`` (V_body,) region of each body
    vertex; ``labels`` (S, S) region of each texel (row 0 = v = 1, the image convention)."""

    vertex: np.ndarray
    uv: np.ndarray
    faces: np.ndarray
    region: np.ndarray
    labels: np.ndarray
    face_uv: dict[str, np.ndarray]
    texels_per_metre: float


def _vertex_regions(body: AnnyBody, rest: np.ndarray) -> np.ndarray:
    region = np.full(len(body.vertex_bone), _R["skin"], np.int64)
    for name, reg in _BONE_REGION.items():
        region[body.vertex_bone == body.bone(name)] = _R[reg]
    # hair: head vertices above the ears or behind them (rest mesh: Z up, face towards -Y)
    ears = body.coco.regression_weights.numpy() @ rest
    ear = 0.5 * (ears[body.coco_labels.index("left_ear")] + ears[body.coco_labels.index("right_ear")])
    head = body.vertex_bone == body.bone("Head")
    crown = rest[:, 2] > ear[2] + 0.035
    back = (rest[:, 1] > ear[1] + 0.01) & (rest[:, 2] > ear[2] - 0.05)
    region[head & (crown | back)] = _R["hair"]
    return region


def mesh_layout(body: AnnyBody, size: int = 512) -> MeshLayout:
    """Split the mesh at UV seams and paint the texel -> region map (once per process)."""
    rest = body.model.template_vertices.detach().cpu().numpy().astype(np.float64)
    pairs = np.stack([body.faces.reshape(-1), body.uv_faces.reshape(-1)], 1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    faces = inv.reshape(-1, 3)
    region = _vertex_regions(body, rest)
    labels = np.zeros((size, size), np.uint8)
    px = np.stack([body.uv[:, 0] * size, (1.0 - body.uv[:, 1]) * size], -1)
    face_region = np.max(region[body.faces], axis=1)           # hair / clothes win over skin at borders
    for reg in np.unique(face_region):
        tri = np.round(px[body.uv_faces[face_region == reg]] * 4).astype(np.int32)  # 2 bits of sub-pixel
        cv2.fillPoly(labels, list(tri), int(reg), lineType=cv2.LINE_8, shift=2)
        cv2.polylines(labels, list(tri), True, int(reg), thickness=2, shift=2)     # pad seams
    # face landmarks in texels: the vertex each COCO face keypoint weighs most, and its texture coordinate
    w = body.coco.regression_weights.numpy()
    first_uv = np.full(len(rest), -1, np.int64)
    first_uv[body.faces.reshape(-1)] = body.uv_faces.reshape(-1)
    face_uv, face_3d = {}, {}
    for name in ("left_eye", "right_eye", "nose"):
        v = int(np.argmax(w[body.coco_labels.index(name)]))
        face_uv[name], face_3d[name] = px[first_uv[v]], rest[v]
    tpm = np.linalg.norm(face_uv["left_eye"] - face_uv["right_eye"]) / \
        np.linalg.norm(face_3d["left_eye"] - face_3d["right_eye"])
    return MeshLayout(uniq[:, 0], body.uv[uniq[:, 1]].astype(np.float32), faces.astype(np.uint32), region,
                      labels, face_uv, float(tpm))


def _pattern(rng: np.random.Generator, size: int, photos: list[np.ndarray]) -> np.ndarray:
    """One ``(S, S, 3)`` float cloth pattern in [0, 1]."""
    base = rng.uniform(0.05, 0.95, 3)
    kind = rng.choice(["flat", "stripes", "checks", "photo", "flat"])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == "stripes" or kind == "checks":
        other = rng.uniform(0.05, 0.95, 3)
        period = rng.uniform(8, 40)
        ang = rng.uniform(0, np.pi)
        s = np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 2 * np.pi / period) > 0
        if kind == "checks":
            s ^= np.sin((-xx * np.sin(ang) + yy * np.cos(ang)) * 2 * np.pi / period) > 0
        img = np.where(s[..., None], base, other)
    elif kind == "photo":
        img = random_background(photos, (size, size), rng).astype(np.float32) / 255.0
    else:
        img = np.broadcast_to(base, (size, size, 3)).copy()
    noise = cv2.resize(rng.normal(0, 1, (16, 16, 1)).astype(np.float32), (size, size))[..., None]
    return np.clip(img * (1 + rng.uniform(0.02, 0.12) * noise), 0, 1).astype(np.float32)


def _paint_face(tex: np.ndarray, layout: MeshLayout, skin: np.ndarray, hair: np.ndarray,
                rng: np.random.Generator) -> None:
    """Eyes, brows and a mouth at the UV positions of Anny's eye and nose keypoints (in place, float RGB)."""
    le, re_, nose = (layout.face_uv[k] for k in ("left_eye", "right_eye", "nose"))
    k = layout.texels_per_metre
    mid = 0.5 * (le + re_)
    down = nose - mid                    # eyes -> nose tip, ~4 cm
    ang = float(np.degrees(np.arctan2(*(re_ - le)[::-1])))   # the face's horizontal in texture space
    iris = rng.uniform(0.05, 0.45, 3) * np.array([0.6, 0.5, 0.4]) + 0.05
    for e in (le, re_):
        c = tuple(int(np.rint(v)) for v in e)
        cv2.ellipse(tex, c, (max(int(0.013 * k), 2), max(int(0.006 * k), 1)), ang, 0, 360, (0.92, 0.9, 0.88), -1)
        cv2.circle(tex, c, max(int(0.0055 * k), 1), tuple(float(v) for v in iris), -1)
        cv2.circle(tex, c, max(int(0.0025 * k), 1), (0.03, 0.03, 0.03), -1)
        b = e - 0.45 * down
        cv2.ellipse(tex, tuple(int(np.rint(v)) for v in b), (max(int(0.016 * k), 2), max(int(0.003 * k), 1)),
                    ang, 0, 360, tuple(float(v) for v in hair * 0.8), -1)
    lips = np.clip(skin * np.array([0.85, 0.55, 0.55]) + rng.uniform(-0.05, 0.05), 0, 1)
    m = mid + 1.75 * down
    cv2.ellipse(tex, tuple(int(np.rint(v)) for v in m), (max(int(0.022 * k), 2), max(int(0.006 * k), 1)),
                ang, 0, 360, tuple(float(v) for v in lips), -1)
    n = nose + 0.1 * down
    cv2.circle(tex, tuple(int(np.rint(v)) for v in n), max(int(0.006 * k), 1),
               tuple(float(v) for v in skin * 0.75), -1)


def paint_texture(layout: MeshLayout, rng: np.random.Generator, photos: list[np.ndarray]) -> np.ndarray:
    """One random ``(S, S, 3)`` uint8 RGB body texture (row 0 = v = 1)."""
    size = layout.labels.shape[0]
    skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))] * rng.uniform(0.9, 1.05)
    hair = HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))] * rng.uniform(0.8, 1.2)
    top, bottom = _pattern(rng, size, photos), _pattern(rng, size, photos)
    shoes = np.broadcast_to(rng.uniform(0.02, 0.8, 3) * rng.choice([0.3, 1.0]), (size, size, 3))
    skin_img = np.broadcast_to(np.clip(skin, 0, 1), (size, size, 3))
    long_sleeves, long_legs = rng.random() < 0.5, rng.random() < 0.75
    parts = {"skin": skin_img, "top": top, "forearm": top if long_sleeves else skin_img, "bottom": bottom,
             "shank": bottom if long_legs else skin_img, "shoes": shoes,
             "hair": np.broadcast_to(np.clip(hair, 0, 1), (size, size, 3)), "none": skin_img}
    tex = np.empty((size, size, 3), np.float32)
    for name, img in parts.items():
        m = layout.labels == _R[name]
        tex[m] = img[m]
    _paint_face(tex, layout, np.clip(skin, 0, 1), np.clip(hair, 0, 1), rng)
    return (np.clip(tex, 0, 1) * 255 + 0.5).astype(np.uint8)

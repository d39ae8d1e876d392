"""mmpose's preprocessed Human3.6M (``tools/dataset_converters/preprocess_h36m.py``).

``h36m_{train,test}.npz`` (plain ``np.savez``, no pickles):
    ``imgname`` (N,) str ``S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg``
    (1-based frame number of the 50 fps video; mmpose samples every 5th frame by default),
    ``center`` (N, 2) pixels, ``scale`` (N,) = 1.2 * max(bbox w, h) / 200,
    ``part`` (N, 17, 3) = u, v pixels + visibility, ``S`` (N, 17, 4) = camera-frame metres + visibility.
    Joints are in H36M-17 order already.
``cameras.pkl``: ``{(subject, camera_id): {R (3, 3), T (3, 1) metres, c (2, 1), f (2, 1), k (3, 1),
    p (2, 1), w, h, name, id}}``.  mmpose's convention is ``X_cam = R.T @ (X_world - T)``: ``R`` rotates
    camera to world and ``T`` is the camera centre in world metres (Human3.6M's world is Z up).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...cameras import Camera
from ...errors import StructposeError
from ._common import (
    ImageAnnotations,
    Motion3D,
    as_float_array,
    bad,
    bbox_from_joints,
    check_file,
    image_size,
    read_npz,
    reading,
    require_dict,
    safe_unpickle,
)

_EXPECT = "mmpose h36m_*.npz with imgname, center, scale, part (N,17,3), S (N,17,4)"
_NAME = re.compile(r"(?P<subject>S\d+)_(?P<action>.+)\.(?P<camera>\d{6,})_(?P<frame>\d+)\.\w+$")
H36M_FPS = 50.0


def load_cameras(path: str | Path) -> dict[str, Camera]:
    """mmpose's ``cameras.pkl`` -> ``{"S1/54138969": Camera}`` (world = Human3.6M's, metres)."""
    path = check_file(path, "an mmpose cameras.pkl")
    out: dict[str, Camera] = {}
    with reading(path, "mmpose camera pickle", "{(subject, camera_id): {R, T, c, f, k, p, w, h}}"):
        with open(path, "rb") as fh:
            cams = require_dict(safe_unpickle(fh), "camera pickle")
        for key, p in cams.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise bad(f"key {key!r} is not (subject, camera_id)")
            p = require_dict(p, f"camera {key}")
            missing = [k for k in ("R", "T", "c", "f") if k not in p]
            if missing:
                raise bad(f"camera {key} lacks {', '.join(missing)}")
            R = as_float_array(p["R"], f"camera {key} R").reshape(3, 3)
            T = as_float_array(p["T"], f"camera {key} T").reshape(3)
            k = as_float_array(p.get("k", np.zeros(3)), f"camera {key} k").reshape(-1)
            pp = as_float_array(p.get("p", np.zeros(2)), f"camera {key} p").reshape(-1)
            if k.size != 3 or pp.size != 2 or not np.allclose(R @ R.T, np.eye(3), atol=1e-4):
                raise bad(f"camera {key} has a non-rotation R or malformed k/p")
            size = image_size(p.get("w", 1000), p.get("h", 1000), f"camera {key}")
            out[f"{key[0]}/{key[1]}"] = Camera(
                R=R.T, t=-R.T @ T, f=as_float_array(p["f"], "f").reshape(2),
                c=as_float_array(p["c"], "c").reshape(2), image_size=size,
                dist=np.array([k[0], k[1], pp[0], pp[1], k[2]]))
    if not out:
        raise StructposeError(f"{path}: camera pickle holds no cameras")
    return out


def _read(path: Path) -> dict[str, np.ndarray]:
    z = read_npz(path)
    missing = [k for k in ("imgname", "center", "scale", "part", "S") if k not in z]
    if missing:
        raise bad(f"lacks {', '.join(missing)} (members: {', '.join(sorted(z)) or 'none'})")
    n = len(z["imgname"])
    part = as_float_array(z["part"], "part", (17, 3))
    S = as_float_array(z["S"], "S", (17, 4))
    center = as_float_array(z["center"], "center", (2,))
    scale = as_float_array(z["scale"], "scale").reshape(-1)
    if n == 0:
        raise bad("holds 0 images")
    for key, arr in (("part", part), ("S", S), ("center", center), ("scale", scale)):
        if arr.shape[0] != n:
            raise bad(f"{key} has {arr.shape[0]} rows but imgname has {n}")
        if np.isnan(arr).any():
            raise bad(f"{key} holds NaN")
    return {"imgname": np.asarray(z["imgname"]).astype(str), "center": center, "scale": scale,
            "part": part, "S": S}


def load_images(path: str | Path, cameras: str | Path | None = None) -> ImageAnnotations:
    """Per-image records (SAP-Net's 3D-annotated images); ``cameras`` = optional cameras.pkl."""
    path = check_file(path, "an mmpose h36m_*.npz")
    with reading(path, "mmpose H36M", _EXPECT):
        z = _read(path)
        vis = z["part"][..., 2]
        xy = np.where(vis[..., None] > 0, z["part"][..., :2], np.nan)
        keys = None
        cams: dict[str, Camera] = {}
        if cameras is not None:
            cams = load_cameras(cameras)
            keys = np.array([_cam_key(n) for n in z["imgname"]])
        return ImageAnnotations(
            dataset="mmpose_h36m", images=z["imgname"], joints_2d=xy.astype(np.float32),
            visible=np.clip(vis, 0, 1).astype(np.float32), center=z["center"].astype(np.float32),
            scale=z["scale"].astype(np.float32), bbox=bbox_from_joints(xy).astype(np.float32),
            joints_3d=z["S"][..., :3].astype(np.float32), camera_keys=keys, cameras=cams)


def _cam_key(imgname: str) -> str:
    m = _NAME.search(Path(imgname).name)
    if not m:
        raise bad(f"image name {imgname!r} does not follow S<n>_<action>.<camera>_<frame>.jpg")
    return f"{m['subject']}/{m['camera']}"


def load_sequences(path: str | Path, cameras: str | Path | None = None) -> list[Motion3D]:
    """Group the images into one camera-frame sequence per (subject, action, camera), frames sorted;
    fps = 50 / the frame-number step (mmpose's ``--sample-rate``)."""
    path = check_file(path, "an mmpose h36m_*.npz")
    with reading(path, "mmpose H36M", _EXPECT):
        z = _read(path)
        cams = load_cameras(cameras) if cameras is not None else {}
        groups: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
        for i, name in enumerate(z["imgname"]):
            m = _NAME.search(Path(name).name)
            if not m:
                raise bad(f"image name {name!r} does not follow S<n>_<action>.<camera>_<frame>.jpg")
            groups.setdefault((m["subject"], m["action"], m["camera"]), []).append((int(m["frame"]), i))
        out = []
        for (subject, action, camera), items in sorted(groups.items()):
            items.sort()
            frames = np.array([f for f, _ in items])
            idx = np.array([i for _, i in items])
            steps = np.diff(frames)
            if (steps <= 0).any():
                raise bad(f"{subject} {action} camera {camera} repeats frame numbers")
            step = int(np.median(steps)) if len(steps) else 1
            vis = z["part"][idx, :, 2]
            cam = cams.get(f"{subject}/{camera}")
            out.append(Motion3D(
                name=f"{subject}/{action}/{camera}", subject=subject, action=action,
                poses=z["S"][idx, :, :3].astype(np.float32), frame="camera", fps=H36M_FPS / step,
                camera_name=camera, camera=cam,
                poses_2d=np.where(vis[..., None] > 0, z["part"][idx, :, :2], np.nan).astype(np.float32),
                scores=np.clip(vis, 0, 1).astype(np.float32),
                image_size=cam.image_size if cam is not None else None,
                meta={"source": "mmpose_h36m", "video_frames": frames.tolist(),
                      "irregular_sampling": bool(len(steps) and (steps != step).any())}))
        return out

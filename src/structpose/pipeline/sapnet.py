"""SAP-Net inference: image checks, single-image and batched prediction, the detection-to-crop path.

The network and its weights live in :mod:`structpose.models.sapnet`; crops, decoding and the lift to
3D in :mod:`structpose.codec`.  In the product's photo path (``structpose image --model sapnet``)
the MediaPipe detection only supplies the person's box; SAP-Net then predicts 2D keypoints, scores
and the 3D pose from the pixels.  The shipped weights were trained on renders of real mocap (a
stand-in for Human3.6M / MPII), so on real photos expect coarse poses: see docs/sapnet_results.md.

Runtime (:class:`SapnetRunner`): ``auto`` (the default) runs the shipped network on ONNX Runtime when
``onnxruntime`` is importable, else on torch; ``onnx`` / ``torch`` force one (``onnx`` without
onnxruntime is one clear line, never a quiet switch).  The ONNX graph is exported once per weights
file into ``$STRUCTPOSE_DATA/onnx`` and checked against torch on export.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..codec import (
    apply_affine,
    box_to_square,
    crop_image,
    decode_heatmaps,
    heatmap_to_input,
    invert_affine,
    lift_to_3d,
    normalise_xy,
    place_in_camera,
)
from ..errors import StructposeError, check_shape
from ..io.datafolder import data_folder
from ..models.sapnet import PRETRAINED, SAPNet, load_pretrained

RUNTIMES = ("auto", "onnx", "torch")
ONNX_TOLERANCE = 1e-4      # max |ORT - torch| on the export check (heatmaps and depths; float32 reorderings)


def onnx_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def pick_runtime(runtime: str) -> str:
    """``auto`` -> ``onnx`` when onnxruntime is installed, else ``torch``; an explicit choice is kept or refused."""
    if runtime not in RUNTIMES:
        raise StructposeError(f"SAP-Net runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")
    if runtime == "auto":
        return "onnx" if onnx_available() else "torch"
    if runtime == "onnx" and not onnx_available():
        raise StructposeError("--runtime onnx needs onnxruntime, which is not installed; "
                              "pip install 'structpose[onnx]' or use --runtime torch")
    return runtime


class SapnetRunner:
    """SAP-Net's inference graph on one runtime: ``runner(x (B, 3, S, S) float32 RGB in [0, 1])`` ->
    ``(heatmaps of the last stack (B, 17, S/4, S/4), depths (B, 17))`` as NumPy; ``name`` is the runtime."""

    def __init__(self, net: SAPNet, runtime: str = "auto", weights: str | Path | None = None,
                 threads: int = 2) -> None:
        self.net = net.eval()
        self.config = net.config
        self.name = pick_runtime(runtime)
        self.session = None
        if self.name == "onnx":
            from ..models.sapnet_export import onnx_session
            self.session = onnx_session(_cached_onnx(self.net, weights), threads=threads)

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(x, np.float32)
        if self.session is not None:
            hm, z = self.session.run(None, {"image": x})
            return hm, z
        with torch.no_grad():
            hm, z = self.net(torch.from_numpy(x))
        return hm[:, -1].float().numpy(), z.float().numpy()


def _cached_onnx(net: SAPNet, weights: str | Path | None) -> Path:
    """The ONNX export of ``net`` (weights file ``weights``) in the data folder: written once, checked
    against torch when written."""
    from ..models.sapnet_export import export_onnx, onnx_session
    src = Path(weights) if weights is not None else Path(PRETRAINED)
    from .. import __version__
    # the weights and the code that builds the graph from them (architecture, package version)
    h = hashlib.sha256(src.read_bytes())
    h.update(f"{net.config!r}|{__version__}".encode())
    sha = h.hexdigest()[:16]
    folder = data_folder() / "onnx"
    path = folder / f"{src.stem}-{sha}.onnx"
    if path.is_file():
        return path
    tmp = folder / f".{src.stem}-{sha}.check.onnx"
    export_onnx(net, tmp)
    s = net.config.input_size
    x = np.random.default_rng(0).random((2, 3, s, s), dtype=np.float32)
    hm, z = onnx_session(tmp).run(None, {"image": x})
    with torch.no_grad():
        hm_t, z_t = net(torch.from_numpy(x))
    err = max(float(np.abs(hm - hm_t[:, -1].numpy()).max()), float(np.abs(z - z_t.numpy()).max()))
    if not err <= ONNX_TOLERANCE:
        tmp.unlink(missing_ok=True)
        raise StructposeError(f"SAP-Net's ONNX export differs from torch by {err:.1e} (> {ONNX_TOLERANCE:g}); "
                              "use --runtime torch")
    os.replace(tmp, path)
    return path


def check_image(image: Any, what: str = "image") -> np.ndarray:
    """Accept an ``(H, W, 3)`` uint8 RGB array; refuse anything else with one line."""
    if not isinstance(image, np.ndarray):
        raise StructposeError(f"{what} must be a numpy array (H, W, 3) uint8 RGB, got {type(image).__name__}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        raise StructposeError(f"{what} is greyscale {image.shape}; give an RGB image (H, W, 3) "
                              "(convert with cv2.cvtColor(img, cv2.COLOR_GRAY2RGB))")
    check_shape(image, ["H", "W", 3], what)
    if image.dtype != np.uint8:
        raise StructposeError(f"{what} has dtype {image.dtype}; give uint8 RGB in 0..255")
    if min(image.shape[:2]) < 16:
        raise StructposeError(f"{what} is {image.shape[1]}x{image.shape[0]} pixels; need at least 16x16")
    return image


def _forward(net: SAPNet | SapnetRunner, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Last-stack heatmaps and depths (NumPy) from a runner or a torch SAP-Net."""
    if isinstance(net, SapnetRunner):
        return net(x)
    with torch.no_grad():
        hm, z = net.eval()(torch.from_numpy(np.ascontiguousarray(x, np.float32)))
    return hm[:, -1].float().numpy(), z.float().numpy()


def predict(net: SAPNet | SapnetRunner, image: np.ndarray, box: np.ndarray | None = None, bone_sum: float = 4.0,
            focal: float | None = None) -> dict:
    """One RGB image ``(H, W, 3)`` uint8 and an optional person box ``(x0, y0, x1, y1)`` pixels ->
    ``{"keypoints_2d": (17, 2) image px, "scores": (17,), "pose_3d": (17, 3) m root-relative,
    camera axes}``.  Without a box the whole image is used (padded to a square).

    With ``focal`` (pixels; principal point at the image centre) also ``"pose_cam"`` (17, 3): the pose
    placed in the camera frame, the pelvis back-projected at the depth where a skeleton of total bone
    length ``bone_sum`` has the size seen in the crop (weak perspective)."""
    check_image(image)
    h, w = image.shape[:2]
    margin = 1.0 if box is None else 1.25      # a detector's tight box gets Newell's 25 % context
    box = np.array([0, 0, w, h], np.float32) if box is None else np.asarray(box, np.float32)
    check_shape(box, [4], "person box")
    if not (box[2] > box[0] and box[3] > box[1]):
        raise StructposeError(f"person box {box.tolist()} is empty; give (x0, y0, x1, y1) with x1 > x0, y1 > y0")
    size = net.config.input_size
    center, side = box_to_square(box, margin=margin)
    crop, A = crop_image(image, center, side, size)
    x = crop.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255.0)
    hm, depth = _forward(net, x)
    xy_hm, scores = decode_heatmaps(hm[0])
    uv_crop = heatmap_to_input(xy_hm)
    xy_n = normalise_xy(uv_crop, size)
    pose = lift_to_3d(xy_n, depth[0], bone_sum)
    uv_img = apply_affine(invert_affine(A), uv_crop)
    out = {"keypoints_2d": uv_img.astype(np.float32), "scores": scores, "pose_3d": pose, "layout": "h36m17"}
    if focal is not None:
        out["pose_cam"] = place_in_camera(pose, xy_n, depth[0], uv_img[0], side, bone_sum, focal,
                                          np.array([w / 2.0, h / 2.0]))
    return out


@torch.no_grad()
def predict_crops(net: torch.nn.Module, images: np.ndarray, batch: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, S, S, 3)`` uint8 crops at the net's input size -> uv (N, 17, 2) crop px, z_n (N, 17), scores."""
    uv, zs, sc = [], [], []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i:i + batch]).permute(0, 3, 1, 2).float() / 255.0
        hm, z = net(x)
        xy, s = decode_heatmaps(hm[:, -1].float().numpy())
        uv.append(heatmap_to_input(xy))
        zs.append(z.float().numpy())
        sc.append(s)
    return np.concatenate(uv), np.concatenate(zs), np.concatenate(sc)


@lru_cache(maxsize=2)
def _shipped(runtime: str = "auto") -> tuple[SapnetRunner, float]:
    net, bone_sum, _ = load_pretrained()
    return SapnetRunner(net, runtime), bone_sum


def shipped_runtime(runtime: str = "auto") -> str:
    """The runtime the shipped SAP-Net runs on for ``runtime`` (loads it)."""
    return _shipped(pick_runtime(runtime))[0].name


def sapnet_on_detection(image_bgr: np.ndarray, detection: Any, focal: float, runtime: str = "auto"
                        ) -> tuple[np.ndarray, Any]:
    """BGR photo + a detection (``keypoints`` (17, 2), ``scores``) -> (camera-frame pose (17, 3) m,
    the detection with SAP-Net's keypoints and scores).  The box is the detected keypoints' extent.
    ``runtime``: see :class:`SapnetRunner` (``auto``: ONNX Runtime when installed)."""
    import cv2
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB) if image_bgr.ndim == 3 else cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2RGB)
    ok = np.isfinite(detection.keypoints).all(-1)
    kp = detection.keypoints[ok]
    box = np.concatenate([kp.min(0), kp.max(0)]).astype(np.float32)
    net, bone_sum = _shipped(pick_runtime(runtime))
    out = predict(net, rgb, box, bone_sum=bone_sum, focal=focal)
    det = replace(detection, keypoints=out["keypoints_2d"], scores=np.clip(out["scores"], 0, 1).astype(np.float32))
    return out["pose_cam"], det

"""SAP-Net: stacked hourglass + Zhou's depth regressor (Dabral et al. 2018, Sec. 3; Zhou et al. 2017).

Image ``(B, 3, S, S)`` in [0, 1] -> per-stack heatmaps ``(B, n_stacks, k, S/4, S/4)`` and root-relative
depths ``(B, k)``.  Depths are in *normalised crop units*: ``z_n = (Z_j - Z_root) * f / (Z_root * S)``
for a crop of side ``S`` pixels with focal ``f`` (pixels), i.e. the same weak-perspective scale as the
normalised 2D coordinates ``xy_n = (uv - (S - 1) / 2) / S``.  This is Zhou's choice (depth in heatmap
units): a 2D-only sample's ground-truth xy and the predicted z then form a 3D pose in one unit, which
the structure-aware losses need.  :func:`lift_to_3d` turns the pair into metres.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import StructposeError, check_shape
from ..skeleton import H36M17
from .hourglass import Residual, StackedHourglass

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
PRETRAINED = WEIGHTS_DIR / "sapnet_realtime.pt"


@dataclass(frozen=True)
class SAPNetConfig:
    """Architecture; ``input_size`` must be a multiple of 64 (4x stem, 16x in the regressor)."""

    name: str = "realtime"
    num_joints: int = 17
    num_stacks: int = 2
    channels: int = 128
    input_size: int = 128
    hourglass_depth: int = 4

    @property
    def heatmap_size(self) -> int:
        return self.input_size // 4

    def describe(self) -> str:
        return f"{self.name} ({self.num_stacks} stacks, {self.channels} ch, {self.input_size} px)"


PRESETS = {
    "paper": SAPNetConfig("paper", 17, 2, 256, 256),
    "realtime": SAPNetConfig("realtime", 17, 2, 128, 128),
}


def get_config(name_or_cfg: str | SAPNetConfig | dict) -> SAPNetConfig:
    if isinstance(name_or_cfg, SAPNetConfig):
        return name_or_cfg
    if isinstance(name_or_cfg, dict):
        return SAPNetConfig(**name_or_cfg)
    if name_or_cfg not in PRESETS:
        raise StructposeError(f"unknown SAP-Net config {name_or_cfg!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name_or_cfg]


class DepthRegressor(nn.Module):
    """Four residual modules, each followed by 2x max-pooling, then one FC layer -> k depths."""

    def __init__(self, channels: int, heatmap_size: int, num_joints: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Residual(channels, channels) for _ in range(4))
        side = heatmap_size // 16
        self.fc = nn.Linear(channels * side * side, num_joints)
        self.reset_output()

    def reset_output(self) -> None:
        # depths start near 0 (the mean root-relative depth): a default-initialised FC starts with
        # errors ~50x the targets' variance, whose gradients would first wreck the pre-trained trunk
        nn.init.normal_(self.fc.weight, std=1e-3)
        nn.init.zeros_(self.fc.bias)

    def forward(self, combined: torch.Tensor) -> torch.Tensor:
        x = combined
        for block in self.blocks:
            x = F.max_pool2d(block(x), 2)
        return self.fc(torch.flatten(x, 1))


class SAPNet(nn.Module):
    def __init__(self, config: SAPNetConfig | str = "realtime") -> None:
        super().__init__()
        self.config = cfg = get_config(config)
        if cfg.input_size % 64:
            raise StructposeError(f"SAP-Net input size must be a multiple of 64, got {cfg.input_size}")
        self.hourglass = StackedHourglass(cfg.num_joints, cfg.num_stacks, cfg.channels, cfg.hourglass_depth)
        self.depth = DepthRegressor(cfg.channels, cfg.heatmap_size, cfg.num_joints)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, S, S)`` RGB in [0, 1] -> heatmaps ``(B, n_stacks, k, S/4, S/4)``, depths ``(B, k)``."""
        s = self.config.input_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, s, s):
            raise StructposeError(f"image batch has shape {tuple(images.shape)}; SAP-Net {self.config.describe()} "
                                  f"takes (B, 3, {s}, {s}) RGB in [0, 1] (crop and resize first, e.g. predict())")
        x = (images - 0.5) * 4.0     # fixed normalisation inside the graph: ONNX and torch agree
        heatmaps, combined = self.hourglass(x)
        return torch.stack(heatmaps, 1), self.depth(combined)


class InferenceHead(nn.Module):
    """The product's graph (and the ONNX export): last stack's heatmaps and the depths only."""

    def __init__(self, net: SAPNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hm, depth = self.net(images)
        return hm[:, -1], depth


# ---------------------------------------------------------------- decoding -------------------------

def decode_heatmaps(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel peaks of ``(..., k, h, w)`` heatmaps -> ``(..., k, 2)`` (x, y) in heatmap pixels, scores.

    Integer argmax, then one Newton step on the log-heatmap from central differences: exact for a
    Gaussian peak (its log is quadratic), unlike Newell's quarter-pixel nudge.  The step is clipped to
    half a pixel so that flat or noisy maps cannot jump to a neighbour's peak.
    """
    hm = np.asarray(heatmaps, dtype=np.float64)
    *lead, k, h, w = hm.shape
    flat = hm.reshape(-1, k, h * w)
    idx = flat.argmax(-1)
    scores = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
    y, x = np.divmod(idx, w)
    logm = np.log(np.maximum(hm.reshape(-1, k, h, w), 1e-10))
    xm, xp = np.clip(x - 1, 0, w - 1), np.clip(x + 1, 0, w - 1)
    ym, yp = np.clip(y - 1, 0, h - 1), np.clip(y + 1, 0, h - 1)
    n, j = np.meshgrid(np.arange(flat.shape[0]), np.arange(k), indexing="ij")

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return logm[n, j, yy, xx]

    c = at(y, x)
    gx, gy = (at(y, xp) - at(y, xm)) / 2, (at(yp, x) - at(ym, x)) / 2
    hxx, hyy = at(y, xp) - 2 * c + at(y, xm), at(yp, x) - 2 * c + at(ym, x)
    hxy = (at(yp, xp) - at(yp, xm) - at(ym, xp) + at(ym, xm)) / 4
    det = hxx * hyy - hxy * hxy
    ok = (det > 1e-12) & (hxx < 0)      # a proper maximum; otherwise keep the integer peak
    safe = np.where(ok, det, 1.0)
    dx = np.where(ok, -(hyy * gx - hxy * gy) / safe, 0.0)
    dy = np.where(ok, -(hxx * gy - hxy * gx) / safe, 0.0)
    interior = (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
    dx, dy = np.where(interior, np.clip(dx, -0.5, 0.5), 0), np.where(interior, np.clip(dy, -0.5, 0.5), 0)
    xy = np.stack([x + dx, y + dy], -1).reshape(*lead, k, 2)
    return xy.astype(np.float32), scores.reshape(*lead, k).astype(np.float32)


def heatmap_to_input(xy_hm: np.ndarray, stride: int = 4) -> np.ndarray:
    """Heatmap pixel coordinates -> input-crop pixel coordinates (pixel centres at integers)."""
    return (np.asarray(xy_hm) + 0.5) * stride - 0.5


def normalise_xy(uv: np.ndarray, size: int) -> np.ndarray:
    """Crop pixels ``(..., 2)`` -> normalised crop units (centre 0, crop side 1)."""
    return (np.asarray(uv, dtype=np.float32) - (size - 1) / 2.0) / size


def depth_target(cam_joints: np.ndarray, focal: float | np.ndarray, size: int, root: int = 0) -> np.ndarray:
    """Camera-frame joints ``(..., k, 3)`` m, crop focal (px) -> root-relative depth in crop units ``(..., k)``."""
    z = np.asarray(cam_joints)[..., 2]
    zr = z[..., root:root + 1]
    return ((z - zr) * np.asarray(focal)[..., None] / (zr * size)).astype(np.float32)


def bone_length_sum(pose: np.ndarray) -> np.ndarray:
    """``(..., 17, 3)`` -> ``(...)`` sum of the 16 H36M-17 bone lengths (same unit as the pose)."""
    p, c = np.array(H36M17.bones).T
    return np.linalg.norm(pose[..., c, :] - pose[..., p, :], axis=-1).sum(-1)


def lift_to_3d(xy_n: np.ndarray, z_n: np.ndarray, bone_sum: float, root: int = 0) -> np.ndarray:
    """Normalised 2D ``(..., k, 2)`` and depths ``(..., k)`` -> root-relative 3D ``(..., k, 3)`` metres.

    Weak perspective: both come in one unit, so the pose is known up to scale; the scale is fixed by
    giving the skeleton a total bone length ``bone_sum`` (metres) — the normalisation Zhou and Dabral
    apply before computing MPJPE.  Camera axes are kept (x right, y down, z forward).
    """
    pose = np.concatenate([np.asarray(xy_n), np.asarray(z_n)[..., None]], -1).astype(np.float64)
    pose = pose - pose[..., root:root + 1, :]
    s = bone_sum / np.maximum(bone_length_sum(pose), 1e-9)
    return (pose * s[..., None, None]).astype(np.float32)


# ---------------------------------------------------------------- checkpoints / inference -------

def save_weights(path: str | Path, net: SAPNet, bone_sum: float, meta: dict[str, Any] | None = None,
                 half: bool = False) -> None:
    """Write a weights file; ``half`` stores floating tensors as float16 (half the size; loading casts
    them back to float32, so inference still runs in float32)."""
    from ..io.atomic import atomic_path
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    blob = {"kind": "sapnet", "config": asdict(net.config), "bone_sum": float(bone_sum),
            "state_dict": state, "meta": {**(meta or {}), "float16": half}}
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def load_weights(path: str | Path, expect: str | SAPNetConfig | None = None) -> tuple[SAPNet, float, dict]:
    """Load a SAP-Net weights file (or a training checkpoint) -> (net in eval mode, bone_sum m, meta).

    ``expect`` names the config the caller wants; a file trained with another one is refused with one line.
    """
    from ..io.guards import load_torch
    path = Path(path)
    blob = load_torch(path, "SAP-Net weights", "train them with `structpose train sapnet`")
    if not isinstance(blob, dict) or blob.get("kind") not in ("sapnet", "sapnet-train") or "config" not in blob:
        raise StructposeError(f"{path} is not a SAP-Net weights file or checkpoint")
    cfg = SAPNetConfig(**blob["config"])
    if expect is not None:
        want = get_config(expect)
        if (want.num_stacks, want.channels, want.input_size, want.num_joints) != \
                (cfg.num_stacks, cfg.channels, cfg.input_size, cfg.num_joints):
            raise StructposeError(f"{path} holds SAP-Net {cfg.describe()}, but config {want.describe()} "
                                  "was asked for; pass the matching --config")
    net = SAPNet(cfg)
    state = blob["state_dict"] if blob["kind"] == "sapnet" else blob["model"]
    try:
        net.load_state_dict(state)
    except RuntimeError:
        raise StructposeError(f"{path}: weights do not fit SAP-Net {cfg.describe()} (file damaged?)") from None
    return net.eval(), float(blob["bone_sum"]), dict(blob.get("meta", {}))


def load_pretrained(path: str | Path | None = None) -> tuple[SAPNet, float, dict]:
    """The shipped real-time model (trained on renders of real mocap; see docs/TRAINING_SAPNET.md)."""
    return load_weights(path or PRETRAINED)


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


@torch.no_grad()
def predict(net: SAPNet, image: np.ndarray, box: np.ndarray | None = None, bone_sum: float = 4.0,
            focal: float | None = None) -> dict:
    """One RGB image ``(H, W, 3)`` uint8 and an optional person box ``(x0, y0, x1, y1)`` pixels ->
    ``{"keypoints_2d": (17, 2) image px, "scores": (17,), "pose_3d": (17, 3) m root-relative,
    camera axes}``.  Without a box the whole image is used (padded to a square).

    With ``focal`` (pixels; principal point at the image centre) also ``"pose_cam"`` (17, 3): the pose
    placed in the camera frame, the pelvis back-projected at the depth where a skeleton of total bone
    length ``bone_sum`` has the size seen in the crop (weak perspective)."""
    from ..data.images import box_to_square, crop_image, invert_affine
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
    x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255.0
    hm, depth = net.eval()(x)
    xy_hm, scores = decode_heatmaps(hm[0, -1].numpy())
    uv_crop = heatmap_to_input(xy_hm)
    xy_n = normalise_xy(uv_crop, size)
    pose = lift_to_3d(xy_n, depth[0].numpy(), bone_sum)
    Ai = invert_affine(A)
    uv_img = uv_crop @ Ai[:, :2].T + Ai[:, 2]
    out = {"keypoints_2d": uv_img.astype(np.float32), "scores": scores, "pose_3d": pose, "layout": "h36m17"}
    if focal is not None:
        # metres per normalised crop unit, and the crop side in image pixels -> root depth
        n_pose = np.concatenate([xy_n - xy_n[:1], depth[0].numpy()[:, None] - float(depth[0, 0])], -1)
        metres_per_unit = bone_sum / max(float(bone_length_sum(n_pose)), 1e-9)
        z_root = focal * metres_per_unit / side
        c = np.array([w / 2.0, h / 2.0])
        root = np.append((uv_img[0] - c) * z_root / focal, z_root)
        out["pose_cam"] = (pose + root).astype(np.float32)
    return out

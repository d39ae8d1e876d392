"""SAP-Net: stacked hourglass + Zhou's depth regressor (Dabral et al. 2018, Sec. 3; Zhou et al. 2017).

Image ``(B, 3, S, S)`` in [0, 1] -> per-stack heatmaps ``(B, n_stacks, k, S/4, S/4)`` and root-relative
depths ``(B, k)``.  Depths are in *normalised crop units*: ``z_n = (Z_j - Z_root) * f / (Z_root * S)``
for a crop of side ``S`` pixels with focal ``f`` (pixels), i.e. the same weak-perspective scale as the
normalised 2D coordinates ``xy_n = (uv - (S - 1) / 2) / S``.  This is Zhou's choice (depth in heatmap
units): a 2D-only sample's ground-truth xy and the predicted z then form a 3D pose in one unit, which
the structure-aware losses need.  :mod:`structpose.codec` encodes the targets and decodes the output
(:func:`~structpose.codec.lift_to_3d` turns the pair into metres); :mod:`structpose.pipeline.sapnet`
runs inference.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import StructposeError
from .hourglass import StackedHourglass, residual_chain

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
PRETRAINED = WEIGHTS_DIR / "sapnet_realtime.pt"


@dataclass(frozen=True)
class SAPNetConfig:
    """Architecture; ``input_size`` must be a multiple of 64 (4x stem, 16x in the regressor).

    ``residuals_per_level``: residual modules at each place of the hourglass and at each level of the
    depth regressor — 2 in Zhou et al.'s network (``nModules`` = ``nRegModules`` = 2), 1 in the compact
    realtime preset (files written before this field existed hold 1-module networks, hence the default).
    """

    name: str = "realtime"
    num_joints: int = 17
    num_stacks: int = 2
    channels: int = 128
    input_size: int = 128
    hourglass_depth: int = 4
    residuals_per_level: int = 1

    @property
    def heatmap_size(self) -> int:
        return self.input_size // 4

    def describe(self) -> str:
        return (f"{self.name} ({self.num_stacks} stacks, {self.channels} ch, {self.input_size} px, "
                f"{self.residuals_per_level} residual/level)")


PRESETS = {
    "paper": SAPNetConfig("paper", 17, 2, 256, 256, residuals_per_level=2),
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
    """Four levels of ``residuals`` residual modules, each level followed by 2x max-pooling, then one FC
    layer -> k depths."""

    def __init__(self, channels: int, heatmap_size: int, num_joints: int, residuals: int = 1) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(residual_chain(channels, residuals) for _ in range(4))
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
        if cfg.residuals_per_level < 1:
            raise StructposeError(f"SAP-Net residuals_per_level must be >= 1, got {cfg.residuals_per_level}")
        self.hourglass = StackedHourglass(cfg.num_joints, cfg.num_stacks, cfg.channels, cfg.hourglass_depth,
                                          cfg.residuals_per_level)
        self.depth = DepthRegressor(cfg.channels, cfg.heatmap_size, cfg.num_joints, cfg.residuals_per_level)

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


# ---------------------------------------------------------------- checkpoints -------------------

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
        if (want.num_stacks, want.channels, want.input_size, want.num_joints, want.residuals_per_level) != \
                (cfg.num_stacks, cfg.channels, cfg.input_size, cfg.num_joints, cfg.residuals_per_level):
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

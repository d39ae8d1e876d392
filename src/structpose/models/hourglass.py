"""Stacked hourglass network (Newell et al., ECCV 2016), the 2D half of SAP-Net.

Pre-activation residual bottlenecks, a stem that brings the image to 1/4 resolution, ``num_stacks``
hourglasses of depth 4, a heatmap head per stack (intermediate supervision) and the re-injection of
each stack's features and heatmaps into the next stack.  Shapes: images ``(B, 3, S, S)`` ->
heatmaps ``(B, k, S/4, S/4)`` per stack.

``residuals`` is the number of residual modules chained at every place where Newell's hourglass has
one (each level's skip branch, before and after the pooled branch, the innermost level, and after each
hourglass): Newell's released model uses 1, Zhou et al.'s 3D hourglass (``nModules``) uses 2.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import StructposeError


class Residual(nn.Module):
    """Bottleneck residual module: BN-ReLU-1x1(C/2) -> BN-ReLU-3x3(C/2) -> BN-ReLU-1x1(C), plus skip."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        mid = c_out // 2
        self.bn1, self.conv1 = nn.BatchNorm2d(c_in), nn.Conv2d(c_in, mid, 1)
        self.bn2, self.conv2 = nn.BatchNorm2d(mid), nn.Conv2d(mid, mid, 3, padding=1)
        self.bn3, self.conv3 = nn.BatchNorm2d(mid), nn.Conv2d(mid, c_out, 1)
        # a 1x1 projection only where the channel count changes, as in Newell's "skip layer"
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(F.relu(self.bn1(x)))
        y = self.conv2(F.relu(self.bn2(y)))
        y = self.conv3(F.relu(self.bn3(y)))
        return y + self.skip(x)


def residual_chain(channels: int, n: int) -> nn.Module:
    """``n`` residual modules in a row; one is a bare ``Residual`` so that 1-module weights keep their names."""
    if n < 1:
        raise ValueError(f"residual modules per place must be >= 1, got {n}")
    if n == 1:
        return Residual(channels, channels)
    return nn.Sequential(*(Residual(channels, channels) for _ in range(n)))


class Hourglass(nn.Module):
    """One hourglass of ``depth`` levels: a skip branch and a pooled branch at every level."""

    def __init__(self, channels: int, depth: int = 4, residuals: int = 1) -> None:
        super().__init__()
        self.up = residual_chain(channels, residuals)
        self.low1 = residual_chain(channels, residuals)
        self.inner = (Hourglass(channels, depth - 1, residuals) if depth > 1
                      else residual_chain(channels, residuals))
        self.low3 = residual_chain(channels, residuals)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.up(x)
        low = self.low3(self.inner(self.low1(F.max_pool2d(x, 2))))
        # nearest upsampling by an explicit size keeps odd sizes and ONNX export simple
        return up + F.interpolate(low, size=up.shape[-2:], mode="nearest")


class StackedHourglass(nn.Module):
    """``num_stacks`` hourglasses; ``forward`` returns every stack's heatmaps and the features the
    depth regressor combines (Zhou et al. 2017: last stack input + projected features + heatmaps)."""

    def __init__(self, num_joints: int, num_stacks: int = 2, channels: int = 256, depth: int = 4,
                 residuals: int = 1) -> None:
        super().__init__()
        if channels % 4 or channels < 16:
            raise StructposeError(f"hourglass channels must be a multiple of 4 and >= 16, got {channels}")
        self.num_stacks = num_stacks
        stem_c = max(channels // 4, 16)
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_c, 7, stride=2, padding=3), nn.BatchNorm2d(stem_c), nn.ReLU(inplace=True),
            Residual(stem_c, channels // 2), nn.MaxPool2d(2),
            Residual(channels // 2, channels // 2), Residual(channels // 2, channels))
        self.hgs = nn.ModuleList(Hourglass(channels, depth, residuals) for _ in range(num_stacks))
        self.res = nn.ModuleList(residual_chain(channels, residuals) for _ in range(num_stacks))
        self.lin = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
            for _ in range(num_stacks))
        self.heat = nn.ModuleList(nn.Conv2d(channels, num_joints, 1) for _ in range(num_stacks))
        for h in self.heat:
            # near-zero initial heatmaps (as mmpose does): the default init starts with outputs ~15x
            # the targets' energy, and the first hundreds of steps would only shrink them
            nn.init.normal_(h.weight, std=1e-3)
            nn.init.zeros_(h.bias)
        # re-injection (between stacks) and the two projections of Zhou's combined feature map
        self.merge_feat = nn.ModuleList(nn.Conv2d(channels, channels, 1) for _ in range(num_stacks))
        self.merge_heat = nn.ModuleList(nn.Conv2d(num_joints, channels, 1) for _ in range(num_stacks))

    def forward(self, images: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """``(B, 3, S, S)`` -> (list of ``(B, k, S/4, S/4)`` heatmaps, combined features ``(B, C, S/4, S/4)``)."""
        x = self.stem(images)
        heatmaps: list[torch.Tensor] = []
        combined = x
        for i in range(self.num_stacks):
            feat = self.lin[i](self.res[i](self.hgs[i](x)))
            hm = self.heat[i](feat)
            heatmaps.append(hm)
            combined = x + self.merge_feat[i](feat) + self.merge_heat[i](hm)
            x = combined   # the next stack starts from the merged map; after the last it feeds depth
        return heatmaps, combined

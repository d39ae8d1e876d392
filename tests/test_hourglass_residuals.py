"""Zhou et al.'s paper preset (two residual modules per place) and the shipped 1-module weights.

FLOPs are checked against a count from the architecture written out by hand; the shipped realtime
weights against an independent functional forward pass written here from the state dict alone.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from structpose.errors import StructposeError
from structpose.models.sapnet import (
    PRESETS,
    SAPNet,
    SAPNetConfig,
    load_pretrained,
    load_weights,
    save_weights,
)
from structpose.models.sapnet_export import gflop_per_image


def residual_flops(c: int, side: int) -> int:
    """One bottleneck residual (C -> C/2 -> 3x3 C/2 -> C), 2 FLOPs per multiply-add, no skip conv."""
    return 2 * side * side * (c * (c // 2) + 9 * (c // 2) ** 2 + (c // 2) * c)


def modules_per_net(hm: int, depth: int, stacks: int) -> list[int]:
    """Sides of every residual place: hourglass levels, one after each hourglass, the 4 regressor levels."""
    sides: list[int] = []
    for _ in range(stacks):
        s = hm
        for _ in range(depth):
            sides += [s, s // 2, s // 2]        # skip branch; before and after the pooled branch
            s //= 2
        sides.append(s)                         # innermost
        sides.append(hm)                        # residual after the hourglass
    sides += [hm, hm // 2, hm // 4, hm // 8]    # depth regressor (pooling after each level)
    return sides


def test_paper_preset_is_zhous_two_module_network_by_flop_count():
    paper = PRESETS["paper"]
    assert paper.residuals_per_level == 2 and PRESETS["realtime"].residuals_per_level == 1
    one = dataclasses.replace(paper, residuals_per_level=1)
    sides = modules_per_net(paper.heatmap_size, paper.hourglass_depth, paper.num_stacks)
    extra = sum(residual_flops(paper.channels, s) for s in sides)      # the second module at every place
    g1, g2 = gflop_per_image(SAPNet(one)), gflop_per_image(SAPNet(paper))
    assert abs((g2 - g1) * 1e9 - extra) < 1e-3 * extra
    assert 31.0 < g2 < 33.5            # Zhou's network: ~32 GFLOP at 256 px


def test_residual_count_must_be_positive():
    with pytest.raises(StructposeError, match="residuals_per_level"):
        SAPNet(SAPNetConfig("bad", 17, 1, 16, 64, residuals_per_level=0))


def _bn(x, sd, p):
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"],
                        False, 0.0, 1e-5)


def _conv(x, sd, p, pad=0, stride=1):
    return F.conv2d(x, sd[p + ".weight"], sd[p + ".bias"], stride=stride, padding=pad)


def _res(x, sd, p):
    y = _conv(F.relu(_bn(x, sd, p + ".bn1")), sd, p + ".conv1")
    y = _conv(F.relu(_bn(y, sd, p + ".bn2")), sd, p + ".conv2", pad=1)
    y = _conv(F.relu(_bn(y, sd, p + ".bn3")), sd, p + ".conv3")
    skip = _conv(x, sd, p + ".skip") if p + ".skip.weight" in sd else x
    return y + skip


def _hg(x, sd, p, depth):
    up = _res(x, sd, p + ".up")
    low = _res(F.max_pool2d(x, 2), sd, p + ".low1")
    low = _hg(low, sd, p + ".inner", depth - 1) if depth > 1 else _res(low, sd, p + ".inner")
    low = _res(low, sd, p + ".low3")
    return up + F.interpolate(low, size=up.shape[-2:], mode="nearest")


def reference_forward(sd: dict, cfg: SAPNetConfig, images: torch.Tensor):
    """Newell's stacked hourglass + Zhou's regressor with one residual per place, from the weights alone."""
    x = (images - 0.5) * 4.0
    x = F.relu(_bn(_conv(x, sd, "hourglass.stem.0", pad=3, stride=2), sd, "hourglass.stem.1"))
    x = _res(F.max_pool2d(_res(x, sd, "hourglass.stem.3"), 2), sd, "hourglass.stem.5")
    x = _res(x, sd, "hourglass.stem.6")
    hms = []
    for i in range(cfg.num_stacks):
        f = _res(_hg(x, sd, f"hourglass.hgs.{i}", cfg.hourglass_depth), sd, f"hourglass.res.{i}")
        f = F.relu(_bn(_conv(f, sd, f"hourglass.lin.{i}.0"), sd, f"hourglass.lin.{i}.1"))
        hm = _conv(f, sd, f"hourglass.heat.{i}")
        hms.append(hm)
        x = x + _conv(f, sd, f"hourglass.merge_feat.{i}") + _conv(hm, sd, f"hourglass.merge_heat.{i}")
    for j in range(4):
        x = F.max_pool2d(_res(x, sd, f"depth.blocks.{j}"), 2)
    depth = F.linear(torch.flatten(x, 1), sd["depth.fc.weight"], sd["depth.fc.bias"])
    return torch.stack(hms, 1), depth


def test_shipped_realtime_weights_load_unchanged_and_predict_as_a_one_module_hourglass():
    net, _, _ = load_pretrained()
    assert net.config.residuals_per_level == 1
    sd = {k: v.float() for k, v in net.state_dict().items()}
    images = torch.from_numpy(np.random.default_rng(0).random((2, 3, 128, 128), dtype=np.float32))
    with torch.no_grad():
        hm, depth = net(images)
        hm_ref, depth_ref = reference_forward(sd, net.config, images)
    assert torch.allclose(hm, hm_ref, atol=1e-5) and torch.allclose(depth, depth_ref, atol=1e-5)


def test_two_module_weights_round_trip_and_are_refused_as_one_module(tmp_path):
    cfg = SAPNetConfig("tiny2", 17, 1, 16, 64, residuals_per_level=2)
    net = SAPNet(cfg).eval()
    save_weights(tmp_path / "w.pt", net, 4.0)
    back, _, _ = load_weights(tmp_path / "w.pt")
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(net(x)[0], back(x)[0])
    with pytest.raises(StructposeError, match="was asked for"):
        load_weights(tmp_path / "w.pt", expect=dataclasses.replace(cfg, residuals_per_level=1))

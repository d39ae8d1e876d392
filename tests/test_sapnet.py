"""SAP-Net: shapes, sub-pixel decoding, the weak-perspective lift, checkpoints and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from structpose.codec import (
    bone_length_sum,
    decode_heatmaps,
    depth_target,
    heatmap_to_input,
    lift_to_3d,
    normalise_xy,
)
from structpose.errors import StructposeError
from structpose.models.sapnet import SAPNet, SAPNetConfig, load_weights, save_weights
from structpose.pipeline.sapnet import check_image, predict

TINY = SAPNetConfig("tiny", 17, 2, 16, 64)


def test_shapes_and_intermediate_supervision():
    net = SAPNet(TINY).eval()
    hm, z = net(torch.rand(3, 3, 64, 64))
    assert hm.shape == (3, 2, 17, 16, 16) and z.shape == (3, 17)
    # eval mode: a sample's output does not depend on its batch mates
    hm1, z1 = net(torch.rand(1, 3, 64, 64))
    assert torch.isfinite(hm1).all() and torch.isfinite(z1).all()


@pytest.mark.parametrize("shape", [(1, 3, 128, 128), (1, 1, 64, 64), (3, 64, 64)])
def test_wrong_size_batches_are_one_line(shape):
    with pytest.raises(StructposeError, match=r"takes \(B, 3, 64, 64\)"):
        SAPNet(TINY)(torch.zeros(shape))


def test_input_size_must_be_multiple_of_64():
    with pytest.raises(StructposeError, match="multiple of 64"):
        SAPNet(SAPNetConfig("bad", 17, 1, 16, 96))


def _gauss(centres: np.ndarray, h: int, sigma: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:h]
    return np.exp(-((xx - centres[:, 0, None, None]) ** 2 + (yy - centres[:, 1, None, None]) ** 2) / (2 * sigma ** 2))


def test_subpixel_decoding_recovers_gaussian_peaks():
    rng = np.random.default_rng(0)
    c = rng.uniform(3, 28, (17, 2))
    xy, scores = decode_heatmaps(_gauss(c, 32, 1.5)[None])
    assert np.abs(xy[0] - c).max() < 1e-3            # log of a Gaussian is quadratic: one Newton step is exact
    integer = np.abs(np.round(c) - c).max()
    assert integer > 0.1                               # the test is not trivial
    assert (scores > 0.7).all()


def test_decoding_survives_flat_and_edge_maps():
    hm = np.zeros((2, 17, 16, 16))
    hm[1, :, 0, 15] = 1.0                              # peak on the border
    xy, _ = decode_heatmaps(hm)
    assert np.isfinite(xy).all()
    assert np.allclose(xy[1], [15, 0])


def test_heatmap_to_input_pixel_centres():
    # heatmap pixel 0 covers input pixels 0..3, whose centre is 1.5
    assert np.allclose(heatmap_to_input(np.array([0.0, 1.0])), [1.5, 5.5])


def test_lift_recovers_pose_under_weak_perspective(deepmimic_camera_poses):
    pose = deepmimic_camera_poses[::97][:20].astype(np.float64)
    pose = pose - pose[:, :1] + np.array([0, 0, 200.0])      # far away: perspective ~ weak perspective
    f, size = 20000.0, 128
    uv = pose[..., :2] / pose[..., 2:] * f + (size - 1) / 2
    z_n = depth_target(pose, np.full(len(pose), f), size)
    gt = pose - pose[:, :1]
    out = lift_to_3d(normalise_xy(uv, size), z_n, bone_sum=1.0)
    out = out * bone_length_sum(gt)[:, None, None]          # lift gives unit total bone length
    assert np.abs(out - gt).max() < 0.01                      # < 1 cm


def test_checkpoint_of_other_config_is_refused(tmp_path):
    net = SAPNet(TINY)
    p = tmp_path / "w.pt"
    save_weights(p, net, 4.0)
    net2, bone_sum, _ = load_weights(p)
    assert bone_sum == 4.0
    for a, b in zip(net.state_dict().values(), net2.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(StructposeError, match="realtime"):
        load_weights(p, expect="realtime")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(StructposeError, match="cannot read"):
        load_weights(bad)
    with pytest.raises(StructposeError, match="not found"):
        load_weights(tmp_path / "missing.pt")


@pytest.mark.parametrize("img, msg", [
    (np.zeros((64, 64), np.uint8), "greyscale"),
    (np.zeros((64, 64, 1), np.uint8), "greyscale"),
    (np.zeros((64, 64, 4), np.uint8), "shape"),
    (np.zeros((64, 64, 3), np.float32), "uint8"),
    (np.zeros((8, 8, 3), np.uint8), "at least"),
    ([[0, 1]], "numpy"),
])
def test_bad_images_one_line(img, msg):
    with pytest.raises(StructposeError, match=msg) as e:
        check_image(img)
    assert "\n" not in str(e.value)


def test_predict_maps_back_to_the_image():
    net = SAPNet(TINY).eval()
    img = (np.random.default_rng(0).random((90, 140, 3)) * 255).astype(np.uint8)
    box = np.array([40, 10, 100, 80])
    out = predict(net, img, box, bone_sum=4.0)
    assert out["keypoints_2d"].shape == (17, 2) and out["pose_3d"].shape == (17, 3)
    # every decoded joint lies in the square crop around the box (margin 1.25), mapped to image pixels
    side = 70 * 1.25
    c = np.array([70, 45])
    assert (np.abs(out["keypoints_2d"] - c) <= side / 2 + 1).all()
    assert abs(bone_length_sum(out["pose_3d"]) - 4.0) < 1e-3
    assert np.allclose(out["pose_3d"][0], 0)


def test_predict_places_the_pose_at_the_depth_its_size_implies():
    net = SAPNet(TINY).eval()
    img = (np.random.default_rng(1).random((200, 300, 3)) * 255).astype(np.uint8)
    out = predict(net, img, np.array([100, 20, 180, 180]), bone_sum=4.0, focal=500.0)
    cam = out["pose_cam"]
    assert np.allclose(cam - cam[:1], out["pose_3d"], atol=1e-5)
    # the pelvis projects back onto its 2D keypoint (principal point at the image centre)
    uv = cam[0, :2] / cam[0, 2] * 500.0 + np.array([150.0, 100.0])
    assert np.allclose(uv, out["keypoints_2d"][0], atol=1e-3)
    assert cam[0, 2] > 0


def test_float16_weights_file_is_half_the_size_and_predicts_like_float32(tmp_path):
    torch.manual_seed(0)
    net = SAPNet(TINY)
    for m in net.modules():        # non-trivial BatchNorm statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    save_weights(tmp_path / "f32.pt", net, 4.0)
    save_weights(tmp_path / "f16.pt", net, 4.0, half=True)
    big = SAPNet("realtime")        # the shipped size: the per-tensor file overhead no longer matters
    save_weights(tmp_path / "big32.pt", big, 4.0)
    save_weights(tmp_path / "big16.pt", big, 4.0, half=True)
    ratio = (tmp_path / "big16.pt").stat().st_size / (tmp_path / "big32.pt").stat().st_size
    assert 0.45 < ratio < 0.55
    a, _, _ = load_weights(tmp_path / "f32.pt")
    b, _, meta = load_weights(tmp_path / "f16.pt")
    assert meta["float16"] and all(p.dtype == torch.float32 for p in b.parameters())   # inference stays float32
    x = torch.rand(2, 3, TINY.input_size, TINY.input_size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        (ha, za), (hb, zb) = a(x), b(x)
    assert (ha - hb).abs().max() < 2e-3 * ha.abs().max() + 1e-6
    assert (za - zb).abs().max() < 2e-3 * za.abs().max() + 1e-6
    assert not torch.equal(ha, hb)                   # the stored values really were rounded

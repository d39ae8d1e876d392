"""SAP-Net inference (structpose.pipeline.sapnet): image checks, predict back in image pixels and in the camera."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.codec import bone_length_sum
from structpose.errors import StructposeError
from structpose.models.sapnet import SAPNet, SAPNetConfig
from structpose.pipeline.sapnet import check_image, predict

TINY = SAPNetConfig("tiny", 17, 2, 16, 64)


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

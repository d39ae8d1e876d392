"""The MediaPipe front end: landmark mapping, real photos, no-person images, refused options."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from structpose.errors import StructposeError
from structpose.pipeline.detector import PoseDetector, landmarks_to_h36m, read_image
from structpose.skeleton import H36M17, MEDIAPIPE33

DATA = Path("/usr/share/doc/opencv-doc/examples/data")
j = H36M17.index


@pytest.fixture(scope="module")
def detector():
    with PoseDetector(video=False) as d:
        yield d


def test_landmark_mapping_synthesises_from_the_right_landmarks():
    rng = np.random.default_rng(0)
    lm = rng.uniform(0, 1, size=(33, 2))
    vis = rng.uniform(0, 1, size=33)
    kp, sc = landmarks_to_h36m(lm, vis, (640, 480))
    px = lm * [640, 480]
    m = MEDIAPIPE33.index
    assert np.allclose(kp[j("l_wrist")], px[m("l_wrist")], atol=1e-3)
    assert np.allclose(kp[j("pelvis")], (px[m("l_hip")] + px[m("r_hip")]) / 2, atol=1e-3)
    assert np.allclose(kp[j("thorax")], (px[m("l_shoulder")] + px[m("r_shoulder")]) / 2, atol=1e-3)
    # a synthesised joint is only as visible as its least visible source
    assert sc[j("pelvis")] == pytest.approx(min(vis[m("l_hip")], vis[m("r_hip")]), abs=1e-6)
    assert sc[j("r_knee")] == pytest.approx(vis[m("r_knee")], abs=1e-6)


def test_real_photo_gives_an_upright_person_inside_the_image(detector):
    img = read_image(DATA / "basketball1.png")
    d = detector(img)
    assert d.found and d.keypoints.shape == (17, 2) and (d.scores > 0.5).all()
    h, w = img.shape[:2]
    assert ((d.keypoints >= 0) & (d.keypoints <= [w, h])).all()
    v = d.keypoints[:, 1]
    # a standing person: head above thorax above pelvis above knees above ankles (v grows downwards)
    assert v[j("head_top")] < v[j("thorax")] < v[j("pelvis")]
    for s in "lr":
        assert v[j(f"{s}_hip")] < v[j(f"{s}_knee")] < v[j(f"{s}_ankle")]
    # the player is on the left half of the frame (the other person on the right is cut by the edge)
    assert d.keypoints[:, 0].mean() < w / 2


def test_single_channel_and_bgra_images_are_accepted(detector):
    """basketball2 is a grey photo: (H, W), (H, W, 3) and (H, W, 4) versions give the same pose."""
    import cv2
    img = read_image(DATA / "basketball2.png")
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    a, b, c = detector(img), detector(grey), detector(cv2.cvtColor(img, cv2.COLOR_BGR2BGRA))
    assert a.found and b.found and c.found
    assert np.abs(a.keypoints - b.keypoints).max() < 1.0 and np.abs(a.keypoints - c.keypoints).max() < 1.0


def test_no_person_is_marked_not_zeroed(detector):
    d = detector(np.full((480, 640, 3), 127, np.uint8))
    assert not d.found
    assert np.isnan(d.keypoints).all() and (d.scores == 0).all()


def test_bad_images_and_options(tmp_path, detector):
    with pytest.raises(StructposeError, match="not available offline"):
        PoseDetector(model_complexity=2)
    with pytest.raises(StructposeError, match="expected \\(H, W, 3\\) uint8"):
        detector(np.zeros((10, 10, 3), np.float32))
    (tmp_path / "x.png").write_bytes(b"definitely not a png")
    with pytest.raises(StructposeError, match="not a readable image"):
        read_image(tmp_path / "x.png")
    with pytest.raises(StructposeError, match="no such image"):
        read_image(tmp_path / "missing.jpg")

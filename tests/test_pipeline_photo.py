"""The photo path (pipeline.photo): which model runs, the fit, and no person -> an invalid frame."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from structpose.pipeline.detector import Detection
from structpose.pipeline.lifting import PoseLifter
from structpose.pipeline.photo import process_photo
from structpose.skeleton import H36M17

PHOTO = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")
PAR = [p for p, _ in H36M17.bones]
CHI = [c for _, c in H36M17.bones]


class CountingLifter(PoseLifter):
    calls = 0

    def __call__(self, *a, **k):
        type(self).calls += 1
        return super().__call__(*a, **k)


@pytest.fixture(scope="module")
def photo():
    from structpose.data.images import read_image
    img = read_image(PHOTO)
    # a person box in messi5.jpg (the player on the right), as 17 keypoints spread over it
    rng = np.random.default_rng(0)
    kp = np.stack([rng.uniform(330, 430, 17), rng.uniform(80, 330, 17)], -1).astype(np.float32)
    return img, Detection(keypoints=kp, scores=np.full(17, 0.9, np.float32), found=True)


def test_sapnet_photo_does_not_run_the_lifter(photo):
    img, det = photo
    lifter = CountingLifter()
    CountingLifter.calls = 0
    seq, used = process_photo(img, det, lifter, model="sapnet", fit=False)
    assert CountingLifter.calls == 0                      # SAP-Net's pose, the lifter never ran
    assert seq.valid[0] and seq.meta["model"] == "sapnet"
    assert not np.allclose(used.keypoints, det.keypoints)   # SAP-Net's own 2D replaced the detection's
    process_photo(img, det, lifter, model="lifter")
    assert CountingLifter.calls >= 1                      # (a single frame goes through the batched call)


def test_fit_makes_the_photo_pose_symmetric_and_no_person_is_invalid(photo):
    img, det = photo
    lifter = PoseLifter()
    raw, _ = process_photo(img, det, lifter, fit=False)
    fitted, _ = process_photo(img, det, lifter, fit=True)
    L = np.linalg.norm(fitted.poses_3d[0][CHI] - fitted.poses_3d[0][PAR], axis=-1)
    np.testing.assert_allclose(L, L[H36M17.bone_twins], atol=1e-6)
    L0 = np.linalg.norm(raw.poses_3d[0][CHI] - raw.poses_3d[0][PAR], axis=-1)
    np.testing.assert_allclose(L, 0.5 * (L0 + L0[H36M17.bone_twins]), atol=1e-5)   # the pose's own lengths
    none = Detection(np.full((17, 2), np.nan, np.float32), np.zeros(17, np.float32), False)
    seq, _ = process_photo(img, none, lifter)
    assert not seq.valid[0] and np.isnan(seq.poses_3d).all()

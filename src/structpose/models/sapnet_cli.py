"""SAP-Net inside the product's photo path (``structpose image --model sapnet``).

The MediaPipe detection only supplies the person's box; SAP-Net then predicts 2D keypoints, scores
and the 3D pose from the pixels.  The shipped weights were trained on renders of real mocap (a
stand-in for Human3.6M / MPII), so on real photos expect coarse poses: see docs/sapnet_results.md.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from .sapnet import load_pretrained, predict


@lru_cache(maxsize=1)
def _model() -> tuple[Any, float]:
    net, bone_sum, _ = load_pretrained()
    return net, bone_sum


def sapnet_on_detection(image_bgr: np.ndarray, detection: Any, focal: float) -> tuple[np.ndarray, Any]:
    """BGR photo + a detection (``keypoints`` (17, 2), ``scores``) -> (camera-frame pose (17, 3) m,
    the detection with SAP-Net's keypoints and scores)."""
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB) if image_bgr.ndim == 3 else cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2RGB)
    ok = np.isfinite(detection.keypoints).all(-1)
    kp = detection.keypoints[ok]
    box = np.concatenate([kp.min(0), kp.max(0)]).astype(np.float32)
    net, bone_sum = _model()
    out = predict(net, rgb, box, bone_sum=bone_sum, focal=focal)
    det = replace(detection, keypoints=out["keypoints_2d"], scores=np.clip(out["scores"], 0, 1).astype(np.float32))
    return out["pose_cam"], det

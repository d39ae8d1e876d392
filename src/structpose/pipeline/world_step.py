"""The pipeline's last step: a pose sequence in the camera frame gains its world frame
(:func:`structpose.world.to_world`): ``poses_world``, ``contacts``, ``floor``, ``world_from_camera`` and
``meta["world"]`` in the pose file (:mod:`structpose.io.posefile`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..world import DEFAULT_HEIGHT_M, to_world

if TYPE_CHECKING:
    from ..io.posefile import PoseSequence


def attach_world(seq: PoseSequence, height: float = DEFAULT_HEIGHT_M, mode: str = "bidirectional") -> PoseSequence:
    """Fill ``seq``'s world keys in place and return it.  ``mode`` "online": causal path, contacts and
    pinning (the floor and frame are fitted on the whole sequence either way).  A sequence without a
    valid pose gets only ``meta["world"]["status"]`` (a fallback); other fallbacks keep ``poses_world``
    (camera frame turned Y up) and ``world_from_camera`` but no floor or contacts."""
    if not seq.valid.any():
        seq.meta["world"] = {"status": "fallback: no valid pose", "height_m": float(height), "scale": None,
                             "floor_rms_m": None, "contact_threshold": None}
        return seq
    w = to_world(seq.poses_3d, seq.fps, height=height, mode=mode)
    poses = w.poses_world.copy()
    poses[~seq.valid] = np.nan
    seq.poses_world, seq.world_from_camera = poses, w.world_from_camera
    seq.floor = w.floor
    if w.contacts is not None:
        c = w.contacts.copy()
        c[~seq.valid] = np.nan
        seq.contacts = c
    seq.meta["world"] = w.meta
    seq.validate()
    return seq

"""MPII Human Pose annotations as the hourglass / Zhou / HRNet code ships them (JSON).

``train.json`` / ``valid.json``: a list of ``{"image": "015601864.jpg", "joints": [[x, y] x 16],
"joints_vis": [16 x 0|1], "center": [x, y], "scale": s}``; ``scale`` is the person's height / 200
px.  Coordinates are copied from MPII's MATLAB release and are **1-based**: ``one_based=True``
(default) subtracts 1, as HRNet does.  Unannotated joints have ``joints_vis`` 0 and placeholder
coordinates; they become NaN.  The older ``mpii_annotations.json`` of pytorch-pose (``img_paths``,
``joint_self`` (16, 3), ``objpos``, ``scale_provided``, ``img_width``, ``img_height``,
``isValidation``) is read too.

Joints are MPII-16 (R-ankle ... L-wrist), mapped to H36M-17 with ``skeleton.convert``'s table:
MPII's upper neck stands in for H36M's neck/nose and the spine is synthesised half-way between
pelvis and thorax (score reduced, see :mod:`structpose.data.keypoints`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import StructposeError
from ...skeleton import H36M17, MPII16, conversion_matrix
from ..keypoints import map_to_h36m
from ._common import ImageAnnotations, as_float_array, bad, bbox_from_joints, check_file, reading

_EXPECT = 'MPII JSON: a list of {"image", "joints" (16, 2), "joints_vis" (16), "center", "scale"}'


def is_mpii_record(rec: Any) -> bool:
    return isinstance(rec, dict) and (
        {"joints", "joints_vis", "image"} <= rec.keys() or {"joint_self", "img_paths"} <= rec.keys())


def parse(records: Any, one_based: bool = True) -> ImageAnnotations:
    """Parsed JSON (list of dicts) -> :class:`ImageAnnotations` in H36M-17 pixels (0-based)."""
    if not isinstance(records, list) or not records:
        raise bad("top level is not a non-empty list of image records")
    names, joints, vis, centers, scales, split = [], [], [], [], [], []
    for i, r in enumerate(records):
        if not is_mpii_record(r):
            got = ", ".join(map(str, r)) if isinstance(r, dict) else type(r).__name__
            raise bad(f"record {i} is not an MPII annotation (has: {got})")
        if "joint_self" in r:                      # pytorch-pose's mpii_annotations.json
            js = as_float_array(r["joint_self"], f"record {i} joint_self", (3,))
            j, v = js[:, :2], js[:, 2]
            c, s, name = r["objpos"], r["scale_provided"], r["img_paths"]
            split.append(bool(r.get("isValidation", 0)))
        else:
            j = as_float_array(r["joints"], f"record {i} joints", (2,))
            v = as_float_array(r["joints_vis"], f"record {i} joints_vis").reshape(-1)
            c, s, name = r.get("center", [np.nan, np.nan]), r.get("scale", np.nan), r["image"]
        if j.shape != (16, 2) or v.shape != (16,):
            raise bad(f"record {i} has {j.shape[0]} joints; expected 16 (MPII order)")
        if np.isnan(j[v > 0]).any():
            raise bad(f"record {i} has NaN coordinates for annotated joints")
        names.append(str(name))
        joints.append(j)
        vis.append(v)
        centers.append(as_float_array(c, f"record {i} center").reshape(2))
        scales.append(float(as_float_array(s, f"record {i} scale").reshape(())))
    j = np.stack(joints) - (1.0 if one_based else 0.0)
    v = np.clip(np.stack(vis), 0, 1)
    xy, sc = map_to_h36m(j, v, conversion_matrix(MPII16.name, H36M17.name))
    center = np.stack(centers) - (1.0 if one_based else 0.0)
    ann = ImageAnnotations(dataset="mpii", images=np.array(names), joints_2d=xy, visible=sc,
                           center=center.astype(np.float32), scale=np.array(scales, np.float32),
                           bbox=bbox_from_joints(xy).astype(np.float32))
    return ann


def load_images(path: str | Path, one_based: bool = True) -> ImageAnnotations:
    """Read an MPII JSON file (see module docstring)."""
    path = check_file(path, "an MPII annotation JSON")
    with reading(path, "MPII JSON", _EXPECT):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if not (isinstance(data, list) and data and is_mpii_record(data[0])):
            raise StructposeError(f"{path}: not an MPII annotation list; expected {_EXPECT}")
        return parse(data, one_based)

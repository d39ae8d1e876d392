"""COCO person keypoints (JSON), ground truth or detector results.

Ground truth (``person_keypoints_*.json``): ``{"images": [{id, file_name, width, height}],
"annotations": [{image_id, category_id, keypoints: [x1, y1, v1, ... x17, y17, v17], bbox: [x, y, w, h],
area, iscrowd, num_keypoints}], "categories": [...]}`` with v = 0 unlabelled (x = y = 0), 1 labelled
but occluded, 2 visible.  A labelled joint's position is exact whether or not it is occluded, so
v = 1 and v = 2 both give score 1; v = 0 gives NaN and score 0.
Detector results (the COCO results format, also what many pose estimators write):
``[{"image_id", "category_id", "keypoints": [x, y, c] x 17, "score"}]``; c is a confidence,
clipped to [0, 1].

As a *sequence* (a video's frames as COCO images, for ``structpose lift``): frames are the images in
order of ``id`` (results files: sorted ``image_id``); per frame the one person kept is the
highest-scoring (results) or largest-area non-crowd annotation (ground truth); frames without one
are all-NaN.  Joints are COCO-17, mapped to H36M-17 by ``skeleton.convert``'s table (pelvis,
thorax, spine and head top synthesised, with reduced scores; see :mod:`structpose.data.keypoints`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import StructposeError
from ...skeleton import COCO17, H36M17, conversion_matrix
from ..keypoints import Keypoints2D, map_to_h36m
from ._common import ImageAnnotations, as_float_array, bad, check_file, image_size, reading

_EXPECT = "COCO keypoints JSON: {images, annotations[i].keypoints (51 numbers)} or a results list"


def is_coco(data: Any) -> bool:
    if isinstance(data, dict):
        anns = data.get("annotations")
        return isinstance(anns, list) and (not anns or (isinstance(anns[0], dict) and "keypoints" in anns[0]))
    return (isinstance(data, list) and bool(data) and isinstance(data[0], dict)
            and {"image_id", "keypoints"} <= data[0].keys())


def _kps(ann: dict, i: int, results: bool) -> tuple[np.ndarray, np.ndarray]:
    k = as_float_array(ann.get("keypoints"), f"annotation {i} keypoints").reshape(-1)
    if k.size != 51:
        raise bad(f"annotation {i} has {k.size} keypoint numbers; expected 51 (17 x, y, v)")
    k = k.reshape(17, 3)
    if np.isnan(k).any():
        raise bad(f"annotation {i} keypoints hold NaN")
    conf = np.clip(k[:, 2], 0, 1) if results else (k[:, 2] > 0).astype(float)
    return k[:, :2], conf


def _parse(data: Any) -> tuple[list, dict, bool]:
    """-> (image entries [(id, name, w, h)], {image_id: [annotation]}, results?)"""
    if not is_coco(data):
        raise bad("no person keypoint annotations")
    results = isinstance(data, list)
    anns = data if results else data["annotations"]
    images: list[tuple[Any, str, int | None, int | None]] = []
    if not results:
        for im in data.get("images", []) or []:
            if not isinstance(im, dict) or "id" not in im:
                raise bad("an images entry lacks 'id'")
            w, h = im.get("width"), im.get("height")
            if w is not None and h is not None:
                w, h = image_size(w, h, f"image {im['id']!r}")
            else:
                w = h = None
            images.append((im["id"], str(im.get("file_name", im["id"])), w, h))
    by_image: dict[Any, list] = {}
    for i, a in enumerate(anns):
        if not isinstance(a, dict) or "image_id" not in a:
            raise bad(f"annotation {i} lacks 'image_id'")
        by_image.setdefault(a["image_id"], []).append((i, a))
    if not images:
        images = [(iid, str(iid), None, None) for iid in sorted(by_image, key=_sort_key)]
    else:
        images.sort(key=lambda t: _sort_key(t[0]))
    return images, by_image, results


def _sort_key(x: Any) -> tuple:
    return (0, x, "") if isinstance(x, (int, float)) else (1, 0, str(x))


def load_sequence(path: str | Path) -> Keypoints2D:
    """The file's images as one frame sequence of the main person (see module docstring)."""
    path = check_file(path, "a COCO keypoints JSON")
    with reading(path, "COCO keypoints", _EXPECT):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        images, by_image, results = _parse(data)
        T = len(images)
        xy = np.full((T, 17, 2), np.nan)
        conf = np.zeros((T, 17))
        for t, (iid, _, _, _) in enumerate(images):
            cands = [(i, a) for i, a in by_image.get(iid, []) if not a.get("iscrowd", 0)]
            if not cands:
                continue
            if results:
                i, a = max(cands, key=lambda c: float(c[1].get("score", 0.0)))
            else:
                i, a = max(cands, key=lambda c: float(c[1].get("area", 0.0) or _bbox_area(c[1])))
            xy[t], conf[t] = _kps(a, i, results)
        out_xy, out_sc = map_to_h36m(xy, conf, conversion_matrix(COCO17.name, H36M17.name))
        sizes = {(w, h) for _, _, w, h in images if w is not None and h is not None}
        if len(sizes) > 1:
            from ...errors import warn
            warn(f"{path}: images of {len(sizes)} different sizes ({', '.join(f'{w}x{h}' for w, h in sorted(sizes)[:4])}"
                 f"{', ...' if len(sizes) > 4 else ''}) read as one sequence without an image size; the root position "
                 "is guessed from the keypoints (give --image-size if they share a camera)")
        return Keypoints2D(xy=out_xy, scores=out_sc, image_size=sizes.pop() if len(sizes) == 1 else None,
                           fps=None, name=path.stem,
                           meta={"source": "coco", "images": [n for _, n, _, _ in images],
                                 "results_file": results})


def _bbox_area(a: dict) -> float:
    b = a.get("bbox")
    try:
        return float(b[2]) * float(b[3])
    except (TypeError, IndexError, ValueError):
        return 0.0


def load_images(path: str | Path) -> ImageAnnotations:
    """Every non-crowd person annotation as one record (H36M-17 pixels, bbox from the file)."""
    path = check_file(path, "a COCO keypoints JSON")
    with reading(path, "COCO keypoints", _EXPECT):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        images, by_image, results = _parse(data)
        names = {iid: n for iid, n, _, _ in images}
        recs = [(names.get(a["image_id"], str(a["image_id"])), i, a)
                for iid in by_image for i, a in by_image[iid] if not a.get("iscrowd", 0)]
        if not recs:
            raise StructposeError(f"{path}: no non-crowd person annotations")
        kp = [_kps(a, i, results) for _, i, a in recs]
        xy, sc = map_to_h36m(np.stack([k[0] for k in kp]), np.stack([k[1] for k in kp]),
                             conversion_matrix(COCO17.name, H36M17.name))
        bbox = np.stack([as_float_array(a.get("bbox", [np.nan] * 4), f"annotation {i} bbox").reshape(4)
                         for _, i, a in recs])
        center = bbox[:, :2] + bbox[:, 2:] / 2
        return ImageAnnotations(dataset="coco", images=np.array([n for n, _, _ in recs]), joints_2d=xy,
                                visible=sc, center=center.astype(np.float32),
                                scale=(np.max(bbox[:, 2:], axis=1) / 200).astype(np.float32),
                                bbox=bbox.astype(np.float32))

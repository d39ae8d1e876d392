"""Qualisys Track Manager calibration (``*.qca.txt``, XML), as Pose2Sim ships it.

Layout read here::

    <calibration ...>
      <cameras>
        <camera active="1" serial="cam01" viewrotation="0" ...>
          <fov_video left="0" top="0" right="1087" bottom="1919"/>
          <transform x=".." y=".." z=".." r11=".." ... r33=".."/>
          <intrinsic focalLengthU=".." focalLengthV=".." centerPointU=".." centerPointV=".."
                     radialDistortion1..3=".." tangentalDistortion1..2=".." skew=".." .../>
        </camera> ...

Units and conventions (the second one measured, not assumed):

* **Intrinsics are in sub-pixel units**: Qualisys cameras report 64 sub-pixels per pixel (the sensor
  span ``sensorMaxU`` = 69568 = 64 x 1087 for a 1088-pixel-wide video), so focal lengths and the
  principal point are divided by 64.  The image size is the ``fov_video`` box (inclusive bounds).
* **Position** ``x, y, z`` is the camera centre in the world, millimetres (-> metres).
* **Rotation** ``r11..r33`` is a world-to-camera matrix ``M`` whose camera frame has y up and looks
  down its -z axis (OpenGL style).  In structpose's camera frame (OpenCV: x right, y down, z forward)
  that is ``R = diag(1, -1, -1) @ M`` and ``t = -R @ centre``.  Evidence, on Pose2Sim's 4-camera
  calibration: with this ``R`` the 4 optical axes pass within 4-11 cm of one point ~3.5 m in front
  of every camera (the other readings leave that point behind the cameras or 0.4-3 m off the
  axes), the image y axis points to world -z (the lab's up is +z: people stand upright in the
  images), and MediaPipe's 2D triangulated with these cameras reprojects to a few pixels
  (``docs/real_pixels.md``; ``tests/test_qualisys.py`` checks the geometry).
* **Distortion**: ``radialDistortion1..3`` and ``tangentalDistortion1..2`` are used as OpenCV's
  ``k1, k2, k3, p1, p2`` (Pose2Sim's reading).  Qualisys's tangential sign convention is not documented
  here; on these cameras the tangential terms move a pixel by less than half a pixel.

Inactive cameras (``active="0"``) are skipped.  Missing cameras, missing or non-numeric fields and a
rotation that is not a rotation are one :class:`~structpose.errors.StructposeError` line.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ...cameras import Y_UP_FLIP, Camera
from ...errors import StructposeError
from ._common import check_file

SUBPIXELS = 64.0
#: Qualisys camera frame (y up, looking down -z) -> OpenCV camera frame (y down, z forward)
QUALISYS_TO_OPENCV = np.diag(Y_UP_FLIP)
_R_KEYS = [f"r{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3)]


def _num(path: Path, serial: str, el: ET.Element | None, tag: str, key: str) -> float:
    if el is None:
        raise StructposeError(f"{path}: Qualisys calibration, camera {serial!r} has no <{tag}> element; "
                              "expected <transform> and <intrinsic> per camera")
    raw = el.get(key)
    if raw is None:
        raise StructposeError(f"{path}: Qualisys calibration, camera {serial!r} <{tag}> lacks {key}=; "
                              "expected a number")
    try:
        v = float(raw)
    except ValueError:
        v = float("nan")
    if not np.isfinite(v):
        raise StructposeError(f"{path}: Qualisys calibration, camera {serial!r} <{tag} {key}={raw!r}> "
                              "is not a finite number")
    return v


def _rotation(path: Path, serial: str, M: np.ndarray) -> np.ndarray:
    err = np.abs(M @ M.T - np.eye(3)).max()
    det = float(np.linalg.det(M))
    if err > 1e-3 or abs(det - 1.0) > 1e-3:
        raise StructposeError(f"{path}: Qualisys calibration, camera {serial!r}: r11..r33 is not a rotation "
                              f"(|M M^T - I| = {err:.3g}, det = {det:.3g}); expected an orthonormal matrix, det +1")
    u, _, vt = np.linalg.svd(M)                   # remove the file's rounding: the nearest rotation
    return u @ vt


def read_qualisys(path: str | Path) -> dict[str, Camera]:
    """``*.qca.txt`` -> ``{serial: Camera}`` in file order (active cameras only), world in metres."""
    path = check_file(path, "a Qualisys calibration (.qca.txt)")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise StructposeError(f"{path}: not a Qualisys calibration (XML does not parse: {e})") from None
    except OSError as e:
        raise StructposeError(f"{path}: cannot read ({e.strerror or e})") from None
    if root.tag != "calibration":
        raise StructposeError(f"{path}: root element <{root.tag}>; a Qualisys calibration starts with <calibration>")
    cams: dict[str, Camera] = {}
    for k, el in enumerate(root.iter("camera")):
        if el.get("active", "1").strip() == "0":
            continue
        serial = el.get("serial") or f"camera{k + 1}"
        if serial in cams:
            raise StructposeError(f"{path}: Qualisys calibration names camera {serial!r} twice; serials must differ")
        if el.get("viewrotation", "0").strip() not in ("0", ""):
            raise StructposeError(f"{path}: camera {serial!r} has viewrotation={el.get('viewrotation')!r}; only "
                                  "unrotated views (viewrotation=\"0\") are supported")
        tr, intr, fov = el.find("transform"), el.find("intrinsic"), el.find("fov_video")
        M = np.array([_num(path, serial, tr, "transform", key) for key in _R_KEYS]).reshape(3, 3)
        centre = np.array([_num(path, serial, tr, "transform", key) for key in "xyz"]) / 1000.0
        R = QUALISYS_TO_OPENCV @ _rotation(path, serial, M)

        def q(key: str, serial: str = serial, intr: ET.Element | None = intr) -> float:
            return _num(path, serial, intr, "intrinsic", key)

        f = np.array([q("focalLengthU"), q("focalLengthV")]) / SUBPIXELS
        c = np.array([q("centerPointU"), q("centerPointV")]) / SUBPIXELS
        if np.any(f <= 0):
            raise StructposeError(f"{path}: camera {serial!r} has focal length {f.tolist()} px; expected positive")
        dist = np.array([q("radialDistortion1"), q("radialDistortion2"), q("tangentalDistortion1"),
                         q("tangentalDistortion2"), q("radialDistortion3")])
        if fov is not None:
            w = _num(path, serial, fov, "fov_video", "right") - _num(path, serial, fov, "fov_video", "left") + 1
            h = _num(path, serial, fov, "fov_video", "bottom") - _num(path, serial, fov, "fov_video", "top") + 1
        else:                                       # the sensor span, in sub-pixels
            w, h = q("sensorMaxU") / SUBPIXELS + 1, q("sensorMaxV") / SUBPIXELS + 1
        cams[serial] = Camera(R=R, t=-R @ centre, f=f, c=c, image_size=(round(w), round(h)), dist=dist)
    if not cams:
        raise StructposeError(f"{path}: Qualisys calibration lists no active <camera>; expected one per view")
    return cams

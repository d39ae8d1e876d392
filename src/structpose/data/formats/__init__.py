"""The field's dataset formats: a registry, format detection, and three public entry points.

=================  =====================================================  =========================
format             file                                                   gives
=================  =====================================================  =========================
``vp3d_3d``        VideoPose3D ``data_3d_h36m.npz``                       3D world (Z up), 50 fps
``vp3d_2d``        VideoPose3D ``data_2d_h36m_*.npz`` (+ ``custom``)      2D sequences
``mmpose_h36m``    mmpose ``h36m_{train,test}.npz`` (+ ``cameras.pkl``)   3D camera + 2D, images
``mpi_inf_3dhp``   3DHP ``annot.mat`` (train) / ``annot_data.mat`` (test)  3D camera + 2D, images
``mpii``           MPII JSON list (hourglass / Zhou / HRNet)              2D images
``coco``           COCO keypoints JSON (ground truth or results)          2D sequence, images
``openpose``       folder of OpenPose per-frame JSON (BODY_25, COCO-18)   2D sequence
``posefile``       structpose pose file (``.npz``)                        3D camera + 2D
``bvh``            BVH mocap (CMU-style, Mixamo, 3ds Max rigs)            3D world, own fps
``deepmimic``      DeepMimic motion ``.txt`` (JSON ``Frames``)            3D world (Y up), own fps
``amc``            ASF/AMC mocap (CMU), ``.asf`` skeleton beside it       3D world (Y up), 120 fps
=================  =====================================================  =========================

* :func:`load_motion_3d` -> ``list[Motion3D]`` (3D sequences, H36M-17 metres)
* :func:`load_keypoints_2d` -> ``list[Keypoints2D]`` (2D sequences, H36M-17 pixels; ``structpose lift``)
* :func:`load_image_annotations` -> :class:`ImageAnnotations` (per-image records for SAP-Net)

``fmt=None`` detects the format from the file (:func:`detect_format`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import StructposeError
from ..keypoints import Keypoints2D
from . import coco, mmpose_h36m, mpi_inf_3dhp, mpii, openpose, vp3d
from ._common import ImageAnnotations, Motion3D, npz_keys

__all__ = ["FORMATS", "ImageAnnotations", "Keypoints2D", "Motion3D", "detect_format", "load_image_annotations",
           "load_keypoints_2d", "load_motion_3d"]


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    has_3d: bool
    has_images: bool


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("vp3d_3d", "VideoPose3D data_3d_h36m.npz (32 joints, world, Z up)", True, False),
    Format("vp3d_2d", "VideoPose3D data_2d_h36m_*.npz incl. custom detector entries", False, False),
    Format("mmpose_h36m", "mmpose h36m_{train,test}.npz (+ cameras.pkl)", True, True),
    Format("mpi_inf_3dhp", "MPI-INF-3DHP annot.mat (train) or annot_data.mat (test, HDF5)", True, True),
    Format("mpii", "MPII annotation JSON list (hourglass / Zhou / HRNet)", False, True),
    Format("coco", "COCO keypoints JSON (ground truth or detector results)", False, True),
    Format("openpose", "folder of OpenPose per-frame JSON (BODY_25 or COCO-18)", False, False),
    Format("posefile", "structpose pose file (.npz)", True, False),
    Format("bvh", "BVH motion capture (CMU-style, Mixamo, 3ds Max rigs; see structpose.data.bvh)", True, False),
    Format("deepmimic", "DeepMimic motion .txt (JSON with Frames of 44 floats)", True, False),
    Format("amc", "ASF/AMC motion capture (CMU; the .asf skeleton beside the .amc)", True, False),
)}

_JSON_MARKERS = (("deepmimic", ('"Frames"',)), ("openpose", ('"pose_keypoints_2d"', '"people"')), ("coco", ('"keypoints"', '"image_id"')),
                 ("mpii", ('"joints_vis"',)), ("mpii", ('"joint_self"',)), ("openpose", ('"people"',)))


def _choices() -> str:
    return ", ".join(FORMATS)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise StructposeError(f"unknown format {fmt!r}; known formats: {_choices()}")
    return fmt


def detect_format(path: str | Path) -> str:
    """Name of the format of ``path`` (a file or an OpenPose folder); StructposeError if none fits."""
    path = Path(path)
    if not path.exists():
        raise StructposeError(f"{path}: no such file or folder")
    if path.is_dir():
        if any(p.suffix.lower() == ".json" for p in path.iterdir() if p.is_file()):
            return "openpose"
        raise StructposeError(f"{path}: folder holds no OpenPose .json files (expected one "
                              "<name>_<frame>_keypoints.json per frame)")
    if path.stat().st_size == 0:
        raise StructposeError(f"{path}: file is empty; expected one of: {_choices()}")
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if head[:4] == b"PK\x03\x04":
        keys = set(npz_keys(path))
        if not keys:
            raise StructposeError(f"{path}: truncated or corrupt .npz (zip) archive; re-create or re-download it")
        for fmt, needed in (("vp3d_3d", {"positions_3d"}), ("vp3d_2d", {"positions_2d"}),
                            ("mmpose_h36m", {"imgname", "part"}), ("posefile", {"poses_3d"})):
            if needed <= keys:
                return fmt
        raise StructposeError(f"{path}: .npz with members {', '.join(sorted(keys))} is no "
                              "known format (positions_3d, positions_2d, imgname+part+S, poses_3d)")
    if head[:10] == b"MATLAB 5.0" or head[:10] == b"MATLAB 7.3" or head[:8] == b"\x89HDF\r\n\x1a\n":
        return "mpi_inf_3dhp"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("HIERARCHY"):
        return "bvh"
    if text.startswith("#!OML") or ":FULLY-SPECIFIED" in text[:4096] or ":DEGREES" in text[:4096]:
        return "amc"
    if ":bonedata" in text[:1 << 16] and ":hierarchy" in text:
        raise StructposeError(f"{path}: an ASF skeleton holds no motion; give its .amc motion file")
    if text[:1] in ("{", "["):
        for fmt, markers in _JSON_MARKERS:
            if all(m in text for m in markers):
                return fmt
        if len(head) == 1 << 20:            # big file (COCO lists its images first): parse it whole
            fmt = _json_structure(path)
            if fmt:
                return fmt
        raise StructposeError(f"{path}: JSON without pose keypoints (no people/pose_keypoints_2d, "
                              "annotations/keypoints or joints/joints_vis); not a motion file")
    if head[:2] == b"\x80\x04" or head[:2] == b"\x80\x02":
        raise StructposeError(f"{path}: a pickle (a camera file?); give camera pickles with --camera-file")
    raise StructposeError(f"{path}: unrecognised file; expected one of: {_choices()}")


def _json_structure(path: Path) -> str | None:
    import json
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if coco.is_coco(data):
        return "coco"
    if isinstance(data, list) and data and mpii.is_mpii_record(data[0]):
        return "mpii"
    return "openpose" if isinstance(data, dict) and "people" in data else None


def _posefile_motion(path: Path) -> list[Motion3D]:
    from ...io.posefile import load_pose_file
    from ._common import reading
    # load_pose_file lets some zip/zlib errors of corrupt archives through; guard them here
    with reading(path, "structpose pose file", "an .npz with poses_3d (T, 17, 3) and fps"):
        seq = load_pose_file(path)
    return [Motion3D(name=str(seq.meta.get("name", path.stem)), subject=str(seq.meta.get("subject", path.stem)),
                     action=str(seq.meta.get("action", "")), poses=seq.poses_3d, frame="camera", fps=seq.fps,
                     poses_2d=seq.poses_2d, scores=seq.scores, image_size=seq.image_size, valid=seq.valid,
                     meta={k: v for k, v in seq.meta.items() if k not in ("name", "subject", "action")})]


def load_motion_3d(path: str | Path, fmt: str | None = None, cameras: str | Path | None = None,
                   universal: bool = False) -> list[Motion3D]:
    """3D sequences of a file (H36M-17, metres).  ``cameras``: mmpose ``cameras.pkl`` (mmpose_h36m);
    ``universal``: 3DHP's height-normalised ``univ_annot3`` instead of ``annot3``."""
    fmt = check_format(fmt) if fmt else detect_format(path)
    if not FORMATS[fmt].has_3d:
        raise StructposeError(f"{path}: {fmt} holds only 2D keypoints; read it with load_keypoints_2d "
                              "(or `structpose data convert`, then `structpose lift`)")
    if fmt == "vp3d_3d":
        return vp3d.load_3d(path)
    if fmt == "mmpose_h36m":
        return mmpose_h36m.load_sequences(path, cameras)
    if fmt == "mpi_inf_3dhp":
        return mpi_inf_3dhp.load(path, universal)
    if fmt in ("bvh", "deepmimic", "amc"):
        return [_clip_motion(Path(path), fmt)]
    return _posefile_motion(Path(path))


def _clip_motion(path: Path, fmt: str) -> Motion3D:
    """A mocap file read by the real-motion loaders of :mod:`structpose.data` (Y-up world)."""
    from .. import asf_amc, bvh, deepmimic
    clip = bvh.load_bvh(path) if fmt == "bvh" else asf_amc.load_amc(path) if fmt == "amc" else \
        deepmimic.load_clip(path)
    return Motion3D(name=clip.name, subject=path.stem, action=path.stem, poses=np.asarray(clip.world, np.float32),
                    frame="world", up_axis="+y", fps=clip.fps, meta={"source_format": fmt})


def _from_motion(m: Motion3D) -> Keypoints2D:
    if m.poses_2d is None:
        raise StructposeError(f"{m.name}: sequence has no 2D keypoints")
    scores = m.scores if m.scores is not None else np.isfinite(m.poses_2d).all(-1).astype(np.float32)
    return Keypoints2D(xy=m.poses_2d, scores=scores, image_size=m.image_size, fps=m.fps, name=m.name,
                       meta={**m.meta, "subject": m.subject, "action": m.action, "camera": m.camera_name})


def _from_images(ann: ImageAnnotations, name: str) -> Keypoints2D:
    return Keypoints2D(xy=ann.joints_2d, scores=ann.visible, image_size=None, fps=None, name=name,
                       meta={"source": ann.dataset, "images": [str(s) for s in ann.images]})


def load_keypoints_2d(path: str | Path, fmt: str | None = None) -> list[Keypoints2D]:
    """2D keypoint sequences of a file or OpenPose folder (H36M-17 pixels, see Keypoints2D)."""
    fmt = check_format(fmt) if fmt else detect_format(path)
    if fmt == "coco":
        return [coco.load_sequence(path)]
    if fmt == "openpose":
        return [openpose.load_sequence(path)]
    if fmt == "vp3d_2d":
        return vp3d.load_2d(path)
    if fmt == "mpii":
        return [_from_images(mpii.load_images(path), Path(path).stem)]
    if fmt == "vp3d_3d":
        raise StructposeError(f"{path}: VideoPose3D 3D file holds no 2D keypoints; use its data_2d_*.npz")
    if fmt == "posefile":
        m = _posefile_motion(Path(path))[0]
        if m.poses_2d is None:
            raise StructposeError(f"{path}: pose file has no poses_2d; expected a file with 2D keypoints")
        return [_from_motion(m)]
    return [_from_motion(m) for m in load_motion_3d(path, fmt)]


def load_image_annotations(path: str | Path, fmt: str | None = None, cameras: str | Path | None = None,
                           universal: bool = False) -> ImageAnnotations:
    """Per-image records of an image dataset (mmpose_h36m, mpi_inf_3dhp, mpii, coco)."""
    fmt = check_format(fmt) if fmt else detect_format(path)
    if fmt == "mmpose_h36m":
        return mmpose_h36m.load_images(path, cameras)
    if fmt == "mpi_inf_3dhp":
        return mpi_inf_3dhp.load_images(path, universal)
    if fmt == "mpii":
        return mpii.load_images(path)
    if fmt == "coco":
        return coco.load_images(path)
    raise StructposeError(f"{path}: {fmt} is not an image dataset; image datasets: mmpose_h36m, "
                          "mpi_inf_3dhp, mpii, coco")

"""MPI-INF-3DHP (Mehta et al. 2017) annotations.

Training set, ``S{1-8}/Seq{1,2}/annot.mat`` (MATLAB v5, read with :mod:`._matv5`, which cannot
crash on corrupt files as ``scipy.io.loadmat`` can):
    ``annot2``, ``annot3``, ``univ_annot3`` are 14x1 cell arrays, one cell per camera, each
    ``(frames, 28 * k)`` with the 28 joints' coordinates interleaved (x1, y1[, z1], x2, ...);
    ``cameras`` lists the camera ids, ``frames`` the frame numbers.  ``annot3`` is the joints in
    **that camera's** frame (mm, x right, y down, z forward: ``annot2`` is its pinhole projection),
    ``univ_annot3`` the same rescaled to a universal skeleton height.  The 17 joints are the raw
    indices :data:`TRAIN_28_TO_17` in 3DHP-17 order (head top, neck, right arm, left arm, right leg,
    left leg, pelvis, spine, head), which ``skeleton.convert`` maps to H36M-17 (3DHP's neck is the
    joint between the shoulders -> thorax; its head -> neck/nose).  Videos are 2048x2048 at 25 fps.
Test set, ``TS1..TS6/annot_data.mat`` (MATLAB v7.3 = HDF5, read with h5py):
    ``annot2`` (N, 1, 17, 2), ``annot3`` / ``univ_annot3`` (N, 1, 17, 3) mm in the test camera's
    frame, ``valid_frame`` (N, 1), ``activity_annotation`` (N, 1) (1 standing/walking, 2 exercising,
    3 sitting, 4 reaching/crouching, 5 on the floor, 6 sports, 7 miscellaneous), ``bb_crop`` (N, 4)
    (h5py shows MATLAB's column-major arrays with reversed axes; any axis order is accepted).
    Joints are already 3DHP-17.  TS1-TS4: 2048x2048 at 25 fps; TS5, TS6: 1920x1080 at 50 fps.
Cameras: ``camera.calibration`` beside a training ``annot.mat`` (:func:`load_calibration`) is attached
to each camera's sequence; without it (and for the test set) ``camera`` is None — the 3D is already in
the camera frame and ``annot2`` gives the pixels.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...cameras import Camera
from ...errors import StructposeError
from ...skeleton import H36M17, MPIINF3DHP17, conversion_matrix, convert
from ..keypoints import map_to_h36m
from ._common import (
    ImageAnnotations,
    Motion3D,
    as_float_array,
    bad,
    bbox_from_joints,
    check_file,
    image_size,
    reading,
)
from ._matv5 import loadmat

TRAIN_28_TO_17 = (7, 5, 14, 15, 16, 9, 10, 11, 23, 24, 25, 18, 19, 20, 4, 3, 6)
TRAIN_FPS = 25.0
TRAIN_IMAGE_SIZE = (2048, 2048)
TEST_FPS = {"TS1": 25.0, "TS2": 25.0, "TS3": 25.0, "TS4": 25.0, "TS5": 50.0, "TS6": 50.0}
TEST_IMAGE_SIZE = {"TS1": (2048, 2048), "TS2": (2048, 2048), "TS3": (2048, 2048), "TS4": (2048, 2048),
                   "TS5": (1920, 1080), "TS6": (1920, 1080)}

_EXPECT_TRAIN = "3DHP annot.mat with 14x1 cell arrays annot2 (F, 56) and annot3/univ_annot3 (F, 84) in mm"
_EXPECT_TEST = "3DHP annot_data.mat (HDF5) with annot2, annot3, univ_annot3, valid_frame"


def _seq_name(path: Path, default: str) -> tuple[str, str]:
    """('S1', 'Seq1') from .../S1/Seq1/annot.mat; ('TS3', 'test') from .../TS3/annot_data.mat."""
    parts = path.resolve().parts
    subj = next((p for p in reversed(parts[:-1]) if re.fullmatch(r"S\d+|TS\d+", p)), default)
    seq = next((p for p in reversed(parts[:-1]) if re.fullmatch(r"Seq\d+", p)),
               "test" if subj.startswith("TS") else "seq")
    return subj, seq


def _cells(mat: dict, key: str, k: int) -> list[np.ndarray]:
    if key not in mat:
        raise bad(f"no '{key}' variable (variables: {', '.join(k for k in mat if not k.startswith('__'))})")
    cell = np.asarray(mat[key])
    items = list(cell.ravel()) if cell.dtype == object else [cell]
    out = []
    for c, arr in enumerate(items):
        arr = as_float_array(arr, f"{key}{{{c + 1}}}")
        if arr.ndim != 2 or arr.shape[1] != 28 * k or arr.shape[0] == 0:
            raise bad(f"{key}{{{c + 1}}} has shape {arr.shape}; expected (frames, {28 * k})")
        if np.isnan(arr).any():
            raise bad(f"{key}{{{c + 1}}} holds NaN")
        out.append(arr.reshape(arr.shape[0], 28, k)[:, list(TRAIN_28_TO_17)])
    return out


def load_calibration(path: str | Path) -> dict[str, Camera]:
    """A 3DHP ``camera.calibration`` ("Skeletool Camera Calibration File V1.0") -> {"cam<i>": Camera}.

    Per camera: ``name i``, ``sensor``, ``size W H``, ``animated 0``, ``intrinsic`` and ``extrinsic`` as
    row-major 4x4 (K padded; world -> camera ``[R | t]`` with t in mm), ``radial``.  The world is the
    studio's, in metres here.
    """
    path = check_file(path, "a 3DHP camera.calibration")
    cams: dict[str, Camera] = {}
    with reading(path, "3DHP camera calibration", "Skeletool Camera Calibration File V1.0 blocks"):
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines or not lines[0].strip().startswith("Skeletool Camera Calibration File"):
            raise bad("first line is not 'Skeletool Camera Calibration File V1.0'")
        blocks: list[dict[str, list[str]]] = []
        for line in lines[1:]:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "name":
                blocks.append({"name": parts[1:]})
            elif blocks:
                blocks[-1][parts[0]] = parts[1:]
        for b in blocks:
            if not {"size", "intrinsic", "extrinsic"} <= b.keys():
                raise bad(f"camera {' '.join(b['name'])} lacks size, intrinsic or extrinsic")
            K = as_float_array([float(v) for v in b["intrinsic"]], "intrinsic").reshape(4, 4)
            E = as_float_array([float(v) for v in b["extrinsic"]], "extrinsic").reshape(4, 4)
            if not np.allclose(E[:3, :3] @ E[:3, :3].T, np.eye(3), atol=1e-3) or K[0, 0] <= 0 or K[1, 1] <= 0:
                raise bad(f"camera {' '.join(b['name'])} has a non-rotation extrinsic or a bad focal length")
            w, h = (float(v) for v in b["size"][:2])
            cams[f"cam{b['name'][0]}"] = Camera(R=E[:3, :3], t=E[:3, 3] / 1000.0, f=K[[0, 1], [0, 1]],
                                                c=K[[0, 1], [2, 2]], image_size=image_size(w, h, "camera"))
    if not cams:
        raise StructposeError(f"{path}: no cameras in the calibration file")
    return cams


def load_train(path: str | Path, universal: bool = False) -> list[Motion3D]:
    """One camera-frame sequence per camera of a training ``annot.mat`` (H36M-17, metres).

    With ``camera.calibration`` beside it (as the dataset ships it), each sequence carries its camera.
    """
    path = check_file(path, "an MPI-INF-3DHP annot.mat")
    subject, seq = _seq_name(path, "S?")
    calib = path.parent / "camera.calibration"
    cameras = load_calibration(calib) if calib.is_file() else {}
    out = []
    with reading(path, "MPI-INF-3DHP train", _EXPECT_TRAIN):
        mat = loadmat(path)
        a2 = _cells(mat, "annot2", 2)
        a3 = _cells(mat, "univ_annot3" if universal else "annot3", 3)
        if len(a2) != len(a3) or any(x.shape[0] != y.shape[0] for x, y in zip(a2, a3)):
            raise bad("annot2 and annot3 disagree in cameras or frames")
        cams = np.asarray(mat.get("cameras", np.arange(len(a3)))).ravel()
        if cams.size != len(a3):
            cams = np.arange(len(a3))
        for c, (p2, p3) in enumerate(zip(a2, a3)):
            xy, sc = map_to_h36m(p2, np.ones(p2.shape[:2]), conversion_matrix(MPIINF3DHP17.name, H36M17.name))
            cam = f"cam{int(cams[c])}"
            out.append(Motion3D(
                name=f"{subject}/{seq}/{cam}", subject=subject, action=seq, camera_name=cam,
                camera=cameras.get(cam),
                poses=(convert(p3, MPIINF3DHP17.name, H36M17.name) / 1000.0).astype(np.float32),
                frame="camera", fps=TRAIN_FPS, poses_2d=xy, scores=sc, image_size=TRAIN_IMAGE_SIZE,
                meta={"source": "mpi_inf_3dhp_train", "universal_skeleton": universal}))
    return out


def _h5_joints(f, key: str, k: int, n: int | None) -> np.ndarray:
    """(N, 17, k) from h5py's (N, 1, 17, k); also (N, 17, k) and the un-reversed (k, 17, 1, N)."""
    if key not in f:
        raise bad(f"no '{key}' dataset (datasets: {', '.join(f.keys())})")
    arr = as_float_array(f[key][()], key)
    if arr.ndim == 4 and arr.shape[1:] == (1, 17, k):
        a = arr[:, 0]
    elif arr.ndim == 3 and arr.shape[1:] == (17, k):
        a = arr
    elif arr.ndim == 4 and arr.shape[:3] == (k, 17, 1):
        a = np.transpose(arr[:, :, 0], (2, 1, 0))
    else:
        raise bad(f"{key} has shape {arr.shape}; expected (N, 1, 17, {k})")
    if a.shape[0] == 0 or (n is not None and a.shape[0] != n):
        raise bad(f"{key} has {a.shape[0]} frames" + (f", other datasets {n}" if n is not None else ""))
    if np.isnan(a).any():
        raise bad(f"{key} holds NaN")
    return a


def load_test(path: str | Path, universal: bool = False) -> list[Motion3D]:
    """A test ``annot_data.mat`` as one camera-frame sequence with ``valid`` = ``valid_frame``."""
    import h5py
    path = check_file(path, "an MPI-INF-3DHP annot_data.mat")
    subject, _ = _seq_name(path, "TS?")
    with reading(path, "MPI-INF-3DHP test", _EXPECT_TEST):
        with h5py.File(path, "r") as f:
            a3 = _h5_joints(f, "univ_annot3" if universal else "annot3", 3, None)
            n = a3.shape[0]
            a2 = _h5_joints(f, "annot2", 2, n)
            valid = _flat(f, "valid_frame", n, 1).astype(bool).reshape(n)
            activity = _flat(f, "activity_annotation", n, 1).reshape(n).astype(int) \
                if "activity_annotation" in f else None
            bb = _flat(f, "bb_crop", n, 4) if "bb_crop" in f else None
        xy, sc = map_to_h36m(a2, np.ones(a2.shape[:2]), conversion_matrix(MPIINF3DHP17.name, H36M17.name))
        poses = (convert(a3, MPIINF3DHP17.name, H36M17.name) / 1000.0).astype(np.float32)
        meta = {"source": "mpi_inf_3dhp_test", "universal_skeleton": universal}
        if activity is not None:
            meta["activity"] = activity.tolist()
        if bb is not None:
            meta["bb_crop"] = bb.tolist()
        return [Motion3D(name=f"{subject}", subject=subject, action="test", poses=poses, frame="camera",
                         fps=TEST_FPS.get(subject), poses_2d=xy, scores=sc,
                         image_size=TEST_IMAGE_SIZE.get(subject), valid=valid, meta=meta)]


def _flat(f, key: str, n: int, k: int) -> np.ndarray:
    if key not in f:
        raise bad(f"no '{key}' dataset (datasets: {', '.join(f.keys())})")
    arr = as_float_array(f[key][()], key)
    if arr.size != n * k:
        raise bad(f"{key} has {arr.size} values; expected {n * k} ({n} frames x {k})")
    if k == 1:
        return arr.reshape(n)
    # (N, 4) as h5py shows it, or (4, N) when written the other way round
    return arr.reshape(n, k) if arr.shape[0] == n or arr.ndim == 1 else arr.reshape(k, n).T


def load(path: str | Path, universal: bool = False) -> list[Motion3D]:
    """Train (``annot.mat``) or test (``annot_data.mat``) file, told apart by its container."""
    import h5py
    path = check_file(path, "an MPI-INF-3DHP annot.mat or annot_data.mat")
    try:
        is_h5 = h5py.is_hdf5(str(path))
    except (OSError, ValueError):
        is_h5 = False
    return load_test(path, universal) if is_h5 else load_train(path, universal)


def load_images(path: str | Path, universal: bool = False) -> ImageAnnotations:
    """Per-frame image records (all cameras of a training file, valid frames of a test file).

    Image names follow the frame extraction most code uses:
    ``<S>/<Seq>/imageFrames/video_<cam>/frame_<000001>.jpg`` and ``<TS>/imageSequence/img_<000001>.jpg``.
    """
    seqs = load(path, universal)
    names, xy, vis, j3, keys = [], [], [], [], []
    for s in seqs:
        keep = np.ones(s.num_frames, bool) if s.valid is None else s.valid
        idx = np.nonzero(keep)[0]
        if s.subject.startswith("TS"):
            names += [f"{s.subject}/imageSequence/img_{i + 1:06d}.jpg" for i in idx]
        else:
            cam = (s.camera_name or "cam0").removeprefix("cam")
            names += [f"{s.subject}/{s.action}/imageFrames/video_{cam}/frame_{i + 1:06d}.jpg" for i in idx]
        xy.append(s.poses_2d[idx])
        vis.append(s.scores[idx])
        j3.append(s.poses[idx])
        keys += [s.camera_name or ""] * len(idx)
    if not names:
        raise StructposeError(f"{path}: no valid frames")
    xy_a = np.concatenate(xy)
    box = bbox_from_joints(xy_a)
    center = box[:, :2] + box[:, 2:] / 2
    return ImageAnnotations(dataset="mpi_inf_3dhp", images=np.array(names), joints_2d=xy_a,
                            visible=np.concatenate(vis), center=center.astype(np.float32),
                            scale=(np.max(box[:, 2:], axis=1) * 1.2 / 200).astype(np.float32),
                            bbox=box.astype(np.float32), joints_3d=np.concatenate(j3), camera_keys=np.array(keys),
                            cameras={s.camera_name: s.camera for s in seqs if s.camera is not None and s.camera_name})

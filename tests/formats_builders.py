"""Write tiny files in exactly the field's formats (key names, nesting, dtypes, pickles, MATLAB
cells, HDF5 layout), so the readers can be tested without the (undownloadable) datasets.

Motion comes from real DeepMimic clips; coordinates are written the way each dataset stores them.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import h5py
import numpy as np
import scipy.io

# raw Human3.6M 32-joint indices of the 17 joints, in H36M-17 order (VideoPose3D's list)
RAW17 = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
# 3DHP's 28 joints -> its 17 (head top, neck, R arm, L arm, R leg, L leg, pelvis, spine, head)
RAW3DHP = [7, 5, 14, 15, 16, 9, 10, 11, 23, 24, 25, 18, 19, 20, 4, 3, 6]
Y_UP_TO_Z_UP = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])   # (x, y, z) -> (x, -z, y)


def embed32(poses17: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 17, 3) -> (T, 32, 3) float32 with the 17 at their raw indices and junk elsewhere."""
    out = rng.normal(size=(poses17.shape[0], 32, 3)).astype(np.float32) * 10
    out[:, RAW17] = poses17
    return out


def write_vp3d_3d(path: Path, data: dict) -> Path:
    """``data`` = {subject: {action: (T, 32, 3)}} world metres, Z up; as prepare_data_h36m.py saves it."""
    np.savez_compressed(path, positions_3d=data)
    return path


def write_vp3d_2d(path: Path, positions: dict, layout: str = "h36m", video_metadata: dict | None = None) -> Path:
    if layout == "coco":
        meta = {"layout_name": "coco", "num_joints": 17,
                "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]]}
    else:
        meta = {"layout_name": "h36m", "num_joints": 17,
                "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    if video_metadata is not None:
        meta["video_metadata"] = video_metadata
    np.savez_compressed(path, positions_2d=positions, metadata=meta)
    return path


def mmpose_camera(R_c2w: np.ndarray, centre: np.ndarray, f=(1145.0, 1144.0), c=(512.5, 515.4),
                  w=1000, h=1002, cid="54138969", index=0) -> dict:
    return {"R": R_c2w, "T": np.asarray(centre, float).reshape(3, 1), "c": np.array(c).reshape(2, 1),
            "f": np.array(f).reshape(2, 1), "k": np.zeros((3, 1)), "p": np.zeros((2, 1)),
            "w": w, "h": h, "name": f"camera{index + 1}", "id": cid}


def write_pickle(path: Path, obj: object) -> Path:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh)
    return path


def write_mmpose(path: Path, imgname, center, scale, part, S) -> Path:
    np.savez(path, imgname=np.array(imgname), center=np.asarray(center), scale=np.asarray(scale),
             part=np.asarray(part), S=np.asarray(S))
    return path


def cell(arrays: list[np.ndarray]) -> np.ndarray:
    """A MATLAB cell array of shape (n, 1)."""
    c = np.empty((len(arrays), 1), dtype=object)
    for i, a in enumerate(arrays):
        c[i, 0] = a
    return c


def write_3dhp_train(path: Path, annot2: list[np.ndarray], annot3: list[np.ndarray],
                     univ: list[np.ndarray] | None = None) -> Path:
    """Per camera: annot2 (F, 28, 2) pixels, annot3 (F, 28, 3) mm -> flattened rows as in annot.mat."""
    path.parent.mkdir(parents=True, exist_ok=True)
    F = annot3[0].shape[0]
    scipy.io.savemat(str(path), {
        "annot2": cell([a.reshape(F, -1) for a in annot2]),
        "annot3": cell([a.reshape(F, -1) for a in annot3]),
        "univ_annot3": cell([a.reshape(F, -1) for a in (univ or annot3)]),
        "cameras": np.arange(len(annot3))[None, :].astype(np.float64),
        "frames": np.arange(F)[:, None].astype(np.float64),
    })
    return path


def write_3dhp_test(path: Path, annot2: np.ndarray, annot3: np.ndarray, valid: np.ndarray,
                    activity: np.ndarray, bb: np.ndarray) -> Path:
    """MATLAB v7.3 file: HDF5 with a 512-byte MATLAB userblock; arrays as h5py shows them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    N = annot3.shape[0]
    with h5py.File(path, "w", userblock_size=512) as f:
        for key, arr in (("annot2", annot2[:, None]), ("annot3", annot3[:, None]), ("univ_annot3", annot3[:, None]),
                         ("valid_frame", valid.reshape(1, N).astype(np.float64)),
                         ("activity_annotation", activity.reshape(1, N).astype(np.float64)),
                         ("bb_crop", bb.T.astype(np.float64))):     # MATLAB N x 4 appears as (4, N)
            d = f.create_dataset(key, data=np.asarray(arr, np.float64))
            d.attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM")
    return path


def write_json(path: Path, obj: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def openpose_frame(people: list[np.ndarray]) -> dict:
    """people: (J, 3) arrays -> an OpenPose 1.3 frame dict."""
    return {"version": 1.3, "people": [
        {"person_id": [-1], "pose_keypoints_2d": p.reshape(-1).tolist(), "face_keypoints_2d": [],
         "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [], "pose_keypoints_3d": [],
         "face_keypoints_3d": [], "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": []} for p in people]}


def project(cam_poses: np.ndarray, f: float = 1000.0, c=(500.0, 500.0)) -> np.ndarray:
    """Pinhole projection computed here, independently of structpose.cameras."""
    return cam_poses[..., :2] / cam_poses[..., 2:3] * f + np.asarray(c)


def write_3dhp_calibration(path: Path, cams: list[tuple[np.ndarray, np.ndarray, float, tuple[float, float]]],
                           size=(2048, 2048)) -> Path:
    """3DHP's camera.calibration as its C++ writer lays it out: R (3, 3), t (3,) mm, f, (cx, cy)."""
    lines = ["Skeletool Camera Calibration File V1.0"]
    for i, (R, t, f, c) in enumerate(cams):
        K = np.array([[f, 0, c[0], 0], [0, f, c[1], 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        E = np.eye(4)
        E[:3, :3], E[:3, 3] = R, t
        lines += [f"name          {i}", "  sensor      10 10", f"  size        {size[0]} {size[1]}",
                  "  animated    0", "  intrinsic   " + " ".join(f"{v:.10g}" for v in K.ravel()) + " ",
                  "  extrinsic   " + " ".join(f"{v:.10g}" for v in E.ravel()) + " ", "  radial      0"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path

"""OpenPose ``--write_json`` output: a folder with one JSON per frame.

Each file (``<video>_<000000000012>_keypoints.json``) is ``{"version": 1.3, "people": [{"person_id":
[-1], "pose_keypoints_2d": [x, y, c] * J, "face_keypoints_2d": [...], ...}]}`` with J = 25 (BODY_25,
the default model) or 18 (COCO-18).  Undetected joints are (0, 0, 0).  Frames are ordered by the
number in the file name (the last run of digits), falling back to name order.

Mapping to H36M-17 (tables below): pelvis = BODY_25's MidHip (COCO-18: mean of the hips, synthesised),
thorax = OpenPose's Neck (the mid-shoulder point), neck/nose = Nose, spine = mean of hips and
shoulders, head top = nose + 0.6 (nose - mid-shoulders) as in ``skeleton``'s COCO table.

One person is followed through the clip: on the first frame with people, the one with the highest
summed confidence; afterwards the one closest (mean distance over joints seen in both) to the last
kept pose.  Frames without people are all-NaN (score 0), and so are frames absent from the folder: the
time axis follows the frame numbers (frames 0-9 and 30-59 give 60 frames, 10-29 missing).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ...errors import StructposeError
from ..keypoints import JointTable, Keypoints2D, map_to_h36m, table_to_matrix
from ._common import MAX_ABS, bad, reading

BODY25 = ("nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
          "mid_hip", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye",
          "r_ear", "l_ear", "l_big_toe", "l_small_toe", "l_heel", "r_big_toe", "r_small_toe", "r_heel")
COCO18 = ("nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
          "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear")

_LIMBS = {n: {n: 1.0} for n in ("r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "l_shoulder",
                                "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist")}
_COMMON: JointTable = {
    **_LIMBS,
    "thorax": {"neck": 1.0},
    "neck_nose": {"nose": 1.0},
    "spine": {"l_hip": 0.25, "r_hip": 0.25, "l_shoulder": 0.25, "r_shoulder": 0.25},
    "head_top": {"nose": 1.6, "l_shoulder": -0.3, "r_shoulder": -0.3},
}
TABLES: dict[int, tuple[tuple[str, ...], JointTable]] = {
    25: (BODY25, {**_COMMON, "pelvis": {"mid_hip": 1.0}}),
    18: (COCO18, {**_COMMON, "pelvis": {"l_hip": 0.5, "r_hip": 0.5}}),
}

_EXPECT = "a folder of OpenPose per-frame JSON files with people[i].pose_keypoints_2d (BODY_25 or COCO-18)"


def frame_files(folder: Path) -> list[Path]:
    """The per-frame JSON files of an OpenPose output folder, in frame order."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".json"]

    def key(p: Path) -> tuple:
        nums = re.findall(r"\d+", p.stem)
        return (int(nums[-1]) if nums else -1, p.name)
    return sorted(files, key=key)


def _people(path: Path) -> list[np.ndarray]:
    with reading(path, "OpenPose JSON", _EXPECT):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise bad("no 'people' list")
        out = []
        for i, p in enumerate(data["people"]):
            if not isinstance(p, dict) or "pose_keypoints_2d" not in p:
                raise bad(f"people[{i}] has no pose_keypoints_2d")
            k = np.asarray(p["pose_keypoints_2d"], dtype=np.float64).reshape(-1)
            if k.size == 0:
                continue
            if k.size not in (75, 54):
                raise bad(f"people[{i}].pose_keypoints_2d has {k.size} numbers; expected 75 (BODY_25) "
                          "or 54 (COCO-18)")
            if not np.isfinite(k).all() or (np.abs(k) > MAX_ABS).any():
                raise bad(f"people[{i}].pose_keypoints_2d holds NaN, inf or absurdly large values")
            out.append(k.reshape(-1, 3))
        return out


def _closest(cands: list[np.ndarray], last: np.ndarray | None) -> np.ndarray:
    if last is None:
        return max(cands, key=lambda k: k[:, 2].sum())

    def dist(k: np.ndarray) -> float:
        both = (k[:, 2] > 0) & (last[:, 2] > 0)
        return float(np.linalg.norm(k[both, :2] - last[both, :2], axis=1).mean()) if both.any() else np.inf
    return min(cands, key=dist)


def load_sequence(folder: str | Path) -> Keypoints2D:
    """Read an OpenPose folder (or a single frame's JSON) as one person's H36M-17 sequence."""
    folder = Path(folder)
    if not folder.exists():
        raise StructposeError(f"{folder}: no such file or folder; expected {_EXPECT}")
    files = [folder] if folder.is_file() else frame_files(folder)
    if not files:
        raise StructposeError(f"{folder}: folder holds no .json files; expected {_EXPECT}")
    frames = [_people(f) for f in files]
    sizes = {k.shape[0] for people in frames for k in people}
    if not sizes:
        raise StructposeError(f"{folder}: {len(files)} OpenPose frames but no person in any of them")
    if len(sizes) > 1:
        raise StructposeError(f"{folder}: frames mix BODY_25 and COCO-18 keypoints; use one model per folder")
    J = sizes.pop()
    names, table = TABLES[J]
    slots = frame_slots(files, folder)
    raw = np.zeros((int(slots[-1]) + 1 if len(slots) else 0, J, 3))
    last = None
    for t, people in zip(slots, frames):
        if people:
            last = raw[t] = _closest(people, last)
    xy, sc = map_to_h36m(raw[..., :2], np.clip(raw[..., 2], 0, 1), table_to_matrix(table, names))
    absent = len(raw) - len(files)
    return Keypoints2D(xy=xy, scores=sc, image_size=None, fps=None, name=folder.stem,
                       meta={"source": "openpose", "model": "BODY_25" if J == 25 else "COCO-18",
                             "frames": [f.name for f in files], "first_frame_number": _first_number(files),
                             "absent_frames": absent})


#: frame numbers may skip (OpenPose run on some frames only); beyond this span the folder is refused
MAX_SPAN = 1_000_000


def _number(p: Path) -> int | None:
    nums = re.findall(r"\d+", p.stem)
    return int(nums[-1]) if nums else None


def _first_number(files: list[Path]) -> int | None:
    n = [_number(f) for f in files]
    return min(n) if n and None not in n else None  # type: ignore[type-var]


def frame_slots(files: list[Path], folder: Path) -> np.ndarray:
    """Time index of each file: its frame number minus the first one, so frames absent from the folder
    stay in the time axis (as frames without a person: NaN, score 0).  Files without a number in their
    name keep name order, one frame each."""
    nums = [_number(f) for f in files]
    if len(files) <= 1 or None in nums:
        return np.arange(len(files))
    arr = np.asarray(nums, np.int64)
    if len(np.unique(arr)) != len(arr):
        dup = int(arr[np.flatnonzero(np.diff(np.sort(arr)) == 0)[0]])
        raise StructposeError(f"{folder}: two files carry frame number {dup}; put one video's OpenPose output per "
                              "folder")
    span = int(arr.max() - arr.min()) + 1
    if span > MAX_SPAN:
        raise StructposeError(f"{folder}: frame numbers span {span} frames ({arr.min()}..{arr.max()}) for "
                              f"{len(files)} files; at most {MAX_SPAN} are accepted")
    return arr - arr.min()

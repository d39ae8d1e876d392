"""Subject bone lengths from a file: .json, .npy, .txt or a pose file (its bones by the fitting policy)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import StructposeError
from ..skeleton import H36M17


def load_bone_lengths(path: str | Path) -> np.ndarray:
    """16 bone lengths (metres, ``H36M17.bones`` order) from a .json (a list of 16, or
    ``{child_joint: length}``) / .npy / .txt (16 numbers) / pose file (.npz: the symmetrised median
    of its valid frames, :func:`structpose.fitting.symmetric_bone_lengths`)."""
    from ..fitting import symmetric_bone_lengths
    from .posefile import load_pose_file
    path = Path(path)
    nb = len(H36M17.bones)
    if path.is_dir():
        raise StructposeError(f"--bone-lengths {path} is a folder; expected a .json, .npy, .txt or pose file")
    if not path.is_file():
        raise StructposeError(f"{path}: no such bone-length file")
    try:
        if path.suffix == ".npz":
            seq = load_pose_file(path)
            if seq.valid is None or not seq.valid.any():
                raise StructposeError(f"{path}: no valid frame to take the median bone lengths from")
            L = np.asarray(symmetric_bone_lengths(seq.poses_3d[seq.valid].astype(np.float64)))
        elif path.suffix == ".json":
            raw = json.loads(path.read_text())
            if isinstance(raw, dict):
                missing = [H36M17.names[c] for _, c in H36M17.bones if H36M17.names[c] not in raw]
                if missing:
                    raise StructposeError(f"{path}: bone lengths lack child joints {', '.join(missing)}")
                raw = [raw[H36M17.names[c]] for _, c in H36M17.bones]
            if not isinstance(raw, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                    for v in raw):
                raise StructposeError(f"{path}: bone lengths must be numbers (a list of {nb}, or "
                                      "{child_joint: metres}); found other JSON values")
            L = np.asarray(raw, np.float64)
        elif path.suffix == ".npy":
            L = np.load(path, allow_pickle=False).astype(np.float64)
        else:
            L = np.loadtxt(path, dtype=np.float64)
    except StructposeError:             # a ValueError too: keep its message instead of hiding it
        raise
    except (ValueError, OSError, TypeError, json.JSONDecodeError) as e:
        raise StructposeError(f"{path}: unreadable bone lengths ({type(e).__name__})") from None
    L = np.ravel(L)
    if L.shape != (nb,) or not np.isfinite(L).all() or (L <= 0).any():
        raise StructposeError(f"{path}: expected {nb} positive bone lengths in metres (H36M-17 bones, child joints "
                              f"{', '.join(H36M17.names[1:])}); got {L.size} values")
    if L.min() < 0.01:
        raise StructposeError(f"{path}: a bone of {L.min():.3g} m; every bone must be at least 0.01 m (1 cm)")
    if L.max() > 3.0:
        raise StructposeError(f"{path}: a bone of {L.max():.1f} m; bone lengths must be in metres, not millimetres")
    return L

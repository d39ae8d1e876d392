"""How a 2D detector errs, measured against true 2D joints: detection rate, error in torso heights, PCK,
left/right swaps and whole-body front/back flips.

Only the 12 limb joints a detector reads directly are scored (shoulders, elbows, wrists, hips, knees,
ankles); pelvis, spine, thorax, neck and head top are synthesised from them in H36M-17 conversions.  The
unit is the *true* torso height in the image: the distance from the shoulders' midpoint to the hips'
midpoint, so a number means the same for a person 80 or 400 pixels tall.
"""
from __future__ import annotations

import numpy as np

from ..errors import StructposeError
from ..skeleton import H36M17

LIMBS = tuple(H36M17.index(n) for n in ("l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
                                         "l_hip", "l_knee", "l_ankle", "r_hip", "r_knee", "r_ankle"))
PAIRS = tuple((H36M17.index(f"l_{n}"), H36M17.index(f"r_{n}"))
              for n in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"))


def torso_height(uv: np.ndarray) -> np.ndarray:
    """``(..., 17, 2)`` H36M-17 pixels -> ``(...)`` shoulders-midpoint to hips-midpoint distance."""
    j = H36M17.index
    sh = 0.5 * (uv[..., j("l_shoulder"), :] + uv[..., j("r_shoulder"), :])
    hp = 0.5 * (uv[..., j("l_hip"), :] + uv[..., j("r_hip"), :])
    return np.linalg.norm(sh - hp, axis=-1)


def detector_errors(det: np.ndarray, found: np.ndarray, true: np.ndarray, valid: np.ndarray | None = None,
                    pck: float = 0.2) -> dict[str, float]:
    """Summary of ``det`` (N, 17, 2) detections (NaN rows where ``found`` (N,) is False) against ``true``
    (N, 17, 2).  ``valid`` (N, 17) marks joints that count (e.g. inside the image; default all).

    Returns ``detection_rate``; over found frames and valid limb joints: ``median_err`` / ``p90_err`` (torso
    heights), ``pck`` (fraction within ``pck`` torso heights); ``swap_rate``: fraction of left/right pairs
    whose crossed assignment fits better than the straight one by more than ``pck`` torso heights;
    ``flip_rate``: fraction of frames where both the shoulder and the hip pairs are swapped (the detector
    saw the person from behind, or the back as the front)."""
    det, true = np.asarray(det, np.float64), np.asarray(true, np.float64)
    found = np.asarray(found, bool)
    n = len(true)
    if det.shape != (n, 17, 2) or true.shape != (n, 17, 2) or found.shape != (n,):
        raise StructposeError(f"detections {det.shape}, found {found.shape} and truth {true.shape} must be "
                              "(N, 17, 2), (N,) and (N, 17, 2)")
    valid = np.ones((n, 17), bool) if valid is None else np.asarray(valid, bool)
    out = {"frames": float(n), "detection_rate": float(found.mean()) if n else float("nan")}
    d, t, v = det[found], true[found], valid[found]
    torso = torso_height(t)[:, None]
    err = np.linalg.norm(d - t, axis=-1) / torso                  # (M, 17)
    lim = np.zeros(17, bool)
    lim[list(LIMBS)] = True
    e = err[v & lim[None] & np.isfinite(err)]
    out["median_err"] = float(np.median(e)) if e.size else float("nan")
    out["p90_err"] = float(np.percentile(e, 90)) if e.size else float("nan")
    out["pck"] = float((e < pck).mean()) if e.size else float("nan")
    sw = np.zeros((len(t), len(PAIRS)), bool)
    okp = np.zeros((len(t), len(PAIRS)), bool)
    for k, (l, r) in enumerate(PAIRS):
        straight = err[:, l] + err[:, r]
        crossed = (np.linalg.norm(d[:, l] - t[:, r], axis=-1) + np.linalg.norm(d[:, r] - t[:, l], axis=-1)) \
            / torso[:, 0]
        okp[:, k] = v[:, l] & v[:, r] & np.isfinite(straight)
        sw[:, k] = okp[:, k] & (crossed + pck < straight)
    out["swap_rate"] = float(sw[okp].mean()) if okp.any() else float("nan")
    both = okp[:, 0] & okp[:, 3]
    out["flip_rate"] = float((sw[:, 0] & sw[:, 3])[both].mean()) if both.any() else float("nan")
    return out

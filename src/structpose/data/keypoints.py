"""2D keypoint sequences in H36M-17, and the NaN-aware mapping from other joint layouts.

Policy for joints a layout lacks (documented once, used by every 2D reader):

* A joint with a direct counterpart keeps the source position and confidence.
* A **synthesised** joint (a weighted combination of source joints, e.g. COCO has no pelvis, spine,
  thorax or head top) is computed with the layout-conversion table and gets a *reduced* score:
  ``min(contributor scores) * factor``, factor 0.8 for joints interpolated between real joints
  (pelvis, spine, thorax) and 0.5 for joints extrapolated from a face (head top).  The lifter can
  thereby weigh them below measured joints.
* If any contributor is missing, the joint is missing: **xy NaN and score 0**.  Throughout,
  ``score == 0`` if and only if ``xy`` is NaN, so callers may test either.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import StructposeError
from ..skeleton import H36M17

#: score factor for a synthesised joint; joints extrapolated beyond their contributors get less
SYNTH_FACTOR_INTERPOLATED = 0.8
SYNTH_FACTOR_EXTRAPOLATED = 0.5

JointTable = dict[str, dict[str, float]]


@dataclass
class Keypoints2D:
    """A 2D keypoint sequence: ``xy`` (T, 17, 2) pixels (u right, v down), H36M-17 order,
    NaN where missing; ``scores`` (T, 17) in [0, 1], 0 exactly where ``xy`` is NaN;
    ``image_size`` (width, height) pixels when known; ``fps`` when the source records it."""

    xy: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int] | None = None
    fps: float | None = None
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # copies: the invariant below is enforced in place and must not touch the caller's arrays
        self.xy = np.array(self.xy, dtype=np.float32)
        self.scores = np.array(self.scores, dtype=np.float32)
        if self.xy.ndim != 3 or self.xy.shape[1:] != (17, 2):
            raise StructposeError(f"{self.name or 'keypoints'}: xy has shape {self.xy.shape}; "
                                  "expected (T, 17, 2) pixels in H36M-17 order")
        if self.scores.shape != self.xy.shape[:2]:
            raise StructposeError(f"{self.name or 'keypoints'}: scores have shape {self.scores.shape}; "
                                  f"expected {self.xy.shape[:2]}")
        if self.xy.shape[0] == 0:
            raise StructposeError(f"{self.name or 'keypoints'}: holds 0 frames; expected at least 1")
        if self.fps is not None and not (np.isfinite(self.fps) and self.fps > 0):
            raise StructposeError(f"{self.name or 'keypoints'}: fps is {self.fps}; expected a positive number")
        # enforce the invariant score == 0  <=>  xy is NaN
        missing = ~np.isfinite(self.xy).all(axis=-1) | ~(self.scores > 0)
        self.xy[missing] = np.nan
        self.scores[missing] = 0.0

    @property
    def num_frames(self) -> int:
        return int(self.xy.shape[0])

    @property
    def valid(self) -> np.ndarray:
        """(T,) True for frames where at least one joint was seen."""
        return (self.scores > 0).any(axis=1)


def table_to_matrix(table: JointTable, src_names: tuple[str, ...]) -> np.ndarray:
    """``(17, J_src)`` weights for H36M-17 from a ``{h36m joint: {src joint: weight}}`` table;
    rows without an entry are NaN (joint unavailable)."""
    w = np.full((H36M17.num_joints, len(src_names)), np.nan)
    for dst, sources in table.items():
        row = H36M17.index(dst)
        w[row] = 0.0
        for s, weight in sources.items():
            w[row, src_names.index(s)] = weight
    return w


def _synth_factors(w: np.ndarray) -> np.ndarray:
    """Score factor per destination joint: 1 for a copy, reduced for a synthesised joint."""
    out = np.ones(w.shape[0])
    for d in range(w.shape[0]):
        row = w[d]
        if np.isnan(row).any():
            out[d] = 0.0
            continue
        nz = row[row != 0]
        if len(nz) > 1:
            out[d] = SYNTH_FACTOR_EXTRAPOLATED if (nz < 0).any() else SYNTH_FACTOR_INTERPOLATED
    return out


def map_to_h36m(xy: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map ``(..., J, 2)`` keypoints with ``(..., J)`` scores through ``(17, J)`` weights.

    Unlike a plain matrix product, a missing source joint (NaN or score 0) only removes the
    destination joints it contributes to.  Returns ``(..., 17, 2)`` xy and ``(..., 17)`` scores.
    """
    xy = np.asarray(xy, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    lead = xy.shape[:-2]
    J = xy.shape[-2]
    xy2, sc2 = xy.reshape(-1, J, 2), scores.reshape(-1, J)
    seen = np.isfinite(xy2).all(axis=-1) & (sc2 > 0)
    known = ~np.isnan(weights).any(axis=1)
    w = np.where(np.isnan(weights), 0.0, weights)
    # (N, J, 2) x (17, J) -> (N, 17, 2) as one BLAS product
    out = np.matmul(w, np.where(seen[..., None], xy2, 0.0))
    factors = _synth_factors(weights)
    out_scores = np.zeros(out.shape[:2])
    present = np.zeros(out.shape[:2], bool)
    for d in np.nonzero(known)[0]:
        cols = np.nonzero(w[d])[0]          # a destination joint is present iff all its contributors are
        present[:, d] = seen[:, cols].all(axis=1)
        out_scores[:, d] = np.where(present[:, d], sc2[:, cols].min(axis=1) * factors[d], 0.0)
    out[~present] = np.nan
    return (out.reshape(lead + (17, 2)).astype(np.float32),
            out_scores.reshape(lead + (17,)).astype(np.float32))

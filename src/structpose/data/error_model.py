"""A documented model of what per-frame 3D pose estimators get wrong, to train TP-Net without one.

The paper trains TP-Net on SAP-Net's own outputs.  Before a per-frame model exists we corrupt
clean camera-frame mocap the way single-frame estimators are known to fail:

1. **Bone-length wobble** — each bone's length scaled by ``1 + e_b(t)``, ``e_b`` a slow
   (correlated) process plus a little per-frame noise; applied by walking the tree so that the
   error propagates to the children, as it does for a network that mis-sizes a limb.
2. **Temporally correlated bias** — per joint, an Ornstein–Uhlenbeck process with time constant
   ``bias_tau`` seconds: a slowly drifting offset that a smoother cannot remove frame by frame.
3. **Jitter** — independent per-frame Gaussian noise.
4. **Depth dominance** — noise of (2) and (3) along the camera's z axis is ``depth_factor`` times
   larger than along x and y (monocular depth is the ill-posed part).
5. **Outliers** — with probability ``outlier_prob`` per joint and frame, a large random offset
   (``outlier_scale``), sometimes held for a few frames (a detector locking onto the wrong limb).
6. **Left/right confusions** — with probability ``swap_prob`` per frame, an arm or leg pair is
   swapped for a short run of frames (``swap_len`` frames at most).

Noise is specified in **seconds and metres**, so it means the same thing at any frame rate.
The root (pelvis) of the output is re-centred at the origin: per-frame estimators are
root-relative.  Everything is seeded (``numpy.random.Generator``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import lfilter

from ..errors import StructposeError, check_shape
from ..skeleton import H36M17

_LIMB_PAIRS = {  # (right chain, left chain) in H36M-17
    "legs": ((1, 2, 3), (4, 5, 6)),
    "arms": ((14, 15, 16), (11, 12, 13)),
}
_DISTAL = (3, 6, 13, 16, 2, 5, 12, 15)   # ends of limbs: where outliers concentrate in practice


@dataclass
class ErrorModel:
    """Parameters of the per-frame estimator error model (metres, seconds, probabilities)."""

    jitter: float = 0.015          # per-frame noise std along x/y (m)
    bias: float = 0.015            # std of the slow per-joint bias along x/y (m)
    bias_tau: float = 0.6          # correlation time of the bias (s)
    depth_factor: float = 2.5      # z noise = depth_factor * x/y noise
    bone_wobble: float = 0.04      # std of the slow relative bone-length error
    bone_jitter: float = 0.015     # std of the per-frame relative bone-length error
    bone_tau: float = 1.0          # correlation time of the bone-length error (s)
    outlier_prob: float = 0.004    # per joint and frame
    outlier_scale: float = 0.15    # outlier offset std (m)
    outlier_len: int = 3           # an outlier lasts 1..outlier_len frames
    swap_prob: float = 0.004       # per frame: start a left/right confusion of one limb pair
    swap_len: int = 5              # a confusion lasts 1..swap_len frames

    def __post_init__(self) -> None:
        for k, v in asdict(self).items():
            if not np.isfinite(v) or v < 0:
                raise StructposeError(f"error model parameter {k}={v}; expected a finite value >= 0")
        if self.bias_tau <= 0 or self.bone_tau <= 0:
            raise StructposeError("error model time constants bias_tau and bone_tau must be > 0 seconds")

    def scaled(self, s: float) -> ErrorModel:
        """The same model with every magnitude (not probabilities or times) scaled by ``s``."""
        d = asdict(self)
        for k in ("jitter", "bias", "bone_wobble", "bone_jitter", "outlier_scale"):
            d[k] *= s
        return ErrorModel(**d)

    def apply(self, poses: np.ndarray, fps: float, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Corrupt clean camera-frame poses ``(..., T, 17, 3)`` (metres) sampled at ``fps``.

        Leading dims are independent sequences (e.g. a batch of training windows).
        Returns root-relative noisy poses of the same shape, float32 (pelvis at the origin).
        """
        check_shape(poses, ["...", 17, 3], "poses")
        poses = np.asarray(poses, np.float64)
        if poses.ndim < 3:
            raise StructposeError(f"poses has shape {poses.shape}; expected a sequence (..., T, 17, 3)")
        lead = poses.shape[:-3]
        poses = poses.reshape(-1, *poses.shape[-3:]).transpose(1, 0, 2, 3)     # (T, S, 17, 3): time first
        if not fps > 0:
            raise StructposeError(f"fps is {fps}; expected a positive frame rate")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        shape = poses.shape
        x = poses - poses[..., :1, :]
        x = self._wobble_bones(x, fps, rng)
        axis_scale = np.array([1.0, 1.0, self.depth_factor])
        x = x + _ou(rng, shape, self.bias_tau * fps) * self.bias * axis_scale
        x = x + rng.standard_normal(shape) * self.jitter * axis_scale
        x = self._outliers(x, rng)
        x = self._swaps(x, rng)
        x[..., 0, :] = 0.0       # the estimator's root is the origin by construction
        x = x - x[..., :1, :]
        return x.transpose(1, 0, 2, 3).reshape(*lead, *shape[:1], 17, 3).astype(np.float32)

    def _wobble_bones(self, x: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
        shape = x.shape[:-2] + (len(H36M17.bones),)
        scale = 1 + _ou(rng, shape, self.bone_tau * fps) * self.bone_wobble \
            + rng.standard_normal(shape) * self.bone_jitter
        scale = np.clip(scale, 0.5, 1.5)
        out = x.copy()
        # parents precede children in H36M-17, so one pass in joint order walks the tree
        for b, (p, c) in enumerate(H36M17.bones):
            out[..., c, :] = out[..., p, :] + (x[..., c, :] - x[..., p, :]) * scale[..., b:b + 1]
        return out

    def _outliers(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        starts = np.argwhere(rng.random(x.shape[:-1]) < self.outlier_prob)
        for t, s, j in starts:
            if j == 0:
                continue
            if rng.random() < 0.5:           # half the outliers hit limb ends, where they are most common
                j = _DISTAL[rng.integers(len(_DISTAL))]
            off = rng.standard_normal(3) * self.outlier_scale * np.array([1, 1, self.depth_factor])
            n = int(rng.integers(1, max(self.outlier_len, 1) + 1))
            x[t:t + n, s, j] += off
        return x

    def _swaps(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for t, s in np.argwhere(rng.random(x.shape[:2]) < self.swap_prob):
            right, left = _LIMB_PAIRS["legs" if rng.random() < 0.5 else "arms"]
            n = int(rng.integers(1, max(self.swap_len, 1) + 1))
            x[t:t + n, s, list(right) + list(left)] = x[t:t + n, s, list(left) + list(right)]
        return x


def _ou(rng: np.random.Generator, shape: tuple[int, ...], tau_frames: float) -> np.ndarray:
    """Unit-variance Ornstein–Uhlenbeck (AR(1)) process along axis 0, correlation time ``tau_frames``."""
    phi = float(np.exp(-1.0 / max(tau_frames, 1e-6)))
    eps = rng.standard_normal(shape)
    eps[1:] *= np.sqrt(1 - phi ** 2)       # stationary: the first sample already has unit variance
    return lfilter([1.0], [1.0, -phi], eps, axis=0)

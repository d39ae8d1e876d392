"""Foot contacts and planted feet, in a Y-up world frame with the floor at y = 0.

Contact (per foot, per frame) from two cues of the ankle (H36M joints 3 = right, 6 = left):

* its height above its resting height ``ankle_height`` (the ankle joint sits that high when the foot is
  flat on the floor): probability 1 at ``height_m[0]`` or lower, 0 at ``height_m[1]`` or higher;
* its horizontal speed: 1 at ``speed_mps[0]`` or slower, 0 at ``speed_mps[1]`` or faster,

multiplied, so a foot must be both low and still.  :func:`hysteresis` turns the probability into
on/off states without chatter (on above ``on``, off below ``off``).  Online the speed is a backward
difference and the hysteresis runs forward, so a frame's contact never depends on later frames;
offline the speed is a central difference and the probability is median-filtered over 3 frames.

Planted feet (:func:`pin_feet`): while a foot is in contact its ankle is pulled to one fixed point on
the floor (x, z of the contact, y = ``ankle_height``) and the leg is re-solved by two-bone IK
(:func:`two_bone_ik`: hip fixed, thigh and shin lengths kept, knee in the plane of the original knee).
The pull is blended in and out over ``blend_s`` seconds with a smoothstep weight, so the foot does
not pop.  Offline the fixed point is the mean of the ankle's positions over the contact and the blend
starts before it; online it is the running mean of the ankle since the contact began (so it settles
without waiting for the future) and the blend starts with it.
"""
from __future__ import annotations

import numpy as np

from .errors import StructposeError, check_shape
from .skeleton import H36M17

#: (hip, knee, ankle) joints of the right and left leg, in the column order of ``contacts``
LEGS = ((H36M17.index("r_hip"), H36M17.index("r_knee"), H36M17.index("r_ankle")),
        (H36M17.index("l_hip"), H36M17.index("l_knee"), H36M17.index("l_ankle")))
ANKLES = (LEGS[0][2], LEGS[1][2])
HEIGHT_M = (0.04, 0.12)
SPEED_MPS = (0.25, 0.75)
SPEED_MPS_ONLINE = (0.6, 1.2)     # online poses jitter more (no look-ahead): a still foot reads ~0.2-1 m/s
ON, OFF = 0.5, 0.25
SPAN_S, SPAN_S_ONLINE = 0.1, 0.1  # baseline of the foot speed (s), offline / online


def _ramp(x: np.ndarray, full: float, zero: float) -> np.ndarray:
    """1 at ``x <= full``, 0 at ``x >= zero``, linear between (NaN stays NaN)."""
    return np.clip((zero - x) / (zero - full), 0.0, 1.0)


def foot_speed(ankles: np.ndarray, fps: float, causal: bool, span_s: float = 0.1) -> np.ndarray:
    """``(T, F, 3)`` world positions -> ``(T, F)`` horizontal speed in m/s (x, z only), over a baseline of
    ``span_s`` seconds (a lifter's per-frame jitter would make a still foot look fast frame to frame).

    ``causal``: backward difference over the last ``span_s`` (shorter at the start; frame 0: unknown,
    inf); otherwise centred on the frame (one-sided at the ends)."""
    xz = ankles[..., [0, 2]].astype(np.float64)
    T = len(xz)
    if T < 2:
        return np.full(xz.shape[:2], np.inf if causal else 0.0)
    k = max(1, round(span_s * fps))
    idx = np.arange(T)
    if causal:
        lo, hi = np.maximum(idx - k, 0), idx
    else:
        h = max(1, k // 2)
        lo, hi = np.maximum(idx - h, 0), np.minimum(idx + h, T - 1)
    dt = (hi - lo) / fps
    v = np.linalg.norm(xz[hi] - xz[lo], axis=-1) / np.where(dt > 0, dt, np.nan)[:, None]
    return np.where(np.isfinite(v), v, np.inf)


def contact_probability(poses_world: np.ndarray, fps: float, ankle_height: float, causal: bool = False,
                        height_m: tuple[float, float] = HEIGHT_M,
                        speed_mps: tuple[float, float] | None = None, span_s: float | None = None) -> np.ndarray:
    """``(T, 17, 3)`` world poses (Y up, floor y = 0, metres) -> ``(T, 2)`` contact probability in [0, 1]
    for (right, left) foot; NaN where the pose is NaN.  ``span_s``: the speed's baseline (default
    ``SPAN_S`` / ``SPAN_S_ONLINE``)."""
    check_shape(poses_world, ["T", 17, 3], "world poses")
    a = np.asarray(poses_world, np.float64)[:, list(ANKLES)]
    lift = a[..., 1] - ankle_height
    speed_mps = speed_mps or (SPEED_MPS_ONLINE if causal else SPEED_MPS)
    p = _ramp(lift, *height_m) * _ramp(foot_speed(a, fps, causal, span_s or (SPAN_S_ONLINE if causal else SPAN_S)), *speed_mps)
    if not causal and len(p) >= 3:
        padded = np.concatenate([p[:1], p, p[-1:]])
        p = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
    p[~np.isfinite(a).all((-1, -2))] = np.nan
    return p


def still_probability(poses: np.ndarray, fps: float, causal: bool = False,
                      speed_mps: tuple[float, float] | None = None) -> np.ndarray:
    """``(T, 17, 3)`` poses in any static frame (no floor known) -> ``(T, 2)`` probability that each
    ankle (right, left) stands still: its 3D speed over 0.1 s through the same ramp as
    :func:`contact_probability`'s (no height cue).  Used to hold the root's path where no floor is
    found; causal as :func:`foot_speed`."""
    check_shape(poses, ["T", 17, 3], "poses")
    a = np.asarray(poses, np.float64)[:, list(ANKLES)]
    T = len(a)
    if T < 2:
        return np.zeros((T, 2))
    speed_mps = speed_mps or (SPEED_MPS_ONLINE if causal else SPEED_MPS)
    k = max(1, round((SPAN_S_ONLINE if causal else SPAN_S) * fps))
    idx = np.arange(T)
    lo, hi = ((np.maximum(idx - k, 0), idx) if causal else
              (np.maximum(idx - max(1, k // 2), 0), np.minimum(idx + max(1, k // 2), T - 1)))
    dt = (hi - lo) / fps
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.linalg.norm(a[hi] - a[lo], axis=-1) / dt[:, None]
    p = _ramp(np.where(np.isfinite(v), v, np.inf), *speed_mps)
    return np.nan_to_num(p, nan=0.0)


def hysteresis(p: np.ndarray, on: float = ON, off: float = OFF) -> np.ndarray:
    """``(T, F)`` probabilities -> ``(T, F)`` bool: a foot goes into contact when ``p > on`` and leaves
    when ``p < off`` (NaN frames are out of contact).  Runs forward in time: causal."""
    if not off <= on:
        raise StructposeError(f"hysteresis thresholds on={on}, off={off}; expected off <= on")
    p = np.asarray(p, np.float64)
    out = np.zeros(p.shape, bool)
    state = np.zeros(p.shape[1:], bool)
    for t in range(len(p)):
        pt = np.nan_to_num(p[t], nan=-1.0)
        state = np.where(state, pt >= off, pt > on)
        out[t] = state
    return out


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Analytic two-bone IK, batched over leading dims (``(..., 3)`` metres each).

    The hip stays; thigh ``|knee - hip|`` and shin ``|ankle - knee|`` keep their lengths; the ankle goes
    to ``target`` (or as near as the leg reaches, along the hip-target line); the knee stays in the
    plane of hip, target and the original knee (law of cosines: ``a = (L1^2 - L2^2 + d^2) / 2d`` along
    the hip-target line, ``sqrt(L1^2 - a^2)`` towards the old knee).  Returns ``(knee, ankle)``."""
    hip, knee, ankle, target = (np.asarray(x, np.float64) for x in (hip, knee, ankle, target))
    l1 = np.linalg.norm(knee - hip, axis=-1)
    l2 = np.linalg.norm(ankle - knee, axis=-1)
    v = target - hip
    dist = np.linalg.norm(v, axis=-1)
    e = v / np.maximum(dist, 1e-9)[..., None]
    d = np.clip(dist, np.abs(l1 - l2) + 1e-6, l1 + l2 - 1e-6)
    pole = (knee - hip) - ((knee - hip) * e).sum(-1, keepdims=True) * e
    pn = np.linalg.norm(pole, axis=-1, keepdims=True)
    # a straight leg has no bend plane: bend it towards the old ankle's side, else any perpendicular
    alt = np.cross(e, np.cross(ankle - hip + 1e-6, e))
    pole = np.where(pn > 1e-6, pole / np.maximum(pn, 1e-12), alt / np.maximum(np.linalg.norm(alt, axis=-1,
                                                                                          keepdims=True), 1e-12))
    a = (l1 ** 2 - l2 ** 2 + d ** 2) / (2 * d)
    h = np.sqrt(np.maximum(l1 ** 2 - a ** 2, 0.0))
    return hip + a[..., None] * e + h[..., None] * pole, hip + d[..., None] * e


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _segments(c: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a 1-D bool array as ``[(start, end_exclusive), ...]``."""
    d = np.diff(np.r_[0, c.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def pin_feet(poses_world: np.ndarray, contacts: np.ndarray, fps: float, ankle_height: float,
             causal: bool = False, blend_s: float = 0.1, strength: tuple[float, float] = (1.0, 1.0),
             on_floor: bool = True) -> np.ndarray:
    """Plant each foot during its contacts; ``(T, 17, 3)`` world poses and ``(T, 2)`` bool contacts ->
    ``(T, 17, 3)`` poses with the legs re-solved (every other joint unchanged).  See the module text.
    ``on_floor`` False (no floor known, e.g. a foot on a climbing hold): the pin is the 3D point the
    ankle holds (its mean / running mean in y too) instead of a point on the floor."""
    check_shape(poses_world, ["T", 17, 3], "world poses")
    out = np.array(poses_world, np.float64)
    T = len(out)
    contacts = np.asarray(contacts, bool)
    if contacts.shape != (T, 2):
        raise StructposeError(f"contacts have shape {contacts.shape}; expected ({T}, 2)")
    ramp = max(1, round(blend_s * fps))
    for f, (hip, knee, ank) in enumerate(LEGS):
        weight = np.zeros((T, 2))                   # pull towards the pin: horizontal, vertical
        target = np.full((T, 3), np.nan)
        for s, e in _segments(contacts[:, f]):
            a = out[s:e, ank]
            lo = s if causal else max(0, s - ramp)
            k = np.arange(lo, min(T, e + ramp))
            if causal:
                # online: the running mean of the ankle since the onset (one frame's jitter would
                # otherwise stay in the pin for the whole contact); it moves less every frame
                n = np.minimum(k - s + 1, e - s)
                pin = (np.cumsum(a, axis=0) / np.arange(1, len(a) + 1)[:, None])[n - 1]
            else:
                pin = np.broadcast_to(np.nanmean(a, axis=0), (len(k), 3)).copy()
            if not np.isfinite(pin).all():
                continue
            if on_floor:
                pin[:, 1] = ankle_height
            out_w = _smoothstep((e + ramp - k) / (ramp + 1))          # 1 until the contact ends
            if causal:
                # online the pin starts where the ankle is at the onset: no horizontal jump to blend;
                # the drop to the floor is blended in
                w = np.stack([out_w, np.minimum(out_w, _smoothstep((k - s + 1) / (ramp + 1)))], -1)
            else:
                w = np.minimum(out_w, _smoothstep((k - (s - ramp - 1)) / (ramp + 1)))[:, None].repeat(2, -1)
            take = w[:, 0] > weight[k, 0]            # overlapping blends: the stronger pull wins
            weight[k[take]], target[k[take]] = w[take], pin[take]
        m = (weight[:, 0] > 0) & np.isfinite(out[:, [hip, knee, ank]]).all((-1, -2))
        if not m.any():
            continue
        wv = weight[m][:, [0, 1, 0]] * np.asarray(strength, np.float64)[[0, 1, 0]]
        goal = out[m, ank] + wv * (target[m] - out[m, ank])
        out[m, knee], out[m, ank] = two_bone_ik(out[m, hip], out[m, knee], out[m, ank], goal)
    return out.astype(np.float32)

"""A world frame for a static camera: metric scale, the floor, the root's path, planted feet.

Input: camera-frame poses from the chain (``(T, 17, 3)`` metres, x right, y down, z forward, root placed
by the lifter at ``depth = f * size / image_radius``).  Output (:class:`WorldResult`): poses in a world
frame with **Y up, the floor at y = 0**, right-handed, **+Z = the facing direction of the first valid
frame** projected on the floor, X = Y x Z, the origin under the first valid frame's pelvis.

1. **Scale.**  The focal length is unknown, so the lifter's size is the average training body.  Scaling
   the whole camera-frame scene about the camera centre changes no pixel, so the scale is free: it is
   chosen so that the skeleton's standing height (ankle -> knee -> hip, pelvis -> spine -> thorax ->
   neck -> head top, plus the ankle's height above the floor, ``ANKLE_FRAC`` of the height) equals
   ``height`` (the ``--height`` prior, default :data:`DEFAULT_HEIGHT_M`).
2. **Floor** (:func:`fit_floor`).  Candidates: each frame's lower ankle where it moves slowly (speed read
   on a smoothed root path).  The floor is the *lowest* level the feet stand on: the fit starts under the
   10th percentile of the candidates and keeps the points near the plane (feet on a box or a climbing
   hold are not floor points).  A point's residual is its height above the ankle plane ``n.x + d = 0``
   over its own standard deviation: the lifter's ankle error and the chain's relative depth error, which
   slides the body along its root's viewing ray and so moves it ``DEPTH_SD * |n . root|`` in height.
   Reweighted Gauss-Newton (soft-L1) on (roll, pitch, d) with a prior on the normal: a level camera
   (``ROLL_SD_DEG``) pitched as the upright torso says (``PITCH_SD_DEG``); a person standing in one spot
   leaves the tilt undetermined otherwise.  Ground = ankle plane lowered by the ankle height.
3. **Root path** (:func:`structpose.rootpath.solve_root`).  A linear least-squares problem over the root positions: the
   chain's per-frame root (tight across the viewing ray, loose along it), a foot in contact lies on the
   floor and does not slide horizontally between frames, and a constant-acceleration prior.  Offline
   the whole sequence is solved at once (block-banded normal equations); online each frame gets the
   newest frame of the solution over all frames so far (a recursive filter), so later frames never
   change earlier output.  Online the pinning pulls at ``PIN_STRENGTH_ONLINE`` (a causal pin is
   further from where the foot really stands).
4. **Contacts and planted feet**: :mod:`structpose.contacts` on the world poses.

Fallbacks (``status`` starts with ``"fallback:"``, the poses stay usable): fewer than
:data:`MIN_CONTACT_FRAMES` floor contacts, standing feet that do not lie on one plane (RMS on the smoothed
path above :data:`MAX_FLOOR_RMS_M`: climbing, floor work, a lift too noisy to trust), planes of the first
and second half of the contacts that disagree by :data:`MAX_HALF_GAP_M` where the feet stood in both (the
camera moved), a camera at or below the ankles, a single frame.  The world frame is then the
camera frame turned Y up (``x, -y, -z``: a level camera assumed), the origin under the first root,
y = 0 at the lowest ankle minus the ankle height; the root is smoothed, no contacts, no pinning
(online, feet that stand still, on a floor or on a hold, also hold the smoothed path:
:func:`structpose.contacts.still_probability`; and they are pulled, ``PIN_STRENGTH_FALLBACK_ONLINE``, to the 3D
point they hold).
A level dolly or a pan about the vertical leaves the floor unchanged in the camera frame and is not
detected.  In online mode the floor, scale and frame are still fitted on the whole recording (a pose
file is written at its end); the root path, contacts and pinning are causal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .contacts import ANKLES, ON, contact_probability, hysteresis, pin_feet, still_probability
from .errors import StructposeError, check_shape
from .rootpath import RootModel, solve_root
from .skeleton import H36M17

DEFAULT_HEIGHT_M = 1.70
HEIGHT_RANGE_M = (0.5, 2.5)
ANKLE_FRAC = 0.04             # ankle joint above the floor, fraction of standing height (DeepMimic 0.036)
MIN_CONTACT_FRAMES = 5
MAX_FLOOR_RMS_M = 0.05
MAX_HALF_GAP_M = 0.20         # first- and second-half floors, apart where the feet stood in both
ROLL_SD_DEG = 5.0             # prior: the camera is held level to a few degrees ...
PITCH_SD_DEG = 20.0           # ... and pitched about as the upright torso says
ANKLE_SD_M = 0.03             # the floor fit's noise model: the lifter's ankle height error ...
DEPTH_SD = 0.08               # ... and the chain's relative depth error (after smoothing)
REVISIT_M = 0.5               # floor points of the two halves this close count as the same spot
PIN_STRENGTH_ONLINE = (0.2, 0.2)   # online pin pull (horizontal, vertical): a causal pin is further from where
                                   # the foot stands; on val a full pull cost 0.7 mm MPJPE, 0.3 0.05 mm, 0.2 none
PIN_STRENGTH_FALLBACK_ONLINE = 0.1   # online, no floor: pull of still feet to the 3D point they hold (val: 0.2 cost 0.04 mm MPJPE)
PATH_CONTACT_ONLINE: dict = {"span_s": 0.2}   # online: the path's contacts read the foot speed over 0.2 s (pins: 0.1 s)
MAX_STAND_MPS = 1.5           # a foot faster than this does not stand
_J = {n: H36M17.index(n) for n in ("pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle",
                                    "spine", "thorax", "neck_nose", "head_top")}


@dataclass
class FloorFit:
    """Ankle plane ``normal . x + d = 0`` in the (scaled) camera frame, ``normal`` unit and up."""

    normal: np.ndarray
    d: float
    rms_m: float
    points: int
    status: str = "ok"
    support: np.ndarray | None = None       # (T,) index 0/1 of the foot used, -1 where none
    normal_sd_deg: float = float("nan")     # the normal's uncertainty (fit covariance), degrees


@dataclass
class WorldResult:
    """What :func:`to_world` gives; the arrays are float32 as the pose file stores them."""

    poses_world: np.ndarray                 # (T, 17, 3)
    world_from_camera: np.ndarray           # (4, 4), applied to scale * camera points
    scale: float
    status: str
    contacts: np.ndarray | None = None      # (T, 2) probability, right / left
    floor: np.ndarray | None = None         # (4,) ground plane (n, d) in the scaled camera frame
    meta: dict[str, Any] = field(default_factory=dict)


def check_height(height: float) -> float:
    h = float(height)
    if not (np.isfinite(h) and HEIGHT_RANGE_M[0] <= h <= HEIGHT_RANGE_M[1]):
        raise StructposeError(f"--height {height}; expected a person's standing height in metres, "
                              f"{HEIGHT_RANGE_M[0]}-{HEIGHT_RANGE_M[1]}")
    return h


def standing_height(poses: np.ndarray) -> float:
    """Standing height (metres, same units as ``poses``) of a skeleton from its median bone lengths:
    mean leg + pelvis-to-head-top chain, divided by ``1 - ANKLE_FRAC`` for the ankle's height."""
    check_shape(poses, ["T", 17, 3], "poses")
    p = np.asarray(poses, np.float64)
    p = p[np.isfinite(p).all((1, 2))]
    if not len(p):
        raise StructposeError("no valid pose to measure the skeleton's height from")

    def bone(a: str, b: str) -> float:
        return float(np.median(np.linalg.norm(p[:, _J[a]] - p[:, _J[b]], axis=-1)))
    leg = 0.5 * (bone("r_hip", "r_knee") + bone("r_knee", "r_ankle") + bone("l_hip", "l_knee")
                 + bone("l_knee", "l_ankle"))
    trunk = bone("pelvis", "spine") + bone("spine", "thorax") + bone("thorax", "neck_nose") + bone("neck_nose", "head_top")
    return (leg + trunk) / (1 - ANKLE_FRAC)


def up_prior(poses: np.ndarray) -> np.ndarray:
    """The floor normal's prior in the camera frame: a level camera (no roll: the normal has no x
    component) pitched as the mean upright torso (pelvis -> thorax over the frames within 50 deg of the
    image's up, -y; all frames if none is)."""
    v = poses[:, _J["thorax"]] - poses[:, _J["pelvis"]]
    v = v[np.isfinite(v).all(-1)]
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    upright = v[:, 1] < -np.cos(np.radians(50))
    m = (v[upright] if upright.sum() >= 3 else v).mean(0) if len(v) else np.array([0.0, -1.0, 0.0])
    m = np.array([0.0, m[1], m[2]])
    n = np.linalg.norm(m)
    return m / n if n > 0.3 and m[1] < 0 else np.array([0.0, -1.0, 0.0])


def _plane_lsq(x: np.ndarray, root: np.ndarray, n0: np.ndarray, d0: float, prior: np.ndarray,
               iterations: int = 15) -> tuple:
    """Robust fit of the ankle plane ``n . x + d = 0`` to foot points ``x`` (N, 3) whose bodies' roots are
    ``root`` (N, 3): a point's height residual is scaled by its own uncertainty, the lifter's ankle error
    ``ANKLE_SD_M`` and the depth error ``DEPTH_SD`` moving the body along the root's ray (which changes its
    height by ``DEPTH_SD * |n . root|``); the normal has a prior (roll ``ROLL_SD_DEG``, pitch
    ``PITCH_SD_DEG`` about ``prior``).  Iteratively reweighted Gauss-Newton with soft-L1 weights
    (``1 / sqrt(1 + r^2)``, on the prior's terms too) on (roll, pitch, d).  Returns (n, d, inlier mask,
    the normal's standard deviation in degrees from the fit's covariance: large where the prior decides)."""
    B = np.stack([np.array([1.0, 0.0, 0.0]), np.cross(prior, [1.0, 0.0, 0.0])])    # roll, pitch directions
    sd = np.radians([ROLL_SD_DEG, PITCH_SD_DEG])

    def res(q: np.ndarray) -> np.ndarray:
        v = prior + q[:2] @ B
        n = v / np.linalg.norm(v)
        # the residual's scale depends on n (through n . root): it is part of the model, so it is
        # differentiated too (a fixed scale per iteration converges elsewhere: 7 deg off on a test walk)
        sig = np.sqrt(ANKLE_SD_M ** 2 + (DEPTH_SD * (root @ n)) ** 2)
        return np.concatenate([(x @ n + q[2]) / sig, q[:2] / sd])

    q = np.r_[B @ (n0 - prior), d0]
    eps = 1e-6
    for _ in range(iterations):
        r = res(q)
        J = np.stack([(res(q + eps * e) - r) / eps for e in np.eye(3)], 1)
        w = 1.0 / np.sqrt(1.0 + r * r)                          # soft-L1, the prior's terms included
        step = np.linalg.solve((J * w[:, None]).T @ J + 1e-12 * np.eye(3), (J * w[:, None]).T @ r)
        q = q - step
        if np.abs(step).max() < 1e-7:
            break
    v = prior + q[:2] @ B
    n, d = v / np.linalg.norm(v), float(q[2])
    r = res(q)
    J = np.stack([(res(q + eps * e) - r) / eps for e in np.eye(3)], 1)
    cov = np.linalg.inv((J / np.sqrt(1.0 + r * r)[:, None]).T @ J + 1e-12 * np.eye(3))
    sd_deg = float(np.degrees(np.sqrt(np.linalg.eigvalsh(cov[:2, :2]).max())))
    return n, d, _inliers(x, root, n, d), sd_deg


def _support_points(poses: np.ndarray, up: np.ndarray, fps: float, speed: bool = True
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the lower ankle (along ``up``) and whether it moves slowly enough to stand (``speed``
    False: only whether it is finite)."""
    a = poses[:, list(ANKLES)]
    h = a @ up
    low = np.argmin(np.where(np.isfinite(h), h, np.inf), axis=1)
    pts = a[np.arange(len(a)), low]
    v = np.full(len(a), np.inf)
    if len(a) > 1:
        step = np.linalg.norm(np.diff(a, axis=0), axis=-1) * fps            # (T-1, 2)
        sp = np.full((len(a), 2), np.inf)
        sp[1:] = step
        sp[:-1] = np.minimum(sp[:-1], step)
        v = sp[np.arange(len(a)), low]
    if not speed:
        return pts, np.isfinite(pts).all(-1)
    ok = np.isfinite(pts).all(-1) & np.isfinite(v)
    if ok.sum() >= 4:
        ok &= v <= min(MAX_STAND_MPS, max(0.6, np.percentile(v[ok], 50)))
    return pts, ok


def _inliers(x: np.ndarray, roots: np.ndarray, n: np.ndarray, d: float) -> np.ndarray:
    """Floor points within 3 of their own standard deviations (the fit's noise model) of the plane."""
    sig = np.sqrt(ANKLE_SD_M ** 2 + (DEPTH_SD * (roots @ n)) ** 2)
    return np.abs(x @ n + d) < 3 * sig


def fit_floor(poses: np.ndarray, fps: float, smoothed: np.ndarray | None = None) -> FloorFit:
    """The ankle plane under scaled camera-frame ``poses`` (T, 17, 3); see the module text.  ``smoothed``:
    the same poses on a smoothed root path, to choose the standing frames by foot speed (the raw depth
    jitter makes every foot look fast); the plane is fitted to the raw points, whose noise it models."""
    up = up_prior(poses)
    _, ok = _support_points(poses if smoothed is None else smoothed, up, fps)
    pts, fin = _support_points(poses, up, fps, speed=False)
    ok &= fin
    idx = np.flatnonzero(ok)
    none = FloorFit(up, float("nan"), float("nan"), len(idx), support=np.full(len(poses), -1))
    if len(idx) < MIN_CONTACT_FRAMES:
        none.status = (f"fallback: no floor contact ({len(idx)} frames with a slow, low foot; "
                       f"need {MIN_CONTACT_FRAMES})")
        return none
    x = pts[idx]
    # the floor is the lowest level the feet stand on: start under the 10th percentile of the standing
    # points and keep those near the plane (feet on a box, a step or a climbing hold are above it)
    d = float(-np.percentile(x @ up, 10))
    if d <= 0.05:
        none.status = "fallback: the camera is at or below the feet (no floor seen from above)"
        return none
    roots = poses[idx, 0]
    n, sd_deg = up, float("nan")
    for _ in range(3):
        sel = _inliers(x, roots, n, d)
        if sel.sum() < MIN_CONTACT_FRAMES:
            break
        n, d, _, sd_deg = _plane_lsq(x[sel], roots[sel], n, d, up)
    sel = _inliers(x, roots, n, d)
    # the fit's quality: how far the standing feet lie from the plane on the smoothed path (the raw
    # points carry the chain's depth jitter, which the fit models but a user's RMS should not show)
    sx = _support_points(poses if smoothed is None else smoothed, up, fps, speed=False)[0][idx]
    rr = sx @ n + d
    rms = float(np.sqrt(np.mean(rr[sel] ** 2))) if sel.any() else float("nan")
    support = np.full(len(poses), -1)
    hgt = poses[:, list(ANKLES)] @ n + d
    support[idx[sel]] = np.argmin(np.nan_to_num(hgt[idx[sel]], nan=np.inf), axis=1)
    fit = FloorFit(n, d, rms, int(sel.sum()), support=support, normal_sd_deg=sd_deg)
    gap = 0.0
    if sel.sum() >= 4 * MIN_CONTACT_FRAMES:
        # a static camera sees one floor all along: planes fitted to the first and to the second half of
        # the floor points agree where the feet stood in both halves (elsewhere a tilt that one half's
        # points do not determine would count; a camera that moves while the person never comes back
        # to a spot is not told from a tilted floor)
        xs, rs = x[sel], roots[sel]
        h = len(xs) // 2
        flat = xs - (xs @ n)[:, None] * n                    # positions on the floor
        near = np.linalg.norm(flat[:h, None] - flat[None, h:], axis=-1).min(1) < REVISIT_M
        if near.sum() >= MIN_CONTACT_FRAMES:               # only where the feet stood in both halves
            n1, d1, *_ = _plane_lsq(xs[:h], rs[:h], n, d, up)
            n2, d2, *_ = _plane_lsq(xs[h:], rs[h:], n, d, up)
            xn = xs[:h][near]
            gap = float(np.median(np.abs((xn @ n1 + d1) - (xn @ n2 + d2))))
    if sel.sum() < MIN_CONTACT_FRAMES:
        fit.status = f"fallback: no floor contact ({int(sel.sum())} frames on one plane)"
    elif gap > MAX_HALF_GAP_M:
        fit.status = (f"fallback: the camera moves (the floor under the feet shifts {100 * gap:.0f} cm "
                      "between the first and second half of the recording)")
    elif rms > MAX_FLOOR_RMS_M:
        fit.status = (f"fallback: no floor seen (the feet's low points scatter {100 * rms:.0f} cm about the "
                      f"best plane; at most {100 * MAX_FLOOR_RMS_M:.0f} cm)")
    return fit


# --- the frame ------------------------------------------------------------------------------------

def facing(poses: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Unit facing direction of one ``(17, 3)`` pose, on the plane normal to ``up``: up x (r_hip - l_hip)."""
    right = poses[_J["r_hip"]] - poses[_J["l_hip"]]
    f = np.cross(up, right)
    f -= (f @ up) * up
    nf = np.linalg.norm(f)
    if nf < 1e-9:
        raise StructposeError("the first pose has coincident hips; cannot tell which way it faces")
    return f / nf


def frame_from(up: np.ndarray, forward: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """4x4 rigid ``world_from_camera`` with rows X = Y x Z, Y = ``up``, Z = ``forward``, origin at ``origin``."""
    R = np.stack([np.cross(up, forward), up, forward])
    M = np.eye(4)
    M[:3, :3] = R
    M[:3, 3] = -R @ origin
    return M


def _apply(M: np.ndarray, x: np.ndarray) -> np.ndarray:
    return x @ M[:3, :3].T + M[:3, 3]


def _fallback(rel: np.ndarray, smooth: np.ndarray, first: int, ankle_h: float, scale: float, status: str,
              meta: dict) -> WorldResult:
    """The camera frame turned Y up (``x, -y, -z``: a level camera assumed), origin under the first root,
    y = 0 at the lowest ankle minus the ankle height; smoothed root, no contacts, no pinning."""
    pose_s = rel + smooth[:, None]
    M = frame_from(np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, -1.0]), np.zeros(3))
    w = _apply(M, pose_s)
    low = np.nanmin(w[:, list(ANKLES), 1])
    M[:3, 3] -= np.array([w[first, 0, 0], low - ankle_h, w[first, 0, 2]])
    meta.update(status=status)
    return WorldResult(_apply(M, pose_s).astype(np.float32), M.astype(np.float32), float(scale), status, meta=meta)


def to_world(poses_cam: np.ndarray, fps: float, height: float = DEFAULT_HEIGHT_M, mode: str = "bidirectional",
             pin: bool = True, model: RootModel | None = None) -> WorldResult:
    """Camera-frame poses ``(T, 17, 3)`` (NaN = no pose) -> :class:`WorldResult`; ``mode`` "online" is
    causal in the root path, contacts and pinning, anything else offline.  See the module text."""
    check_shape(poses_cam, ["T", 17, 3], "poses")
    height = check_height(height)
    if not (np.isfinite(fps) and fps > 0):
        raise StructposeError(f"fps is {fps}; expected a positive frame rate")
    causal = mode == "online"
    P0 = np.asarray(poses_cam, np.float64)
    valid = np.isfinite(P0).all((1, 2))
    if not valid.any():
        raise StructposeError("no valid pose in the sequence; nothing to place in a world frame")
    scale = height / standing_height(P0)
    P = P0 * scale
    root = P[:, 0]
    rel = P - root[:, None]
    ankle_h = ANKLE_FRAC * height
    first = int(np.flatnonzero(valid)[0])
    smooth = solve_root(root, rel, fps, causal=causal, model=model)
    # the floor is a property of the whole recording (also online, see the module text): chosen on the
    # offline-smoothed path
    whole = smooth if not causal else solve_root(root, rel, fps, model=model)
    fit = fit_floor(P, fps, rel + whole[:, None]) if valid.sum() > 1 else FloorFit(
        up_prior(P), float("nan"), float("nan"), 0, status="fallback: a single frame (the floor needs contacts "
                                                           "over time)")
    meta: dict[str, Any] = {"height_m": height, "scale": float(scale), "floor_rms_m": None,
                            "contact_threshold": None, "mode": "online" if causal else "offline"}
    if fit.status != "ok":
        if causal:
            # no floor, but a foot that stands still (on the floor or a hold) keeps the path from jittering
            still = still_probability(rel + smooth[:, None], fps, causal)
            smooth = solve_root(root, rel, fps, contact=still, causal=causal, model=model)
            res = _fallback(rel, smooth, first, ankle_h, scale, fit.status, meta)
            if pin and PIN_STRENGTH_FALLBACK_ONLINE > 0:
                held = hysteresis(still_probability(res.poses_world, fps, causal))
                s = PIN_STRENGTH_FALLBACK_ONLINE
                res.poses_world = pin_feet(res.poses_world, held, fps, ankle_h, causal=True, strength=(s, s),
                                           on_floor=False)
            return res
        return _fallback(rel, smooth, first, ankle_h, scale, fit.status, meta)
    n, d = fit.normal, fit.d
    try:
        facing(P[first], n)
    except StructposeError as e:
        fit.status = f"fallback: {e}"
    if fit.status != "ok":
        return _fallback(rel, smooth, first, ankle_h, scale, fit.status, meta)
    # first pass: contacts on the smoothed path; second: the path held by those contacts
    M0 = frame_from(n, facing(rel[first] + smooth[first], n), np.zeros(3))
    M0[1, 3] = d + ankle_h                          # y = height above the ground (ankle plane - ankle height)
    w1 = _apply(M0, rel + smooth[:, None])
    # the path's contacts (moving the root changes no root-relative joint: these may be looser online)
    p1 = contact_probability(w1, fps, ankle_h, causal=causal, **(PATH_CONTACT_ONLINE if causal else {}))
    path = solve_root(root, rel, fps, contact=p1, plane=(n, d), causal=causal, model=model)
    pose_s = rel + path[:, None]
    origin = pose_s[first, 0] - (pose_s[first, 0] @ n + d + ankle_h) * n
    M = frame_from(n, facing(pose_s[first], n), origin)
    w = _apply(M, pose_s)
    p = contact_probability(w, fps, ankle_h, causal=causal)
    on = hysteresis(p)
    if pin:
        w = pin_feet(w, on, fps, ankle_h, causal=causal,
                     strength=PIN_STRENGTH_ONLINE if causal else (1.0, 1.0)).astype(np.float64)
    meta.update(status="ok", floor_rms_m=fit.rms_m, contact_threshold=ON, floor_points=fit.points,
                floor_normal_sd_deg=fit.normal_sd_deg,
                camera_height_m=float(d + ankle_h),
                camera_tilt_down_deg=float(np.degrees(np.arcsin(np.clip(-n[2], -1, 1)))),
                camera_roll_deg=float(np.degrees(np.arctan2(n[0], -n[1]))),
                contact_frames=[int(v) for v in on.sum(0)])
    return WorldResult(w.astype(np.float32), M.astype(np.float32), float(scale), "ok",
                       contacts=np.where(np.isfinite(p), p, np.nan).astype(np.float32),
                       floor=np.r_[n, d + ankle_h].astype(np.float32), meta=meta)

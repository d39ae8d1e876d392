"""Change a sequence's frame rate, from joint positions alone (no quaternions needed).

Two interpolations between the two nearest input frames:

* ``"linear"`` (:func:`resample`): every coordinate linearly in time.  It cuts the chord of a
  rotating bone: half-way between frames a bone is ``cos(dθ/2)`` of its length for a per-frame
  turn ``dθ``.  Measured on the real clips (mid-points, the worst case): median 0.01 %, but up to
  39 % on DeepMimic's 16 fps backflip, where limbs turn ~100° per frame.
* ``"bones"`` (:func:`resample_skeleton`, what clips use): the root moves linearly; every bone's
  direction is slerped (great-circle, constant angular speed) and its length interpolated
  linearly, then the skeleton is rebuilt from the root outwards.  Rigid bones stay rigid, and a
  bone turning at constant speed about a fixed axis is reproduced exactly.

Downsampling does not low-pass first: mocap sampled at 30-120 Hz carries almost no energy above the
new Nyquist rate (human motion is below ~10 Hz), and a filter would blur contacts.
"""
from __future__ import annotations

import numpy as np

from ..errors import StructposeError, check_shape
from ..skeleton import H36M17, Layout
from .clip import Clip


def resample_times(num_frames: int, fps_in: float, fps_out: float) -> np.ndarray:
    """Source-frame positions (float indices) of the output frames: ``k * fps_in / fps_out`` for every
    ``k`` with the time inside the input, i.e. ``floor((T - 1) * fps_out / fps_in) + 1`` frames."""
    for what, v in (("input frame rate", fps_in), ("output frame rate", fps_out)):
        if not (np.isfinite(v) and v > 0):
            raise StructposeError(f"{what} is {v}; expected a positive number of frames per second")
    if num_frames < 1:
        raise StructposeError("cannot resample a sequence of 0 frames; expected at least 1")
    n_out = int(np.floor((num_frames - 1) * fps_out / fps_in + 1e-9)) + 1
    return np.arange(n_out) * (fps_in / fps_out)


def resample(x: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Resample ``(T, ...)`` along axis 0 from ``fps_in`` to ``fps_out`` by linear interpolation.

    Output frame ``k`` is at time ``k / fps_out`` seconds (frame 0 stays frame 0); the output has
    ``floor((T - 1) * fps_out / fps_in) + 1`` frames so that no output time lies past the last input
    frame.  NaN in an input frame spreads only to output frames that interpolate from it.
    """
    x = np.asarray(x)
    if x.ndim == 0:
        raise StructposeError("resample needs an array with a time axis first; got a scalar")
    T = x.shape[0]
    pos = resample_times(T, fps_in, fps_out)
    if fps_in == fps_out:
        return x.copy()
    i0 = np.clip(np.floor(pos).astype(int), 0, T - 1)
    i1 = np.minimum(i0 + 1, T - 1)
    w = (pos - i0).reshape((-1,) + (1,) * (x.ndim - 1))
    # exact hits take the sample as is (keeps NaN neighbours from leaking in with weight 0)
    out = np.where(w == 0, x[i0], (1 - w) * x[i0] + w * x[i1])
    return out.astype(np.result_type(x.dtype, np.float32), copy=False)


def _slerp(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Unit vectors ``a``, ``b`` (..., 3), weights ``w`` (..., 1) -> great-circle interpolation."""
    cos = np.clip((a * b).sum(-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(cos)
    s = np.sin(omega)
    small = s < 1e-6                  # (nearly) parallel: the straight line is the arc
    safe = np.where(small, 1.0, s)
    wa = np.where(small, 1 - w, np.sin((1 - w) * omega) / safe)
    wb = np.where(small, w, np.sin(w * omega) / safe)
    v = wa * a + wb * b
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n < 1e-12, 1.0, n)


def resample_skeleton(poses: np.ndarray, fps_in: float, fps_out: float, layout: Layout = H36M17) -> np.ndarray:
    """Resample ``(T, J, 3)`` joint positions keeping bones rigid: root linear, bone directions
    slerped, bone lengths linear (see the module docstring).  Same output times as :func:`resample`.
    """
    poses = np.asarray(poses, dtype=float)
    check_shape(poses, ["T", layout.num_joints, 3], "poses")
    T = poses.shape[0]
    pos = resample_times(T, fps_in, fps_out)
    if fps_in == fps_out:
        return poses.copy()
    i0 = np.clip(np.floor(pos).astype(int), 0, T - 1)
    i1 = np.minimum(i0 + 1, T - 1)
    w = (pos - i0)[:, None]
    out = np.empty((len(pos), layout.num_joints, 3))
    root = layout.parents.index(-1)
    out[:, root] = (1 - w) * poses[i0, root] + w * poses[i1, root]
    for p, c in _tree_order(layout):
        b0, b1 = poses[i0, c] - poses[i0, p], poses[i1, c] - poses[i1, p]
        l0, l1 = np.linalg.norm(b0, axis=-1, keepdims=True), np.linalg.norm(b1, axis=-1, keepdims=True)
        u0, u1 = b0 / np.where(l0 < 1e-12, 1.0, l0), b1 / np.where(l1 < 1e-12, 1.0, l1)
        out[:, c] = out[:, p] + _slerp(u0, u1, w) * ((1 - w) * l0 + w * l1)
    return out


def _tree_order(layout: Layout) -> list[tuple[int, int]]:
    """Bones ordered so every parent is placed before its children."""
    placed = {layout.parents.index(-1)}
    order, todo = [], list(layout.bones)
    while todo:
        ready = [b for b in todo if b[0] in placed]
        if not ready:
            raise StructposeError(f"layout {layout.name} has a joint not connected to its root")
        for b in ready:
            order.append(b)
            placed.add(b[1])
            todo.remove(b)
    return order


def resample_clip(clip: Clip, fps: float | None, method: str = "bones") -> Clip:
    """The clip at ``fps`` (the clip itself when ``fps`` is ``None`` or already its rate).

    ``method``: ``"bones"`` (rigid bones, default) or ``"linear"``.
    """
    if fps is None or float(fps) == float(clip.fps):
        return clip
    if method == "bones":
        world = resample_skeleton(clip.world, clip.fps, float(fps))
    elif method == "linear":
        world = resample(clip.world, clip.fps, float(fps))
    else:
        raise StructposeError(f"resample method {method!r} is unknown; expected 'bones' or 'linear'")
    return Clip(clip.name, clip.source, world, float(fps))


def segment_clip(clip: Clip, seconds: float | None) -> list[Clip]:
    """Cut a clip into consecutive named pieces ``<name>/part00``, ... of ``seconds`` each.

    ``None`` returns ``[clip]``.  A tail shorter than half a piece joins the previous piece.
    Splits follow the source clip (:func:`structpose.data.splits.base_clip_name`).
    """
    if seconds is None:
        return [clip]
    if not seconds > 0:
        raise StructposeError(f"segment length is {seconds} s; expected a positive number of seconds")
    n = max(1, int(np.rint(seconds * clip.fps)))
    starts = list(range(0, clip.num_frames, n))
    if len(starts) > 1 and clip.num_frames - starts[-1] < n / 2:
        starts.pop()
    ends = starts[1:] + [clip.num_frames]
    return [Clip(f"{clip.name}/part{i:02d}", clip.source, clip.world[a:b], clip.fps)
            for i, (a, b) in enumerate(zip(starts, ends))]

"""Change a sequence's frame rate.

Positions are interpolated linearly in time, joint by joint (no quaternions needed: every source
lands as joint positions).  Linear interpolation between two samples cuts the chord of a rotating
bone, so a bone is shortened by at most ``1 - cos(dθ/2)`` for a per-frame rotation ``dθ``: 0.03 %
at 120 Hz for a limb turning at 10 rad/s, 0.5 % at 30 Hz.  Downsampling does not low-pass first:
mocap sampled at 30-120 Hz carries almost no energy above the new Nyquist rate (human motion is
below ~10 Hz), and a filter would blur contacts.
"""
from __future__ import annotations

import numpy as np

from ..errors import StructposeError
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


def resample_clip(clip: Clip, fps: float | None) -> Clip:
    """The clip at ``fps`` (the clip itself when ``fps`` is ``None`` or already its rate)."""
    if fps is None or float(fps) == float(clip.fps):
        return clip
    return Clip(clip.name, clip.source, resample(clip.world, clip.fps, float(fps)), float(fps))


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

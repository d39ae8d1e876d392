"""Temporal refinement of per-frame 3D poses: streaming (:class:`OnlineRefiner`) and offline
(:func:`refine_sequence`), with optional skeleton fitting.

Frame rate
    TP-Net sees windows at its model rate (30 fps).  A window is read from the input at the
    times ``t + k / 30`` s, by linear interpolation between input frames (and, online, only from
    frames already received), so any input rate works and the output has exactly the input's
    frames: no resampling back.  At 60 fps the window spans the same 0.63 s as at 30 fps.

Root
    TP-Net refines the root-relative pose; the root (pelvis) trajectory passes through unchanged.

Missing frames and joints (the documented policy)
    * A frame is *missing* when its pelvis is not finite or more than half its joints are not.
    * Other non-finite joints are filled before refinement: online from that joint's last seen
      position (root-relative), offline-bidirectional by linear interpolation in time.
    * A run of missing frames no longer than ``max_gap_s`` (0.5 s) is bridged: online, the output
      holds the last refined pose (a live system must not wait); bidirectional, the window reads
      interpolated input across the gap.  A longer gap ends the sequence and the next detected
      frame starts afresh (padding by repetition, as at any sequence start).  Its frames are NaN —
      online, after the first ``max_gap_s`` seconds (held: a live system cannot know yet that the
      gap will be long); bidirectional, all of them.
    * Frames before the first detected frame are NaN.

Sequence start and end
    Fewer than N past (or future) frames: the first (last) available pose is repeated.

Skeleton fitting (``fit``)
    ``None``/``False``: off.  ``True`` or ``"median"``: the fitting policy of
    :mod:`structpose.fitting` on the refined poses — symmetrised median bone lengths over the whole
    sequence (bidirectional), or causal over the last ``history_s`` seconds of frames
    (:class:`~structpose.fitting.RunningSkeleton`, online: :func:`refine_sequence` and
    :class:`OnlineRefiner` give the same poses).  An array ``(16,)`` in ``H36M17.bones`` order
    (metres): a known subject skeleton.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StructposeError, check_shape
from ..fitting import HISTORY_S, RunningSkeleton, fit_sequence, fit_skeleton
from ..models.npz_infer import WEIGHTS_DIR, NotAnMLP, NpzTPNet, npz_for, torch_forced
from ..models.windows import check_mode, sample_windows, window_offsets
from ..skeleton import H36M17

MAX_GAP_S = 0.5
MODES = ("online", "bidirectional", "none")
Fit = None | bool | str | np.ndarray
ModelArg = Any   # None (shipped) | str | Path (a model file) | a torch temporal module


def _load(path: Path) -> Any:
    """A temporal model file: NumPy from its .npz (no torch import) unless STRUCTPOSE_INFERENCE=torch or
    the model is not an MLP (the LSTM baseline runs in torch)."""
    if not torch_forced():
        try:
            return NpzTPNet.from_file(npz_for(path))
        except NotAnMLP:
            pass
    from ..models.tpnet import load_model
    return load_model(path)


def _model(model: ModelArg, mode: str) -> Any:
    if model is None:
        check_mode(mode)
        p = WEIGHTS_DIR / f"tpnet_{mode}.pt"
        if not p.is_file():
            raise StructposeError(f"shipped weights {p.name} are missing from the package; reinstall structpose or "
                                  f"train them with `structpose train tpnet --config configs/tpnet_{mode}.yaml`")
        return _load(p)
    if isinstance(model, (str, Path)):
        if Path(model).is_dir():
            raise StructposeError(f"{model} is a folder; expected a .pt model file written by `structpose train tpnet`")
        if not Path(model).is_file():
            raise StructposeError(f"{model}: no such model file; expected a .pt written by `structpose train tpnet`")
        m = _load(Path(model))
    else:
        m = model
    if m.mode != mode:
        raise StructposeError(f"the model's mode is {m.mode!r} but mode={mode!r} was asked for")
    return m.eval()


def _lengths(fit: Fit) -> np.ndarray | str | None:
    if fit is None or fit is False:
        return None
    if fit is True or (isinstance(fit, str) and fit == "median"):
        return "median"
    if isinstance(fit, str):
        raise StructposeError(f"fit={fit!r}; expected None, True, 'median' or an array of bone lengths")
    lengths = np.asarray(fit, np.float64)
    nb = len(H36M17.bones)
    if lengths.shape != (nb,) or not np.isfinite(lengths).all() or (lengths <= 0).any():
        raise StructposeError(f"bone lengths have shape {lengths.shape}; expected ({nb},) positive metres in "
                              "H36M-17 bone order (child joints 1..16)")
    return lengths


def _frame_ok(p: np.ndarray) -> np.ndarray:
    """(T,) True where the pelvis is finite and at least half the joints are."""
    fin = np.isfinite(p).all(-1)
    return fin[:, 0] & (fin.sum(-1) >= p.shape[1] / 2)


def _forward(model: Any, windows: np.ndarray) -> np.ndarray:
    """``(B, N, 17, 3)`` windows -> ``(B, 17, 3)`` through a NumPy or torch temporal model."""
    if isinstance(model, NpzTPNet):
        return model(windows)
    import torch
    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(windows, np.float32))).numpy()


def _run(model: Any, windows: np.ndarray, batch: int = 4096) -> np.ndarray:
    out = []
    for i in range(0, len(windows), batch):
        out.append(_forward(model, windows[i:i + batch]))
    return np.concatenate(out) if out else np.zeros((0, 17, 3), np.float32)


def refine_sequence(poses: np.ndarray, fps: float, mode: str = "online", fit: Fit = None,
                    model: ModelArg = None, max_gap_s: float = MAX_GAP_S,
                    history_s: float = HISTORY_S) -> np.ndarray:
    """Refine a whole sequence ``(T, 17, 3)`` (metres, H36M-17) at ``fps``; returns ``(T, 17, 3)`` float32.

    ``mode='online'`` gives exactly what :class:`OnlineRefiner` returns frame by frame (with the
    same ``fit``: causal there); ``model`` defaults to the shipped weights.
    """
    check_shape(poses, ["...", 17, 3], "poses")
    p = np.asarray(poses, np.float64)
    if p.ndim != 3 or p.shape[0] < 1:
        raise StructposeError(f"poses has shape {p.shape}; expected one sequence (T, 17, 3) with T >= 1")
    if not (np.isfinite(fps) and fps > 0):
        raise StructposeError(f"fps is {fps}; expected a positive frame rate")
    if np.isinf(p).any():
        raise StructposeError("poses contain inf; mark missing frames or joints with NaN")
    m = _model(model, mode)
    lengths = _lengths(fit)
    T = p.shape[0]
    times = np.arange(T) / fps
    ok = _frame_ok(p)
    if not ok.any():
        raise StructposeError("no frame holds a pose (every pelvis is NaN or most joints are missing)")
    root = p[:, 0].copy()
    rel = p - root[:, None]
    rel[~ok] = np.nan
    rel = _fill_joints(rel, times, ok, causal=(mode == "online"))
    ok &= np.isfinite(rel).all((1, 2))
    offsets = window_offsets(m.window, m.mode)
    out = np.full((T, 17, 3), np.nan)
    out_root = np.full((T, 3), np.nan)
    vi = np.flatnonzero(ok)
    breaks = np.flatnonzero(np.diff(times[vi]) > max_gap_s) + 1
    for seg in np.split(vi, breaks):
        tv = times[seg]
        end = min(T - 1, int(np.searchsorted(times, tv[-1] + max_gap_s + 1e-9, side="right")) - 1)
        span = np.arange(seg[0], end + 1)
        if mode == "online":
            out[seg] = _run(m, sample_windows(rel[seg], tv, tv, offsets, m.rate))
            out_root[seg] = root[seg]
            out[span], out_root[span] = _ffill(out[span]), _ffill(out_root[span])   # hold across gaps
        else:
            inside = span[times[span] <= tv[-1]]       # offline knows where a segment ends: no trailing hold
            out[inside] = _run(m, sample_windows(rel[seg], tv, times[inside], offsets, m.rate))
            for k in range(3):
                out_root[inside, k] = np.interp(times[inside], tv, root[seg, k])
    out = (out + out_root[:, None]).astype(np.float32)
    if lengths is None:
        return out
    if isinstance(lengths, str):
        return fit_sequence(out, causal=(mode == "online"), history=_history(history_s, fps))
    return fit_sequence(out, lengths)


def _history(history_s: float, fps: float) -> int:
    """The running fit's window in frames: ``history_s`` seconds at ``fps`` (at least one frame)."""
    return max(1, round(history_s * fps))


def refine_and_fit(poses: np.ndarray, fps: float, mode: str = "online", fit: Fit = True,
                   model: ModelArg = None) -> np.ndarray:
    """The temporal stage every command shares: TP-Net in ``mode`` then the fitting policy.

    ``mode``: "online", "bidirectional" (:func:`refine_sequence`) or "none" (no TP-Net: fitting
    only, over the whole sequence).  A sequence without any pose is returned unchanged (float32).
    """
    if mode not in MODES:
        raise StructposeError(f"mode {mode!r} unknown; choose online, bidirectional or none")
    p = np.asarray(poses, np.float32)
    if mode == "none":
        lengths = _lengths(fit)
        if lengths is None:
            return p.copy()
        return fit_sequence(p, None if isinstance(lengths, str) else lengths)
    if not _frame_ok(p).any():
        return p.copy()
    return refine_sequence(p, fps, mode=mode, fit=fit, model=model)


def _ffill(x: np.ndarray) -> np.ndarray:
    """Forward-fill NaN frames along axis 0 (a frame is NaN when any of its values is)."""
    good = np.isfinite(x.reshape(len(x), -1)).all(1)
    idx = np.where(good, np.arange(len(x)), -1)
    idx = np.maximum.accumulate(idx)
    out = x.copy()
    has = idx >= 0
    out[has] = x[idx[has]]
    return out


def _fill_joints(rel: np.ndarray, times: np.ndarray, ok: np.ndarray, causal: bool) -> np.ndarray:
    """Fill non-finite joints of usable frames from the same joint in other usable frames."""
    rel = rel.copy()
    fin = np.isfinite(rel).all(-1) & ok[:, None]
    for j in np.flatnonzero((~fin[ok]).any(0)):
        have = np.flatnonzero(fin[:, j])
        need = np.flatnonzero(ok & ~fin[:, j])
        if len(have) == 0:
            continue                    # the joint is never seen: those frames stay unusable
        if causal:
            k = np.searchsorted(have, need, side="right") - 1
            src = np.where(k >= 0, have[np.maximum(k, 0)], -1)
            rel[need[src >= 0], j] = rel[src[src >= 0], j]
        else:
            for c in range(3):
                rel[need, j, c] = np.interp(times[need], times[have], rel[have, j, c])
    return rel


class OnlineRefiner:
    """Streaming TP-Net: ``push(pose)`` one ``(17, 3)`` pose (metres) per frame -> the refined pose.

    >>> r = OnlineRefiner(fps=30)          # the shipped online TP-Net
    >>> refined = [r.push(p) for p in poses]

    ``t`` (seconds) may be given per frame for irregular timestamps; otherwise frame k is at
    ``k / fps``.  Missing frames (NaN) follow the module's policy: hold up to ``max_gap_s``, then
    NaN and a fresh start.  Only online models: a bidirectional model needs future frames
    (use :func:`refine_sequence`).
    """

    def __init__(self, model: ModelArg = None, fps: float = 30.0, fit: Fit = None,
                 max_gap_s: float = MAX_GAP_S, history_s: float = HISTORY_S) -> None:
        if not (np.isfinite(fps) and fps > 0):
            raise StructposeError(f"fps is {fps}; expected a positive frame rate")
        self.model = _model(model, "online")
        self.fps, self.max_gap_s, self.history_s = float(fps), float(max_gap_s), float(history_s)
        self.lengths = _lengths(fit)
        self.offsets = window_offsets(self.model.window, "online")
        self.span = (self.model.window - 1) / self.model.rate
        self.reset()

    def reset(self) -> None:
        self._times: deque[float] = deque()
        self._poses: deque[np.ndarray] = deque()
        self._running = RunningSkeleton(_history(self.history_s, self.fps)) if isinstance(self.lengths, str) else None
        self._frame = 0
        self._last_t: float | None = None
        self._last_valid_t: float | None = None
        self._last_out: np.ndarray | None = None
        self._last_rel: np.ndarray | None = None     # last seen joints: fills partially missing frames

    def push(self, pose: np.ndarray, t: float | None = None) -> np.ndarray:
        """Refine the newest pose ``(17, 3)``; returns ``(17, 3)`` float32 (NaN: no pose to give)."""
        check_shape(pose, [17, 3], "pose")
        t = self._frame / self.fps if t is None else float(t)
        self._frame += 1
        if self._last_t is not None and not t > self._last_t:
            raise StructposeError(f"timestamps must increase; got t={t} after t={self._last_t}")
        self._last_t = t
        p = np.asarray(pose, np.float64)
        if np.isinf(p).any():
            raise StructposeError("pose contains inf; mark missing joints with NaN")
        gap = self._last_valid_t is not None and t - self._last_valid_t > self.max_gap_s
        if gap:
            self._times.clear(), self._poses.clear()
        rel = p - p[0]
        if _frame_ok(p[None])[0] and not np.isfinite(rel).all() and self._last_rel is not None:
            miss = ~np.isfinite(rel).all(-1)
            rel[miss] = self._last_rel[miss]
        if not (_frame_ok(p[None])[0] and np.isfinite(rel).all()):
            if self._last_out is not None and not gap:
                return self._fit((self._last_out + self._last_root).astype(np.float32))
            return np.full((17, 3), np.nan, np.float32)
        self._last_rel = rel
        self._times.append(t), self._poses.append(rel)
        while len(self._times) >= 2 and self._times[1] <= t - self.span:
            self._times.popleft(), self._poses.popleft()
        win = sample_windows(np.stack(self._poses), np.array(self._times), np.array([t]), self.offsets,
                             self.model.rate)
        out = _forward(self.model, win.astype(np.float32))[0].astype(np.float64)
        self._last_valid_t, self._last_out, self._last_root = t, out, p[0].copy()
        return self._fit((out + p[0]).astype(np.float32))

    def _fit(self, pose: np.ndarray) -> np.ndarray:
        """The fitting policy on one output pose (held ones too, as :func:`refine_sequence` does)."""
        if self._running is not None:
            return self._running(pose)
        if self.lengths is not None:
            return fit_skeleton(pose.astype(np.float64), self.lengths).astype(np.float32)
        return pose


def refine_file(input: str | Path, out: str | Path, mode: str = "online", fit: bool = False,
                bone_lengths: str | Path | None = None, model: ModelArg = None, fps: float | None = None,
                max_gap_s: float = MAX_GAP_S) -> tuple[object, np.ndarray]:
    """The refine command: a pose file in, a refined pose file out (``image_size``, 2D keypoints,
    scores and ``meta`` carried over; ``meta['refine']`` says what was done).

    ``fit``: the fitting policy on the refined poses; ``bone_lengths``: a file of subject bone
    lengths instead (:func:`structpose.io.bonefile.load_bone_lengths`).  ``fps`` overrides or
    supplies the file's frame rate.  Returns ``(the written PoseSequence, indices of bridged frames)``:
    frames missing in the input that now hold a pose.
    """
    from ..errors import check_fps, warn
    from ..geometry import bone_lengths as lengths_of
    from ..io.bonefile import load_bone_lengths
    from ..io.guards import check_metres, refuse_overwrite
    from ..io.posefile import PoseSequence, load_pose_file
    from .outputs import check_pose_path, write_outputs
    out = check_pose_path(out)
    refuse_overwrite({"--out": out}, {"INPUT": input, "--bone-lengths": bone_lengths,
                                      "--model": model if isinstance(model, (str, Path)) else None})
    if fps is not None:
        check_fps(fps, "--fps")
    if not (np.isfinite(max_gap_s) and 0 <= max_gap_s <= 3600):
        raise StructposeError(f"--max-gap {max_gap_s}; expected seconds, 0..3600 (0: bridge nothing)")
    seq = load_pose_file(input, fps=fps)
    poses = seq.poses_3d.astype(np.float64)
    poses[~seq.valid] = np.nan
    check_metres(poses, str(input))
    # a valid frame whose joints all sit at one point (e.g. all zeros) is no skeleton: treat it as missing
    flat = np.isfinite(poses).all((1, 2)) & (np.nan_to_num(lengths_of(poses)).max(-1) < 1e-3)
    if flat.any():
        warn(f"{input}: {int(flat.sum())} frame(s) marked valid hold no skeleton (every bone < 1 mm, e.g. "
             "all zeros); refined as missing frames")
        poses[flat] = np.nan
    how: Fit = load_bone_lengths(bone_lengths) if bone_lengths else (True if fit else None)
    refined = refine_sequence(poses, seq.fps, mode=mode, fit=how, model=model, max_gap_s=max_gap_s)
    valid = np.isfinite(refined).all((1, 2))
    bridged = np.flatnonzero(valid & ~np.isfinite(poses).all((1, 2)))
    meta = dict(seq.meta)
    meta.pop("world", None)          # the world keys are not carried over: the refined poses differ
    meta["refine"] = {"mode": mode, "model": str(model or "shipped"),
                      "fit_skeleton": "lengths file" if bone_lengths else bool(fit),
                      "max_gap_s": max_gap_s, "input_fps": seq.fps, "bridged_frames": bridged.tolist()}
    res = PoseSequence(poses_3d=refined, fps=seq.fps, poses_2d=seq.poses_2d, scores=seq.scores,
                       image_size=seq.image_size, valid=valid, meta=meta)
    write_outputs(res, out)
    return res, bridged

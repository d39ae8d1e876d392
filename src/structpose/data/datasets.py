"""Torch datasets over real mocap clips: pose windows (TP-Net) and (2D, 3D) pairs (lifter, SAP-Net).

Poses are in a camera frame (x right, y down, z forward), metres, H36M-17, root-relative (pelvis
at the origin) unless stated.

Both are deterministic given ``seed`` and the epoch (:meth:`set_epoch`): item ``i`` of epoch ``e``
draws its randomness from a counter-based hash of ``(seed, e, i)`` (SplitMix64), so DataLoader
workers, shuffling and resuming never change what an item holds, and no generator is built per
item (that alone cost ~80 us).

Fast batches: ``ds.batch(indices)`` (or ``ds[list_of_indices]``) builds a whole batch vectorised
(3-10x the per-item rate, ``benchmarks/bench_data.py``) with the same numbers as the items;
``DataLoader(ds, batch_size=B)`` uses it through ``__getitems__``, and ``DataLoader(ds,
batch_size=None, sampler=BatchSampler(RandomSampler(ds), B, drop_last=False))`` also skips the
per-item collation.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..cameras import (
    IMAGE_SIZES,
    Camera,
    CameraBatch,
    camera_from_uniforms,
    cameras_from_uniforms_batch,
    sample_virtual_camera,
)
from ..errors import StructposeError
from .clip import Clip
from .resample import resample_clip

ROOT = 0  # H36M-17 pelvis


def _prepare(clips: Sequence[Clip], target_fps: float | None) -> list[Clip]:
    clips = [resample_clip(c, target_fps) for c in clips]
    if not clips:
        raise StructposeError("dataset needs at least one clip; got none (check the split or sources)")
    for c in clips:
        if c.world.ndim != 3 or c.world.shape[1:] != (17, 3):
            raise StructposeError(f"clip {c.name} has shape {c.world.shape}; expected (T, 17, 3) H36M-17")
    return clips


def window_indices(t: int, num_frames: int, window: int, mode: str) -> tuple[np.ndarray, int]:
    """Frame indices of the window for target frame ``t`` and the target's position in it.

    ``online``: frames ``t-N+1 .. t`` (target last).  ``bidirectional``: ``t-N//2 .. t+N-N//2-1``
    (target at ``N//2``; for N = 20, 10 frames before and 9 after).  Indices outside the clip are
    clamped to its first/last frame: the sequence start (and end) is padded by repeating the edge
    pose, which is also what a streaming predictor sees on its first frames.
    """
    if mode == "online":
        start, target = t - window + 1, window - 1
    elif mode == "bidirectional":
        start, target = t - window // 2, window // 2
    else:
        raise StructposeError(f"window mode {mode!r} is unknown; expected 'online' or 'bidirectional'")
    return np.clip(np.arange(start, start + window), 0, num_frames - 1), target


_MASK = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def hash_uniforms(seed: int, epoch: int, index: int, n: int) -> np.ndarray:
    """``n`` uniforms in ``[0, 1)`` that depend only on ``(seed, epoch, index)`` (SplitMix64 chain)."""
    key = _splitmix64(_splitmix64(_splitmix64(seed) ^ epoch) ^ index)
    return np.array([(_splitmix64(key + k) >> 11) / 9007199254740992.0 for k in range(n)])


_M64 = np.uint64(_MASK)


def _splitmix64_np(x: np.ndarray) -> np.ndarray:
    # uint64 array arithmetic wraps modulo 2**64, exactly as the masked Python version
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hash_uniforms_batch(seed: int, epoch: int, indices: np.ndarray, n: int) -> np.ndarray:
    """:func:`hash_uniforms` for many indices: ``(N,)`` -> ``(N, n)``, the same numbers."""
    with np.errstate(over="ignore"):
        base = np.uint64(_splitmix64(_splitmix64(seed) ^ epoch))
        key = _splitmix64_np(base ^ np.asarray(indices, dtype=np.int64).astype(np.uint64))
        u = _splitmix64_np(key[:, None] + np.arange(n, dtype=np.uint64)[None])
    return (u >> np.uint64(11)).astype(np.float64) / 9007199254740992.0


def _unbind(batch: dict) -> list[dict]:
    """A batch dict of tensors -> one dict per item (what DataLoader's collate expects)."""
    n = len(batch["clip"])
    return [{k: (v[i] if torch.is_tensor(v) and k not in ("clip", "frame", "target_index") else int(v[i]))
             for k, v in batch.items()} for i in range(n)]


class _Seeded(Dataset):
    seed: int
    epoch: int = 0

    def set_epoch(self, epoch: int) -> None:
        """Fresh random views for a new epoch (same epoch -> same items)."""
        self.epoch = int(epoch)

    def _uniforms(self, i: int, n: int) -> np.ndarray:
        return hash_uniforms(self.seed, self.epoch, int(i), n)

    def _indices(self, indices) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"index out of range for a dataset of {len(self)} items")
        return idx % max(len(self), 1)

    def __getitems__(self, indices) -> list[dict]:
        """Batched fetch for torch's DataLoader (``batch_size`` set): one vectorised :meth:`batch`."""
        return _unbind(self.batch(indices))

    @staticmethod
    def _check_seed(seed: int) -> int:
        if int(seed) < 0:
            raise StructposeError(f"seed={seed}; expected a non-negative integer")
        return int(seed)


class PoseWindowDataset(_Seeded):
    """Windows of ``window`` consecutive root-relative camera-frame poses, for TP-Net.

    Item ``dict``: ``window`` float32 ``(N, 17, 3)`` (each frame minus its own pelvis), ``target``
    float32 ``(17, 3)`` (= ``window[target_index]``, clean ground truth; TP-Net adds its own error
    model), ``target_index`` int, ``clip`` int (index into :attr:`clips`), ``frame`` int.

    The camera: a level camera facing the subject's pelvis from a random yaw when
    ``rotate_vertical`` (every heading equally likely), else a fixed view from the world's +Z side;
    ``pitch_deg`` tilts it by up to that many degrees (a camera above or below the subject).
    One camera per window, so the window is a rigid view of the motion.  ``stride`` keeps every
    ``stride``-th target frame; ``target_fps`` resamples the clips first.
    """

    def __init__(self, clips: Sequence[Clip], window: int = 20, mode: str = "online",
                 target_fps: float | None = None, rotate_vertical: bool = True, pitch_deg: float = 20.0,
                 stride: int = 1, seed: int = 0) -> None:
        if window < 1 or stride < 1:
            raise StructposeError(f"window={window}, stride={stride}; both must be >= 1")
        window_indices(0, 1, window, mode)            # validates mode
        self.clips = _prepare(clips, target_fps)
        self.window, self.mode, self.seed = int(window), mode, self._check_seed(seed)
        self.rotate_vertical, self.pitch_deg = rotate_vertical, float(pitch_deg)
        self.index = np.array([(ci, t) for ci, c in enumerate(self.clips)
                               for t in range(0, c.num_frames, stride)], dtype=np.int64).reshape(-1, 2)

    def __len__(self) -> int:
        return len(self.index)

    def view_rotation(self, i: int) -> np.ndarray:
        """World (Y up) -> camera (y down) rotation of item ``i``'s camera (this epoch)."""
        u = self._uniforms(i, 2)
        yaw = 2 * math.pi * u[0] if self.rotate_vertical else 0.0
        pitch = math.radians(self.pitch_deg * (2 * u[1] - 1))
        # camera on the ray (cos p sin y, sin p, cos p cos y) from the subject, looking back at it:
        # z = -ray, x = z x up (level), y = z x x  (look_at in closed form)
        cp, sp, cy, sy = math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw)
        return np.array([[cy, 0.0, -sy],
                         [sp * sy, -cp, sp * cy],            # z x x, written out
                         [-cp * sy, -sp, -cp * cy]])

    def view_rotations(self, indices: np.ndarray) -> np.ndarray:
        """:meth:`view_rotation` for many items: ``(N,)`` -> ``(N, 3, 3)``."""
        u = hash_uniforms_batch(self.seed, self.epoch, indices, 2)
        yaw = 2 * np.pi * u[:, 0] if self.rotate_vertical else np.zeros(len(u))
        pitch = np.radians(self.pitch_deg * (2 * u[:, 1] - 1))
        cp, sp, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
        zero = np.zeros_like(cp)
        return np.stack([np.stack([cy, zero, -sy], -1), np.stack([sp * sy, -cp, sp * cy], -1),
                         np.stack([-cp * sy, -sp, -cp * cy], -1)], 1)

    def batch(self, indices) -> dict:
        """Items ``indices`` stacked (vectorised; equal to stacking :meth:`__getitem__`):
        ``window`` (B, N, 17, 3), ``target`` (B, 17, 3), ``target_index``, ``clip``, ``frame`` (B,)."""
        idx = self._indices(indices)
        if not hasattr(self, "_frames"):
            self._frames = np.concatenate([c.world for c in self.clips])
            self._offset = np.cumsum([0] + [c.num_frames for c in self.clips])[:-1]
            self._length = np.array([c.num_frames for c in self.clips])
        ci, t = self.index[idx, 0], self.index[idx, 1]
        start = t - self.window + 1 if self.mode == "online" else t - self.window // 2
        target = self.window - 1 if self.mode == "online" else self.window // 2
        frames = np.clip(start[:, None] + np.arange(self.window), 0, self._length[ci, None] - 1)
        poses = self._frames[frames + self._offset[ci, None]]              # (B, N, 17, 3)
        rel = poses - poses[:, :, ROOT:ROOT + 1]
        B = len(idx)
        Rt = np.swapaxes(self.view_rotations(idx), 1, 2)
        win = (rel.reshape(B, -1, 3) @ Rt).reshape(rel.shape).astype(np.float32)   # matmul: 4x einsum
        return {"window": torch.from_numpy(win), "target": torch.from_numpy(win[:, target].copy()),
                "target_index": torch.full((len(idx),), target, dtype=torch.int64),
                "clip": torch.from_numpy(ci.copy()), "frame": torch.from_numpy(t.copy())}

    def __getitem__(self, i: int | Sequence[int] | np.ndarray) -> dict:
        if not np.isscalar(i) and not (isinstance(i, np.ndarray) and i.ndim == 0):
            return self.batch(i)
        ci, t = (int(v) for v in self.index[i])
        clip = self.clips[ci]
        idx, target = window_indices(t, clip.num_frames, self.window, self.mode)
        poses = clip.world[idx]
        rel = poses - poses[:, ROOT:ROOT + 1]
        win = (rel @ self.view_rotation(i).T).astype(np.float32)
        return {"window": torch.from_numpy(win), "target": torch.from_numpy(win[target].copy()),
                "target_index": target, "clip": ci, "frame": t}


class Pairs2D3DDataset(_Seeded):
    """(2D pixels, intrinsics, root-relative 3D) pairs of real poses seen by virtual cameras.

    ``cameras_per_clip=None``: a new camera per item, sampled to see that pose
    (:func:`structpose.cameras.sample_virtual_camera`), changing with :meth:`set_epoch`.
    ``cameras_per_clip=K``: K fixed cameras per clip, each seeing the whole clip; items are every
    (clip, frame, camera) triple (for validation sets that must not change).

    Item ``dict``: ``pose_2d`` float32 ``(17, 2)`` pixels, ``K`` float32 ``(3, 3)`` intrinsics,
    ``pose_3d`` float32 ``(17, 3)`` root-relative camera frame (metres), ``root_3d`` float32 ``(3,)``
    pelvis in the camera frame (metres), ``image_size`` int64 ``(2,)`` = (width, height),
    ``clip``, ``frame``.  ``frame_stride`` keeps every n-th frame (neighbours are near-duplicates).
    """

    def __init__(self, clips: Sequence[Clip], cameras_per_clip: int | None = None, seed: int = 0,
                 frame_stride: int = 1, target_fps: float | None = None,
                 image_sizes: tuple[tuple[int, int], ...] = IMAGE_SIZES, **camera_ranges) -> None:
        if frame_stride < 1:
            raise StructposeError(f"frame_stride={frame_stride}; expected >= 1")
        if cameras_per_clip is not None and cameras_per_clip < 1:
            raise StructposeError(f"cameras_per_clip={cameras_per_clip}; expected None or >= 1")
        self.clips = _prepare(clips, target_fps)
        self.seed, self.image_sizes, self.camera_ranges = self._check_seed(seed), image_sizes, camera_ranges
        frames = [(ci, t) for ci, c in enumerate(self.clips) for t in range(0, c.num_frames, frame_stride)]
        self.fixed: list[list[Camera]] | None = None
        if cameras_per_clip is None:
            self.index = np.array(frames, dtype=np.int64).reshape(-1, 2)
        else:
            self.fixed = [[sample_virtual_camera(np.random.default_rng((self.seed, 2**31, ci, k)), c.world,
                                                 image_sizes=image_sizes, **camera_ranges)
                           for k in range(cameras_per_clip)] for ci, c in enumerate(self.clips)]
            self.index = np.array([(ci, t, k) for ci, t in frames for k in range(cameras_per_clip)],
                                  dtype=np.int64).reshape(-1, 3)

    def __len__(self) -> int:
        return len(self.index)

    def camera(self, i: int) -> Camera:
        """The camera of item ``i`` (for the current epoch)."""
        row = self.index[i]
        if self.fixed is not None:
            return self.fixed[int(row[0])][int(row[2])]
        pose = self.clips[int(row[0])].world[int(row[1])]
        return camera_from_uniforms(self._uniforms(i, 9), pose, image_sizes=self.image_sizes,
                                    **self.camera_ranges)

    def batch(self, indices) -> dict:
        """Items ``indices`` stacked (vectorised; equal to stacking :meth:`__getitem__`)."""
        idx = self._indices(indices)
        rows = self.index[idx]
        world = np.stack([self.clips[int(c)].world[int(t)] for c, t in rows[:, :2]])     # (B, 17, 3)
        if self.fixed is None:
            cams = cameras_from_uniforms_batch(hash_uniforms_batch(self.seed, self.epoch, idx, 9), world,
                                               image_sizes=self.image_sizes, **self.camera_ranges)
        else:
            chosen = [self.fixed[int(c)][int(k)] for c, k in rows[:, [0, 2]]]
            cams = CameraBatch(np.stack([c.R for c in chosen]), np.stack([c.t for c in chosen]),
                               np.stack([c.f for c in chosen]), np.stack([c.c for c in chosen]),
                               np.array([c.image_size for c in chosen], dtype=np.int64))
        p3 = world @ np.swapaxes(cams.R, 1, 2) + cams.t[:, None]
        p2 = p3[..., :2] / p3[..., 2:] * cams.f[:, None] + cams.c[:, None]     # virtual cameras: no distortion
        K = np.zeros((len(idx), 3, 3), np.float32)
        K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = (cams.f[:, 0], cams.f[:, 1], cams.c[:, 0],
                                                                      cams.c[:, 1], 1.0)
        return {"pose_2d": torch.from_numpy(p2.astype(np.float32)), "K": torch.from_numpy(K),
                "pose_3d": torch.from_numpy((p3 - p3[:, ROOT:ROOT + 1]).astype(np.float32)),
                "root_3d": torch.from_numpy(p3[:, ROOT].astype(np.float32)),
                "image_size": torch.from_numpy(np.asarray(cams.image_size, dtype=np.int64)),
                "clip": torch.from_numpy(rows[:, 0].copy()), "frame": torch.from_numpy(rows[:, 1].copy())}

    def __getitem__(self, i: int | Sequence[int] | np.ndarray) -> dict:
        if not np.isscalar(i) and not (isinstance(i, np.ndarray) and i.ndim == 0):
            return self.batch(i)
        ci, t = int(self.index[i][0]), int(self.index[i][1])
        cam = self.camera(i)
        p3 = cam.world_to_camera(self.clips[ci].world[t])
        p2 = cam.project(p3)
        K = np.array([[cam.f[0], 0, cam.c[0]], [0, cam.f[1], cam.c[1]], [0, 0, 1]], dtype=np.float32)
        return {"pose_2d": torch.from_numpy(p2.astype(np.float32)), "K": torch.from_numpy(K),
                "pose_3d": torch.from_numpy((p3 - p3[ROOT]).astype(np.float32)),
                "root_3d": torch.from_numpy(p3[ROOT].astype(np.float32)),
                "image_size": torch.tensor(cam.image_size, dtype=torch.int64), "clip": ci, "frame": t}

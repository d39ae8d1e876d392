"""Inference without torch: the lifter and TP-Net evaluated in NumPy from ``.npz`` weights.

Both networks are small MLPs.  At the batch sizes of a stream (one frame) torch's per-operation
overhead dominates, and importing torch alone costs seconds of start-up.  So the product's
inference path (``video``, ``lift``, ``image`` with MediaPipe) reads the weights from an ``.npz``
holding exactly the values of the ``.pt`` checkpoint (float16 as shipped, cast to float32 here) and
runs the forward pass with NumPy; training and SAP-Net keep torch.

Where the ``.npz`` comes from (:func:`npz_for`): beside the ``.pt`` (``lifter.pt`` ->
``lifter.npz``; the shipped weights carry theirs, written by ``structpose export npz``) when its
recorded SHA-256 of the ``.pt`` matches; otherwise a copy converted once into the data folder
(``$STRUCTPOSE_DATA/npz``), which needs torch that one time.  ``STRUCTPOSE_INFERENCE=torch`` makes
the pipeline use torch as before (the speed benchmark's "before").

The files hold plain arrays plus a JSON config as a string array: they load with
``allow_pickle=False``.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StructposeError
from ..io.datafolder import data_folder
from ..skeleton import H36M17
from .windows import DELTA_SCALE, MODEL_FPS, POSE_SCALE, check_mode, lookahead, reference_index

J = H36M17.num_joints
_j = H36M17.index
PELVIS, THORAX, SPINE, HEAD_TOP = _j("pelvis"), _j("thorax"), _j("spine"), _j("head_top")
L_HIP, R_HIP, L_SH, R_SH, NOSE = _j("l_hip"), _j("r_hip"), _j("l_shoulder"), _j("r_shoulder"), _j("neck_nose")
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
FORMAT = 1
#: shipped lifter variants by name (``--lifter NAME`` / ``STRUCTPOSE_LIFTER=NAME``; see models/lifter.py)
#: metres -> the world-landmark inputs of a ``world`` lifter (a body's joints then span about +-3)
WORLD_SCALE = 3.0
LIFTER_NAMES = {"today": "lifter.pt", "motion": "lifter_motion.pt", "motion-commercial": "lifter_motion_commercial.pt",
                "world": "lifter_world.pt"}


def lifter_path(weights: str | Path | None = None) -> Path:
    """The lifter weights file for ``weights``: a path, a name of :data:`LIFTER_NAMES`, or None (then
    ``$STRUCTPOSE_LIFTER``, else the shipped ``lifter.pt``) -- the same rule as ``load_lifter``."""
    if weights is None:
        weights = os.environ.get("STRUCTPOSE_LIFTER") or WEIGHTS_DIR / "lifter.pt"
    if str(weights) in LIFTER_NAMES:
        return WEIGHTS_DIR / LIFTER_NAMES[str(weights)]
    return Path(weights)


class NotAnMLP(StructposeError):
    """The checkpoint is a model the NumPy path does not run (e.g. the LSTM baseline): use torch."""


def torch_forced() -> bool:
    """``STRUCTPOSE_INFERENCE=torch``: the old torch inference path (for comparisons); ``numpy`` or unset: NumPy."""
    v = os.environ.get("STRUCTPOSE_INFERENCE", "numpy").strip().lower()
    if v not in ("numpy", "torch"):
        raise StructposeError(f"STRUCTPOSE_INFERENCE={v!r}; expected 'numpy' (default) or 'torch'")
    return v == "torch"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _kind(config: dict[str, Any], state: dict[str, Any]) -> str:
    if "inp.0.weight" in state:
        return "lifter"
    if config.get("kind", "tpnet") == "tpnet" and "net.0.weight" in state:
        return "tpnet"
    return str(config.get("kind", "unknown"))


def export_npz(pt: str | Path, out: str | Path | None = None) -> Path:
    """Convert a lifter or TP-Net ``.pt`` to ``.npz`` (default: beside it); the arrays keep their dtype."""
    from ..io.atomic import atomic_path
    from ..io.guards import load_torch
    pt = Path(pt)
    out = Path(out) if out is not None else pt.with_suffix(".npz")
    if pt.is_dir():
        raise StructposeError(f"{pt} is a folder; expected a lifter or TP-Net weights file (.pt)")
    blob = load_torch(pt, "weights", "expected a lifter or TP-Net .pt")
    try:
        config, state = dict(blob["config"]), blob["state_dict"]
        if not all(hasattr(v, "detach") for v in state.values()):
            raise TypeError("state_dict holds non-tensors")
    except (KeyError, TypeError, ValueError) as e:
        raise StructposeError(f"{pt}: not a structpose lifter or TP-Net checkpoint ({type(e).__name__})") from None
    kind = _kind(config, state)
    if kind not in ("lifter", "tpnet"):
        raise NotAnMLP(f"{pt}: a {kind!r} model; only the lifter and TP-Net (MLPs) run from .npz")
    arrays = {f"w/{k}": v.detach().cpu().numpy() for k, v in state.items()}
    header = {"format": FORMAT, "kind": kind, "config": config, "source": pt.name, "source_sha256": _sha256(pt)}
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, __header__=np.array(json.dumps(header)), **arrays)
    return out


def read_npz(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, weights as float32)`` of a file written by :func:`export_npz` (no pickle)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["__header__"]))
            weights = {k[2:]: z[k].astype(np.float32) for k in z.files if k.startswith("w/")}
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        raise StructposeError(f"{path}: not a structpose .npz weights file ({type(e).__name__})") from None
    if header.get("format") != FORMAT or header.get("kind") not in ("lifter", "tpnet"):
        raise StructposeError(f"{path}: unknown .npz weights format; re-export it with `structpose export npz`")
    return header, weights


def _cache_dir() -> Path:
    return data_folder() / "npz"


def npz_for(pt: str | Path) -> Path:
    """The ``.npz`` matching ``pt``: beside it if its recorded hash matches, else the data-folder copy
    (converted now, with torch, if missing)."""
    pt = Path(pt)
    if pt.is_dir():
        raise StructposeError(f"{pt} is a folder; expected a lifter or TP-Net weights file (.pt)")
    if not pt.is_file():
        raise StructposeError(f"{pt}: no such weights file")
    sha = _sha256(pt)
    beside = pt.with_suffix(".npz")
    if beside.is_file():
        try:
            header, _ = read_npz(beside)
            if header.get("source_sha256") == sha:
                return beside
        except StructposeError:
            pass                       # a stale or foreign file beside it: use the cache below
    cached = _cache_dir() / f"{pt.stem}-{sha[:16]}.npz"
    if not cached.is_file():
        export_npz(pt, cached)
    return cached


def _linear(w: dict[str, np.ndarray], p: str) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(w[f"{p}.weight"].T), w[f"{p}.bias"]


def world_features(world: np.ndarray | None, n: int) -> np.ndarray:
    """``(n, 17, 3)`` root-relative metres (NaN rows, or None: none given) -> ``(n, 52)`` inputs of a ``world``
    lifter: the 51 coordinates times :data:`WORLD_SCALE` (0 where absent) and a 0/1 flag."""
    if world is None:
        return np.zeros((n, J * 3 + 1), np.float32)
    w = np.asarray(world, np.float32).reshape(n, J, 3)
    flag = np.isfinite(w).all((1, 2))
    x = np.where(flag[:, None, None], w, np.float32(0)) * np.float32(WORLD_SCALE)
    return np.concatenate([x.reshape(n, -1), flag[:, None].astype(np.float32)], 1)


class NpzLifter:
    """The lifter's :func:`~structpose.models.lifter.normalise_2d` + eval-mode forward in NumPy.

    ``NpzLifter(weights)(xy (N,17,2), mask (N,17))`` -> ``(pose_norm (N,17,3), log_scale (N,),
    xy_norm, mask, centre, radius)``.  ``weights``: the state dict as float32 arrays.
    """

    def __init__(self, weights: dict[str, np.ndarray], blocks: int, eps: float = 1e-5, world: bool = False) -> None:
        self.world = bool(world)
        self.inp = (_linear(weights, "inp.0"), _linear(weights, "inp.1"))
        self.blocks = [(_linear(weights, f"blocks.{i}.net.0"), _linear(weights, f"blocks.{i}.net.1"),
                        _linear(weights, f"blocks.{i}.net.4"), _linear(weights, f"blocks.{i}.net.5"))
                       for i in range(blocks)]
        self.out = _linear(weights, "out")
        # LayerNorm scales as (1, h) rows: the ``.T`` of a 1-D array is itself
        self.eps = np.float32(eps)

    @classmethod
    def from_file(cls, path: str | Path) -> NpzLifter:
        header, w = read_npz(path)
        if header["kind"] != "lifter":
            raise StructposeError(f"{path}: holds a {header['kind']}, not a lifter")
        return cls(w, int(header["config"].get("blocks", 3)), world=bool(header["config"].get("world", False)))

    def _ln(self, x: np.ndarray, p: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        x = x - x.sum(-1, keepdims=True) * np.float32(1 / x.shape[-1])
        var = np.einsum("ij,ij->i", x, x)[:, None] * np.float32(1 / x.shape[-1])
        return x * (p[0] / np.sqrt(var + self.eps)) + p[1]

    def __call__(self, xy: np.ndarray, mask: np.ndarray, world: np.ndarray | None = None):
        """``world`` (N, 17, 3) root-relative metres or None: read only by a ``world`` lifter."""
        xy = np.array(xy, np.float32)
        m = np.array(mask, np.float32)
        hips = 0.5 * (xy[:, L_HIP] + xy[:, R_HIP])
        sh = 0.5 * (xy[:, L_SH] + xy[:, R_SH])
        m_h, m_s = m[:, L_HIP] * m[:, R_HIP], m[:, L_SH] * m[:, R_SH]
        xy[:, PELVIS], m[:, PELVIS] = hips, m_h
        xy[:, THORAX], m[:, THORAX] = sh, m_s
        xy[:, SPINE], m[:, SPINE] = 0.5 * (hips + sh), m_h * m_s
        xy[:, HEAD_TOP], m[:, HEAD_TOP] = 1.6 * xy[:, NOSE] - 0.6 * sh, m[:, NOSE] * m_s
        mm = m[..., None]
        xy = np.where(mm > 0, xy, np.float32(0))
        count = np.maximum(mm.sum(1), np.float32(1))
        centre = np.where(m[:, PELVIS:PELVIS + 1] > 0, xy[:, PELVIS], (xy * mm).sum(1) / count)
        d = (xy - centre[:, None]) * mm
        radius = np.maximum(np.sqrt((d ** 2).sum((1, 2)) / count[:, 0]), np.float32(1e-6))
        xy_n = d / radius[:, None, None]
        x = np.concatenate([xy_n * mm, mm], -1).reshape(len(xy), -1)
        if self.world:
            x = np.concatenate([x, world_features(world, len(xy))], 1)
        (w, b), ln = self.inp
        h = np.maximum(self._ln(x @ w + b, ln), 0)
        for (w1, b1), ln1, (w2, b2), ln2 in self.blocks:
            y = np.maximum(self._ln(h @ w1 + b1, ln1), 0)
            h = h + np.maximum(self._ln(y @ w2 + b2, ln2), 0)
        y = h @ self.out[0] + self.out[1]
        pose = y[:, :J * 3].reshape(-1, J, 3)
        pose[..., :2] += xy_n * mm
        pose -= pose[:, PELVIS:PELVIS + 1]
        return pose, y[:, -1], xy_n, m, centre, radius


    def one(self, xy: np.ndarray, mask: np.ndarray):
        """One frame, ``xy (17, 2)`` float32 (0 where masked) + ``mask (17,)``: the same as ``self(xy[None],
        mask[None])`` (to float32 rounding) in fewer NumPy calls, for streaming; returns shape-``(1, ...)``
        arrays like the batched call."""
        xy = np.array(xy, np.float32)
        m = np.array(mask, np.float32)
        hips = 0.5 * (xy[L_HIP] + xy[R_HIP])
        sh = 0.5 * (xy[L_SH] + xy[R_SH])
        m_h, m_s = m[L_HIP] * m[R_HIP], m[L_SH] * m[R_SH]
        xy[PELVIS], xy[THORAX], xy[SPINE], xy[HEAD_TOP] = hips, sh, 0.5 * (hips + sh), 1.6 * xy[NOSE] - 0.6 * sh
        m[PELVIS], m[THORAX], m[SPINE], m[HEAD_TOP] = m_h, m_s, m_h * m_s, m[NOSE] * m_s
        mm = m[:, None]
        xy[m <= 0] = 0
        count = np.maximum(m.sum(), np.float32(1))
        centre = xy[PELVIS] if m[PELVIS] > 0 else (xy * mm).sum(0) / count
        d = (xy - centre) * mm
        radius = np.maximum(np.sqrt((d ** 2).sum((0, 1)) / count), np.float32(1e-6))
        xy_n = d / radius
        x = np.concatenate([xy_n * mm, mm], -1).reshape(1, -1)     # (1, n): the batched call's matmul order
        if self.world:                                               # a world lifter given no landmarks
            x = np.concatenate([x, world_features(None, 1)], 1)
        (w, b), ln = self.inp
        h = np.maximum(self._ln(x @ w + b, ln), 0)
        for (w1, b1), ln1, (w2, b2), ln2 in self.blocks:
            y = np.maximum(self._ln(h @ w1 + b1, ln1), 0)
            h += np.maximum(self._ln(y @ w2 + b2, ln2), 0)
        y = (h @ self.out[0] + self.out[1])[0]
        pose = y[:J * 3].reshape(J, 3)
        pose[:, :2] += xy_n * mm
        pose -= pose[PELVIS]
        return (pose[None], y[-1:], xy_n[None], m[None], centre[None],
                np.asarray(radius, np.float32).reshape(1))


class NpzTPNet:
    """TP-Net's eval-mode forward in NumPy: ``(..., N, 17, 3)`` window -> ``(..., 17, 3)`` (metres).

    Same attributes as the torch module where the pipeline reads them (``window``, ``mode``,
    ``rate``, ``lag``, ``ref``, ``config``)."""

    kind = "tpnet"

    def __init__(self, weights: dict[str, np.ndarray], config: dict[str, Any]) -> None:
        cfg = dict(config)
        self.window, self.mode = int(cfg.get("window", 20)), str(cfg.get("mode", "online"))
        check_mode(self.mode)
        self.joints = int(cfg.get("joints", 17))
        self.representation = str(cfg.get("representation", "relative"))
        self.rate = float(cfg.get("rate", MODEL_FPS))
        self.config = {**cfg, "kind": "tpnet"}
        self.ref = reference_index(self.window, self.mode)
        n = sum(1 for k in weights if k.startswith("net.") and k.endswith(".weight"))
        self.layers = [_linear(weights, f"net.{2 * i}") for i in range(n)]

    @classmethod
    def from_file(cls, path: str | Path) -> NpzTPNet:
        header, w = read_npz(path)
        if header["kind"] != "tpnet":
            raise StructposeError(f"{path}: holds a {header['kind']}, not a TP-Net")
        return cls(w, header["config"])

    @property
    def lag(self) -> int:
        return lookahead(self.window, self.mode)

    def eval(self) -> NpzTPNet:
        return self

    def __call__(self, win: np.ndarray) -> np.ndarray:
        win = np.asarray(win, np.float32)
        lead = win.shape[:-3]
        x = win - win[..., :1, :]                      # each frame root-relative
        ref = x[..., self.ref, :, :]
        if self.representation == "raw":
            feat = (x / np.float32(POSE_SCALE)).reshape(*lead, -1)
        else:
            others = np.concatenate([x[..., :self.ref, :, :], x[..., self.ref + 1:, :, :]], axis=-3)
            feat = np.concatenate([(ref / np.float32(POSE_SCALE)).reshape(*lead, -1),
                                   ((others - ref[..., None, :, :]) / np.float32(DELTA_SCALE)).reshape(*lead, -1)], -1)
        h = feat.reshape(-1, feat.shape[-1])
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                np.maximum(h, 0, out=h)
        h = h.reshape(*lead, -1)
        if self.representation == "raw":
            out = h * np.float32(POSE_SCALE)
        else:
            out = ref.reshape(*lead, -1) + h * np.float32(DELTA_SCALE)
        out = out.reshape(*lead, self.joints, 3)
        return out - out[..., :1, :]


def shipped_weights() -> list[Path]:
    """Every lifter / TP-Net ``.pt`` in the package's weights folder (SAP-Net excluded: it keeps torch)."""
    return sorted(p for p in WEIGHTS_DIR.glob("*.pt") if not p.name.startswith("sapnet"))

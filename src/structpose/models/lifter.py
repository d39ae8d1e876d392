"""The lifter: SAP-Net's depth path fed by 2D keypoints instead of hourglass features.

2D H36M-17 keypoints (pixels) + a per-joint mask -> root-relative 3D H36M-17 (metres).

What it assumes about the camera
--------------------------------
**No intrinsics are needed.**  The 2D input is centred on the pelvis and divided by its RMS radius
(:func:`normalise_2d`), which removes image size, focal length, principal point and distance.  This
is a *weak-perspective* model about the person's centre: a person far off the optical axis of a
wide-angle lens is lifted as if seen at the centre of the image (a small rotation error).  Metric
size comes from a predicted scale (metres per normalised unit), which the network learns from body
proportions, so it is the *average* training body's size; absolute depth needs a focal length
(:func:`root_depth`; the CLI assumes a field of view when none is given).

Output in normalised units
--------------------------
Like Zhou et al. / SAP-Net, the pose is predicted in the 2D normalisation's units: x, y agree with
the normalised 2D input (up to perspective and noise) and z is depth in the same units.  The weak
supervision of the paper — ground-truth xy with the predicted z — is then a simple concatenation
(:meth:`Lifter.forward` returns both the normalised pose and the log-scale).

Missing joints
--------------
``mask[..., j] = 0`` marks a joint the detector did not see.  Its normalised xy is set to 0 and the
mask is a second input channel, so the network knows the difference between "at the centre" and
"unknown"; the output always holds all 17 joints.  The four joints detectors never see (pelvis,
spine, thorax, head top) are recomputed from the others by the same rule for every input
(:data:`SYNTHESISED_JOINTS`), so that mocap training data and detector output look alike.
"""
from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import StructposeError
from ..skeleton import H36M17
from .npz_infer import LIFTER_NAMES, WORLD_SCALE

J = H36M17.num_joints
_j = H36M17.index
PELVIS, THORAX, SPINE, HEAD_TOP = _j("pelvis"), _j("thorax"), _j("spine"), _j("head_top")
L_HIP, R_HIP, L_SH, R_SH, NOSE = _j("l_hip"), _j("r_hip"), _j("l_shoulder"), _j("r_shoulder"), _j("neck_nose")
#: joints recomputed from the observed ones (the rule matches skeleton.py's mediapipe/coco tables)
SYNTHESISED_JOINTS = (PELVIS, SPINE, THORAX, HEAD_TOP)
WEIGHTS_PATH = Path(__file__).resolve().parent.parent / "weights" / "lifter.pt"
#: shipped lifter variants by name (each file records its sources and licences in ``extra["train"]``);
#: ``STRUCTPOSE_LIFTER=NAME`` (or a path) picks what ``load_lifter()`` loads; unset: ``lifter.pt``
NAMED_WEIGHTS = LIFTER_NAMES      # defined torch-free beside the NumPy inference path


def synthesise_2d(xy: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Recompute pelvis / spine / thorax / head top from hips, shoulders and nose.

    ``xy`` (..., 17, 2), ``mask`` (..., 17) in {0, 1}.  A synthesised joint is valid only if all of
    its sources are.  Returns new tensors (inputs untouched).
    """
    xy, mask = xy.clone(), mask.clone()
    hips = 0.5 * (xy[..., L_HIP, :] + xy[..., R_HIP, :])
    shoulders = 0.5 * (xy[..., L_SH, :] + xy[..., R_SH, :])
    m_h = mask[..., L_HIP] * mask[..., R_HIP]
    m_s = mask[..., L_SH] * mask[..., R_SH]
    xy[..., PELVIS, :], mask[..., PELVIS] = hips, m_h
    xy[..., THORAX, :], mask[..., THORAX] = shoulders, m_s
    xy[..., SPINE, :], mask[..., SPINE] = 0.5 * (hips + shoulders), m_h * m_s
    xy[..., HEAD_TOP, :] = 1.6 * xy[..., NOSE, :] - 0.6 * shoulders
    mask[..., HEAD_TOP] = mask[..., NOSE] * m_s
    return xy, mask


def normalise_2d(xy: torch.Tensor, mask: torch.Tensor, eps: float = 1e-6
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centre on the pelvis (or the mean visible joint when the hips are missing), divide by RMS radius.

    ``xy`` (..., 17, 2) pixels (any consistent unit), ``mask`` (..., 17).  Returns
    ``(xy_norm (..., 17, 2) with 0 at masked joints, mask, centre (..., 2), radius (...))``:
    ``xy ≈ xy_norm * radius + centre`` on visible joints.  Fewer than 2 visible joints give a radius
    of ``eps`` (the caller should mark such frames invalid).
    """
    xy, mask = synthesise_2d(xy, mask)
    m = mask[..., None]
    xy = torch.where(m > 0, xy, torch.zeros_like(xy))      # masked entries may hold NaN
    count = m.sum(-2).clamp_min(1.0)
    mean = (xy * m).sum(-2) / count
    has_pelvis = mask[..., PELVIS:PELVIS + 1] > 0
    centre = torch.where(has_pelvis, xy[..., PELVIS, :], mean)
    d = (xy - centre[..., None, :]) * m
    radius = ((d ** 2).sum((-1, -2)) / count[..., 0]).sqrt().clamp_min(eps)
    return d / radius[..., None, None], mask, centre, radius


@dataclass
class LifterConfig:
    """``world``: the network also takes the detector's own 3D (MediaPipe's world landmarks as H36M-17,
    root-relative metres in the same on-axis camera frame as the 2D, or NaN where the detector gave none)
    as 17 x 3 inputs scaled by :data:`WORLD_SCALE` plus one flag saying whether they are there; without
    them (flag 0) it is a 2D-only lifter (see :func:`structpose.models.npz_infer.world_features`)."""

    hidden: int = 512
    blocks: int = 3
    dropout: float = 0.1
    world: bool = False


class _Block(nn.Module):
    # LayerNorm, not BatchNorm: normalisation statistics must not depend on the batch's mix of 2D-only
    # and 3D samples (the ablation's controlled comparison relies on it) nor on the batch size at use.
    def __init__(self, h: int, p: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(h, h), nn.LayerNorm(h), nn.ReLU(), nn.Dropout(p),
                                 nn.Linear(h, h), nn.LayerNorm(h), nn.ReLU(), nn.Dropout(p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class Lifter(nn.Module):
    """Residual MLP (Martinez et al. 2017 style) standing in for SAP-Net's depth regressor.

    ``forward(xy_norm (B,17,2), mask (B,17))`` -> ``(pose_norm (B,17,3) root-relative in normalised
    units, log_scale (B,))``; metres = ``pose_norm * exp(log_scale)``.
    """

    def __init__(self, config: LifterConfig | None = None) -> None:
        super().__init__()
        self.config = config or LifterConfig()
        h = self.config.hidden
        self.inp = nn.Sequential(nn.Linear(J * 3 + (J * 3 + 1 if self.config.world else 0), h), nn.LayerNorm(h),
                                 nn.ReLU())
        self.blocks = nn.Sequential(*[_Block(h, self.config.dropout) for _ in range(self.config.blocks)])
        self.out = nn.Linear(h, J * 3 + 1)

    def forward(self, xy_norm: torch.Tensor, mask: torch.Tensor, world: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``world`` (B, 17, 3) root-relative metres (NaN / None: not given); only a ``world`` lifter reads it."""
        x = torch.cat([xy_norm * mask[..., None], mask[..., None]], -1).flatten(-2)
        if self.config.world:
            if world is None:
                world = torch.full(xy_norm.shape[:-1] + (3,), float("nan"), dtype=xy_norm.dtype)
            flag = torch.isfinite(world).all(-1).all(-1, keepdim=True).to(xy_norm.dtype)
            w = torch.where(flag[..., None] > 0, world, torch.zeros_like(world)) * WORLD_SCALE
            x = torch.cat([x, w.flatten(-2), flag], -1)
        y = self.out(self.blocks(self.inp(x)))
        pose = y[..., :J * 3].unflatten(-1, (J, 3))
        # predict a residual on the (visible) input xy: the depth path does the real work
        base = torch.cat([xy_norm * mask[..., None], torch.zeros_like(xy_norm[..., :1])], -1)
        pose = pose + base
        pose = pose - pose[..., PELVIS:PELVIS + 1, :]          # root-relative by construction
        return pose, y[..., -1]

    @torch.no_grad()
    def lift(self, xy: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor | None = None
             ) -> np.ndarray:
        """``(..., 17, 2)`` pixel keypoints (+ ``(..., 17)`` mask) -> ``(..., 17, 3)`` root-relative metres.

        Frames with fewer than 4 visible joints come back as NaN (never a made-up pose).
        """
        was_training = self.training
        self.eval()
        xy_t = torch.as_tensor(np.asarray(xy, np.float32) if not torch.is_tensor(xy) else xy).float()
        if xy_t.shape[-2:] != (J, 2):
            raise StructposeError(f"2D keypoints have shape {tuple(xy_t.shape)}; expected (..., 17, 2) H36M-17")
        if mask is None:
            m = torch.isfinite(xy_t).all(-1).float()
        else:
            m = torch.as_tensor(np.asarray(mask, np.float32) if not torch.is_tensor(mask) else mask).float()
            m = m * torch.isfinite(xy_t).all(-1).float()
        lead = xy_t.shape[:-2]
        xy_n, m2, _, _ = normalise_2d(xy_t.reshape(-1, J, 2), m.reshape(-1, J))
        pose, log_s = self(xy_n, m2)
        out = pose * log_s.exp()[:, None, None]
        out[m.reshape(-1, J).sum(-1) < 4] = float("nan")
        self.train(was_training)
        return out.reshape(*lead, J, 3).numpy()


def root_depth(radius_px: np.ndarray | float, log_scale_or_scale: np.ndarray | float, focal_px: float
               ) -> np.ndarray:
    """Depth of the root (metres) under weak perspective: ``Z = f * scale / radius``.

    ``radius_px`` is the 2D RMS radius from :func:`normalise_2d` (pixels), ``scale`` metres per
    normalised unit (``exp(log_scale)``), ``focal_px`` the focal length in pixels.
    """
    return focal_px * np.asarray(log_scale_or_scale) / np.maximum(np.asarray(radius_px, float), 1e-6)


def save_lifter(path: str | Path, model: Lifter, extra: dict | None = None, half: bool = True) -> Path:
    """Save weights (float16 by default, to keep the shipped file small) and the config, atomically."""
    from ..io.atomic import atomic_path
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"config": asdict(model.config), "state_dict": state, "extra": extra or {}}, tmp)
    return Path(path)


def load_lifter(path: str | Path | None = None) -> Lifter:
    """Load a lifter checkpoint (default: the shipped ``weights/lifter.pt``, or what the environment
    variable ``STRUCTPOSE_LIFTER`` names), in eval mode.  ``path`` may be a name of :data:`NAMED_WEIGHTS`."""
    import os
    if path is None:
        path = os.environ.get("STRUCTPOSE_LIFTER") or WEIGHTS_PATH
    if str(path) in NAMED_WEIGHTS:
        path = WEIGHTS_PATH.parent / NAMED_WEIGHTS[str(path)]
    path = Path(path)
    if path.is_dir():
        raise StructposeError(f"{path} is a folder; expected a lifter weights file (.pt)")
    if not path.is_file():
        raise StructposeError(f"{path}: no lifter weights there; train them with "
                              "`structpose train lifter --config configs/lifter.yaml`")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
        model = Lifter(LifterConfig(**ck["config"]))
        model.load_state_dict({k: v.float() for k, v in ck["state_dict"].items()})
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError, OSError, pickle.UnpicklingError) as e:
        raise StructposeError(f"{path}: not a structpose lifter checkpoint ({type(e).__name__})") from None
    return model.eval()


def numpy_lifter(model: Lifter):
    """The same network evaluated with NumPy, from a torch model's weights: a few hundred microseconds per frame
    instead of milliseconds, because a batch of one is dominated by torch's per-operation overhead.

    Returns a :class:`~structpose.models.npz_infer.NpzLifter` (the one NumPy forward, also used for the shipped
    ``.npz`` weights): ``(xy (N,17,2), mask (N,17))`` -> ``(pose_norm, log_scale, xy_norm, mask, centre, radius)``,
    exactly :func:`normalise_2d` + :meth:`Lifter.forward` in eval mode (``tests/test_lifter.py`` checks the two agree).
    """
    from .npz_infer import NpzLifter
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    return NpzLifter(sd, model.config.blocks, eps=float(model.inp[1].eps), world=model.config.world)


def with_world_input(model: Lifter) -> Lifter:
    """A ``world`` lifter that computes exactly what ``model`` (a 2D-only lifter) computes, whatever the
    world landmarks: the new input columns start at zero.  The starting point for fine-tuning on them."""
    if model.config.world:
        return model
    out = Lifter(LifterConfig(**{**asdict(model.config), "world": True}))
    sd = model.state_dict()
    w = sd["inp.0.weight"]
    sd["inp.0.weight"] = torch.cat([w, torch.zeros(w.shape[0], J * 3 + 1, dtype=w.dtype)], 1)
    out.load_state_dict(sd)
    return out.train(model.training)

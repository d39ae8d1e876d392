"""TP-Net (paper Sec. 4.2): a window of per-frame 3D poses -> one temporally refined pose.

Window (``N`` poses, default 20, sampled at the model rate ``rate`` = 30 fps):

* ``online``        — the N poses up to and including the current frame (lag 0 frames);
* ``bidirectional`` — ``N//2`` past poses, the current one and ``N - 1 - N//2`` future poses
  (the paper's "N/2 on each side"; for N = 20: 10 before, 9 after, lag 9 model frames; the same
  convention as :func:`structpose.data.datasets.window_indices`).

Poses are root-relative H36M-17 (pelvis at the origin, metres, camera frame).  Two input
representations (``representation``):

* ``raw``      — the window flattened (N·17·3 values) -> the pose, as in the paper;
* ``relative`` — the reference (current / centre) pose plus every other frame expressed relative to
  it, and the network predicts a **residual** added to the reference pose.  The last layer starts
  at zero, so an untrained model is the identity.  Same input size (N·17·3).  This is what ships
  (see ``benchmarks/bench_tpnet.py`` for the measured difference).

Sequence starts and ends (fewer than N frames available) repeat the first / last pose: window
times are clamped to the sequence's time span (:func:`structpose.models.windows.sample_windows`), which is also how a window
is read from a sequence at a frame rate other than the model's (linear interpolation in time).
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import StructposeError
from .temporal_rnn import TemporalRNN
from .windows import DELTA_SCALE, MODEL_FPS, POSE_SCALE, check_mode, lookahead, reference_index


class TPNet(nn.Module):
    """Fully connected TP-Net: ``(..., N, 17, 3)`` window -> ``(..., 17, 3)`` refined pose (metres).

    ``hidden``: sizes of the hidden layers (ReLU); the paper's default is one layer of 4096.
    """

    kind = "tpnet"

    def __init__(self, window: int = 20, mode: str = "online", hidden: Sequence[int] = (4096,),
                 joints: int = 17, representation: str = "relative", rate: float = MODEL_FPS) -> None:
        super().__init__()
        check_mode(mode)
        if representation not in ("relative", "raw"):
            raise StructposeError(f"representation {representation!r}; expected 'relative' or 'raw'")
        self.window, self.mode, self.hidden = int(window), mode, tuple(int(h) for h in hidden)
        self.joints, self.representation, self.rate = int(joints), representation, float(rate)
        self.ref = reference_index(self.window, mode)
        dims = [self.window * self.joints * 3, *self.hidden]
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(dims):
            layers += [nn.Linear(a, b), nn.ReLU()]
        head = nn.Linear(dims[-1], self.joints * 3)
        if representation == "relative":   # start as the identity: residual 0
            nn.init.zeros_(head.weight), nn.init.zeros_(head.bias)
        self.net = nn.Sequential(*layers, head)

    @property
    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "window": self.window, "mode": self.mode, "hidden": list(self.hidden),
                "joints": self.joints, "representation": self.representation, "rate": self.rate}

    @property
    def lag(self) -> int:
        return lookahead(self.window, self.mode)

    def forward(self, win: torch.Tensor) -> torch.Tensor:
        lead = win.shape[:-3]
        x = win - win[..., :1, :]                                  # root-relative, whatever came in
        ref = x[..., self.ref, :, :]
        if self.representation == "raw":
            out = self.net((x / POSE_SCALE).reshape(*lead, -1)) * POSE_SCALE
        else:
            others = torch.cat([x[..., :self.ref, :, :], x[..., self.ref + 1:, :, :]], dim=-3)
            feat = torch.cat([(ref / POSE_SCALE).reshape(*lead, -1),
                              ((others - ref.unsqueeze(-3)) / DELTA_SCALE).reshape(*lead, -1)], dim=-1)
            out = ref.reshape(*lead, -1) + self.net(feat) * DELTA_SCALE
        out = out.reshape(*lead, self.joints, 3)
        return out - out[..., :1, :]


def build_model(config: dict[str, Any]) -> nn.Module:
    """A TP-Net or recurrent baseline from its ``config`` dict (``kind`` = tpnet | lstm)."""
    cfg = dict(config)
    kind = cfg.pop("kind", "tpnet")
    if kind == "tpnet":
        return TPNet(**cfg)
    if kind == "lstm":
        return TemporalRNN(**cfg)
    raise StructposeError(f"unknown temporal model kind {kind!r}; expected 'tpnet' or 'lstm'")


def save_model(model: nn.Module, path: str | Path, half: bool = True, extra: dict[str, Any] | None = None) -> Path:
    """Save config + weights (float16 when ``half``: half the size, see the benchmark for the cost)."""
    from ..io.atomic import atomic_path
    sd = {k: (v.half() if half and v.is_floating_point() else v).clone() for k, v in model.state_dict().items()}
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"config": model.config, "state_dict": sd, "extra": extra or {}}, tmp)
    return path


def load_model(path: str | Path) -> nn.Module:
    """Load a model written by :func:`save_model` or a training checkpoint (float32, eval mode)."""
    path = Path(path)
    if path.is_dir():
        raise StructposeError(f"{path} is a folder; expected a .pt model file written by `structpose train tpnet`")
    if not path.is_file():
        raise StructposeError(f"{path}: no such model file; expected a .pt written by `structpose train tpnet`")
    from ..io.guards import load_torch
    blob = load_torch(path, "TP-Net model", "expected a .pt written by `structpose train tpnet`")
    try:
        model = build_model(blob["config"])
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    except (KeyError, RuntimeError, TypeError, ValueError, EOFError) as e:
        raise StructposeError(f"{path}: not a structpose temporal model ({type(e).__name__}: {e})"[:300]) from None
    return model.eval()


def weights_path(mode: str) -> Path:
    """Path of the shipped TP-Net weights for ``mode`` inside the package."""
    check_mode(mode)
    return Path(__file__).resolve().parent.parent / "weights" / f"tpnet_{mode}.pt"


def pretrained(mode: str = "online") -> nn.Module:
    """The shipped TP-Net for ``mode`` (``online`` or ``bidirectional``), float32, eval mode."""
    p = weights_path(mode)
    if not p.is_file():
        raise StructposeError(f"shipped weights {p.name} are missing from the package; reinstall structpose or "
                              f"train them with `structpose train tpnet --config configs/tpnet_{mode}.yaml`")
    return load_model(p)

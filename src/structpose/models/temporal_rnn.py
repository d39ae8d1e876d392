"""LSTM and Bi-LSTM baselines (paper Table 4) in TP-Net's framework: same windows, same I/O.

Each time step sees the reference pose and that frame relative to the reference (the residual
representation that works for TP-Net, so that the comparison is about the architecture); the
hidden state at the reference frame (online: the last step; bidirectional: forward and backward
states at the centre) goes through a linear head that predicts a residual on the reference pose.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import StructposeError
from .windows import DELTA_SCALE, MODEL_FPS, POSE_SCALE, check_mode, lookahead, reference_index


class TemporalRNN(nn.Module):
    """``(..., N, 17, 3)`` window -> ``(..., 17, 3)``; ``bidirectional`` mode uses a Bi-LSTM."""

    kind = "lstm"

    def __init__(self, window: int = 20, mode: str = "online", hidden: int = 256, layers: int = 1,
                 joints: int = 17, rate: float = MODEL_FPS) -> None:
        super().__init__()
        check_mode(mode)
        if hidden < 1 or layers < 1:
            raise StructposeError(f"LSTM needs hidden >= 1 and layers >= 1; got hidden={hidden}, layers={layers}")
        self.window, self.mode, self.hidden, self.layers = int(window), mode, int(hidden), int(layers)
        self.joints, self.rate = int(joints), float(rate)
        self.ref = reference_index(self.window, mode)
        bi = mode == "bidirectional"
        self.rnn = nn.LSTM(2 * joints * 3, hidden, num_layers=layers, batch_first=True, bidirectional=bi)
        self.head = nn.Linear(hidden * (2 if bi else 1), joints * 3)
        nn.init.zeros_(self.head.weight), nn.init.zeros_(self.head.bias)

    @property
    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "window": self.window, "mode": self.mode, "hidden": self.hidden,
                "layers": self.layers, "joints": self.joints, "rate": self.rate}

    @property
    def lag(self) -> int:
        return lookahead(self.window, self.mode)

    def forward(self, win: torch.Tensor) -> torch.Tensor:
        lead = win.shape[:-3]
        n = win.shape[-3]
        x = (win - win[..., :1, :]).reshape(-1, n, self.joints, 3)
        ref = x[:, self.ref]
        feat = torch.cat([(ref / POSE_SCALE).unsqueeze(1).expand(-1, n, -1, -1),
                          (x - ref.unsqueeze(1)) / DELTA_SCALE], dim=-1).reshape(x.shape[0], n, -1)
        h, _ = self.rnn(feat)
        out = ref + self.head(h[:, self.ref]).reshape(-1, self.joints, 3) * DELTA_SCALE
        out = out - out[:, :1]
        return out.reshape(*lead, self.joints, 3)

"""Sensitivity of TP-Net's output to each input joint at each time offset (paper Fig. 5).

As in the paper, joints of the input window are perturbed at random and the output's response
is measured: for input frame offset ``t`` and input joint ``i``, Gaussian noise of ``sigma``
metres is added to that one joint of that one frame, and the mean displacement of every output
joint ``j`` is recorded, normalised by the perturbation's mean length, so ``S[t, i, j]`` is
"millimetres of output motion of joint j per millimetre of input motion of joint i at t".
The windows are real held-out motion (TEST split) corrupted by the error model: the inputs the
model meets in use.  Because TP-Net is root-relative, perturbing the pelvis is the same as moving
every other joint the opposite way, and the output pelvis is the origin by construction: the raw
array keeps the pelvis, the plots leave it out (as in the paper, whose inputs are root-relative).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.error_model import ErrorModel
from ..errors import StructposeError
from ..io.atomic import atomic_path
from ..models.windows import MODEL_FPS, sample_windows, window_offsets
from ..skeleton import H36M17


def test_windows(window: int, mode: str, samples: int = 256, seed: int = 0) -> np.ndarray:
    """``(samples, window, 17, 3)`` noisy root-relative windows from TEST-split clips at 30 fps."""
    from ..data.sources import load_clips
    from ..data.splits import split_clips
    clips = split_clips(load_clips(fps=MODEL_FPS))["test"]
    rng = np.random.default_rng(seed)
    em, offs, wins = ErrorModel(), window_offsets(window, mode), []
    for k, c in enumerate(clips):
        noisy = em.apply(c.in_camera(), MODEL_FPS, seed + k)
        t = np.arange(len(noisy)) / MODEL_FPS
        wins.append(sample_windows(noisy, t, t, offs))
    allw = np.concatenate(wins)
    return allw[rng.choice(len(allw), size=min(samples, len(allw)), replace=False)]


def sensitivity(model: torch.nn.Module, windows: np.ndarray, sigma: float = 0.01, seed: int = 0) -> np.ndarray:
    """``S (N, 17, 17)``: output displacement of joint j per unit displacement of input joint i at frame n.

    ``windows``: ``(S, N, 17, 3)`` metres.  Frame index n follows :func:`window_offsets` order.
    """
    if not sigma > 0:
        raise StructposeError(f"sigma={sigma}; expected a positive perturbation in metres")
    w = torch.as_tensor(np.asarray(windows, np.float32))
    S, N, J, _ = w.shape
    g = torch.Generator().manual_seed(seed)
    out = np.zeros((N, J, J))
    with torch.no_grad():
        base = model(w)
        for n in range(N):
            batch = w.unsqueeze(0).repeat(J, 1, 1, 1, 1)               # (J_in, S, N, J, 3)
            noise = torch.randn(J, S, 3, generator=g) * sigma
            idx = torch.arange(J)
            batch[idx, :, n, idx] += noise
            resp = (model(batch) - base.unsqueeze(0)).norm(dim=-1)     # (J_in, S, J_out)
            out[n] = (resp.mean(1) / noise.norm(dim=-1).mean(1, keepdim=True)).numpy()
    return out


def plot_sensitivity(S: np.ndarray, offsets: np.ndarray, out_dir: str | Path, prefix: str = "sensitivity") -> list[Path]:
    """Write the Fig. 5 heatmaps: temporal (joint x offset) and joint-to-joint at t = 0 and t = -1."""
    from matplotlib.figure import Figure  # a bare Figure: pyplot's global backend is left alone
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(H36M17.names)[1:]
    S = S[:, 1:, 1:]                                                       # without the pelvis (see above)
    paths = []
    temporal = S.mean(-1).T                                                # (J_in, N): mean over output joints
    fig = Figure(figsize=(9, 5.5))
    ax = fig.subplots()
    im = ax.imshow(temporal, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(offsets)), [str(o) for o in offsets], fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("input frame offset t (model frames at 30 fps; 0 = refined frame)")
    ax.set_title("TP-Net sensitivity: mean output joint motion per unit motion of one input joint")
    fig.colorbar(im, ax=ax, label="mm / mm")
    fig.tight_layout()
    paths.append(_save(fig, out_dir / f"{prefix}_temporal.png"))
    for t in (0, -1):
        n = int(np.flatnonzero(offsets == t)[0]) if (offsets == t).any() else None
        if n is None:
            continue
        fig = Figure(figsize=(6.5, 5.5))
        ax = fig.subplots()
        im = ax.imshow(S[n].T, cmap="magma", vmax=np.percentile(S[n], 99))
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_xlabel("perturbed input joint")
        ax.set_ylabel("output joint")
        ax.set_title(f"joint-to-joint sensitivity at t = {t}")
        fig.colorbar(im, ax=ax, label="mm / mm")
        fig.tight_layout()
        paths.append(_save(fig, out_dir / f"{prefix}_joints_t{abs(t)}.png"))
    return paths


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return path


def run_analysis(model: torch.nn.Module, out_dir: str | Path, samples: int = 256, sigma: float = 0.01,
                 seed: int = 0) -> list[Path]:
    """Compute, save the raw arrays (``sensitivity.npz``) and the PNGs; returns the written paths."""
    wins = test_windows(model.window, model.mode, samples, seed)
    S = sensitivity(model, wins, sigma, seed)
    offsets = window_offsets(model.window, model.mode)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    npz = out_dir / "sensitivity.npz"
    with atomic_path(npz) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, sensitivity=S, offsets=offsets, joints=np.array(H36M17.names), sigma=sigma,
                 samples=len(wins), mode=model.mode)
    return [npz, *plot_sensitivity(S, offsets, out_dir)]

"""Does MediaPipe's own 3D (its world landmarks) help the lifter?  A controlled comparison on render pairs.

Two lifters of the same architecture (structpose's residual MLP) trained from scratch on the same
(MediaPipe output -> true 3D) pairs of *training* motion (``$STRUCTPOSE_DATA/renders/train_*.npz``, weak
clips left out, mirrored copies added), same steps and seeds; one sees MediaPipe's 2D only, the other also
its world landmarks (root-centred metres, turned by the same on-axis rotation as the 2D).  Scored on renders
of *held-out* motion (test split), root-relative, in the on-axis frame.  The shipped lifter (trained on mocap
through the noise model, not on these pairs) is scored the same way for scale, and MediaPipe's world 3D too.
This is an experiment, not a product change.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from structpose.geometry import similarity_procrustes
from structpose.models.lifter import PELVIS, Lifter, LifterConfig, load_lifter, normalise_2d
from structpose.skeleton import H36M17
from structpose.train.lifter import LifterTrainConfig
from structpose.train.lifter_renders import _on_axis
from structpose.train.render_pairs import load_pairs

DATA = Path(os.environ.get("STRUCTPOSE_DATA") or Path.home() / ".cache" / "structpose").expanduser() / "renders"
ROOT = Path(__file__).resolve().parent.parent
_FLIP = list(H36M17.flip_permutation)


def samples(pairs: dict, exclude: tuple[str, ...] = (), mirror: bool = True) -> dict[str, torch.Tensor]:
    keep = pairs["det_found"] & ~np.isin(pairs["clip"], list(exclude)) & np.isfinite(pairs["det_world"]).all((1, 2))
    kp = pairs["det_2d"][keep].astype(np.float64)
    mask = (np.isfinite(kp).all(-1) & (pairs["det_scores"][keep] >= 0.3)).astype(np.float32)
    f = pairs["focal"][keep, 0].astype(np.float64)
    R, xy = _on_axis(kp, mask, pairs["centre"][keep].astype(np.float64), f)
    cam = pairs["joints_cam"][keep].astype(np.float64) @ np.swapaxes(R, 1, 2)
    world = pairs["det_world"][keep].astype(np.float64)
    world = (world - world[:, PELVIS:PELVIS + 1]) @ np.swapaxes(R, 1, 2)
    xy_n, m2, _, radius = normalise_2d(torch.as_tensor(xy).float(), torch.as_tensor(mask))
    scale = torch.as_tensor(cam[:, PELVIS, 2]).float() * radius / torch.as_tensor(f).float()
    rel = torch.as_tensor(cam - cam[:, PELVIS:PELVIS + 1]).float()
    out = {"xy": xy_n, "mask": m2, "world": torch.as_tensor(world).float(), "rel": rel, "scale": scale}
    if mirror:
        fl = {"xy": xy_n[:, _FLIP] * torch.tensor([-1.0, 1.0]), "mask": m2[:, _FLIP],
              "world": out["world"][:, _FLIP] * torch.tensor([-1.0, 1.0, 1.0]),
              "rel": rel[:, _FLIP] * torch.tensor([-1.0, 1.0, 1.0]), "scale": scale}
        out = {k: torch.cat([out[k], fl[k]]) for k in out}
    return out


class WorldLifter(Lifter):
    """The lifter with MediaPipe's world landmarks (17 x 3, metres) as extra input."""

    def __init__(self, config: LifterConfig) -> None:
        super().__init__(config)
        h = config.hidden
        self.inp = nn.Sequential(nn.Linear(17 * 6, h), nn.LayerNorm(h), nn.ReLU())

    def forward_world(self, xy: torch.Tensor, mask: torch.Tensor, world: torch.Tensor):
        x = torch.cat([xy * mask[..., None], mask[..., None], world * 3.0], -1).flatten(-2)
        y = self.out(self.blocks(self.inp(x)))
        pose = y[..., :51].unflatten(-1, (17, 3))
        pose = pose + torch.cat([xy * mask[..., None], torch.zeros_like(xy[..., :1])], -1)
        return pose - pose[..., PELVIS:PELVIS + 1, :], y[..., -1]


def run(model: Lifter, s: dict, world: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if world:
        return model.forward_world(s["xy"], s["mask"], s["world"])
    return model(s["xy"], s["mask"])


def train(model: Lifter, s: dict, world: bool, steps: int, seed: int) -> Lifter:
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=1e-4)
    for _ in range(steps):
        model.train()
        idx = torch.randint(0, len(s["xy"]), (256,), generator=g)
        b = {k: v[idx] for k, v in s.items()}
        pose, log_s = run(model, b, world)
        loss = (pose - b["rel"] / b["scale"][:, None, None]).norm(dim=-1).mean() + \
            (log_s - b["scale"].log()).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


@torch.no_grad()
def score(model: Lifter, s: dict, world: bool) -> tuple[float, float]:
    pose, log_s = run(model, s, world)
    p = (pose * log_s.exp()[:, None, None]).double().numpy()
    t = s["rel"].double().numpy()
    pa = similarity_procrustes(p, t, warn=False).aligned
    return float(np.linalg.norm(p - t, axis=-1).mean() * 1000), float(np.linalg.norm(pa - t, axis=-1).mean() * 1000)


def main(steps: int = 3000, seeds: tuple[int, ...] = (0, 1)) -> None:
    torch.set_num_threads(1)
    files = [p for p in (DATA / "train_stills.npz", DATA / "train_video.npz") if p.is_file()]
    if not files or not (DATA / "test_stills.npz").is_file():
        print(f"(render pairs missing in {DATA}: run `structpose data renders` for train and test first)")
        return
    weak = tuple(LifterTrainConfig.from_yaml(ROOT / "configs" / "lifter.yaml").weak_clips)
    parts = [samples(load_pairs(p), weak) for p in files]
    tr = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    tests = {n: samples(load_pairs(DATA / f"{n}.npz"), mirror=False) for n in ("test_stills", "test_video")
             if (DATA / f"{n}.npz").is_file()}
    print(f"training pairs: {len(tr['xy'])} (with mirrors); test: " +
          ", ".join(f"{n} {len(s['xy'])}" for n, s in tests.items()))
    rows: dict[str, dict[str, list]] = {}
    shipped = load_lifter().eval()
    for n, s in tests.items():
        rows.setdefault("shipped lifter (mocap + noise model), 2D only", {})[n] = [score(shipped, s, False)]
        t = s["rel"].double().numpy()
        w = s["world"].double().numpy()
        pa = similarity_procrustes(w, t, warn=False).aligned
        rows.setdefault("MediaPipe world 3D itself", {})[n] = [
            (float(np.linalg.norm(w - t, axis=-1).mean() * 1000), float(np.linalg.norm(pa - t, axis=-1).mean() * 1000))]
    for world in (False, True):
        label = "trained on render pairs, 2D + world landmarks" if world else "trained on render pairs, 2D only"
        for seed in seeds:
            torch.manual_seed(seed)
            m = WorldLifter(LifterConfig()) if world else Lifter(LifterConfig())
            m = train(m, tr, world, steps, seed)
            for n, s in tests.items():
                rows.setdefault(label, {}).setdefault(n, []).append(score(m, s, world))
    print("\n| lifter | " + " | ".join(f"{n} MPJPE / PA-MPJPE (mm)" for n in tests) + " |")
    print("|---|" + "---|" * len(tests))
    for label, r in rows.items():
        cells = []
        for n in tests:
            v = np.array(r[n])
            sd = f" (±{v[:, 1].std():.1f})" if len(v) > 1 else ""
            cells.append(f"{v[:, 0].mean():.1f} / {v[:, 1].mean():.1f}{sd}")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

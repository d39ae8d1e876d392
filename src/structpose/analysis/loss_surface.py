"""Paper Fig. 4: how the symmetry and illegal-angle losses reshape the loss around a real pose.

A real DeepMimic pose (camera frame: x right, y down, z forward) is held fixed except its left elbow,
which moves over an (x, z) grid at its true height y.  At every grid point four losses are evaluated:

(a) 2D location: ``|xy - xy_gt|^2`` of the moved elbow -- the supervision a 2D-only sample gives;
    it cannot see z, so it is a valley along the depth axis;
(b) (a) + lambda_s Ls (Eq. 2);
(c) (b) + lambda_a La (Eq. 1);
(d) the full 3D Euclidean loss ``|P - P_gt|^2`` (what a 3D-annotated sample gives).

Lengths are in units of the pose's RMS joint distance from the pelvis (~0.45 m), the normalised
scale a network predicts in, so that the paper's lambdas (0.05, 0.03) weigh the terms as in training.
Three poses are marked as in the paper: (3) the ground truth; (1) the lowest point of (b) along the
valley ``x = x_gt`` among elbow positions that La judges illegal (bent backwards) -- (a) cannot tell
it from (3) at all; (2) the legal valley point halfway in depth between (1) and (3), where the angle is
legal but the two arms no longer have equal lengths.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.clip import Clip
from ..errors import StructposeError
from ..geometry import limb_legality
from ..io.atomic import atomic_path
from ..losses import illegal_angle_loss, symmetry_loss
from ..skeleton import H36M17

PANELS = ("(a) 2D location", "(b) + symmetry", "(c) + symmetry + illegal angle", "(d) full 3D")


@dataclass
class LossSurface:
    """Losses over the elbow grid; arrays are (len(zs), len(xs)), axes in camera-frame metres."""

    xs: np.ndarray
    zs: np.ndarray
    surfaces: dict[str, np.ndarray]            # PANELS -> (nz, nx)
    symmetry: np.ndarray                       # raw Ls, normalised units^2
    illegal: np.ndarray                        # raw La
    pose: np.ndarray                           # (17, 3) ground truth, metres
    joint: str
    scale: float                               # metres per normalised unit
    source: str
    points: dict[str, tuple[float, float]] = field(default_factory=dict)   # "(1)".."(3)" -> (x, z)

    def at(self, x: float, z: float) -> tuple[int, int]:
        """Grid indices (iz, ix) nearest to (x, z)."""
        return int(np.abs(self.zs - z).argmin()), int(np.abs(self.xs - x).argmin())


def pick_pose(clips: list[Clip], clip: str | None = None, frame: int | None = None) -> tuple[np.ndarray, str]:
    """A real pose with a clearly bent, legal left elbow, in a front camera frame.

    Default: over all clips, the frame whose left elbow has the largest legality (most clearly bent
    the right way) -- deterministic.  ``clip`` (name or suffix) / ``frame`` choose one explicitly.
    """
    chosen = [c for c in clips if clip is None or c.name == clip or c.name.endswith("/" + clip)]
    if not chosen:
        raise StructposeError(f"no clip named {clip!r}; clips: {', '.join(c.name for c in clips)}")
    k = 1                                                   # l_elbow in LIMB_NAMES
    best = (-np.inf, None, None)
    for c in chosen:
        poses = c.in_camera().astype(np.float64)
        if frame is not None:
            if not 0 <= frame < len(poses):
                raise StructposeError(f"clip {c.name} has frames 0..{len(poses) - 1}; --frame {frame} is outside")
            return poses[frame], f"{c.name} frame {frame}"
        g = limb_legality(poses)[:, k]
        i = int(g.argmax())
        if g[i] > best[0]:
            best = (g[i], poses[i], f"{c.name} frame {i}")
    return best[1], best[2]


def compute_loss_surface(pose: np.ndarray, source: str = "", joint: str = "l_elbow", half_width: float = 0.5,
                         steps: int = 101, lambda_s: float = 0.05, lambda_a: float = 0.03) -> LossSurface:
    """Evaluate the four losses with ``joint`` moved over a ``steps x steps`` (x, z) grid.

    ``pose``: (17, 3) metres, camera frame.  The grid spans ``+- half_width`` metres around the
    joint's true (x, z).
    """
    pose = np.asarray(pose, dtype=np.float64)
    if pose.shape != (17, 3) or not np.isfinite(pose).all():
        raise StructposeError(f"pose has shape {pose.shape} or non-finite values; expected a finite (17, 3) pose")
    if steps < 3 or steps > 1001:
        raise StructposeError(f"grid steps {steps}; expected 3..1001")
    if not 0.0 < half_width <= 5.0:
        raise StructposeError(f"half width {half_width} m; expected (0, 5]")
    j = H36M17.index(joint)
    scale = float(np.sqrt(((pose - pose[0]) ** 2).sum(-1).mean()))
    xs = pose[j, 0] + np.linspace(-half_width, half_width, steps)
    zs = pose[j, 2] + np.linspace(-half_width, half_width, steps)
    X, Z = np.meshgrid(xs, zs)                                  # (nz, nx)
    grid = np.broadcast_to(pose, X.shape + (17, 3)).copy()
    grid[..., j, 0], grid[..., j, 2] = X, Z
    g = torch.from_numpy(grid / scale)
    gt = torch.from_numpy(pose / scale)
    l2d = ((g[..., j, :2] - gt[j, :2]) ** 2).sum(-1).numpy()
    ls = symmetry_loss(g, reduction="none").numpy()
    la = illegal_angle_loss(g, reduction="none").numpy()
    l3d = ((g - gt) ** 2).sum((-1, -2)).numpy()
    surfaces = dict(zip(PANELS, (l2d, l2d + lambda_s * ls, l2d + lambda_s * ls + lambda_a * la, l3d)))
    out = LossSurface(xs, zs, surfaces, ls, la, pose, joint, scale, source)
    out.points = _mark_points(out)
    return out


def _mark_points(s: LossSurface) -> dict[str, tuple[float, float]]:
    j = H36M17.index(s.joint)
    x_gt, z_gt = s.pose[j, 0], s.pose[j, 2]
    iz_gt, ix = s.at(x_gt, z_gt)
    points = {"(3)": (float(s.xs[ix]), float(s.zs[iz_gt]))}
    column_b = s.surfaces[PANELS[1]][:, ix]
    illegal = s.illegal[:, ix] > 1e-6
    if illegal.any():
        i1 = int(np.flatnonzero(illegal)[column_b[illegal].argmin()])
        points["(1)"] = (float(s.xs[ix]), float(s.zs[i1]))
        mid = 0.5 * (s.zs[i1] + s.zs[iz_gt])
        legal = np.flatnonzero(~illegal)
        i2 = int(legal[np.abs(s.zs[legal] - mid).argmin()])
        points["(2)"] = (float(s.xs[ix]), float(s.zs[i2]))
    return points


def save_npz(s: LossSurface, path: str | Path) -> Path:
    """Raw arrays: xs, zs (metres), the four surfaces (a)-(d), Ls, La, the pose, marked points."""
    path = Path(path)
    arrays = {"xs": s.xs, "zs": s.zs, "loss_2d": s.surfaces[PANELS[0]], "loss_2d_sym": s.surfaces[PANELS[1]],
              "loss_2d_sym_angle": s.surfaces[PANELS[2]], "loss_3d": s.surfaces[PANELS[3]],
              "symmetry_loss": s.symmetry, "illegal_angle_loss": s.illegal, "pose": s.pose,
              "scale_m": np.array(s.scale), "joint": np.array(s.joint), "source": np.array(s.source),
              "point_names": np.array(list(s.points)), "points_xz": np.array(list(s.points.values()))}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def plot(s: LossSurface, path: str | Path) -> Path:
    """Four surfaces (log10 scale, so the valley floor that the structure terms shape is visible),
    the depth profile along the valley, and side views of the marked poses."""
    from matplotlib.figure import Figure  # a bare Figure: pyplot's global backend is left alone

    fig = Figure(figsize=(16, 9.5))
    X, Z = np.meshgrid(s.xs, s.zs)
    floor = 1e-4
    colors = {"(1)": "tab:red", "(2)": "tab:orange", "(3)": "tab:green"}
    for k, name in enumerate(PANELS):
        ax = fig.add_subplot(2, 3, k + 1 if k < 2 else k + 2, projection="3d")
        L = np.log10(s.surfaces[name] + floor)
        ax.plot_surface(X, Z, L, cmap="viridis", linewidth=0, antialiased=True, rcount=60, ccount=60, alpha=0.9)
        for label, (px, pz) in s.points.items():
            iz, ix = s.at(px, pz)
            ax.scatter([px], [pz], [L[iz, ix]], color=colors[label], s=40, depthshade=False)
            ax.text(px, pz, L[iz, ix] + 0.3, label, color=colors[label])
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("elbow x (m)", fontsize=8)
        ax.set_ylabel("elbow z (m)", fontsize=8)
        ax.set_zlabel(f"log10(loss + {floor:g})", fontsize=8)
        ax.tick_params(labelsize=7)
    ax = fig.add_subplot(2, 3, 3)
    ix = s.at(*s.points["(3)"])[1]
    for name in PANELS:
        ax.semilogy(s.zs, s.surfaces[name][:, ix] + floor, label=name)
    for label, (_, pz) in s.points.items():
        ax.axvline(pz, color=colors[label], ls=":", lw=1)
        ax.text(pz, 1.6 * floor, label, color=colors[label], va="bottom", ha="right")
    ax.set_title("along the valley x = x_gt (depth ambiguity)", fontsize=10)
    ax.set_xlabel("elbow z (m)")
    ax.set_ylabel(f"loss + {floor:g}")
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    ax.set_ylim(top=20 * max(float(a[:, ix].max()) for a in s.surfaces.values()))
    ax = fig.add_subplot(2, 3, 6)
    _side_view(ax, s, colors)
    fig.suptitle(f"Loss surfaces for the {s.joint.replace('l_', 'left ').replace('r_', 'right ')} of a real pose ({s.source}); lengths in "
                 f"units of the pose's RMS radius ({s.scale * 1000:.0f} mm)", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return path


def _side_view(ax, s: LossSurface, colors: dict[str, str]) -> None:
    """Top-down (x, z) view of the torso and left arm, one arm per marked elbow position."""
    idx = {n: H36M17.index(n) for n in ("thorax", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder",
                                        "r_elbow", "r_wrist", "pelvis", "l_hip", "r_hip")}
    p = s.pose
    for a, b in (("r_shoulder", "thorax"), ("thorax", "l_shoulder"), ("r_shoulder", "r_elbow"),
                 ("r_elbow", "r_wrist"), ("l_hip", "pelvis"), ("pelvis", "r_hip")):
        ax.plot(p[[idx[a], idx[b]], 0], p[[idx[a], idx[b]], 2], color="0.6", lw=2)
    for label, (px, pz) in s.points.items():
        q = p.copy()
        q[idx[s.joint], [0, 2]] = px, pz
        chain = [idx["l_shoulder"], idx["l_elbow"], idx["l_wrist"]]
        legal = "legal" if s.illegal[s.at(px, pz)] <= 1e-6 else "ILLEGAL"
        ax.plot(q[chain, 0], q[chain, 2], "o-", color=colors[label], lw=2, label=f"{label} elbow {legal}")
    ax.set_aspect("equal")
    ax.set_xlabel("x (m, right)")
    ax.set_ylabel("z (m, away from camera)")
    ax.set_title("top view: left arm at the marked elbow positions", fontsize=10)
    ax.legend(fontsize=7)

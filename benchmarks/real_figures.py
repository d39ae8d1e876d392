"""Figures of ``bench_real``: 2D overlays with the reference reprojected, and 3D comparisons per view."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from structpose.analysis.real_pixels import COMPARED
from structpose.skeleton import H36M17


def read_frame(video: Path, index: int) -> np.ndarray:
    import cv2
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, img = cap.read()
    cap.release()
    if not ok:
        raise RuntimeError(f"{video}: cannot read frame {index}")
    return img


def overlay_figure(video: Path, track, camera, reference_world: np.ndarray, frames: list[int], out: Path,
                   label: str) -> Path:
    """Frames of one view: MediaPipe's 2D skeleton (red right / blue left) and the triangulated reference
    reprojected through the calibration (rings: orange right, green left; none where untrusted)."""
    import cv2

    from structpose.io.atomic import atomic_path
    from structpose.viz import draw_skeleton_2d
    tiles = []
    for t in frames:
        img = draw_skeleton_2d(read_frame(video, t), track.keypoints[t], track.scores[t], threshold=0.0)
        uv = camera.project(camera.world_to_camera(reference_world[t]))
        for j in list(COMPARED) + [H36M17.index("pelvis")]:
            if np.isfinite(uv[j]).all():           # right joints orange, left green: swaps show
                colour = (0, 165, 255) if H36M17.names[j].startswith("r_") else (40, 220, 40)
                cv2.circle(img, (int(uv[j, 0]), int(uv[j, 1])), 14, colour, 4)
        cv2.putText(img, f"{label} frame {t}", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (255, 255, 255), 4)
        h, w = img.shape[:2]
        tiles.append(cv2.resize(img, (int(w * 560 / h), 560), interpolation=cv2.INTER_AREA))
    with atomic_path(out) as tmp:
        cv2.imwrite(str(tmp), np.concatenate(tiles, 1), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return out


def _rooted(pose: np.ndarray) -> np.ndarray:
    lh, rh = H36M17.index("l_hip"), H36M17.index("r_hip")
    out = np.array(pose, np.float64)
    keep = np.zeros(17, bool)
    keep[list(COMPARED)] = True
    out[~keep] = np.nan                            # only the compared joints mean the same thing
    return out - 0.5 * (out[lh] + out[rh])


def _draw(ax, pose: np.ndarray, colour: str, alpha: float, width: float) -> None:
    P = pose[:, [0, 2, 1]]
    for p, c in H36M17.bones:
        seg = P[[p, c]]
        if np.isfinite(seg).all():
            ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=colour, lw=width, alpha=alpha)
    for a, b in ((H36M17.index("l_hip"), H36M17.index("r_hip")),
                 (H36M17.index("l_shoulder"), H36M17.index("r_shoulder"))):
        seg = P[[a, b]]
        if np.isfinite(seg).all():
            ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=colour, lw=width, alpha=alpha)
    r = H36M17.index("r_wrist")
    if np.isfinite(P[r]).all():                    # mark the right wrist: left/right swaps show
        ax.scatter(*P[r], color=colour, s=40, marker="s", alpha=alpha)


def compare_3d_figure(reference_cam: np.ndarray, systems: dict[str, np.ndarray], frame: int, out: Path,
                      title: str) -> Path:
    """One frame of one view: each system (colour) over the reference (black), camera frame, rooted at
    the hips' midpoint, no alignment; top row as the camera sees it, bottom row from the camera's right."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from structpose.io.atomic import atomic_path
    names = list(systems)
    fig = plt.figure(figsize=(3.0 * len(names), 6.4))
    ref = _rooted(reference_cam[frame])
    try:
        for k, name in enumerate(names):
            pred = _rooted(systems[name][frame])
            for row, (elev, azim, view) in enumerate(((12.0, -88.0, "camera view"), (5.0, -5.0, "from the right"))):
                ax = fig.add_subplot(2, len(names), row * len(names) + k + 1, projection="3d")
                _draw(ax, ref, "black", 0.45, 2.5)
                _draw(ax, pred, "#d62728", 1.0, 2.0)
                ax.set_xlim(-0.9, 0.9)
                ax.set_ylim(-0.9, 0.9)
                ax.set_zlim(0.9, -0.9)
                ax.set_box_aspect((1, 1, 1))
                ax.view_init(elev=elev, azim=azim)
                ax.tick_params(labelsize=5)
                ax.set_title(f"{name}\n({view})", fontsize=7)
        fig.suptitle(f"{title}: system (red) over the triangulated reference (black); square = right wrist",
                     fontsize=9)
        fig.tight_layout()
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=90, format="png")
    finally:
        plt.close(fig)
    return out

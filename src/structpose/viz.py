"""Skeleton drawings: 3D plots of camera-frame poses and 2D overlays on images.

Colours follow the person's own sides: **right = red, left = blue**, torso and head grey, so a
swapped conversion shows at a glance.  3D plots draw the camera frame (x right, y down, z forward)
with y pointing down the screen, i.e. as the camera saw the person, turned a little for depth.
Figures are bare matplotlib ``Figure`` objects saved through Agg: no display needed, and importing this
module leaves pyplot's global backend alone.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .errors import StructposeError, check_shape
from .io.atomic import atomic_path
from .skeleton import H36M17, Layout, get_layout

RIGHT, LEFT, CENTRE = "#d62728", "#1f77b4", "#555555"
_BGR = {RIGHT: (40, 39, 214), LEFT: (180, 119, 31), CENTRE: (200, 200, 200)}


def side_colour(layout: Layout, joint: int) -> str:
    """Colour of the bone ending at ``joint``: by the side its name says (``r_``/``l_``)."""
    name = layout.names[joint]
    return RIGHT if name.startswith("r_") else LEFT if name.startswith("l_") else CENTRE


def plot_skeleton_3d(ax, pose: np.ndarray, layout: Layout | str = H36M17, title: str | None = None,
                     alpha: float = 1.0, linewidth: float = 2.5, radius: float | None = None,
                     elev: float = 12.0, azim: float = -72.0) -> None:
    """Draw one ``(J, 3)`` camera-frame pose (metres) on a matplotlib 3D axis.

    Axes are equal and centred on the pose (``radius`` metres; default: fits the pose).  The view
    (``elev``, ``azim``) defaults to looking from just behind and above the camera, turned 18 degrees
    so depth shows; camera y (down) is drawn downwards.  NaN joints are skipped.
    """
    layout = get_layout(layout)
    pose = np.asarray(pose, dtype=float)
    check_shape(pose, [layout.num_joints, 3], "pose")
    # matplotlib's vertical axis shows camera y (inverted, so down is down); its depth axis is z
    P = pose[:, [0, 2, 1]]
    for p, c in layout.bones:
        seg = P[[p, c]]
        if np.isfinite(seg).all():
            ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=side_colour(layout, c), lw=linewidth, alpha=alpha)
    ok = np.isfinite(P).all(axis=1)
    if ok.any():
        cols = [side_colour(layout, j) for j in np.flatnonzero(ok)]
        ax.scatter(P[ok, 0], P[ok, 1], P[ok, 2], c=cols, s=10, alpha=alpha, depthshade=False)
        centre = (P[ok].min(axis=0) + P[ok].max(axis=0)) / 2
        r = radius if radius is not None else max(0.5 * float(np.ptp(P[ok], axis=0).max()), 0.3) * 1.1
        ax.set_xlim(centre[0] - r, centre[0] + r)
        ax.set_ylim(centre[1] - r, centre[1] + r)
        ax.set_zlim(centre[2] + r, centre[2] - r)       # inverted: y grows downwards
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlabel("x right (m)", fontsize=7)
    ax.set_ylabel("z forward (m)", fontsize=7)
    ax.set_zlabel("y down (m)", fontsize=7)
    ax.tick_params(labelsize=6)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    ax.view_init(elev=elev, azim=azim)
    if title:
        ax.set_title(title, fontsize=8)


def save_skeleton_figure(poses: np.ndarray, out_png: str | Path, frames: Sequence[int] | None = None,
                         title: str | None = None, layout: Layout | str = H36M17,
                         frame_labels: Sequence[str] | None = None, side_view: bool = True) -> Path:
    """Plot ``(T, J, 3)`` (or one ``(J, 3)``) camera-frame poses to a PNG, one column per chosen frame.

    Each column shows the pose as the camera sees it (top) and, with ``side_view``, from the
    camera's right (bottom), where a knee bending the wrong way is obvious.  Poses are drawn
    root-relative on one common scale.  ``frames`` default: 5 frames spread over the sequence.
    Written atomically.
    """
    layout = get_layout(layout)
    poses = np.asarray(poses, dtype=float)
    if poses.ndim == 2:
        poses = poses[None]
    check_shape(poses, ["T", layout.num_joints, 3], "poses")
    T = poses.shape[0]
    if T == 0:
        raise StructposeError("no poses to draw; expected at least one frame")
    if frames is None:
        frames = sorted(set(np.linspace(0, T - 1, min(T, 5)).round().astype(int).tolist()))
    frames = [int(f) for f in frames]
    bad = [f for f in frames if not -T <= f < T]
    if bad or not frames or len(frames) > 24:
        raise StructposeError(f"frames {bad or frames} do not fit a sequence of {T} frames; "
                              f"expected 1 to 24 indices in 0..{T - 1}")
    ncols, nrows = len(frames), 2 if side_view else 1
    # a bare Figure (no pyplot): no global backend is switched, nothing to close
    fig = Figure(figsize=(max(2.9 * ncols, 4.6), 3.2 * nrows + 0.6))   # one column: room for the title
    rel_all = poses[frames] - poses[frames][:, :1]
    finite = np.abs(rel_all[np.isfinite(rel_all).all(axis=-1)])
    radius = 1.02 * float(finite.max()) if len(finite) else None
    for k, f in enumerate(frames):
        rel = poses[f] - poses[f][0] if np.isfinite(poses[f][0]).all() else poses[f]
        label = frame_labels[k] if frame_labels else f"frame {f % T}"
        ax = fig.add_subplot(nrows, ncols, k + 1, projection="3d")
        plot_skeleton_3d(ax, rel, layout, title=label + " (camera view)", radius=radius)
        if side_view:
            ax = fig.add_subplot(nrows, ncols, ncols + k + 1, projection="3d")
            plot_skeleton_3d(ax, rel, layout, title=label + " (from the right)", radius=radius,
                             elev=5.0, azim=-5.0)
    fig.suptitle((title + "\n" if title else "") + "right = red, left = blue; camera frame (y down)",
                 fontsize=9)
    fig.tight_layout(h_pad=2.0)
    out_png = Path(out_png)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return out_png


def save_views_figure(pose_world: np.ndarray, cameras: Sequence, out_png: str | Path, title: str | None = None,
                      layout: Layout | str = H36M17) -> Path:
    """One ``(J, 3)`` world pose (Y up, metres) as each camera images it: a panel per camera with the
    image frame (its real aspect), the 2D skeleton in pixels and the camera's distance and field of
    view.  Written atomically; used to check virtual cameras by eye."""
    layout = get_layout(layout)
    pose_world = np.asarray(pose_world, dtype=float)
    check_shape(pose_world, [layout.num_joints, 3], "pose")
    if not cameras:
        raise StructposeError("no cameras to draw; expected at least one")
    ncols = min(4, len(cameras))
    nrows = int(np.ceil(len(cameras) / ncols))
    fig = Figure(figsize=(3.2 * ncols, 3.0 * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.ravel()[len(cameras):]:
        ax.axis("off")
    for ax, cam in zip(axes.ravel(), cameras):
        uv = cam.project(cam.world_to_camera(pose_world))
        w, h = cam.image_size
        ax.add_patch(Rectangle((0, 0), w, h, fill=False, color="black", lw=1))
        for p, c in layout.bones:
            ax.plot(uv[[p, c], 0], uv[[p, c], 1], color=side_colour(layout, c), lw=2)
        dist = float(np.linalg.norm(cam.center - pose_world[0]))
        fov = float(np.degrees(2 * np.arctan(0.5 * max(w, h) / cam.f[0])))
        ax.set_title(f"{w}x{h}, {dist:.1f} m, fov {fov:.0f} deg", fontsize=8)
        ax.set_xlim(-0.02 * w, 1.02 * w)
        ax.set_ylim(1.02 * h, -0.02 * h)                # pixel v grows downwards
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
    fig.suptitle((title + "\n" if title else "") + "virtual cameras: right = red, left = blue", fontsize=9)
    fig.tight_layout()
    out_png = Path(out_png)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return out_png


def draw_skeleton_2d(image_bgr: np.ndarray, xy: np.ndarray, scores: np.ndarray | None = None,
                     layout: Layout | str = H36M17, threshold: float = 0.3, thickness: int | None = None) -> np.ndarray:
    """A copy of ``image_bgr`` (H, W, 3 uint8) with ``(J, 2)`` pixel keypoints drawn on it.

    Bones whose two joints have ``scores`` >= ``threshold`` (and are finite) are drawn, coloured by
    side (right red, left blue).  Needs OpenCV (the ``video`` extra).
    """
    try:
        import cv2
    except ImportError:
        raise StructposeError("drawing on images needs OpenCV; pip install 'structpose[video]'") from None
    layout = get_layout(layout)
    img = np.asarray(image_bgr)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise StructposeError(f"image has shape {img.shape} and dtype {img.dtype}; expected (H, W, 3) uint8 BGR")
    xy = np.asarray(xy, dtype=float)
    check_shape(xy, [layout.num_joints, 2], "keypoints")
    ok = np.isfinite(xy).all(axis=1)
    if scores is not None:
        scores = np.asarray(scores, dtype=float)
        check_shape(scores, [layout.num_joints], "scores")
        ok &= np.nan_to_num(scores, nan=0.0) >= threshold
    out = img.copy()
    th = thickness or max(1, int(np.rint(max(img.shape[:2]) / 250)))
    for p, c in layout.bones:
        if ok[p] and ok[c]:
            a, b = (tuple(int(np.rint(v)) for v in xy[j]) for j in (p, c))
            cv2.line(out, a, b, _BGR[side_colour(layout, c)], th, cv2.LINE_AA)
    for j in np.flatnonzero(ok):
        cv2.circle(out, tuple(int(np.rint(v)) for v in xy[j]), th + 1, _BGR[side_colour(layout, j)], -1, cv2.LINE_AA)
    return out

"""The world-frame options that `video` and `lift` share, and the line they print about it."""
from __future__ import annotations

import argparse

from ..world import DEFAULT_HEIGHT_M


def add_world_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--height", type=float, default=DEFAULT_HEIGHT_M,
                   help=f"the person's standing height in metres, for the world frame's scale "
                        f"(default {DEFAULT_HEIGHT_M}; the focal length is unknown, so size comes from this)")
    p.add_argument("--no-world", action="store_true",
                   help="skip the world frame (floor, path, contacts, planted feet): camera frame only")


def world_line(seq) -> str:
    """One line: the world frame's status, floor fit and scale (or why it fell back)."""
    w = seq.meta.get("world", {})
    status = w.get("status", "absent")
    if status != "ok":
        return (f"world frame: {status}; poses_world is the camera frame turned Y up (level camera assumed), "
                "no floor, contacts or planted feet")
    return (f"world frame: floor fitted to {w['floor_points']} foot contacts, {100 * w['floor_rms_m']:.1f} cm RMS, "
            f"normal +- {w['floor_normal_sd_deg']:.0f} deg; "
            f"camera {w['camera_height_m']:.2f} m high, tilted {w['camera_tilt_down_deg']:.0f} deg down; "
            f"scale {w['scale']:.3f} for a {w['height_m']:.2f} m person; contact frames right/left "
            f"{w['contact_frames'][0]}/{w['contact_frames'][1]}")

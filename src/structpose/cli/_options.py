"""Option definitions shared by several commands (field of view, minimum score, temporal mode), defined once."""
from __future__ import annotations

import argparse

from ..pipeline.lifting import DEFAULT_FOV_DEG, DEFAULT_MIN_SCORE


def add_fov(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fov", type=float, default=DEFAULT_FOV_DEG,
                   help=f"assumed horizontal field of view, degrees (default {DEFAULT_FOV_DEG:g}); sets the root "
                        "depth only, not the pose")


def add_min_score(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE,
                   help=f"joints scored below this are masked for the lifter (default {DEFAULT_MIN_SCORE:g})")


def add_mode(p: argparse.ArgumentParser, default: str, help: str, choices: tuple[str, ...] | None = None) -> None:
    """``--mode`` (temporal stage: one of :data:`structpose.pipeline.refiner.MODES`).  Without ``choices``
    the pipeline checks the value (one line naming the accepted modes, exit 2)."""
    p.add_argument("--mode", choices=choices, default=default, help=help)


def add_lifter(p: argparse.ArgumentParser) -> None:
    from ..models.npz_infer import LIFTER_NAMES
    p.add_argument("--lifter", default=None,
                   help="lifter weights: a .pt file or a shipped name (" + ", ".join(LIFTER_NAMES) + "; default "
                        "today); `world` also reads MediaPipe's world landmarks in video and image")

"""A clip of real motion: H36M-17 joints in a Y-up world frame, metres, at its own frame rate."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cameras import Camera, front_camera


@dataclass
class Clip:
    """``world`` is ``(T, 17, 3)`` H36M-17 joint positions, metres, world frame with **Y up**."""

    name: str          # unique, "<source>/<clip>"
    source: str        # "deepmimic", "holosoma", "bvh", ...
    world: np.ndarray
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.world.shape[0])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def in_camera(self, camera: Camera | None = None) -> np.ndarray:
        """``(T, 17, 3)`` camera-frame joints (x right, y down, z forward); default: a front camera."""
        cam = camera if camera is not None else front_camera(self.world)
        return cam.world_to_camera(self.world).astype(np.float32)

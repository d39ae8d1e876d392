"""Reading image files (torch-free, so the MediaPipe path can read photos without importing torch)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import StructposeError


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as BGR uint8 ``(H, W, 3)`` (OpenCV's order); missing or undecodable files ->
    one clear line."""
    import cv2
    p = Path(path)
    if not p.is_file():
        raise StructposeError(f"{p}: no such image file")
    img = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if img is None:
        raise StructposeError(f"{p}: not a readable image (cv2 reads PNG, JPEG, BMP, TIFF, WebP)")
    return img

"""Reading image files (torch-free, so the MediaPipe path can read photos without importing torch)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import StructposeError

#: largest photo accepted, in pixels (decoded BGR: 300 MB); checked from the header before decoding
MAX_IMAGE_PIXELS = 100_000_000


def check_image_header(path: Path) -> None:
    """Refuse, before any decoding, an image whose header announces more than :data:`MAX_IMAGE_PIXELS`
    (a 30000x30000 PNG is under 1 MB on disk and 2.7 GB decoded), and a PNG / JPEG whose data ends early
    (OpenCV would fill the rest with grey and carry on).  Formats Pillow does not know are left to OpenCV."""
    import warnings

    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise StructposeError(f"{path}: image is {w}x{h} = {w * h / 1e6:.0f} megapixels; at most "
                                          f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels are accepted (scale it down)")
                if im.format in ("PNG", "JPEG"):
                    try:
                        im.load()
                    except (OSError, SyntaxError, ValueError) as e:
                        raise StructposeError(f"{path}: {im.format} data is truncated or damaged ({e}); "
                                              "give a complete image file") from None
    except Image.DecompressionBombError:
        raise StructposeError(f"{path}: image header announces over {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} "
                              f"megapixels; at most {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels are accepted") from None
    except (UnidentifiedImageError, OSError):
        return


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as BGR uint8 ``(H, W, 3)`` (OpenCV's order); missing or undecodable files ->
    one clear line."""
    p = Path(path)
    if p.is_dir():
        raise StructposeError(f"{p} is a folder; expected an image file (PNG, JPEG, ...)")
    if not p.is_file():
        raise StructposeError(f"{p}: no such image file")
    check_image_header(p)
    import cv2
    img = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if img is None:
        raise StructposeError(f"{p}: not a readable image (cv2 reads PNG, JPEG, BMP, TIFF, WebP)")
    return img

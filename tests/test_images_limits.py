"""data.images: decode bombs refused from the header, truncated photos refused, before any decoding."""
from __future__ import annotations

import resource
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from structpose.cli import main
from structpose.data.images import MAX_IMAGE_PIXELS, read_image
from structpose.errors import StructposeError


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header_only(path: Path, w: int, h: int) -> Path:
    """A valid PNG signature + IHDR announcing w x h RGB, and a tiny IDAT: kilobytes on disk."""
    rows = zlib.compress(b"\x00" * (1 + 3 * min(w, 64)) * 4)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + _chunk(b"IDAT", rows) + _chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("w,h", [(30000, 30000), (12000, 9000)])
def test_huge_header_is_refused_without_decoding(tmp_path, w, h):
    p = _png_header_only(tmp_path / "bomb.png", w, h)
    assert p.stat().st_size < 10_000 and w * h > MAX_IMAGE_PIXELS
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(StructposeError, match="megapixels") as e:
        read_image(p)
    assert "\n" not in str(e.value)
    # nothing of the announced size was allocated (the decoded image would be w*h*3 bytes)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024 < w * h


def test_image_command_refuses_the_bomb_in_one_line(tmp_path, capsys):
    p = _png_header_only(tmp_path / "bomb.png", 30000, 30000)
    assert main(["image", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "100 megapixels" in err and not (tmp_path / "o").exists()


def test_truncated_jpeg_and_png_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (200, 200, 3), np.uint8)
    for ext in (".jpg", ".png"):
        data = cv2.imencode(ext, img)[1].tobytes()
        whole, cut = tmp_path / f"whole{ext}", tmp_path / f"cut{ext}"
        whole.write_bytes(data)
        cut.write_bytes(data[: len(data) // 2])
        assert read_image(whole).shape == (200, 200, 3)
        with pytest.raises(StructposeError, match="truncated or damaged"):
            read_image(cut)


def test_a_limit_sized_image_is_still_read(tmp_path):
    # a small image well inside the limit passes through unchanged (same pixels as OpenCV alone)
    img = np.random.default_rng(1).integers(0, 255, (48, 64, 3), np.uint8)
    p = tmp_path / "ok.png"
    cv2.imwrite(str(p), img)
    assert np.array_equal(read_image(p), img)

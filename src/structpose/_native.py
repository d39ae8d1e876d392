"""Keep native libraries quiet: a bad input is told in one line by structpose, not by OpenCV or FFmpeg.

OpenCV's own log (``[ WARN:0@0.1] global cap_ffmpeg_impl.hpp ...``) and FFmpeg's (``moov atom not found``)
go straight to the process's stderr, before structpose's one-line error.  Both read their level from the
environment when OpenCV loads; ``OPENCV_LOG_LEVEL`` and ``OPENCV_FFMPEG_LOGLEVEL`` set by the user win.
"""
from __future__ import annotations

import os
import sys


def quiet_native_logs() -> None:
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")       # AV_LOG_QUIET
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and os.environ["OPENCV_LOG_LEVEL"] == "OFF":   # already loaded: set it directly
        try:
            cv2.setLogLevel(0)
        except AttributeError:        # pragma: no cover  (very old OpenCV)
            pass

"""The real motion sources on this machine, loaded once per process.

``load_clips(("deepmimic", "holosoma"))`` is what training code calls; ``describe_sources()`` is
what ``structpose data sources`` prints.  A source that is not installed raises a
:class:`StructposeError` saying how to get it.  Returned clips hold read-only arrays (they are
shared by every caller in the process): copy before changing them.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import StructposeError
from . import deepmimic, holosoma, motion_sources
from .clip import Clip
from .resample import resample_clip, segment_clip

_INSTALL = {
    "deepmimic": "pip install pybullet==3.2.7 (or `make setup`)",
    "holosoma": holosoma.INSTALL_HINT,
}
_ORIGIN = {
    "deepmimic": "pybullet_data/data/motions (DeepMimic humanoid clips)",
    "holosoma": "holosoma-retargeting 0.1.0 wheel, demo_data/climb",
}
_LOADERS: dict[str, Callable[[], list[Clip]]] = {
    "deepmimic": deepmimic.load_all,
    "holosoma": holosoma.load_all,
}
# fetched real capture (structpose.data.motion_sources; `structpose data fetch NAME`)
def _fetched_loader(name: str) -> Callable[[], list[Clip]]:
    return lambda: motion_sources.load_source(name)


for _name, _src in motion_sources.SOURCES.items():
    _LOADERS[_name] = _fetched_loader(_name)
    _INSTALL[_name] = motion_sources.fetch_hint(_name)
    _ORIGIN[_name] = _src.origin
KNOWN_SOURCES = tuple(_LOADERS)
_CATALOGUE: dict[str, dict[str, Any]] = {
    "deepmimic": {"family": "deepmimic", "actors": "not stated", "licence": "MIT", "commercial": True,
                  "content": "DeepMimic's clips in pybullet_data: backflip, cartwheel, crawl, dances, get-ups, "
                             "jump, kicks, punch, roll, run, spins, walks and turns"},
    "holosoma": {"family": "holosoma", "actors": "not stated", "licence": "Apache-2.0 (holosoma-retargeting)",
                 "commercial": True, "content": "climbing (5 sequences)"},
}
_CACHE: dict[str, list[Clip]] = {}


def _available(source: str) -> bool:
    if source in motion_sources.SOURCES:
        return motion_sources.available(source)
    if source == "deepmimic":
        return importlib.util.find_spec("pybullet_data") is not None
    return holosoma.wheel_path() is not None


def _raw(source: str) -> list[Clip]:
    if source not in _LOADERS:
        raise StructposeError(f"unknown motion source {source!r}; known sources: {', '.join(KNOWN_SOURCES)}")
    if source not in _CACHE:
        if not _available(source):
            raise StructposeError(f"motion source {source!r} is not installed; {_INSTALL[source]}")
        clips = _LOADERS[source]()
        for c in clips:
            c.world.setflags(write=False)
        _CACHE[source] = clips
    return _CACHE[source]


def load_clips(sources: Sequence[str] | str = ("deepmimic", "holosoma"), fps: float | None = None,
               segment_seconds: float | None = None) -> list[Clip]:
    """Clips of the named sources, H36M-17, Y-up world, metres.

    ``fps`` resamples every clip (rigid bones: root linear, bone directions slerped; see
    :mod:`structpose.data.resample`);
    ``None`` keeps each clip's own rate.  ``segment_seconds`` cuts long clips (holosoma) into named
    pieces ``<clip>/partNN``; splits still follow the source clip.
    """
    if isinstance(sources, str):
        sources = (sources,)
    out: list[Clip] = []
    for s in sources:
        clips = _raw(s)
        if segment_seconds is not None:
            clips = [seg for c in clips for seg in segment_clip(c, segment_seconds)]
        out.extend(resample_clip(c, fps) for c in clips)
    return out


def describe_sources() -> list[dict[str, Any]]:
    """One dict per source: ``source, found, clips, frames, fps (sorted distinct rates), duration_s,
    origin, install`` (how to get it when missing), ``use`` ("train" or "eval-only")."""
    rows: list[dict[str, Any]] = []
    for s in KNOWN_SOURCES:
        if s in motion_sources.SOURCES:
            rows.append(motion_sources.describe(s))
            continue
        row: dict[str, Any] = {"source": s, "origin": _ORIGIN[s], "install": _INSTALL[s], "use": "train",
                               **_CATALOGUE[s]}
        try:
            clips = _raw(s)
        except StructposeError as e:
            row.update(found=False, clips=0, frames=0, fps=[], duration_s=0.0, problem=str(e))
        else:
            row.update(found=True, clips=len(clips), frames=sum(c.num_frames for c in clips),
                       fps=sorted({float(c.fps) for c in clips}),
                       duration_s=float(sum(c.duration for c in clips)))
        rows.append(row)
    rows.extend(_eval_only_sources())
    return rows


def _eval_only_sources() -> list[dict[str, Any]]:
    """Motion on this machine that is reserved for evaluation (never trained on)."""
    rows = []
    p = holosoma.wheel_path()
    if p is not None:
        import zipfile
        try:
            with zipfile.ZipFile(p) as zf:
                omomo = [n for n in zf.namelist() if "omomo" in n.lower() and n.endswith((".pt", ".npy", ".npz", ".pkl"))]
        except (OSError, zipfile.BadZipFile):
            omomo = []
        if omomo:
            rows.append({"source": "holosoma-omomo", "found": True, "clips": len(omomo), "frames": None,
                         "fps": [], "duration_s": None, "use": "eval-only",
                         "origin": f"{Path(p).name}: OMOMO demo files (not converted by structpose)",
                         "install": _INSTALL["holosoma"]})
    rows.append({"source": "bvh", "found": True, "clips": None, "frames": None, "fps": [],
                 "duration_s": None, "use": "eval-only",
                 "origin": "your own .bvh files: structpose.data.bvh.load_bvh (CMU-style, Mixamo rigs)",
                 "install": "nothing to install"})
    return rows

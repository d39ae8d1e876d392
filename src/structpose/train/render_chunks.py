"""A large MediaPipe-on-renders pair set in video (tracking) mode, written in chunks.

``structpose data renders --chunks DIR`` (or :func:`generate_chunks`) renders sequences of real motion of
every training family -- DeepMimic (pybullet's clips and the repository's), holosoma climbing, Bandai
Namco, CMU subjects 01-03 -- with one scene builder (Anny body model, texture bank, photos, renderer) kept
for the whole run, runs MediaPipe in tracking mode over each sequence, and writes one
:mod:`structpose.train.render_pairs` file per chunk (``{split}_{family}_{NNN}.npz``), atomically, so a run
that is stopped leaves only complete chunks and a restart skips what exists.

Splits are by whole clip (``structpose.data.splits``): CMU by subject, Bandai by acting style, DeepMimic
and holosoma by clip.  Chunks go round the families so that every prefix of the run is balanced (a clip
is picked uniformly *within* a family: Bandai's 2,376 training clips must not drown CMU's 14), and the
splits are interleaved (``pattern``) so partial runs have validation and test chunks too.

Memory: a rendering process grows by about 3.7 MB per rendered frame (measured: +120 MB per 32-frame
sequence, in the pyrender / OSMesa render loop, not in MediaPipe), so a long run in one process ends in
swap; :func:`generate_chunks_in_processes` (what the CLI runs) renders every chunk in a fresh process.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..data.sources import load_clips
from ..data.splits import split_clips
from ..errors import StructposeError
from .render_pairs import KEYS, detect_into, render_sequence, write_pairs

#: family -> motion sources that make it
FAMILY_SOURCES: dict[str, tuple[str, ...]] = {
    "deepmimic": ("deepmimic", "deepmimic_repo"), "bandai": ("bandai",), "cmu": ("cmu",),
    "holosoma": ("holosoma",)}
#: order in which chunks visit the families (holosoma's five climbs get one turn in seven)
FAMILY_ORDER = ("deepmimic", "bandai", "cmu", "deepmimic", "bandai", "cmu", "holosoma")
#: order in which chunks visit the splits (8 train : 1 val : 1 test)
SPLIT_PATTERN = ("train", "train", "train", "train", "val", "train", "train", "train", "train", "test")


def chunk_plan(chunks: int) -> list[tuple[str, str, int]]:
    """(split, family, index within that split) for chunk 0 .. ``chunks - 1``."""
    seen: dict[str, int] = {}
    out = []
    for k in range(chunks):
        split = SPLIT_PATTERN[k % len(SPLIT_PATTERN)]
        i = seen.get(split, 0)
        seen[split] = i + 1
        fams = FAMILY_ORDER if split == "train" else FAMILY_ORDER[:3] + ("holosoma",)
        out.append((split, fams[i % len(fams)], i))
    return out


def generate_chunks(out_dir: str | Path, chunks: int, sequences_per_chunk: int = 20, video_length: int = 32,
                    seed: int = 0, image_size: tuple[int, int] = (640, 480), video_fps: float = 30.0,
                    stop_at: float | None = None, log: Callable[[str], None] = print,
                    only: int | None = None) -> list[Path]:
    """Write up to ``chunks`` chunk files into ``out_dir`` (existing ones are kept and skipped); stop early,
    between chunks, once ``time.time()`` passes ``stop_at``; ``only``: render just that chunk index.  Every
    chunk's randomness is a function of ``(seed, chunk index)`` alone.  Returns the chunk paths that exist
    at the end."""
    from dataclasses import replace

    from ..render.anny_scene import AnnyScenes, SceneConfig
    if chunks < 1 or sequences_per_chunk < 1 or video_length < 2:
        raise StructposeError(f"chunks ({chunks}) and sequences per chunk ({sequences_per_chunk}) must be >= 1 "
                              f"and the video length ({video_length}) >= 2")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = chunk_plan(chunks)
    todo = [k for k, (sp, fam, i) in enumerate(plan) if (only is None or k == only)
            and not (out_dir / f"{sp}_{fam}_{i:03d}.npz").is_file()]
    clips: dict[tuple[str, str], list] = {}
    for split, fam, _ in (plan[k] for k in todo):
        if (split, fam) not in clips:
            clips[split, fam] = [c for c in split_clips(load_clips(FAMILY_SOURCES[fam]))[split]
                                 if c.num_frames >= video_length]
            if not clips[split, fam]:
                raise StructposeError(f"no {split} clips of {fam} with {video_length} frames")
    if not todo:
        return [p for sp, fam, i in plan if (p := out_dir / f"{sp}_{fam}_{i:03d}.npz").is_file()]
    scenes = AnnyScenes(replace(SceneConfig(), image_size=tuple(image_size)), seed=seed)
    paths = []
    try:
        for k, (split, fam, i) in enumerate(plan):
            path = out_dir / f"{split}_{fam}_{i:03d}.npz"
            if path.is_file() or k not in todo:
                if path.is_file():
                    paths.append(path)
                continue
            if stop_at is not None and time.time() > stop_at:
                log(f"stop time reached before chunk {k}")
                break
            rng = np.random.default_rng([seed, 2, k])
            cols: dict[str, list] = {key: [] for key in KEYS}
            t_render = t_detect = 0.0
            for s in range(sequences_per_chunk):
                t1 = time.perf_counter()
                seq, stride = render_sequence(scenes, clips[split, fam], video_length, video_fps, rng)
                t2 = time.perf_counter()
                detect_into(cols, seq, None, s, stride)
                t_detect += time.perf_counter() - t2
                t_render += t2 - t1
            meta = {"format": "structpose-renders-1", "sequences": sequences_per_chunk, "video_length": video_length,
                    "split": split, "family": fam, "chunk": k, "seed": seed,
                    "sources": list(FAMILY_SOURCES[fam]), "scene": asdict(scenes.config),
                    "seconds": {"render": round(t_render, 1), "detect": round(t_detect, 1)}}
            meta = write_pairs(path, cols, meta)
            found = float(np.mean(cols["det_found"]))
            log(json.dumps({"chunk": k, "file": path.name, "frames": meta["frames"], "found": round(found, 3),
                            "frames_per_s": round(meta["frames"] / (t_render + t_detect), 2),
                            "renders_per_s": meta["renders_per_s"], "detections_per_s": meta["detections_per_s"],
                            "clips": len(set(cols["clip"]))}))
            paths.append(path)
    finally:
        scenes.close()
    return paths


def generate_chunks_in_processes(out_dir: str | Path, chunks: int, argv: list[str], stop_at: float | None = None,
                                 log: Callable[[str], None] = print) -> list[Path]:
    """Each missing chunk of :func:`chunk_plan` rendered by a fresh ``python -m structpose data renders
    --chunks OUT_DIR --in-process --only K`` (``argv``: the remaining options, the same for every chunk);
    stops starting new chunks once ``time.time()`` passes ``stop_at``."""
    import subprocess
    import sys
    out_dir = Path(out_dir)
    for k, (split, fam, i) in enumerate(chunk_plan(chunks)):
        if (out_dir / f"{split}_{fam}_{i:03d}.npz").is_file():
            continue
        if stop_at is not None and time.time() > stop_at:
            log(f"stop time reached before chunk {k}")
            break
        r = subprocess.run([sys.executable, "-m", "structpose", "data", "renders", "--chunks", str(out_dir),
                            "--chunk-count", str(chunks), "--in-process", "--only", str(k), *argv], check=False)
        if r.returncode != 0:
            raise StructposeError(f"rendering chunk {k} failed (exit status {r.returncode})")
    return [p for sp, fam, i in chunk_plan(chunks) if (p := out_dir / f"{sp}_{fam}_{i:03d}.npz").is_file()]

"""SAP-Net training data for real photos (issue 13, item 3): realistic Anny renders as the 3D set, real video
frames with MediaPipe pseudo-labels as the 2D-only set (the paper's MPII role).

Both are stored as one crop-set format (``.npz``, no pickles; N samples):

=============  =======================  ==========================================================================
key            shape / dtype            meaning
=============  =======================  ==========================================================================
images         (N, S, S, 3) uint8 RGB   context crops: the product's crop (:data:`MARGIN` x the joints' box, as
                                        ``pipeline.sapnet.sapnet_on_detection`` cuts it) times :data:`CONTEXT`
uv             (N, 17, 2) float32       H36M-17 joints in crop pixels (NaN = unlabelled: a pseudo-label MediaPipe
                                        was not sure of)
z              (N, 17) float32          root-relative depth in units of the product crop's side (3D set only;
                                        Zhou's weak-perspective unit, :func:`structpose.codec.depth_target`)
joints_cam     (N, 17, 3) float32       camera-frame joints, metres (3D set only)
source         (N,) str                 clip or video the sample came from
meta           () str                   JSON: how the set was made (generator, seed, sources, licences, timing)
=============  =======================  ==========================================================================

The product crop sits at the centre of each stored crop with side ``S / CONTEXT``, so scale augmentation
(+-25 %) still finds real pixels around it instead of black borders.

The sources (DATA.md): 3D set = commercially usable mocap (CMU subjects 01/03, DeepMimic MIT clips,
holosoma climbing; no Bandai, no SIE / AMASS clips), posed on Anny (Apache-2.0 code, CC0 assets) on
opencv-doc backgrounds (BSD-3); 2D-only set = opencv-doc ``vtest.avi`` pedestrians and the Sports2D demo
video (BSD-3).  The evaluation people (Pose2Sim, messi5, basketball1/2) are never used here.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..codec import apply_affine, box_to_square, crop_affine
from ..data.images import Augment, make_sample
from ..errors import StructposeError
from ..io.atomic import atomic_path

MARGIN = 1.25          # the product's crop: 1.25 x the longer side of the joints' box
CONTEXT = 1.3          # stored crops are this much larger than the product's crop
STORE = 160            # stored crop side (pixels)
COMMERCIAL_SOURCES = ("cmu", "deepmimic", "holosoma", "deepmimic_repo")
NONCOMMERCIAL_MARKS = ("sie_", "amass_")       # DeepMimic repo clips under CC BY-NC / AMASS terms


def commercial_clips(split: str, sources: tuple[str, ...] = COMMERCIAL_SOURCES) -> list:
    """The ``split`` clips of ``sources`` whose licence allows commercial use."""
    from ..data.sources import load_clips
    from ..data.splits import split_clips
    clips = split_clips(load_clips(list(sources))).get(split, [])
    return [c for c in clips if not any(m in c.name for m in NONCOMMERCIAL_MARKS)]


def product_box(uv: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre and side of the product's square crop around H36M-17 pixels ``(17, 2)`` (NaN ignored)."""
    ok = np.isfinite(uv).all(-1)
    pts = uv[ok]
    return box_to_square(np.concatenate([pts.min(0), pts.max(0)]), margin=MARGIN)


def context_crop(image: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``image`` (H, W, 3) and its joints -> (stored crop (STORE, STORE, 3), joints in crop pixels, product-crop
    side in image pixels)."""
    centre, side = product_box(uv)
    A = crop_affine(centre, side * CONTEXT, STORE)
    crop = cv2.warpAffine(image, A, (STORE, STORE), flags=cv2.INTER_AREA if side * CONTEXT > STORE
                          else cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return crop, apply_affine(A, uv).astype(np.float32), side


def _write(out: str | Path, cols: dict[str, list], meta: dict) -> dict[str, np.ndarray]:
    arrays = {k: np.stack(v) if k != "source" else np.array(v) for k, v in cols.items() if v}
    arrays["meta"] = np.array(json.dumps(meta))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return arrays


# ------------------------------------------------------------------------------------- renders --

def render_anny_crops(out: str | Path, num: int, split: str = "train", seed: int = 0,
                      image_size: tuple[int, int] = (320, 240), realism: Any = None,
                      clips: list | None = None, progress: Callable[[str], None] | None = None,
                      sheet: str | Path | None = None) -> dict[str, np.ndarray]:
    """``num`` realistic Anny stills of ``split`` motion (commercially usable sources) -> crop set ``out``.
    ``sheet``: also save a contact sheet of the first 24 full frames (JPEG) there."""
    from dataclasses import asdict

    from ..codec import depth_target
    from ..render.anny_realism import RealismConfig, realistic_still
    from ..render.anny_scene import AnnyScenes, SceneConfig
    realism = realism or RealismConfig()
    clips = clips if clips is not None else commercial_clips(split)
    if not clips:
        raise StructposeError(f"no {split} clips to render")
    t0 = time.perf_counter()
    scenes = AnnyScenes(SceneConfig(image_size=tuple(image_size), textures=32), seed=seed)
    t_setup = time.perf_counter() - t0
    rng = np.random.default_rng([seed, 13])
    cols: dict[str, list] = {k: [] for k in ("images", "uv", "z", "joints_cam", "source")}
    effects: dict[str, int] = {}
    frames_for_sheet = []
    t1 = time.perf_counter()
    try:
        while len(cols["images"]) < num:
            clip = clips[int(rng.integers(len(clips)))]
            frame = int(rng.integers(clip.num_frames))
            try:
                st = realistic_still(scenes, clip, frame, rng, realism, clips)
            except StructposeError:
                continue                      # no camera sees this pose (rare): draw another
            crop, uv_c, side = context_crop(st.image, st.uv)
            f = float(np.mean(st.camera.f))
            cols["images"].append(crop)
            cols["uv"].append(uv_c)
            cols["z"].append(depth_target(st.joints_cam, f, 1) / side)
            cols["joints_cam"].append(st.joints_cam)
            cols["source"].append(clip.name)
            for k in st.effects:
                effects[k] = effects.get(k, 0) + 1
            if sheet is not None and len(frames_for_sheet) < 24:
                frames_for_sheet.append(st.image)
            n = len(cols["images"])
            if n % 100 == 0:
                # pyrender on OSMesa keeps ~4 MB per drawn mesh until its context goes (measured: 10 GB after
                # 2000 stills); a fresh context every 100 stills keeps the process at < 1.5 GB
                scenes.renderer.close()
            if progress and n % 200 == 0:
                progress(f"{n}/{num} renders, {n / (time.perf_counter() - t1):.1f}/s")
    finally:
        scenes.close()
    seconds = time.perf_counter() - t1
    if sheet is not None and frames_for_sheet:
        save_sheet(sheet, frames_for_sheet, 6)
    meta = {"kind": "sapnet-crops", "role": "3d", "generator": "anny realistic stills", "split": split,
            "seed": seed, "image_size": list(image_size), "realism": asdict(realism),
            "clips": sorted({c.name for c in clips}), "effects_applied": effects,
            "renders_per_second": num / seconds, "setup_seconds": t_setup,
            "licences": "mocap: CMU (free for all uses), DeepMimic (MIT), holosoma (Apache-2.0); Anny Apache-2.0 "
                        "code + CC0 assets; backgrounds opencv-doc (BSD-3)"}
    return _write(out, cols, meta)


def save_sheet(path: str | Path, images: list[np.ndarray], cols: int, cell: tuple[int, int] = (320, 240)) -> None:
    """RGB images -> one JPEG grid."""
    w, h = cell
    tiles = [cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA) for im in images]
    while len(tiles) % cols:
        tiles.append(np.zeros((h, w, 3), np.uint8))
    rows = [np.hstack(tiles[i:i + cols]) for i in range(0, len(tiles), cols)]
    grid = cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(cv2.imencode(".jpg", grid, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())


def labelled_sheet(path: str | Path, a: dict[str, np.ndarray], n: int = 32, cols: int = 8, seed: int = 0) -> None:
    """``n`` random crops of a crop set with their H36M-17 labels drawn (green; unlabelled joints absent)."""
    from ..skeleton import H36M17
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(a["images"]), size=min(n, len(a["images"])), replace=False)
    tiles = []
    for i in idx:
        im = a["images"][i].copy()
        uv = a["uv"][i]
        for p, c in H36M17.bones:
            if np.isfinite(uv[[p, c]]).all():
                cv2.line(im, tuple(np.round(uv[p]).astype(int)), tuple(np.round(uv[c]).astype(int)), (40, 230, 40), 1,
                         cv2.LINE_AA)
        tiles.append(im)
    save_sheet(path, tiles, cols, cell=(STORE, STORE))


# ----------------------------------------------------------------------------------- real frames --

MIN_SCORE = 0.5        # a pseudo-labelled joint needs this MediaPipe visibility, else it is unlabelled
MIN_LABELLED = 12      # and a sample needs this many labelled joints


def moving_people(frames: list[np.ndarray], min_height: int, max_people: int = 8) -> list[list[np.ndarray]]:
    """Boxes ``(x0, y0, x1, y1)`` of moving, person-shaped blobs per frame (a static camera: OpenCV's MOG2
    background subtractor, opened and closed, then connected components at least ``min_height`` tall and
    taller than wide)."""
    sub = cv2.createBackgroundSubtractorMOG2(history=200, varThreshold=25, detectShadows=True)
    out = []
    k_open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    k_close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 15))
    for fr in frames:
        m = sub.apply(fr)
        m = (m == 255).astype(np.uint8)                       # 127 = shadow
        m = cv2.morphologyEx(cv2.morphologyEx(m, cv2.MORPH_OPEN, k_open), cv2.MORPH_CLOSE, k_close)
        stats = cv2.connectedComponentsWithStats(m)[2]
        boxes = [np.array([x, y, x + w, y + h], np.float32) for x, y, w, h, _ in stats[1:]
                 if h >= min_height and h > 1.1 * w]
        boxes.sort(key=lambda b: -(b[3] - b[1]))
        out.append(boxes[:max_people])
    return out


def _read_video(path: Path, every: int, limit: int | None = None) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise StructposeError(f"cannot open video {path}")
    frames, i = [], 0
    while True:
        ok, fr = cap.read()
        if not ok or (limit is not None and len(frames) >= limit):
            break
        if i % every == 0:
            frames.append(fr)
        i += 1
    cap.release()
    return frames


def real_frame_crops(out: str | Path, videos: list[tuple[str | Path, int, int]] | None = None,
                     max_per_video: int = 1500, progress: Callable[[str], None] | None = None
                     ) -> dict[str, np.ndarray]:
    """Real video frames with MediaPipe pseudo-labels -> 2D-only crop set ``out``.

    ``videos``: (path, frame step, minimum person height px).  Each moving person's box (see
    :func:`moving_people`) is cut with 60 % margin, upscaled to >= 384 px tall and given to MediaPipe
    (static mode); a sample is kept if MediaPipe found a person whose hips lie inside the moving box and
    at least :data:`MIN_LABELLED` joints have visibility >= :data:`MIN_SCORE` (the others unlabelled)."""
    from ..data.realvideo import sports2d_demo, vtest
    from ..pipeline.detector import PoseDetector
    if videos is None:
        videos = [(vtest(), 2, 60), (sports2d_demo(), 1, 150)]
    cols: dict[str, list] = {k: [] for k in ("images", "uv", "source")}
    tried = 0
    t0 = time.perf_counter()
    det = PoseDetector(video=False)
    stats: dict[str, dict[str, int]] = {}
    try:
        for path, every, min_h in videos:
            path = Path(path)
            frames = _read_video(path, every)
            boxes = moving_people(frames, min_h)
            kept = 0
            st = stats.setdefault(path.name, {"frames": len(frames), "boxes": 0, "kept": 0})
            for fr, bs in zip(frames, boxes, strict=True):
                for b in bs:
                    if kept >= max_per_video:
                        break
                    st["boxes"] += 1
                    tried += 1
                    c, side = box_to_square(b, margin=1.6)
                    scale = max(1.0, 384 / side)
                    A = crop_affine(c, side, round(side * scale))
                    sz = round(side * scale)
                    crop = cv2.warpAffine(fr, A, (sz, sz), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
                    d = det(crop)
                    if not d.found:
                        continue
                    ok = d.scores >= MIN_SCORE
                    if ok.sum() < MIN_LABELLED:
                        continue
                    Ainv = np.linalg.inv(np.vstack([A, [0, 0, 1]]))[:2]
                    uv = apply_affine(Ainv, d.keypoints)                     # back to frame pixels
                    hips = uv[[1, 4]].mean(0)
                    if not (b[0] <= hips[0] <= b[2] and b[1] <= hips[1] <= b[3]):
                        continue                                            # someone else
                    rgb = cv2.cvtColor(fr, cv2.COLOR_BGR2RGB)
                    crop_s, uv_c, _ = context_crop(rgb, uv)
                    uv_c[~ok] = np.nan
                    cols["images"].append(crop_s)
                    cols["uv"].append(uv_c.astype(np.float32))
                    cols["source"].append(path.name)
                    kept += 1
                    st["kept"] = kept
                if progress and st["boxes"] % 100 == 0 and bs:
                    progress(f"{path.name}: {st['boxes']} boxes, {kept} kept")
    finally:
        det.close()
    if not cols["images"]:
        raise StructposeError("MediaPipe labelled no person in the real videos")
    meta = {"kind": "sapnet-crops", "role": "2d", "generator": "real video frames, MediaPipe 0.10.21 static "
            "pseudo-labels", "videos": stats, "min_score": MIN_SCORE, "min_labelled": MIN_LABELLED,
            "seconds": time.perf_counter() - t0,
            "licences": "opencv-doc vtest.avi (BSD-3, Debian opencv-doc), Sports2D demo.mp4 (BSD-3)"}
    return _write(out, cols, meta)


# ------------------------------------------------------------------------------------- datasets --

def load_crops(path: str | Path) -> dict[str, np.ndarray]:
    from ..io.guards import check_input_file
    p = check_input_file(path, "crop set", "write one with structpose.train.sapnet_crops")
    with np.load(p, allow_pickle=False) as f:
        a = {k: f[k] for k in f.files}
    for k in ("images", "uv"):
        if k not in a:
            raise StructposeError(f"{p} has no {k!r}; not a SAP-Net crop set")
    return a


class CropSet(Dataset):
    """A crop set as SAP-Net samples (:func:`structpose.data.images.make_sample`): the product's crop at the
    centre of each stored crop, augmented; ``three_d`` uses the depth labels ``z``."""

    def __init__(self, arrays: dict[str, np.ndarray], three_d: bool, size: int, aug: Augment | None = None,
                 seed: int = 0) -> None:
        if three_d and "z" not in arrays:
            raise StructposeError("this crop set has no depth labels (z); use it as the 2D-only set")
        self.a, self.three_d, self.size, self.aug, self.seed, self.epoch = arrays, three_d, size, aug, seed, 0
        s = arrays["images"].shape[1]
        self.centre = np.array([(s - 1) / 2] * 2)
        self.side = s / CONTEXT

    def __len__(self) -> int:
        return len(self.a["images"])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, i])
        uv = self.a["uv"][i]
        known = np.isfinite(uv).all(-1)
        return make_sample(self.a["images"][i], np.where(known[:, None], uv, -1e6),
                           self.a["z"][i] if self.three_d else None, self.centre, self.side, self.size, rng,
                           self.aug or Augment.none())


def eval_arrays(a: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """A 3D crop set -> the arrays :func:`structpose.train.sapnet_data.evaluate` reads: the product crop
    (no augmentation) at ``size``, joints in its pixels, camera-frame joints."""
    s = a["images"].shape[1]
    A = crop_affine(np.array([(s - 1) / 2] * 2), s / CONTEXT, size)
    images = np.stack([cv2.warpAffine(im, A, (size, size), flags=cv2.INTER_AREA) for im in a["images"]])
    return {"images": images, "uv": apply_affine(A, a["uv"]).astype(np.float32), "joints_cam": a["joints_cam"]}


def crop_sets(d: dict, size: int, seed: int) -> dict[str, Any]:
    """``data.crops: {3d: npz, 2d: npz, test: npz?}`` -> SAP-Net training sets (see ``sapnet_data``)."""
    from ..codec import bone_length_sum
    from ..losses import canonical_bone_lengths
    c = d["crops"]
    if not isinstance(c, dict) or not c.get("3d") or not c.get("2d"):
        raise StructposeError("data.crops needs '3d' and '2d' crop-set files (structpose.train.sapnet_crops)")
    a3, a2 = load_crops(Path(c["3d"]).expanduser()), load_crops(Path(c["2d"]).expanduser())
    aug = Augment(**d.get("augment", {})) if d.get("augment", True) is not False else Augment.none()
    s3 = CropSet(a3, True, size, aug, seed)
    # Lg's canonical bone lengths in the normalised unit: the product crop's (xy, z) poses of the 3D set
    xy = (a3["uv"] - s3.centre) / s3.side
    canon = canonical_bone_lengths([np.concatenate([xy, a3["z"][..., None]], -1)])
    test = eval_arrays(load_crops(Path(c["test"]).expanduser()), size) if c.get("test") else None
    m3, m2 = json.loads(str(a3.get("meta", "{}"))), json.loads(str(a2.get("meta", "{}")))
    trained_on = (f"3D set: {len(s3)} {m3.get('generator', '?')} ({m3.get('licences', '?')}); 2D-only set: "
                  f"{len(a2['images'])} {m2.get('generator', '?')} ({m2.get('licences', '?')})")
    return {"3d": s3, "2d": CropSet(a2, False, size, aug, seed + 1), "test": test, "canonical": canon,
            "bone_sum": float(bone_length_sum(a3["joints_cam"]).mean()), "trained_on": trained_on}


def main(argv: list[str] | None = None) -> int:
    """``python -m structpose.train.sapnet_crops renders|real OUT [--num N] [--split S] [--seed S] [--sheet PNG]``."""
    import argparse
    p = argparse.ArgumentParser(prog="python -m structpose.train.sapnet_crops",
                                description="write a SAP-Net crop set (realistic Anny renders or real frames)")
    p.add_argument("kind", choices=("renders", "real"))
    p.add_argument("out")
    p.add_argument("--num", type=int, default=2000, help="renders: number of stills")
    p.add_argument("--split", default="train", choices=("train", "val", "test"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sheet", help="renders: also save a contact sheet of full frames here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        if args.kind == "renders":
            a = render_anny_crops(args.out, args.num, args.split, args.seed, sheet=args.sheet,
                                  progress=lambda m: print(m, flush=True))
        else:
            a = real_frame_crops(args.out, progress=lambda m: print(m, flush=True))
    except StructposeError as e:
        print(f"error: {e}")
        return 2
    print(json.dumps(json.loads(str(a["meta"])), indent=1)[:2000])
    print(f"wrote {len(a['images'])} crops -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

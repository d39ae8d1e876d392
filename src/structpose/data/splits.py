"""Train / val / test split of the real mocap, by whole clip (never by frame), declared here.

Held out: DeepMimic clips of different motion families (acrobatics, dance, combat, locomotion,
floor work) and whole climbing sequences, so that validation and test measure motion the models
never saw.  Clips of other sources (BVH files, dataset formats) are evaluation-only: they are
always ``"test"``.  A segment ``holosoma/climb_seq_0/part03`` belongs to its sequence's set.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from ..errors import StructposeError

SPLITS = ("train", "val", "test")

#: every clip of the training sources and its set
SPLIT_TABLE: dict[str, str] = {
    # DeepMimic (pybullet_data), 20 clips
    "deepmimic/backflip": "train",
    "deepmimic/cartwheel": "test",          # acrobatics
    "deepmimic/crawl": "train",
    "deepmimic/dance_a": "train",
    "deepmimic/dance_b": "test",            # dance
    "deepmimic/getup_facedown": "train",
    "deepmimic/getup_faceup": "val",        # floor work
    "deepmimic/jump": "train",
    "deepmimic/kick": "val",                # combat
    "deepmimic/punch": "test",              # combat, upper body
    "deepmimic/roll": "train",
    "deepmimic/run": "train",
    "deepmimic/spin": "train",
    "deepmimic/spinkick": "train",
    "deepmimic/walk": "train",
    "deepmimic/walker_0walk_forward": "train",
    "deepmimic/walker_turn_left0": "train",
    "deepmimic/walker_turn_left1": "val",   # locomotion, turning
    "deepmimic/walker_turn_right0": "train",
    "deepmimic/walker_turn_right1": "test", # locomotion, turning
    # holosoma climbing, 5 sequences
    "holosoma/climb_seq_0": "train",
    "holosoma/climb_seq_1": "train",
    "holosoma/climb_seq_2": "train",
    "holosoma/climb_seq_3": "val",
    "holosoma/climb_seq_4": "test",
}

TRAINING_SOURCES = ("deepmimic", "holosoma")


def base_clip_name(name: str) -> str:
    """``source/clip`` of a clip or of a named segment of it (``source/clip/partNN``)."""
    parts = name.split("/")
    return "/".join(parts[:2])


def split_of(clip_name: str) -> str:
    """``"train"``, ``"val"`` or ``"test"`` for a clip name (or a segment of one)."""
    base = base_clip_name(clip_name)
    if base in SPLIT_TABLE:
        return SPLIT_TABLE[base]
    source = base.split("/")[0]
    if source in TRAINING_SOURCES:
        raise StructposeError(f"clip {clip_name!r} of training source {source!r} is not in the split table; "
                              "declare it in structpose.data.splits.SPLIT_TABLE")
    return "test"                            # other sources are evaluation-only


T = TypeVar("T")


def split_clips(clips: Iterable[T]) -> dict[str, list[T]]:
    """Group clips (anything with a ``.name``) by set; every set is present, possibly empty."""
    out: dict[str, list[T]] = {s: [] for s in SPLITS}
    for c in clips:
        out[split_of(c.name)].append(c)  # type: ignore[attr-defined]
    return out

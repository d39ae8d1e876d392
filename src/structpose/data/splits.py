"""Train / val / test split of the real mocap, by whole clip (never by frame), declared here.

Held out: DeepMimic clips of different motion families (acrobatics, dance, combat, locomotion,
floor work) and whole climbing sequences, so that validation and test measure motion the models
never saw.  Clips of other sources (BVH files, dataset formats) are evaluation-only: they are
always ``"test"``.  A segment ``holosoma/climb_seq_0/part03`` belongs to its sequence's set.

Fetched sources (:mod:`structpose.data.motion_sources`) split by rule, by actor or acting style
where the source says who moved:

* ``cmu/SS_NN``: by subject -- 01 train, 03 val, 02 test (whole actors held out);
* ``bandai/dataset-S_CONTENT_STYLE_NNN``: by style, every content of a style together (the
  actors are not labelled per clip; a style is one acted manner, and the left/right variants of a
  content share it) -- test: set 1 ``old``, ``giant``, set 2 ``elderly``; val: set 1
  ``childish``, set 2 ``exhausted``;
* ``deepmimic/...`` clips of DeepMimic's repository: :data:`DEEPMIMIC_REPO_SPLIT`;
* ``cmu_boxing/boxing``: test.

A ``..._mirror`` clip always goes where its original goes (:func:`split_of` strips the suffix).

**Leave one source out** (:func:`leave_one_source_out`): for each source family (deepmimic,
holosoma, bandai, cmu), train and validate on the train / val clips of the *other* families and
test on the held-out family's test clips -- test clips that no recipe (today's or new) trained on.
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

TRAINING_SOURCES = ("deepmimic", "holosoma", "bandai", "cmu")

#: DeepMimic repository clips beyond pybullet's 20 (names of structpose.data.motion_sources)
DEEPMIMIC_REPO_SPLIT: dict[str, str] = {
    "deepmimic/sideflip": "test",            # acrobatics, like cartwheel
    "deepmimic/dance_spin": "val",
    "deepmimic/long_zombie": "val",
    **{f"deepmimic/sie_punch_{k}": "test" for k in ("forward00", "forward01", "forward02", "left00")},
    "deepmimic/sie_run_left14": "val", "deepmimic/sie_run_right14": "val",   # a left/right pair together
    **{f"deepmimic/{n}": "train" for n in (
        "jog", "stealthy_walk", "zombie_walk", "long_walk0", "long_walk1", "long_walk2", "long_walk3",
        "long_stealthy_walk0", "long_stealthy_walk1", "amass_ready_to_walk_mirror", "amass_walk_to_ready_mirror")},
    **{f"deepmimic/sie_run_forward{i:02d}": "train" for i in range(16)},
    **{f"deepmimic/sie_run_{side}{i:02d}": "train" for side in ("left", "right") for i in range(14)},
}
_BANDAI_STYLE = {"old": "test", "giant": "test", "elderly": "test", "childish": "val", "exhausted": "val"}
_CMU_SUBJECT = {"01": "train", "02": "test", "03": "val"}


def _rule_split(base: str) -> str | None:
    """Set of a fetched source's clip by rule (module doc); None when no rule names it."""
    source, _, clip = base.partition("/")
    if source == "bandai":
        parts = clip.split("_")
        return _BANDAI_STYLE.get(parts[2], "train") if len(parts) >= 4 else None
    if source == "cmu":
        return _CMU_SUBJECT.get(clip[:2])
    if source == "cmu_boxing":
        return "test"
    return DEEPMIMIC_REPO_SPLIT.get(base)


def base_clip_name(name: str) -> str:
    """``source/clip`` of a clip or of a named segment of it (``source/clip/partNN``)."""
    parts = name.split("/")
    return "/".join(parts[:2])


def split_of(clip_name: str) -> str:
    """``"train"``, ``"val"`` or ``"test"`` for a clip name (or a segment of one)."""
    base = base_clip_name(clip_name)
    if base.endswith("_mirror"):
        original = base[:-len("_mirror")]
        if original in SPLIT_TABLE or _rule_split(original) is not None:
            base = original
    if base in SPLIT_TABLE:
        return SPLIT_TABLE[base]
    ruled = _rule_split(base)
    if ruled is not None:
        return ruled
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


def family_of(clip_name: str) -> str:
    """Leave-one-source-out family of a clip: its name's first part (``cmu_boxing`` joins ``cmu``)."""
    source = clip_name.split("/")[0]
    return "cmu" if source == "cmu_boxing" else source


def leave_one_source_out(clips: Iterable[T], held_out: str) -> dict[str, list[T]]:
    """``{"train", "val"}`` of the other families and ``"test"`` of the held-out family's test clips."""
    out: dict[str, list[T]] = {s: [] for s in SPLITS}
    for c in clips:
        name = c.name  # type: ignore[attr-defined]
        s = split_of(name)
        if family_of(name) == held_out:
            if s == "test":
                out["test"].append(c)
        elif s != "test":
            out[s].append(c)
    return out

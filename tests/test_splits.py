"""Splits go by whole clip: no clip (or piece of one) in two sets, every training clip declared."""
from __future__ import annotations

import pytest

from structpose.data.clip import Clip
from structpose.data.datasets import Pairs2D3DDataset, PoseWindowDataset
from structpose.data.sources import load_clips
from structpose.data.splits import SPLIT_TABLE, split_clips, split_of
from structpose.errors import StructposeError


@pytest.fixture(scope="module")
def clips():
    return load_clips()


def test_every_real_clip_is_declared_and_in_exactly_one_set(clips):
    names = [c.name for c in clips]
    assert sorted(names) == sorted(SPLIT_TABLE)          # the table covers exactly the real clips
    parts = split_clips(clips)
    seen = [c.name for s in parts.values() for c in s]
    assert sorted(seen) == sorted(names) and len(set(seen)) == len(seen)
    assert all(parts[s] for s in ("train", "val", "test"))


def test_held_out_sets_hold_whole_sequences_of_both_sources(clips):
    parts = split_clips(clips)
    for s in ("val", "test"):
        sources = {c.source for c in parts[s]}
        assert sources == {"deepmimic", "holosoma"}, s
    # test spans several motion families, not one kind of motion
    kinds = {c.name.split("/")[1].split("_")[0] for c in parts["test"] if c.source == "deepmimic"}
    assert len(kinds) >= 3
    train_frames = sum(c.num_frames for c in parts["train"])
    assert train_frames > 0.5 * sum(c.num_frames for c in clips)


def test_segments_follow_their_sequence(clips):
    segs = load_clips("holosoma", segment_seconds=4.0)
    for s in segs:
        base = s.name.rsplit("/part", 1)[0]
        assert split_of(s.name) == SPLIT_TABLE[base]
    parts = split_clips(segs)
    bases = {k: {c.name.rsplit("/part", 1)[0] for c in v} for k, v in parts.items()}
    assert not (bases["train"] & bases["val"]) and not (bases["train"] & bases["test"]) \
        and not (bases["val"] & bases["test"])


def test_other_sources_are_evaluation_only_and_unknown_training_clips_fail():
    assert split_of("bvh/my_dance") == "test"
    with pytest.raises(StructposeError, match="not in the split table"):
        split_of("deepmimic/new_clip")


def test_datasets_built_on_a_split_hold_only_its_clips(clips):
    parts = split_clips(clips)
    train = [c for c in parts["train"] if c.source == "deepmimic"]
    for ds in (PoseWindowDataset(train, stride=7), Pairs2D3DDataset(train, frame_stride=7)):
        used = {ds.clips[int(ds.index[i][0])].name for i in range(len(ds))}
        assert used == {c.name for c in train}
        assert all(split_of(n) == "train" for n in used)
    assert isinstance(train[0], Clip)

"""Writing a command's result: the pose file and any export formats beside it, each atomically."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import StructposeError
from ..io.export import export
from ..io.posefile import PoseSequence, save_pose_file


def check_pose_path(out: str | Path, what: str = "--out") -> Path:
    """A pose file name must end in .npz: checked before any work, so a long run never ends on it."""
    out = Path(out)
    if out.suffix != ".npz":
        raise StructposeError(f"{what} {out}: the pose file must end in .npz")
    return out


def check_outputs(out: str | Path, formats: Sequence[str] = (), inputs: dict | None = None,
                  extra: dict | None = None) -> None:
    """Refuse, before any work, a pose file ``out``, an export beside it (``formats``) or an ``extra``
    output ({option: path}) that is the same file as one of ``inputs`` ({option: path})
    (:func:`structpose.io.guards.refuse_overwrite`)."""
    from ..io.export import export_paths
    from ..io.guards import refuse_overwrite
    refuse_overwrite({"--out": out, **export_paths(out, [f for f in formats if f != "npz"]), **(extra or {})},
                     inputs or {})


def write_outputs(sequence: PoseSequence, out: str | Path, formats: Sequence[str] = (), name: str = "video"
                  ) -> list[Path]:
    """Write ``sequence`` to the pose file ``out`` (.npz) and each of ``formats`` (json, csv, bvh, vp3d)
    beside it (:func:`structpose.io.export.export`); returns the paths written, pose file first."""
    out = check_pose_path(out)
    written = [save_pose_file(out, sequence)]
    return written + export(sequence, out, [f for f in formats if f != "npz"], name=name)

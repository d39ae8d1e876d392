"""Guards shared by every command: outputs that would destroy inputs, and torch files read without pickle code.

* :func:`refuse_overwrite` -- an output path that is (or would be) the same file as an input is refused
  before anything is written (the rename at the end of an atomic write would otherwise replace the input).
* :func:`load_torch` -- ``torch.load(weights_only=True)``: only tensors, numbers, strings, lists, tuples,
  dicts and ``None`` are rebuilt; a file that asks the unpickler for anything else (a function to call, a
  class to build) is refused in one line before any of it runs.
"""
from __future__ import annotations

import os
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import StructposeError

PathLike = str | os.PathLike | None


def _same(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        try:
            return os.path.samefile(a, b)       # hard links, symlinks, different spellings
        except OSError:
            pass
    return a.resolve() == b.resolve()


def refuse_overwrite(outputs: Mapping[str, PathLike] | Iterable[tuple[str, PathLike]],
                     inputs: Mapping[str, PathLike] | Iterable[tuple[str, PathLike]]) -> None:
    """Raise :class:`StructposeError` when any output names the same file as any input.

    ``outputs`` / ``inputs``: ``{label: path}`` (or pairs); ``None`` paths are skipped.  The label is
    the option the user typed (``--out``), so the message names it.
    """
    outs = list(outputs.items()) if isinstance(outputs, Mapping) else list(outputs)
    ins = list(inputs.items()) if isinstance(inputs, Mapping) else list(inputs)
    for o_label, o in outs:
        if o is None or str(o) in ("", "-"):
            continue
        for i_label, i in ins:
            if i is None or str(i) in ("", "-"):
                continue
            if _same(Path(o), Path(i)):
                raise StructposeError(f"{o_label} {o} is the same file as {i_label} {i}; "
                                      "choose another output path (the input would be overwritten)")


def check_input_file(path: PathLike, what: str, hint: str = "") -> Path:
    """An existing regular file, else one line: a folder is named as a folder, a missing path as missing."""
    p = Path(str(path))
    if p.is_dir():
        raise StructposeError(f"{what} {p} is a folder; expected a file" + (f" ({hint})" if hint else ""))
    if not p.is_file():
        raise StructposeError(f"{what} {p} not found (no such file)" + (f"; {hint}" if hint else ""))
    return p


def load_torch(path: PathLike, what: str, hint: str = "") -> Any:
    """Read a ``.pt`` file without running code from it (``torch.load(weights_only=True)``).

    What such a file can hold: tensors, numbers, strings, ``None``, lists / tuples / dicts of those
    (model and optimiser state dicts, RNG states as tensors or plain ints).  Anything else -- a pickled
    function call is how a weights file runs code -- is refused with one line naming ``what``.
    """
    import torch
    p = check_input_file(path, what, hint)
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" in str(e).lower():     # torch's allow-list refused a global: a function to call or a class
            raise StructposeError(f"{what} {p} holds Python objects other than tensors, numbers, strings, lists and "
                                  "dicts; refused (loading it could run code)" + (f"; {hint}" if hint else "")) from None
        raise StructposeError(f"cannot read {what} {p}: not a torch file (UnpicklingError)"
                              + (f"; {hint}" if hint else "")) from None
    except Exception as e:  # noqa: BLE001  (torch raises zip, runtime and EOF errors for foreign files)
        raise StructposeError(f"cannot read {what} {p}: not a torch file ({type(e).__name__})"
                              + (f"; {hint}" if hint else "")) from None


def check_metres(poses: Any, what: str = "poses_3d") -> None:
    """Refuse poses in millimetres (or other large units): the median bone of a person is ~0.25 m; above
    5 m the file is not in metres."""
    import numpy as np

    from ..skeleton import H36M17
    p = np.asarray(poses, np.float64)
    if p.ndim < 2 or p.shape[-2:] != (17, 3):
        return
    bones = np.linalg.norm(p[..., 1:, :] - p[..., list(H36M17.parents[1:]), :], axis=-1)
    bones = bones[np.isfinite(bones)]
    if bones.size and float(np.median(bones)) > 5.0:
        raise StructposeError(f"{what}: median bone length {float(np.median(bones)):.0f}; poses must be in metres "
                              "(divide millimetres by 1000)")


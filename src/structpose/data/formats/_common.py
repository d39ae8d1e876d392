"""What every format reader shares: the result types, safe file opening, and error wrapping.

Readers never let a third-party parser's exception escape: a corrupt file is one
:class:`~structpose.errors.StructposeError` line naming the file, the format and what was expected.
Pickled members (VideoPose3D's dicts, mmpose's camera pickle) are read with a restricted
unpickler that only rebuilds numpy arrays and plain containers, so opening a dataset file can never
run code.
"""
from __future__ import annotations

import contextlib
import io
import pickle
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...cameras import Camera
from ...errors import StructposeError


@dataclass
class Motion3D:
    """One 3D sequence read from a dataset file, already in H36M-17 and metres.

    ``poses``: ``(T, 17, 3)`` metres.  ``frame`` says where they live: ``"camera"`` (x right, y
    down, z forward) or ``"world"`` with ``up_axis`` (``"+z"`` for Human3.6M's world).  ``camera``
    maps that world into a real camera when the dataset knows one.  ``poses_2d`` ``(T, 17, 2)``
    pixels and ``scores`` ``(T, 17)`` come with datasets that annotate both.
    """

    name: str
    subject: str
    action: str
    poses: np.ndarray
    frame: str = "camera"
    up_axis: str | None = None
    fps: float | None = None
    camera_name: str | None = None
    camera: Camera | None = None
    poses_2d: np.ndarray | None = None
    scores: np.ndarray | None = None
    image_size: tuple[int, int] | None = None
    valid: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])


@dataclass
class ImageAnnotations:
    """Per-image annotations of an image dataset (SAP-Net training), as aligned arrays.

    ``images`` (N,) names as the dataset stores them; ``joints_2d`` (N, 17, 2) pixels, H36M-17,
    NaN where unannotated; ``visible`` (N, 17) float in [0, 1] (0 = unannotated); ``center``
    (N, 2) pixels and ``scale`` (N,) person height / 200 px (the MPII convention, also mmpose's);
    ``bbox`` (N, 4) x, y, w, h pixels; ``joints_3d`` (N, 17, 3) metres, camera frame, or None;
    ``camera_keys`` (N,) index into ``cameras`` or None.
    """

    dataset: str
    images: np.ndarray
    joints_2d: np.ndarray
    visible: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    bbox: np.ndarray
    joints_3d: np.ndarray | None = None
    camera_keys: np.ndarray | None = None
    cameras: dict[str, Camera] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, i: int) -> dict[str, Any]:
        """One record: image, joints_2d, visible, center, scale, bbox, joints_3d, camera."""
        rec: dict[str, Any] = {
            "image": str(self.images[i]), "joints_2d": self.joints_2d[i], "visible": self.visible[i],
            "center": self.center[i], "scale": float(self.scale[i]), "bbox": self.bbox[i],
            "joints_3d": None if self.joints_3d is None else self.joints_3d[i], "camera": None}
        if self.camera_keys is not None:
            rec["camera"] = self.cameras.get(str(self.camera_keys[i]))
        return rec


def bbox_from_joints(xy: np.ndarray) -> np.ndarray:
    """``(N, J, 2)`` pixels (NaN = missing) -> ``(N, 4)`` tight x, y, w, h (NaN if no joint)."""
    with np.errstate(all="ignore"), _quiet_nan():
        lo = np.nanmin(xy, axis=1)
        hi = np.nanmax(xy, axis=1)
    return np.concatenate([lo, hi - lo], axis=1)


@contextlib.contextmanager
def _quiet_nan() -> Iterator[None]:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# --- guarded reading --------------------------------------------------------------------------

#: larger coordinates are corruption, not data (and would overflow float32)
MAX_ABS = 1e9


class _Bad(Exception):
    """Internal: a structural problem found while interpreting a file (message is user-facing)."""


def bad(msg: str) -> _Bad:
    return _Bad(msg)


@contextlib.contextmanager
def reading(path: Path, fmt: str, expected: str) -> Iterator[None]:
    """Turn anything that goes wrong while parsing ``path`` into one StructposeError line.

    Third-party parsers (zip, pickle, scipy.io, h5py, json) raise dozens of exception types on
    corrupt input; the user only needs to know that the file is not a valid ``fmt`` file.
    """
    try:
        yield
    except StructposeError:
        raise
    except _Bad as e:
        raise StructposeError(f"{path}: {e} ({fmt}; expected {expected})") from None
    except MemoryError:
        raise StructposeError(f"{path}: declares arrays too large to load; the {fmt} file is corrupt") from None
    except RecursionError:
        raise StructposeError(f"{path}: nesting too deep; not a valid {fmt} file") from None
    except Exception as e:  # noqa: BLE001 - the boundary to untrusted bytes, see docstring
        detail = str(e).splitlines()[0][:120] if str(e) else ""
        raise StructposeError(f"{path}: not a readable {fmt} file ({type(e).__name__}"
                              f"{': ' + detail if detail else ''}); expected {expected}") from None


def check_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise StructposeError(f"{path}: no such file; expected {what}")
    if path.is_file() and path.stat().st_size == 0:
        raise StructposeError(f"{path}: file is empty; expected {what}")
    return path


_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "slice"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise _Bad(f"pickle refers to {module}.{name}, which a dataset file never needs")


def safe_unpickle(data: bytes | io.BufferedIOBase) -> Any:
    """Unpickle numpy arrays, dicts, lists, tuples, strings and numbers, and nothing else."""
    fh = io.BytesIO(data) if isinstance(data, bytes) else data
    return _SafeUnpickler(fh, encoding="latin1").load()


def _read_npy(fh: Any) -> np.ndarray:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    if dtype.hasobject:
        obj = safe_unpickle(fh)          # streamed, as np.load does
        if not isinstance(obj, np.ndarray):
            raise _Bad("object member does not hold an array")
        return obj
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count * dtype.itemsize > 2 ** 33:
        raise _Bad(f"member declares shape {shape}, larger than any dataset file")
    raw = fh.read(count * dtype.itemsize)
    if len(raw) != count * dtype.itemsize:
        raise _Bad("member is truncated")
    arr = np.frombuffer(raw, dtype=dtype).copy()
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All members of an ``.npz`` (object members through the safe unpickler)."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            key = name.removesuffix(".npy")
            with zf.open(name) as fh:
                out[key] = _read_npy(fh)
    return out


def npz_keys(path: Path) -> list[str]:
    """Member names of an ``.npz`` without reading them ([] when it is not a zip)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return [n.removesuffix(".npy") for n in zf.namelist()]
    except Exception:  # noqa: BLE001 - zipfile raises many types (even NotImplementedError) on junk
        return []


def as_float_array(x: Any, what: str, last: tuple[int, ...] | None = None) -> np.ndarray:
    """``x`` as a float64 array whose trailing dims are ``last``; a clear problem otherwise."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Bad(f"{what} is not numeric") from None
    if last is not None and (arr.ndim < len(last) or arr.shape[arr.ndim - len(last):] != last):
        want = ", ".join(["..."] + [str(d) for d in last])
        raise _Bad(f"{what} has shape {arr.shape}; expected ({want})")
    if np.isinf(arr).any():
        raise _Bad(f"{what} holds infinite values")
    if (np.abs(arr) > MAX_ABS).any():
        raise _Bad(f"{what} holds values beyond {MAX_ABS:g}; no pixel or millimetre coordinate is that large")
    return arr


def image_size(w: Any, h: Any, what: str) -> tuple[int, int]:
    """(width, height) as positive ints no larger than 100,000 px."""
    try:
        fw, fh = float(w), float(h)
    except (TypeError, ValueError):
        raise _Bad(f"{what} image size {w!r} x {h!r} is not numeric") from None
    if not (0 < fw <= 100_000 and 0 < fh <= 100_000):
        raise _Bad(f"{what} image size {w} x {h}; expected 1..100000 pixels each")
    return int(fw), int(fh)


def require_dict(x: Any, what: str) -> dict:
    if isinstance(x, np.ndarray) and x.dtype == object and x.shape == ():
        x = x.item()
    if not isinstance(x, dict):
        raise _Bad(f"{what} is a {type(x).__name__}, not a dict")
    return x

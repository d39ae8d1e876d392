"""A small, pure-Python reader for MATLAB v5/v7 ``.mat`` files (numeric arrays and cell arrays).

Why not ``scipy.io.loadmat``: on corrupted files its compiled reader can crash the interpreter
with a segmentation fault (found by ``tests/test_formats_fuzz.py``), which no ``except`` can turn
into a clear error.  This reader checks every size against the bytes actually present, so a bad file
is always a :class:`MatError`.  It reads what MPI-INF-3DHP's ``annot.mat`` needs: numeric matrices
(double, single, integer, logical), char arrays and cell arrays, compressed (v7) or not (v5).
Structs, objects and sparse matrices are skipped (returned as ``None``).

Format: 128-byte header (text, version, endian mark ``IM``/``MI``), then data elements, each a tag
(type, byte count) + data padded to 8 bytes; a "small" element packs type, count and up to 4 bytes
of data into 8 bytes.  ``miMATRIX`` holds array flags, dimensions, name and the real (and imaginary)
parts, column-major; ``miCOMPRESSED`` holds a zlib stream of further elements.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


class MatError(ValueError):
    """The file is not a readable MATLAB v5/v7 file (message says where)."""


_NUM = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8", 16: "u1",
        17: "u2", 18: "u4"}
_MI_MATRIX, _MI_COMPRESSED = 14, 15
_CLASS_CELL, _CLASS_STRUCT, _CLASS_OBJECT, _CLASS_CHAR, _CLASS_SPARSE = 1, 2, 3, 4, 5
_CLASS_DTYPE = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_MAX_ELEMENTS = 1 << 31
_MAX_DEPTH = 16


class _Reader:
    def __init__(self, buf: bytes, endian: str) -> None:
        self.buf, self.e = buf, endian

    def tags(self, start: int, end: int):
        """Yield (type, data start, data end) of each element in buf[start:end]."""
        pos = start
        while pos + 8 <= end:
            word, = struct.unpack_from(self.e + "I", self.buf, pos)
            if word >> 16:                                    # small data element
                typ, n = word & 0xFFFF, word >> 16
                if n > 4:
                    raise MatError(f"small element at byte {pos} claims {n} bytes")
                yield typ, pos + 4, pos + 4 + n
                pos += 8
                continue
            typ, n = struct.unpack_from(self.e + "II", self.buf, pos)
            data = pos + 8
            if data + n > end:
                raise MatError(f"element at byte {pos} needs {n} bytes, only {end - data} remain")
            yield typ, data, data + n
            pos = data + n if typ == _MI_COMPRESSED else data + ((n + 7) // 8) * 8
        if pos < end and any(self.buf[pos:end]):
            raise MatError(f"{end - pos} stray bytes at byte {pos}")

    def numbers(self, typ: int, a: int, b: int) -> np.ndarray:
        if typ not in _NUM:
            raise MatError(f"data type {typ} is not numeric")
        dt = np.dtype(_NUM[typ]).newbyteorder(self.e)
        if (b - a) % dt.itemsize:
            raise MatError(f"{b - a} bytes is not a whole number of {dt.name} values")
        return np.frombuffer(self.buf, dt, (b - a) // dt.itemsize, a)

    def matrix(self, a: int, b: int, depth: int):
        """-> (name, value) of one miMATRIX element's contents buf[a:b]."""
        if depth > _MAX_DEPTH:
            raise MatError("cells nested too deeply")
        if a == b:                                            # an empty cell
            return "", np.zeros((0, 0))
        parts = self.tags(a, b)
        try:
            t_flags, fa, fb = next(parts)
            t_dims, da, db = next(parts)
            t_name, na, nb = next(parts)
        except StopIteration:
            raise MatError("matrix element lacks flags, dimensions or name") from None
        flags = self.numbers(t_flags, fa, fb)
        if flags.size < 1:
            raise MatError("empty array flags")
        cls, complex_ = int(flags[0]) & 0xFF, bool(int(flags[0]) & 0x800)
        dims = tuple(int(d) for d in self.numbers(t_dims, da, db))
        if not dims or any(d < 0 for d in dims) or np.prod(dims, dtype=np.float64) > _MAX_ELEMENTS:
            raise MatError(f"bad dimensions {dims}")
        name = bytes(self.numbers(t_name, na, nb)).decode("latin1") if nb > na else ""
        count = int(np.prod(dims))
        if cls == _CLASS_CELL:
            cells = np.empty(count, dtype=object)
            k = 0
            for typ, ca, cb in parts:
                if typ != _MI_MATRIX or k >= count:
                    raise MatError(f"cell array {name!r} holds an unexpected element")
                cells[k] = self.matrix(ca, cb, depth + 1)[1]
                k += 1
            if k != count:
                raise MatError(f"cell array {name!r} has {k} of {count} cells")
            return name, cells.reshape(dims, order="F")
        if cls in (_CLASS_STRUCT, _CLASS_OBJECT, _CLASS_SPARSE):
            return name, None
        try:
            t_re, ra, rb = next(parts)
        except StopIteration:
            if count == 0:
                return name, np.zeros(dims)
            raise MatError(f"array {name!r} has no data") from None
        values = self.numbers(t_re, ra, rb)
        if values.size != count:
            raise MatError(f"array {name!r} has {values.size} values for dimensions {dims}")
        if cls == _CLASS_CHAR:
            text = "".join(chr(int(c)) for c in values.reshape(dims, order="F").ravel(order="C"))
            return name, np.array(text)
        if cls not in _CLASS_DTYPE:
            raise MatError(f"array {name!r} has unknown class {cls}")
        out = values.astype(_CLASS_DTYPE[cls]).reshape(dims, order="F")
        if complex_:
            t_im, ia, ib = next(parts, (None, 0, 0))
            if t_im is None:
                raise MatError(f"complex array {name!r} lacks its imaginary part")
            imag = self.numbers(t_im, ia, ib)
            if imag.size != count:
                raise MatError(f"array {name!r} has a malformed imaginary part")
            out = out + 1j * imag.astype("f8").reshape(dims, order="F")
        return name, out


def loadmat(path: str | Path, max_bytes: int = 1 << 32) -> dict[str, object]:
    """Variables of a MATLAB v5/v7 file: name -> ndarray (cells: object arrays) or None (unsupported)."""
    data = Path(path).read_bytes()
    if len(data) < 128:
        raise MatError(f"{len(data)} bytes is shorter than the 128-byte MAT header")
    if data[126:128] == b"IM":
        endian = "<"
    elif data[126:128] == b"MI":
        endian = ">"
    else:
        raise MatError("no MAT v5 endian mark (IM/MI) at byte 126")
    out: dict[str, object] = {}
    top = _Reader(data, endian)
    for typ, a, b in top.tags(128, len(data)):
        reader, start, end = top, a, b
        if typ == _MI_COMPRESSED:
            try:
                inner = zlib.decompressobj().decompress(data[a:b], max_bytes)
            except zlib.error as e:
                raise MatError(f"compressed variable is corrupt ({e})") from None
            reader = _Reader(inner, endian)
            elems = list(reader.tags(0, len(inner)))
            if len(elems) != 1:
                raise MatError("compressed block does not hold exactly one variable")
            typ, start, end = elems[0]
        if typ != _MI_MATRIX:
            raise MatError(f"top-level element of type {typ}; expected a matrix")
        name, value = reader.matrix(start, end, 0)
        out[name] = value
    return out

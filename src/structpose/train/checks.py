"""Type and range checks for training-config values: one line naming the key, what it holds, what is accepted.

YAML hands over whatever the user typed (``steps: "ten"``, ``lr: .nan``, ``hidden: wide``, ``true`` for a
number); these checks run before any data is loaded, so a bad value never becomes a traceback minutes into
a run, nor a silently untrained model (``steps: -3``).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from ..errors import StructposeError


def _fail(where: str, key: str, value: Any, want: str) -> StructposeError:
    return StructposeError(f"{where}: {key} is {value!r}; expected {want}")


def integer(value: Any, key: str, where: str, lo: int | None = None, hi: int | None = None) -> int:
    """An int (not a bool, not a float, not a string) in ``[lo, hi]``."""
    rng = (f" >= {lo}" if hi is None else f" in {lo}..{hi}") if lo is not None else (f" <= {hi}" if hi is not None
                                                                                      else "")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, key, value, "an integer" + rng)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise _fail(where, key, value, "an integer" + rng)
    return int(value)


def number(value: Any, key: str, where: str, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite real number (int or float, not bool/string/NaN/inf) in the given range."""
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi:g}")
    want = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, key, value, want)
    v = float(value)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise _fail(where, key, value, want)
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise _fail(where, key, value, want)
    return v


def pair(value: Any, key: str, where: str, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False) -> tuple[float, float]:
    """Two finite numbers ``[a, b]`` with ``a <= b``, each in range."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _fail(where, key, value, "a list of two numbers [low, high]")
    a, b = (number(v, key, where, lo, hi, lo_open) for v in value)
    if a > b:
        raise _fail(where, key, value, "[low, high] with low <= high")
    return a, b


def boolean(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, key, value, "true or false")
    return value


def text(value: Any, key: str, where: str, optional: bool = False, choices: tuple[str, ...] | None = None) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(where, key, value, "a non-empty string" + (" or null" if optional else ""))
    if choices is not None and value not in choices:
        raise _fail(where, key, value, "one of " + ", ".join(choices))
    return value


def strings(value: Any, key: str, where: str, nonempty: bool = True) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value) or (nonempty and not value):
        raise _fail(where, key, value, "a " + ("non-empty " if nonempty else "") + "list of names")
    return value


def mapping(value: Any, key: str, where: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(where, key, value, "a mapping (key: value lines)")
    return value


def read_yaml_mapping(path: str | Path, example: str, shape: str = "a mapping of settings") -> dict:
    """A YAML file holding a non-empty mapping; missing / folder / unreadable / empty / not a mapping -> one line."""
    p = Path(path)
    if p.is_dir():
        raise StructposeError(f"config {p} is a folder; expected a YAML file like {example}")
    if not p.is_file():
        raise StructposeError(f"config {p}: no such file; expected a YAML file like {example}")
    try:
        doc = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise StructposeError(f"config {p} is not valid YAML ({yaml_error_line(e)})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise StructposeError(f"config {p} cannot be read as text ({type(e).__name__})") from None
    if doc is None or doc == {}:
        raise StructposeError(f"config {p} is empty; an empty file would start a full default run, so give the "
                              f"settings explicitly (see {example})")
    if not isinstance(doc, dict):
        raise StructposeError(f"config {p} holds a {type(doc).__name__}; expected {shape} "
                              f"(key: value lines, see {example})")
    return doc


def yaml_error_line(e: Exception) -> str:
    """A YAML parser error on one line: the problem and where (line, column)."""
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def dataclass_from_yaml(path: str | Path, cls: type) -> Any:
    """A flat YAML config read into the dataclass ``cls``: an empty file gives its defaults; an unreadable file,
    invalid YAML, a document that is not a mapping or an unknown key -> one line naming the known keys."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise StructposeError(f"{path}: not a readable YAML config ({type(e).__name__})") from None
    known = set(cls.__dataclass_fields__)
    bad = sorted(set(doc) - known) if isinstance(doc, dict) else ["(not a mapping)"]
    if bad:
        raise StructposeError(f"{path}: unknown config keys {', '.join(bad)}; known: {', '.join(sorted(known))}")
    for key, value in doc.items():        # the default's type says what a value must be
        default = cls.__dataclass_fields__[key].default
        if isinstance(default, bool):
            boolean(value, key, str(path))
        elif isinstance(default, int):
            integer(value, key, str(path))
        elif isinstance(default, float):
            number(value, key, str(path))
        elif isinstance(default, str):
            text(value, key, str(path))
    return cls(**doc)

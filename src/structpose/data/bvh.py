"""BVH (Biovision hierarchy) motion: parser, forward kinematics, rig mapping to H36M-17.

Parsing keeps the file's own hierarchy (:class:`BvhData`): joint names, parents, offsets, channels
per joint, the motion table and the frame time.  ``End Site`` entries become joints named
``<parent>_End`` with no channels (``is_end_site``), so every point of the file has a position.

Forward kinematics (:func:`bvh_forward_kinematics`), the BVH convention:

* rotation channels are Euler angles in **degrees**, applied in the order the channels are listed
  (``Zrotation Xrotation Yrotation`` -> ``R = Rz @ Rx @ Ry``; intrinsic axes);
* a joint's world rotation is its parent's world rotation times its local rotation; its position
  is the parent's position plus the parent's world rotation applied to the joint's local
  translation;
* the local translation is the ``OFFSET``, **replaced** by the position channels when the joint
  has them (Mixamo/MotionBuilder write the root's absolute position there; CMU files have a zero
  root offset, so either convention agrees on them).

Mapping to H36M-17 (:func:`bvh_to_h36m`) goes by joint names: a namespace prefix (``mixamorig:``)
is dropped, case and ``_ -.`` are ignored, and the first candidate of :data:`CANDIDATES` found in
the file wins.  A side is read from a prefix or a suffix, long or short: ``LeftUpLeg``, ``LUpLeg``,
``UpperLeg_L``, ``L_UpperLeg``, ``UpperLegLeft``, ``lThigh``.  The tables cover CMU-style rigs
(Hips, LHipJoint/LeftUpLeg, LeftLeg, LeftFoot, LowerBack, Spine, Spine1, Neck, Neck1, Head,
LeftShoulder=clavicle, LeftArm, LeftForeArm, LeftHand), Mixamo (``mixamorig:Hips`` ...
``HeadTop_End``), Bandai Namco's rig (``Shoulder_L``=clavicle, ``UpperArm_L``, ``LowerArm_L``,
``Hand_L``, ``UpperLeg_L``, ``LowerLeg_L``, ``Foot_L``) and the older 3ds Max / Biovision names
(``rThigh``, ``rShin``, ``rShldr`` ...).  Joint choices:

* pelvis = Hips; hips/knees/ankles = UpLeg/Leg/Foot; shoulders/elbows/wrists = Arm/ForeArm/Hand
  (``*Shoulder`` is the clavicle in these rigs, used only when no ``*Arm`` exists);
* thorax = Neck (base of the neck); neck_nose = Head (skull base);
* head_top = ``HeadTop_End`` or the Head's End Site when it lies away from the Head.  Without one
  (or when the End Site has a zero offset, as in Bandai's rig) it is derived and reported in
  ``info["synthesised"]``: ``head + R_head @ u * 0.125 * leg``, where ``u`` is the unit rest
  direction of the Head's own offset (the neck bone, so the derived top turns with the head),
  ``R_head`` the Head's world rotation and ``leg`` the mean hip-knee-ankle length.  0.125 is the
  skull-base-to-vertex length over leg length of the DeepMimic character (0.1025 / 0.831 m = 0.123)
  and of Human3.6M's subjects (about 0.115 / 0.89 m = 0.13);
* spine = the joint between pelvis and thorax whose rest position is nearest their midpoint.

Units and up axis are read from the **motion**, not from the rest pose (Bandai's rest pose lies
along X; a T-pose may have its arms as its longest extent).  Units (``units="auto"``): the body's
size -- leg length (hip-knee-ankle) + pelvis-thorax + thorax-head + head-head top, each the median
over the clip of the distance between the mapped joints -- tells them: 1.0-2.3 -> metres, 17.5-39.5 ->
CMU units (0.056444 m: the ASF length unit 0.45 in; cgspeed's CMU BVH conversions), 40-90 ->
inches, 100-230 -> centimetres, 1000-2300 -> millimetres (an adult measures 1.3-1.5 m this way).  Outside these bands the loader refuses
and asks for ``units=``.  Up axis (``up_axis="auto"``): the signed coordinate axis nearest the
mean over the clip of the unit feet -> head-top direction; when the clip is not upright enough to
tell (that mean shorter than 0.5, e.g. a person lying throughout) the rest pose's feet -> head-top
direction is used instead and ``info["up_from"]`` says so.  ``"y"``, ``"z"`` ... force it.  The
result is rotated properly (det +1) to Y up, so left and right are kept.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import StructposeError
from ..skeleton import H36M17
from .clip import Clip

UNITS: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.056444}
#: body sizes (leg + torso + neck + head, file units; module doc) accepted for each unit
_UNIT_BANDS = {"m": (1.0, 2.3), "cmu": (17.5, 39.5), "inch": (40, 90), "cm": (100, 230), "mm": (1000, 2300)}
_POS = {"xposition": 0, "yposition": 1, "zposition": 2}
_ROT = {"xrotation": "X", "yrotation": "Y", "zrotation": "Z"}
#: derived head top: skull base to vertex over leg length (module doc)
HEAD_TOP_OVER_LEG = 0.125
_FRAME_TIME = re.compile(r"Frame\s+Time:\s*\S+")


@dataclass
class BvhData:
    """A parsed BVH file, in the file's own units and axes.

    ``names[j]``, ``parents[j]`` (-1 for the root), ``offsets`` ``(J, 3)``, ``channels[j]`` (channel
    names as written, e.g. ``("Zrotation", "Xrotation", "Yrotation")``; empty for End Sites),
    ``is_end_site[j]``, ``motion`` ``(T, C)`` the channel values (C = total channel count, columns
    in hierarchy order), ``frame_time`` seconds.  Whole rows beyond ``Frames:`` (an exporter's
    off-by-one) are not read and counted in ``extra_frames``; fewer numbers than declared, or a
    count that is not a whole number of rows, is an error.
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[tuple[str, ...]]
    is_end_site: list[bool]
    motion: np.ndarray
    frame_time: float
    column: list[int] = field(default_factory=list)   # first motion column of each joint
    extra_frames: int = 0   # whole frames after the declared count, not read (reported, never silent)

    def __post_init__(self) -> None:
        if not self.column:
            col, self.column = 0, []
            for ch in self.channels:
                self.column.append(col)
                col += len(ch)

    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def fps(self) -> float:
        """``1 / frame_time``, snapped to a whole number within 0.05 % (files write 0.0333333 for 30)."""
        rate = 1.0 / self.frame_time
        return float(round(rate)) if abs(rate - round(rate)) < 5e-4 * rate else rate

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise StructposeError(f"BVH has no joint {name!r}") from None

    def channel_values(self, j: int) -> np.ndarray:
        """``(T, len(channels[j]))`` values of joint ``j``'s channels."""
        return self.motion[:, self.column[j]:self.column[j] + len(self.channels[j])]

    def rotations(self) -> np.ndarray:
        """``(T, J, 3, 3)`` local rotation matrices (identity for joints without rotation channels)."""
        T, J = self.num_frames, len(self.names)
        out = np.broadcast_to(np.eye(3), (T, J, 3, 3)).copy()
        for j, ch in enumerate(self.channels):
            cols = [k for k, c in enumerate(ch) if c.lower() in _ROT]
            if cols:
                seq = "".join(_ROT[ch[k].lower()] for k in cols)   # upper case: intrinsic
                out[:, j] = Rotation.from_euler(seq, self.channel_values(j)[:, cols], degrees=True).as_matrix()
        return out

    def translations(self) -> np.ndarray:
        """``(T, J, 3)`` local translations: OFFSET, replaced per axis by position channels."""
        out = np.broadcast_to(self.offsets, (self.num_frames,) + self.offsets.shape).copy()
        for j, ch in enumerate(self.channels):
            vals = self.channel_values(j)
            for k, c in enumerate(ch):
                if c.lower() in _POS:
                    out[:, j, _POS[c.lower()]] = vals[:, k]
        return out


class _Tokens:
    """Whitespace tokens with line numbers, for errors that say where a file broke."""

    def __init__(self, text: str, where: str) -> None:
        self.items = [(tok, n) for n, line in enumerate(text.splitlines(), 1) for tok in line.split()]
        self.pos, self.where = 0, where

    def fail(self, what: str) -> StructposeError:
        line = self.items[min(self.pos, len(self.items) - 1)][1] if self.items else 0
        return StructposeError(f"{self.where}: not a valid BVH file: {what} (line {line})")

    def next(self, expect: str | None = None) -> str:
        if self.pos >= len(self.items):
            raise self.fail(f"file ends early{f', expected {expect!r}' if expect else ''} (truncated?)")
        tok = self.items[self.pos][0]
        self.pos += 1
        if expect is not None and tok.lower() != expect.lower():
            self.pos -= 1
            raise self.fail(f"expected {expect!r}, found {tok!r}")
        return tok

    def number(self, what: str) -> float:
        tok = self.next()
        try:
            v = float(tok)
        except ValueError:
            self.pos -= 1
            raise self.fail(f"expected a number for {what}, found {tok!r}") from None
        if not np.isfinite(v):
            raise self.fail(f"{what} is {tok}; expected a finite number")
        return v


#: largest accepted |value| of a motion channel or offset (1e6 cm = 10 km; 1e6 degrees = 2,800 turns)
MAX_MOTION = 1e6


def parse_bvh(text: str, where: str = "BVH") -> BvhData:
    """Parse BVH text (HIERARCHY + MOTION).  Any problem -> one :class:`StructposeError` line."""
    # the motion table is most of a file: tokenise only the header with line numbers, and hand the
    # numbers after "Frame Time: x" to numpy in one go
    m = _FRAME_TIME.search(text)
    tk = _Tokens(text[:m.end()] if m else text, where)
    body = text[m.end():] if m else ""
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    ends: list[bool] = []
    tk.next("HIERARCHY")
    tk.next("ROOT")

    def joint(name: str, parent: int, end: bool) -> None:
        j = len(names)
        names.append(name)
        parents.append(parent)
        ends.append(end)
        tk.next("{")
        tk.next("OFFSET")
        offsets.append([tk.number(f"{name} OFFSET") for _ in range(3)])
        chans: tuple[str, ...] = ()
        if not end and tk.items[tk.pos:tk.pos + 1] and tk.items[tk.pos][0].upper() == "CHANNELS":
            tk.next()
            n = tk.number(f"{name} CHANNELS count")
            if n != int(n) or not 0 <= n <= 6:
                raise tk.fail(f"{name} has CHANNELS {n}; expected 0 to 6")
            chans = tuple(tk.next() for _ in range(int(n)))
            bad = [c for c in chans if c.lower() not in _POS and c.lower() not in _ROT]
            if bad or len({c.lower() for c in chans}) != len(chans):
                raise tk.fail(f"{name} has channels {' '.join(chans)}; expected distinct X/Y/Z position/rotation")
        channels.append(chans)
        while True:
            tok = tk.next("}" if end else None)
            up = tok.upper()
            if up == "}":
                return
            if up == "JOINT" and not end:
                child = tk.next()
                joint(child, j, False)
            elif up == "END" and not end:
                tk.next("Site")
                joint(f"{name}_End", j, True)
            else:
                tk.pos -= 1
                raise tk.fail(f"unexpected {tok!r} inside joint {name!r}")

    try:
        joint(tk.next(), -1, False)
    except RecursionError:
        raise StructposeError(f"{where}: BVH hierarchy nests joints too deep to be a skeleton") from None
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise StructposeError(f"{where}: BVH joint names repeat ({', '.join(dup)}); each joint needs a unique name")
    tk.next("MOTION")
    tk.next("Frames:")
    T = tk.number("Frames")
    if T != int(T) or T < 0:
        raise tk.fail(f"Frames: {T}; expected a whole number")
    T = int(T)
    tk.next("Frame")
    tk.next("Time:")
    dt = tk.number("Frame Time")
    if T == 0:
        raise StructposeError(f"{where}: BVH has 0 frames of motion; expected at least 1")
    if not dt > 0:
        raise StructposeError(f"{where}: BVH Frame Time is {dt}; expected a positive number of seconds")
    C = sum(len(c) for c in channels)
    values = body.split()
    extra = len(values) // C - T if C else 0
    if C and len(values) % C == 0 and extra > 0:
        values = values[:T * C]   # exporters' off-by-one (Boxing_Toes.bvh: 3,070 rows, "Frames: 3069")
    else:
        extra = 0
    if len(values) != T * C:
        raise StructposeError(f"{where}: BVH motion holds {len(values)} numbers; expected {T} frames x {C} "
                              f"channels = {T * C} (truncated or mismatched file?)")
    try:
        motion = np.array(values, dtype=float).reshape(T, C)
    except ValueError:
        raise StructposeError(f"{where}: BVH motion has a value that is not a number") from None
    if not np.isfinite(motion).all():
        raise StructposeError(f"{where}: BVH motion has NaN/inf values; expected finite numbers")
    big = np.abs(motion) > MAX_MOTION
    if big.any():
        # finite but absurd: later arithmetic overflows to inf/NaN and spreads to valid frames
        t, c = (int(i[0]) for i in np.nonzero(big))
        raise StructposeError(f"{where}: BVH frame {t} channel {c} holds {motion[t, c]:.3g}; motion values must be "
                              f"within +-{MAX_MOTION:.0e} (translations in file units, rotations in degrees)")
    offs = np.array(offsets, float)
    if offs.size and (np.abs(offs) > MAX_MOTION).any():
        raise StructposeError(f"{where}: a BVH joint OFFSET exceeds {MAX_MOTION:.0e}; expected bone offsets in "
                              "file units")
    return BvhData(names, parents, np.array(offsets, float).reshape(-1, 3), channels, ends, motion, dt,
                   extra_frames=extra)


def read_bvh(path: str | Path) -> BvhData:
    """Read and parse a ``.bvh`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")   # -sig: tolerate a BOM
    except FileNotFoundError:
        raise StructposeError(f"{path}: no such file; expected a .bvh motion file") from None
    except IsADirectoryError:
        raise StructposeError(f"{path} is a folder; expected a .bvh motion file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise StructposeError(f"{path}: cannot read as a BVH text file ({type(e).__name__})") from None
    return parse_bvh(text, str(path))


def bvh_forward_kinematics(data: BvhData) -> np.ndarray:
    """``(T, J, 3)`` world positions of every joint (End Sites included), file units and axes."""
    R_local, t_local = data.rotations(), data.translations()
    T, J = data.num_frames, len(data.names)
    pos = np.zeros((T, J, 3))
    rot = np.zeros((T, J, 3, 3))
    for j, p in enumerate(data.parents):      # parents precede children in a BVH hierarchy
        if p < 0:
            pos[:, j], rot[:, j] = t_local[:, j], R_local[:, j]
        else:
            pos[:, j] = pos[:, p] + np.einsum("tij,tj->ti", rot[:, p], t_local[:, j])
            rot[:, j] = rot[:, p] @ R_local[:, j]
    return pos


# --- rig mapping to H36M-17 ---------------------------------------------------------------------

def _sided(side: str, stems: list[str]) -> list[str]:
    """Normalised names of ``stems`` on one side, prefix or suffix, long or short (``leftupleg``,
    ``uplegleft``, ``lupleg``, ``uplegl``); stems earlier in the list win."""
    full = "right" if side == "r" else "left"
    return [n for s in stems for n in (f"{full}{s}", f"{s}{full}", f"{side}{s}", f"{s}{side}")]


def _limbs(side: str) -> dict[str, list[str]]:
    return {
        f"{side}_hip": _sided(side, ["upleg", "thigh", "upperleg", "hip"]),
        f"{side}_knee": _sided(side, ["leg", "shin", "lowerleg", "knee", "calf"]),
        f"{side}_ankle": _sided(side, ["foot", "ankle"]),
        f"{side}_shoulder": _sided(side, ["arm", "upperarm", "shldr", "shoulder"]),
        f"{side}_elbow": _sided(side, ["forearm", "lowerarm", "elbow"]),
        f"{side}_wrist": _sided(side, ["hand", "wrist"]),
    }


#: normalised name candidates per H36M-17 joint, first found wins (``spine`` is chosen geometrically)
CANDIDATES: dict[str, list[str]] = {
    "pelvis": ["hips", "pelvis", "hip", "root"],
    **_limbs("r"), **_limbs("l"),
    "thorax": ["neck", "neck1", "neckbase"],
    "neck_nose": ["head"],
    "head_top": ["headtopend", "headtop", "headend", "headsiteend"],
}


def normalise_name(name: str) -> str:
    """``"mixamorig:Left_Up-Leg"`` -> ``"leftupleg"``: drop a namespace, case and ``_ -.``."""
    base = name.rsplit(":", 1)[-1].rsplit("|", 1)[-1]
    return "".join(ch for ch in base.lower() if ch not in "_ -.")


def rest_positions(data: BvhData) -> np.ndarray:
    """``(J, 3)`` joint positions with every rotation zero and the offsets as translations."""
    pos = np.zeros((len(data.names), 3))
    for j, p in enumerate(data.parents):
        pos[j] = data.offsets[j] + (pos[p] if p >= 0 else 0.0)
    return pos


def _map_joints(data: BvhData, mapping: dict[str, str] | None, where: str) -> tuple[dict[str, int], list[str]]:
    norm: dict[str, int] = {}
    for j, n in enumerate(data.names):
        norm.setdefault(normalise_name(n), j)
    found: dict[str, int] = {}
    missing: list[str] = []
    for dst, cands in CANDIDATES.items():
        if mapping and dst in mapping:
            if mapping[dst] not in data.names:
                raise StructposeError(f"{where}: mapping names BVH joint {mapping[dst]!r} for {dst}, "
                                      "which the file does not have")
            found[dst] = data.names.index(mapping[dst])
            continue
        hit = next((norm[c] for c in cands if c in norm), None)
        if hit is None and dst == "head_top" and "neck_nose" in found:
            kids = [j for j, p in enumerate(data.parents) if p == found["neck_nose"] and data.is_end_site[j]]
            hit = kids[0] if kids else None
        if hit is None:
            if dst != "head_top":
                missing.append(dst)
        else:
            found[dst] = hit
    if missing:
        shown = ", ".join(data.names[:40]) + (" ..." if len(data.names) > 40 else "")
        tried = "; ".join(f"{d} (tried {'/'.join(CANDIDATES[d][:3])}...)" for d in missing)
        raise StructposeError(f"{where}: cannot map BVH joints to H36M-17: no joint for {tried}; "
                              f"the file's joints are: {shown}; pass mapping={{h36m_joint: bvh_joint}}")
    return found, [] if "head_top" in found else ["head_top"]


def _spine_joint(data: BvhData, rest: np.ndarray, pelvis: int, thorax: int) -> int | None:
    chain, j = [], data.parents[thorax]
    while j >= 0 and j != pelvis:
        chain.append(j)
        j = data.parents[j]
    if j != pelvis or not chain:
        return None
    mid = (rest[pelvis] + rest[thorax]) / 2
    return min(chain, key=lambda k: float(np.linalg.norm(rest[k] - mid)))


def _axis_rotation(up: np.ndarray) -> np.ndarray:
    """Proper rotation taking the signed coordinate axis nearest ``up`` to +Y."""
    k = int(np.argmax(np.abs(up)))
    sign = 1.0 if up[k] >= 0 else -1.0
    if k == 1:
        return np.diag([1.0, sign, sign])          # identity, or a 180-degree turn about x
    axis_up = np.zeros(3)
    axis_up[k] = sign
    axis = np.cross(axis_up, [0.0, 1.0, 0.0])       # rotate about up x Y by 90 degrees
    return Rotation.from_rotvec(axis / np.linalg.norm(axis) * np.pi / 2).as_matrix()


def _forced_up(up_axis: str, where: str) -> np.ndarray:
    axes = {"x": 0, "y": 1, "z": 2}
    a = up_axis.lower().lstrip("+")
    sign = -1.0 if a.startswith("-") else 1.0
    a = a.lstrip("-")
    if a not in axes:
        raise StructposeError(f"{where}: up axis {up_axis!r} is unknown; expected auto, x, y, z, -x, -y or -z")
    up = np.zeros(3)
    up[axes[a]] = sign
    return up


def detect_units(height: float, where: str = "BVH") -> str:
    """Unit name for a body size (ankles to head top, file units; bands in the module doc)."""
    for unit, (lo, hi) in _UNIT_BANDS.items():
        if lo <= height <= hi:
            return unit
    raise StructposeError(f"{where}: cannot tell the BVH units from a body size of {height:.3g} file "
                          f"units; pass units= one of {', '.join(UNITS)}")


def _world_rotations(data: BvhData) -> np.ndarray:
    """``(T, J, 3, 3)`` world rotation of every joint."""
    R_local = data.rotations()
    rot = np.empty_like(R_local)
    for j, p in enumerate(data.parents):
        rot[:, j] = R_local[:, j] if p < 0 else rot[:, p] @ R_local[:, j]
    return rot


def _median_dist(pos: np.ndarray, a: int, b: int) -> float:
    return float(np.median(np.linalg.norm(pos[:, a] - pos[:, b], axis=-1)))


def bvh_to_h36m(data: BvhData, units: str = "auto", up_axis: str = "auto",
                mapping: dict[str, str] | None = None, where: str = "BVH") -> tuple[np.ndarray, dict[str, Any]]:
    """``(T, 17, 3)`` H36M-17 metres, Y up, and an ``info`` dict (mapping used, units, up axis and
    where it came from, body size, synthesised joints).  ``mapping`` overrides candidates:
    ``{"r_knee": "RKnee", ...}``."""
    found, _ = _map_joints(data, mapping, where)
    rest = rest_positions(data)
    pos = bvh_forward_kinematics(data)
    if "spine" in (mapping or {}):
        found["spine"] = data.index(mapping["spine"])  # type: ignore[index]
    else:
        sp = _spine_joint(data, rest, found["pelvis"], found["thorax"])
        if sp is None:
            raise StructposeError(f"{where}: no joint between {data.names[found['pelvis']]} and "
                                  f"{data.names[found['thorax']]} to serve as spine; pass mapping={{'spine': ...}}")
        found["spine"] = sp
    head, thorax = found["neck_nose"], found["thorax"]
    leg = np.mean([_median_dist(pos, found[f"{s}_hip"], found[f"{s}_knee"])
                   + _median_dist(pos, found[f"{s}_knee"], found[f"{s}_ankle"]) for s in "lr"])
    if not np.isfinite(leg) or leg <= 0:
        raise StructposeError(f"{where}: BVH legs have zero length; expected a human skeleton")
    if "head_top" in found and _median_dist(pos, found["head_top"], head) < 1e-3 * leg:
        del found["head_top"]                       # a zero-offset end site sits on the head: no top
    out = np.empty((data.num_frames, 17, 3))
    for dst, j in found.items():
        out[:, H36M17.index(dst)] = pos[:, j]
    synthesised: list[str] = []
    if "head_top" not in found:
        u = data.offsets[head] if np.linalg.norm(data.offsets[head]) > 1e-3 * leg else rest[head] - rest[thorax]
        n = float(np.linalg.norm(u))
        if n <= 1e-3 * leg:
            raise StructposeError(f"{where}: BVH head {data.names[head]!r} sits on its neck; cannot place a head top")
        R_head = _world_rotations(data)[:, head]
        out[:, H36M17.index("head_top")] = pos[:, head] + (R_head @ (u / n)) * (HEAD_TOP_OVER_LEG * leg)
        synthesised = ["head_top"]
    J = H36M17.index
    feet = (out[:, J("l_ankle")] + out[:, J("r_ankle")]) / 2
    size = leg + float(np.median(np.linalg.norm(out[:, J("thorax")] - out[:, J("pelvis")], axis=-1))
                       + np.median(np.linalg.norm(out[:, J("neck_nose")] - out[:, J("thorax")], axis=-1))
                       + np.median(np.linalg.norm(out[:, J("head_top")] - out[:, J("neck_nose")], axis=-1)))
    if up_axis == "auto":
        d = out[:, J("head_top")] - feet
        d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-12)
        up, up_from = d.mean(0), "motion"
        if np.linalg.norm(up) < 0.5:
            rest_top = rest[found["head_top"]] if "head_top" in found else \
                rest[head] + (rest[head] - rest[thorax])
            up = rest_top - (rest[found["l_ankle"]] + rest[found["r_ankle"]]) / 2
            up_from = "rest pose (the motion is not upright enough to tell)"
    else:
        up, up_from = _forced_up(up_axis, where), "given"
    R_up = _axis_rotation(up)
    unit = detect_units(float(size), where) if units == "auto" else units
    if unit not in UNITS:
        raise StructposeError(f"{where}: units {units!r} unknown; expected auto or one of {', '.join(UNITS)}")
    out = (out @ R_up.T) * UNITS[unit]
    info = {"mapping": {d: data.names[j] for d, j in found.items()}, "units": unit,
            "metres_per_unit": UNITS[unit], "up_axis": _axis_name(R_up), "up_from": up_from,
            "synthesised": synthesised, "body_size_m": size * UNITS[unit],
            "ignored_extra_frames": data.extra_frames}
    return out, info


def _axis_name(R_up: np.ndarray) -> str:
    up = R_up.T @ np.array([0.0, 1.0, 0.0])       # the file axis that became +Y
    k = int(np.argmax(np.abs(up)))
    return ("-" if up[k] < 0 else "+") + "xyz"[k]


def load_bvh_with_info(path: str | Path, units: str = "auto", up_axis: str = "auto",
                       mapping: dict[str, str] | None = None) -> tuple[Clip, dict[str, Any]]:
    """:func:`load_bvh` plus the info dict of :func:`bvh_to_h36m`."""
    data = read_bvh(path)
    world, info = bvh_to_h36m(data, units, up_axis, mapping, str(path))
    return Clip(f"bvh/{Path(path).stem}", "bvh", world, data.fps), info


def load_bvh(path: str | Path, units: str = "auto", up_axis: str = "auto",
             mapping: dict[str, str] | None = None) -> Clip:
    """A ``.bvh`` file as an H36M-17 :class:`Clip` (metres, Y up, the file's frame rate).

    BVH motion is evaluation-only in structpose (see :mod:`structpose.data.splits`).
    """
    return load_bvh_with_info(path, units, up_axis, mapping)[0]


def dumps_bvh(data: BvhData, precision: int = 6) -> str:
    """Serialise :class:`BvhData` back to BVH text (``parse_bvh(dumps_bvh(d))`` gives ``d``)."""
    lines = ["HIERARCHY"]
    children: dict[int, list[int]] = {}
    for j, p in enumerate(data.parents):
        children.setdefault(p, []).append(j)
    fmt = f"{{:.{precision}f}}"

    def write(j: int, depth: int) -> None:
        ind = "  " * depth
        head = "End Site" if data.is_end_site[j] else ("ROOT " if data.parents[j] < 0 else "JOINT ") + data.names[j]
        lines.append(ind + head)
        lines.append(ind + "{")
        lines.append(ind + "  OFFSET " + " ".join(fmt.format(v) for v in data.offsets[j]))
        if not data.is_end_site[j]:
            lines.append(ind + f"  CHANNELS {len(data.channels[j])} " + " ".join(data.channels[j]))
        for c in children.get(j, []):
            write(c, depth + 1)
        lines.append(ind + "}")

    roots = children.get(-1, [])
    if len(roots) != 1:
        raise StructposeError(f"BVH data has {len(roots)} roots; expected exactly one")
    order: list[int] = []                     # the file lists channels in hierarchy (depth-first) order

    def visit(j: int) -> None:
        order.append(j)
        for c in children.get(j, []):
            visit(c)

    visit(roots[0])
    write(roots[0], 0)
    cols = [data.column[j] + k for j in order for k in range(len(data.channels[j]))]
    lines += ["MOTION", f"Frames: {data.num_frames}", f"Frame Time: {data.frame_time:.8f}"]
    lines += [" ".join(fmt.format(v) for v in row) for row in data.motion[:, cols]]
    return "\n".join(lines) + "\n"

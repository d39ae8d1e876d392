"""ASF/AMC motion (the Acclaim format of the CMU Graphics Lab database): parser, forward kinematics,
mapping to H36M-17.

An ``.asf`` file is the skeleton: ``:units`` (``length`` -- a file length unit is ``1 / length``
inches, CMU writes 0.45 --, ``angle`` deg or rad), ``:root`` (the order of its six motion values,
its ``axis`` order, ``position`` and ``orientation``), ``:bonedata`` (per bone: ``name``, unit
``direction`` and ``length`` in the rest pose, the bone's local frame ``axis a b c ORDER``, its
degrees of freedom ``dof rx ry rz`` and limits) and ``:hierarchy`` (``parent child child ...``).
An ``.amc`` file is the motion: a frame number, then one line per bone with its dof values in the
order the ASF lists them (the root: ``order``).  AMC holds no frame rate; CMU captured at 120 Hz.

Forward kinematics, the Acclaim convention (as in CMU's own amc viewer):

* ``C`` = the bone's ``axis`` angles as extrinsic rotations in the written order (``XYZ`` ->
  ``Rz @ Ry @ Rx``); ``M`` = its dof angles the same way, in dof order;
* the bone's world rotation is ``parent_world @ C @ M @ C^-1``; the bone ends at its start plus
  the world rotation applied to ``length * direction``; a child starts where its parent ends;
* the root is placed at its translation values (``position`` when it has none) with rotation
  ``C_root @ M_root @ C_root^-1``.

Degrees of freedom that translate or stretch a non-root bone (``tx``, ``l``) are refused: CMU never
writes them.  The result is in metres (``0.0254 / length`` per unit), Y up (CMU's up axis).

Mapping to H36M-17 (:func:`amc_to_h36m`), CMU's bone names, the same joints the CMU BVH conversions
(cgspeed; read by :mod:`structpose.data.bvh`) give: pelvis = root; hips / knees / ankles = the ends
of ``lhipjoint`` / ``lfemur`` / ``ltibia``; shoulders / elbows / wrists = the ends of
``lclavicle`` / ``lhumerus`` / ``lradius``; thorax = the end of ``thorax`` (base of the neck);
neck_nose = the end of ``upperneck`` (skull base); head_top = the end of ``head``; spine = the bone
end between pelvis and thorax nearest their midpoint in the rest pose.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import StructposeError
from ..skeleton import H36M17
from .clip import Clip

INCH = 0.0254
#: H36M-17 joint -> CMU bone whose END is the joint ("root" is the root's own position)
CMU_BONES: dict[str, str] = {
    "pelvis": "root",
    "r_hip": "rhipjoint", "r_knee": "rfemur", "r_ankle": "rtibia",
    "l_hip": "lhipjoint", "l_knee": "lfemur", "l_ankle": "ltibia",
    "thorax": "thorax", "neck_nose": "upperneck", "head_top": "head",
    "l_shoulder": "lclavicle", "l_elbow": "lhumerus", "l_wrist": "lradius",
    "r_shoulder": "rclavicle", "r_elbow": "rhumerus", "r_wrist": "rradius",
}
_ROT_DOF = {"rx": "x", "ry": "y", "rz": "z"}
_MAX_BONES = 500


@dataclass
class AsfSkeleton:
    """A parsed ASF file.  Bone 0 is the root; ``parents[0] == -1``; bones are in an order where a
    parent precedes its children.  ``direction``/``length`` are in file units (``length`` already
    multiplied out: ``offsets[b] = length * direction``)."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray          # (B, 3) rest bone vectors, file units (root: zeros)
    axis: list[np.ndarray]       # (3, 3) C per bone
    dofs: list[tuple[str, ...]]  # per bone (root: its `order`)
    metres_per_unit: float
    degrees: bool
    root_position: np.ndarray

    def rest_positions(self) -> np.ndarray:
        """``(B, 3)`` bone ends in the rest pose (root at its ``position``), file units."""
        pos = np.zeros((len(self.names), 3))
        for b, p in enumerate(self.parents):
            pos[b] = self.root_position if p < 0 else pos[p] + self.offsets[b]
        return pos


def _fail(where: str, what: str, line: int | None = None) -> StructposeError:
    at = f" (line {line})" if line else ""
    return StructposeError(f"{where}: not a valid ASF/AMC file: {what}{at}")


def _floats(toks: list[str], n: int, what: str, where: str, line: int) -> np.ndarray:
    if len(toks) < n:
        raise _fail(where, f"{what} needs {n} numbers, found {len(toks)}", line)
    try:
        v = np.array([float(t) for t in toks[:n]])
    except ValueError:
        raise _fail(where, f"{what} has a value that is not a number", line) from None
    if not np.isfinite(v).all():
        raise _fail(where, f"{what} is not finite", line)
    return v


def _euler(order: str, angles: np.ndarray, degrees: bool) -> np.ndarray:
    """Extrinsic rotations in the written order (``XYZ`` -> ``Rz @ Ry @ Rx``); ``angles`` ``(..., k)``."""
    return Rotation.from_euler(order.lower(), angles, degrees=degrees).as_matrix()


def parse_asf(text: str, where: str = "ASF") -> AsfSkeleton:
    """Parse ASF text.  Any problem -> one :class:`StructposeError` line."""
    lines = [(n, ln.split("#", 1)[0].split()) for n, ln in enumerate(text.splitlines(), 1)]
    lines = [(n, t) for n, t in lines if t]
    section, length, degrees = "", None, True
    root: dict[str, Any] = {"order": ("tx", "ty", "tz", "rx", "ry", "rz"), "axis": "XYZ",
                            "position": np.zeros(3), "orientation": np.zeros(3)}
    bones: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    edges: list[tuple[str, str, int]] = []
    limits_left = 0
    for n, toks in lines:
        key = toks[0].lower()
        if key.startswith(":"):
            section = key
            if section == ":name" or section == ":version":
                section = ""
            continue
        if section == ":units":
            if key == "length":
                length = float(_floats(toks[1:], 1, "length", where, n)[0])
                if not length > 0:
                    raise _fail(where, f"units length {length}; expected a positive number", n)
            elif key == "angle":
                if toks[1:2] not in (["deg"], ["rad"]):
                    raise _fail(where, f"angle unit {' '.join(toks[1:])!r}; expected deg or rad", n)
                degrees = toks[1] == "deg"
        elif section == ":root":
            if key == "order":
                root["order"] = tuple(t.lower() for t in toks[1:])
            elif key == "axis":
                root["axis"] = toks[1] if len(toks) > 1 else ""
            elif key in ("position", "orientation"):
                root[key] = _floats(toks[1:], 3, f"root {key}", where, n)
        elif section == ":bonedata":
            if limits_left and key.startswith(("(", "limits")):
                limits_left -= sum(t.count("(") for t in toks)
                continue
            limits_left = 0
            if key == "begin":
                cur = {"line": n, "dof": ()}
                bones.append(cur)
            elif key == "end":
                cur = None
            elif cur is None:
                raise _fail(where, f"bone data {toks[0]!r} outside begin/end", n)
            elif key == "name":
                cur["name"] = toks[1] if len(toks) > 1 else ""
            elif key == "direction":
                cur["direction"] = _floats(toks[1:], 3, "direction", where, n)
            elif key == "length":
                cur["length"] = float(_floats(toks[1:], 1, "length", where, n)[0])
            elif key == "axis":
                cur["axis"] = _floats(toks[1:], 3, "axis", where, n)
                cur["axis_order"] = toks[4] if len(toks) > 4 else "XYZ"
            elif key == "dof":
                cur["dof"] = tuple(t.lower() for t in toks[1:])
                limits_left = len(cur["dof"])
            elif key == "limits":
                limits_left = len(cur["dof"]) - sum(t.count("(") for t in toks)
        elif section == ":hierarchy":
            if key in ("begin", "end"):
                continue
            edges.extend((toks[0], c, n) for c in toks[1:])
    if length is None:
        raise _fail(where, "no ':units' length; expected e.g. 'length 0.45'")
    _check_order(root["axis"], "root axis", where)
    bad = [d for d in root["order"] if d not in ("tx", "ty", "tz", "rx", "ry", "rz")]
    if bad or len(set(root["order"])) != len(root["order"]):
        raise _fail(where, f"root order {' '.join(root['order'])}; expected distinct TX TY TZ RX RY RZ")
    by_name: dict[str, dict[str, Any]] = {}
    for b in bones:
        for k in ("name", "direction", "length"):
            if k not in b:
                raise _fail(where, f"a bone has no {k}", b["line"])
        if b["name"] in by_name or b["name"] == "root":
            raise _fail(where, f"bone {b['name']!r} is defined twice", b["line"])
        if not b["length"] >= 0:
            raise _fail(where, f"bone {b['name']!r} has length {b['length']}; expected >= 0", b["line"])
        _check_order(b.get("axis_order", "XYZ"), f"bone {b['name']} axis", where)
        for d in b["dof"]:
            if d not in _ROT_DOF:
                raise _fail(where, f"bone {b['name']!r} has dof {d!r}; only rx ry rz are supported on "
                            "bones other than the root", b["line"])
        if len(set(b["dof"])) != len(b["dof"]):
            raise _fail(where, f"bone {b['name']!r} repeats a dof", b["line"])
        by_name[b["name"]] = b
    if len(by_name) > _MAX_BONES:
        raise _fail(where, f"{len(by_name)} bones; a skeleton has at most {_MAX_BONES}")
    children: dict[str, list[str]] = {}
    parent_of: dict[str, str] = {}
    for p, c, n in edges:
        if p != "root" and p not in by_name:
            raise _fail(where, f"hierarchy names unknown bone {p!r}", n)
        if c not in by_name:
            raise _fail(where, f"hierarchy names unknown bone {c!r}", n)
        if c in parent_of:
            raise _fail(where, f"bone {c!r} has two parents ({parent_of[c]}, {p}) in the hierarchy", n)
        parent_of[c] = p
        children.setdefault(p, []).append(c)
    order: list[str] = []
    stack = ["root"]
    while stack:
        bone = stack.pop()
        order.append(bone)
        stack.extend(reversed(children.get(bone, [])))
    loose = [n for n in by_name if n not in order]
    if loose:
        cyc = [n for n in loose if n in parent_of]
        what = "is in a cycle" if cyc else "is not attached to the root"
        raise _fail(where, f"bone {loose[0]!r} {what} in the hierarchy; expected a tree from root")
    names, parents, offsets, axes, dofs = ["root"], [-1], [np.zeros(3)], [], [root["order"]]
    axes.append(_euler(root["axis"], root["orientation"], degrees))
    for bone in order[1:]:
        d = by_name[bone]
        names.append(bone)
        parents.append(names.index(parent_of[bone]))
        direction = d["direction"]
        nrm = float(np.linalg.norm(direction))
        if d["length"] > 0 and nrm < 1e-9:
            raise _fail(where, f"bone {bone!r} has a zero direction", d["line"])
        offsets.append(direction / max(nrm, 1e-12) * d["length"])
        axes.append(_euler(d.get("axis_order", "XYZ"), d.get("axis", np.zeros(3)), degrees))
        dofs.append(d["dof"])
    return AsfSkeleton(names, parents, np.array(offsets), axes, dofs, INCH / length, degrees, root["position"])


def _check_order(order: str, what: str, where: str) -> None:
    if sorted(order.upper()) != ["X", "Y", "Z"]:
        raise _fail(where, f"{what} order {order!r}; expected a permutation of XYZ")


def parse_amc(text: str, skel: AsfSkeleton, where: str = "AMC") -> np.ndarray:
    """``(T, D)`` motion values, bones in ``skel.names`` order, each bone's dofs in ASF order."""
    index = {n: b for b, n in enumerate(skel.names)}
    width = [len(d) for d in skel.dofs]
    start = np.concatenate([[0], np.cumsum(width)]).astype(int)
    D = int(start[-1])
    frames: list[np.ndarray] = []
    cur: np.ndarray | None = None
    seen: set[str] = set()
    expect = {n for n, w in zip(skel.names, width) if w}
    num = re.compile(r"^\d+$")

    def close(line: int) -> None:
        if cur is not None:
            missing = expect - seen
            if missing:
                raise _fail(where, f"frame {len(frames) + 1} has no values for {min(missing)!r} "
                            "(truncated?)", line)
            frames.append(cur)

    n = 0
    for n, raw in enumerate(text.splitlines(), 1):
        toks = raw.split()
        if not toks or toks[0].startswith("#") or toks[0].startswith(":"):
            continue
        if num.match(toks[0]) and len(toks) == 1:
            close(n)
            cur, seen = np.full(D, np.nan), set()
            continue
        if cur is None:
            raise _fail(where, f"values {toks[0]!r} before the first frame number", n)
        b = index.get(toks[0])
        if b is None:
            raise _fail(where, f"bone {toks[0]!r} is not in the skeleton", n)
        if len(toks) - 1 != width[b]:
            raise _fail(where, f"bone {toks[0]!r} has {len(toks) - 1} values; its dof needs {width[b]}", n)
        cur[start[b]:start[b + 1]] = _floats(toks[1:], width[b], toks[0], where, n)
        seen.add(toks[0])
    close(n)
    if not frames:
        raise _fail(where, "no frames of motion; expected a frame number then one line per bone")
    return np.stack(frames)


def amc_forward_kinematics(skel: AsfSkeleton, motion: np.ndarray) -> np.ndarray:
    """``(T, B, 3)`` bone end positions (the root's position for bone 0), file units and axes."""
    T, B = motion.shape[0], len(skel.names)
    width = [len(d) for d in skel.dofs]
    start = np.concatenate([[0], np.cumsum(width)]).astype(int)
    pos = np.zeros((T, B, 3))
    rot = np.zeros((T, B, 3, 3))
    for b, p in enumerate(skel.parents):
        vals = motion[:, start[b]:start[b + 1]]
        rdofs = [k for k, d in enumerate(skel.dofs[b]) if d in _ROT_DOF]
        M = np.broadcast_to(np.eye(3), (T, 3, 3))
        if rdofs:
            M = _euler("".join(_ROT_DOF[skel.dofs[b][k]] for k in rdofs), vals[:, rdofs], skel.degrees)
        C = skel.axis[b]
        local = C @ M @ C.T
        if p < 0:
            t = np.broadcast_to(skel.root_position, (T, 3)).copy()
            for k, d in enumerate(skel.dofs[b]):
                if d in ("tx", "ty", "tz"):
                    t[:, "xyz".index(d[1])] = vals[:, k]
            pos[:, b], rot[:, b] = t, local
        else:
            rot[:, b] = rot[:, p] @ local
            pos[:, b] = pos[:, p] + rot[:, b] @ skel.offsets[b]
    return pos


def _spine(skel: AsfSkeleton, pelvis: int, thorax: int) -> int:
    rest = skel.rest_positions()
    chain, b = [], skel.parents[thorax]
    while b > 0 and b != pelvis:
        chain.append(b)
        b = skel.parents[b]
    if not chain:
        raise StructposeError("ASF has no bone between the root and the thorax to serve as spine")
    mid = (rest[pelvis] + rest[thorax]) / 2
    return min(chain, key=lambda k: float(np.linalg.norm(rest[k] - mid)))


def amc_to_h36m(skel: AsfSkeleton, motion: np.ndarray, mapping: dict[str, str] | None = None,
                where: str = "ASF") -> tuple[np.ndarray, dict[str, Any]]:
    """``(T, 17, 3)`` H36M-17, metres, Y up, and an info dict (bones used, metres per unit)."""
    table = {**CMU_BONES, **(mapping or {})}
    missing = [d for d, b in table.items() if d != "spine" and b not in skel.names]
    if missing:
        raise StructposeError(f"{where}: cannot map ASF bones to H36M-17: no bone "
                              f"{', '.join(repr(table[d]) for d in missing)} (for {', '.join(missing)}); "
                              f"the skeleton's bones are: {', '.join(skel.names)}; pass mapping=")
    idx = {d: skel.names.index(b) for d, b in table.items() if d != "spine"}
    idx["spine"] = skel.names.index(table["spine"]) if "spine" in table else \
        _spine(skel, idx["pelvis"], idx["thorax"])
    pos = amc_forward_kinematics(skel, motion)
    out = np.empty((motion.shape[0], 17, 3))
    for d, b in idx.items():
        out[:, H36M17.index(d)] = pos[:, b]
    info = {"mapping": {d: skel.names[b] for d, b in idx.items()}, "metres_per_unit": skel.metres_per_unit,
            "units": f"1/{INCH / skel.metres_per_unit:g} inch", "up_axis": "+y"}
    return out * skel.metres_per_unit, info


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig", errors="strict")
    except FileNotFoundError:
        raise StructposeError(f"{path}: no such file; expected {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise StructposeError(f"{path}: cannot read as {what} ({type(e).__name__})") from None


def read_asf(path: str | Path) -> AsfSkeleton:
    path = Path(path)
    return parse_asf(_read_text(path, "an .asf skeleton file"), str(path))


def asf_for(amc: Path) -> Path:
    """The skeleton of a CMU clip: ``01_01.amc`` -> ``01.asf`` beside it (or the only .asf there)."""
    cand = amc.with_name(amc.stem.split("_")[0] + ".asf")
    if cand.exists():
        return cand
    found = sorted(amc.parent.glob("*.asf"))
    if len(found) == 1:
        return found[0]
    raise StructposeError(f"{amc}: no skeleton {cand.name} beside it; pass the .asf file explicitly")


def load_amc_with_info(amc: str | Path, asf: str | Path | None = None, fps: float = 120.0,
                       mapping: dict[str, str] | None = None, name: str | None = None) -> tuple[Clip, dict[str, Any]]:
    """An ``.amc`` clip (skeleton ``asf``, default: beside it) as an H36M-17 :class:`Clip` at ``fps``
    (AMC stores none; CMU's is 120) and the info dict of :func:`amc_to_h36m`."""
    amc = Path(amc)
    if not fps > 0:
        raise StructposeError(f"AMC frame rate {fps}; expected a positive number of frames per second")
    skel_path = Path(asf) if asf is not None else asf_for(amc)
    skel = read_asf(skel_path)
    motion = parse_amc(_read_text(amc, "an .amc motion file"), skel, str(amc))
    world, info = amc_to_h36m(skel, motion, mapping, str(skel_path))
    info["asf"] = str(skel_path)
    return Clip(name or f"amc/{amc.stem}", "amc", world, fps), info


def load_amc(amc: str | Path, asf: str | Path | None = None, fps: float = 120.0) -> Clip:
    return load_amc_with_info(amc, asf, fps)[0]

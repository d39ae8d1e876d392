"""Small ASF/AMC files in CMU's exact format, written by the tests (shared by the ASF/AMC and data-fetch tests)."""
from __future__ import annotations

import numpy as np

from structpose.skeleton import H36M17

J = H36M17.index
# name, parent, direction, length (file units), axis (deg, XYZ), dof
BONES = [
    ("lhipjoint", "root", (0.57, -0.75, 0.35), 2.4, (0, 0, 0), ()),
    ("lfemur", "lhipjoint", (0.34, -0.94, 0), 7.2, (0, 0, 20), ("rx", "ry", "rz")),
    ("ltibia", "lfemur", (0.34, -0.94, 0), 7.5, (0, 0, 20), ("rx",)),
    ("lfoot", "ltibia", (0.07, -0.18, 0.98), 2.4, (-90, 0, 20), ("rx", "rz")),
    ("rhipjoint", "root", (-0.57, -0.75, 0.35), 2.4, (0, 0, 0), ()),
    ("rfemur", "rhipjoint", (-0.34, -0.94, 0), 7.2, (0, 0, -20), ("rx", "ry", "rz")),
    ("rtibia", "rfemur", (-0.34, -0.94, 0), 7.5, (0, 0, -20), ("rx",)),
    ("rfoot", "rtibia", (-0.07, -0.18, 0.98), 2.4, (-90, 0, -20), ("rx", "rz")),
    ("lowerback", "root", (0.01, 1, -0.09), 2.0, (0, 0, 0), ("rx", "ry", "rz")),
    ("upperback", "lowerback", (0.03, 1, -0.02), 2.0, (0, 0, 0), ("rx", "ry", "rz")),
    ("thorax", "upperback", (0.02, 1, 0.02), 2.1, (0, 0, 0), ("rx", "ry", "rz")),
    ("lowerneck", "thorax", (-0.03, 1, 0.1), 1.7, (0, 0, 0), ("rx", "ry", "rz")),
    ("upperneck", "lowerneck", (0.06, 1, -0.07), 1.8, (0, 0, 0), ("rx", "ry", "rz")),
    ("head", "upperneck", (0.02, 1, -0.04), 1.8, (0, 0, 0), ("rx", "ry", "rz")),
    ("lclavicle", "thorax", (0.98, 0.2, -0.04), 3.5, (0, 0, -20), ("ry", "rz")),
    ("lhumerus", "lclavicle", (1, 0, 0), 5.2, (0, 0, 90), ("rx", "ry", "rz")),
    ("lradius", "lhumerus", (1, 0, 0), 3.4, (0, 0, 90), ("rx",)),
    ("rclavicle", "thorax", (-0.98, 0.2, -0.04), 3.5, (0, 0, 20), ("ry", "rz")),
    ("rhumerus", "rclavicle", (-1, 0, 0), 5.2, (0, 0, -90), ("rx", "ry", "rz")),
    ("rradius", "rhumerus", (-1, 0, 0), 3.4, (0, 0, -90), ("rx",)),
]


def asf_text(length: float = 0.45, bones=BONES, hierarchy: str | None = None) -> str:
    out = ["# test skeleton", ":version 1.10", ":name VICON", ":units", "  mass 1.0", f"  length {length}",
           "  angle deg", ":documentation", "   written by the test", ":root", "   order TX TY TZ RX RY RZ",
           "   axis XYZ", "   position 0 0 0", "   orientation 0 0 0", ":bonedata"]
    for i, (name, _, d, ln, ax, dof) in enumerate(bones, 1):
        out += ["  begin", f"     id {i}", f"     name {name}", "     direction " + " ".join(map(str, d)),
                f"     length {ln}", "     axis " + " ".join(map(str, ax)) + "  XYZ"]
        if dof:
            out += ["    dof " + " ".join(dof), "    limits (-180.0 180.0)"]
            out += ["           (-180.0 180.0)"] * (len(dof) - 1)
        out.append("  end")
    out += [":hierarchy", "  begin"]
    if hierarchy is None:
        kids: dict[str, list[str]] = {}
        for name, parent, *_ in bones:
            kids.setdefault(parent, []).append(name)
        out += [f"    {p} {' '.join(c)}" for p, c in kids.items()]
    else:
        out += [hierarchy]
    out += ["  end"]
    return "\n".join(out) + "\n"


def random_motion(T: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None]
    mot = {"root": np.concatenate([rng.normal(0, 5, 3) + 0.1 * t * rng.normal(0, 1, 3),
                                   np.cumsum(rng.normal(0, 4, (T, 3)), 0)], 1)}
    mot["root"][:, 1] += 17.0
    for name, _, _, _, _, dof in BONES:
        if dof:
            mot[name] = rng.uniform(-60, 60, len(dof)) + 20 * np.sin(0.3 * t + rng.uniform(0, 6, len(dof)))
    return mot


def amc_text(mot: dict[str, np.ndarray]) -> str:
    T = len(mot["root"])
    out = ["#!OML:ASF test.asf", ":FULLY-SPECIFIED", ":DEGREES"]
    for f in range(T):
        out.append(str(f + 1))
        out += [f"{name} " + " ".join(f"{v:.6f}" for v in vals[f]) for name, vals in mot.items()]
    return "\n".join(out) + "\n"

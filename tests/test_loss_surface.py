"""Fig. 4 loss surfaces on a real pose: geometric facts of each surface and the CLI's outputs."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.analysis.loss_surface import PANELS, compute_loss_surface, pick_pose
from structpose.cli import main
from structpose.geometry import limb_legality
from structpose.skeleton import H36M17


@pytest.fixture(scope="module")
def surface(deepmimic_clips):
    pose, source = pick_pose(deepmimic_clips)
    return compute_loss_surface(pose, source, steps=41, half_width=0.5)


def test_pose_is_real_and_clearly_bent(surface, deepmimic_clips):
    assert limb_legality(surface.pose)[1] > 0.5                   # left elbow bent, the legal way
    clip, frame = surface.source.split(" frame ")
    real = next(c for c in deepmimic_clips if c.name == clip).in_camera()[int(frame)]
    assert np.allclose(surface.pose, real)


def test_surfaces_have_the_expected_geometry(surface):
    a, b, c, d = (surface.surfaces[p] for p in PANELS)
    j = H36M17.index("l_elbow")
    x_gt = surface.pose[j, 0]
    # (a) only sees x and y: constant along depth, quadratic in x
    assert np.allclose(a, a[:1], atol=1e-12)
    assert np.allclose(a[0], ((surface.xs - x_gt) / surface.scale) ** 2, atol=1e-12)
    # each added term is non-negative; (d) is the squared 3D distance, zero only at the truth
    assert (b >= a - 1e-12).all() and (c >= b - 1e-12).all()
    assert np.unravel_index(d.argmin(), d.shape) == surface.at(x_gt, surface.pose[j, 2])
    iz, ix = surface.at(*surface.points["(3)"])
    assert c[iz, ix] < 1e-8 and surface.illegal[iz, ix] == 0.0


def test_angle_loss_separates_the_backward_elbow(surface):
    """Paper: without La the loss at (1) and (3) is (nearly) equal; La tells them apart."""
    b, c = surface.surfaces[PANELS[1]], surface.surfaces[PANELS[2]]
    p1, p2, p3 = (surface.at(*surface.points[k]) for k in ("(1)", "(2)", "(3)"))
    assert surface.illegal[p1] > 0.5 and surface.illegal[p2] == 0.0
    assert b[p1] - b[p3] < 1e-3                                   # symmetry alone barely sees (1)
    assert c[p1] - c[p3] > 10 * (b[p1] - b[p3]) and c[p1] > 0.01   # the angle term does
    assert surface.symmetry[p2] > 10 * surface.symmetry[p1]       # (2) is legal but asymmetric


def test_cli_writes_png_and_npz(tmp_path, capsys):
    out = tmp_path / "fig4"
    assert main(["analyze", "loss-surface", "--out", str(out), "--steps", "21"]) == 0
    assert (out / "loss_surface.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(out / "loss_surface.npz") as z:
        assert z["loss_3d"].shape == (21, 21) and z["xs"].shape == (21,)
        assert np.allclose(z["loss_2d_sym_angle"] - z["loss_2d_sym"], 0.03 * z["illegal_angle_loss"])
    assert "(c) + symmetry + illegal angle" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--steps", "2"], ["--clip", "nope"], ["--frame", "3"],
                                  ["--clip", "walk", "--frame", "99999"], ["--half-width", "-1"],
                                  ["--lambda-s", "-0.1"]])
def test_cli_bad_input(argv, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["analyze", "loss-surface", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
    assert not out.exists() or not any(out.iterdir())


def _descend(profile: np.ndarray, i: int) -> int:
    """Walk downhill on a 1D profile from index i until no neighbour is lower."""
    while True:
        nbrs = [k for k in (i - 1, i + 1) if 0 <= k < len(profile)]
        best = min(nbrs, key=lambda k: profile[k])
        if profile[best] >= profile[i]:
            return i
        i = best


def test_descent_along_depth_escapes_the_backward_elbow_only_with_la(surface):
    """Fig. 4's claim: the structure terms reshape the valley so that descent leaves the illegal pose."""
    iz1, ix = surface.at(*surface.points["(1)"])
    iz3, _ = surface.at(*surface.points["(3)"])
    b = surface.surfaces[PANELS[1]][:, ix]
    c = surface.surfaces[PANELS[2]][:, ix]
    assert abs(_descend(b, iz1) - iz1) <= 1                        # (b): (1) is a local minimum, a trap
    assert abs(_descend(c, iz1) - iz3) <= 1                        # (c): descent ends at the true depth

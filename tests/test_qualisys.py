"""Qualisys ``.qca.txt`` calibration: the reader's conventions, proven geometrically, and its one-line errors.

Files are written here in the exact XML layout Pose2Sim ships.  ``POSE2SIM`` holds the camera poses and
intrinsics of Pose2Sim 0.10.49's Demo_SinglePerson ``Calib.qca.txt`` (BSD-3), the real calibration the
``real`` benchmark uses.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from structpose.cameras import Camera, look_at
from structpose.data.formats.qualisys import QUALISYS_TO_OPENCV, SUBPIXELS, read_qualisys
from structpose.errors import StructposeError

# serial: (r11..r33, x, y, z mm, focalU, focalV, centreU, centreV, k1, k2, p1, p2)
POSE2SIM = {
    "cam01": ((0.5536380477336265, 0.8046719867383512, 0.2144479094331626, -0.4345300743838753, 0.05946489349975602,
               0.8986921279821063, 0.7104002579937896, -0.5907342212870501, 0.3825762057979294),
              (1460.2323709212087, -1909.1590482454608, 1896.5058524092062),
              (107599.671875, 107588.828125, 34110.316406, 60680.792969), (-0.046183, 0.139983, 0.000608, 0.00069)),
    "cam02": ((-0.1966832217091926, 0.979523227309506, -0.043011131806342306, -0.31478107085300017,
               -0.02153908797812718, 0.9489198834051846, 0.9285626460991909, 0.20017570994064315, 0.3125717476340885),
              (2582.0136248568124, 706.5662881637625, 1690.9818366061595),
              (107118.695313, 107123.023438, 34207.652344, 61646.457031), (-0.047847, 0.136786, 0.000972, 0.000291)),
    "cam03": ((-0.740641130147863, -0.6704153360235378, -0.044654154988568895, 0.25251118212268814,
               -0.3393170985114385, 0.9061467925015139, -0.6226466246887545, 0.6598539110153292, 0.4205995683324882),
              (-3216.86586729648, 2231.1786368869416, 2088.19103027083),
              (107622.296875, 107616.632813, 32845.335938, 61120.328125), (-0.046705, 0.137622, -0.000542, -0.000517)),
    "cam04": ((0.2586331447643361, -0.875095795920923, -0.40904308378315923, 0.49590579729377593,
               -0.24310718522469382, 0.8336524076031634, -0.8289670298870364, -0.4184569804097585, 0.3710895025551282),
              (-3758.720480260634, -1415.6654017496533, 1881.7941041388026),
              (107215.039063, 107213.070313, 34566.796875, 61697.9375), (-0.047633, 0.134667, 0.000277, 0.000199)),
}


def camera_xml(serial: str, r, xyz, intr, dist, active: str = "1", width: int = 1088, height: int = 1920,
               override: dict | None = None) -> str:
    attrs = {f"r{i}{j}": repr(r[3 * (i - 1) + (j - 1)]) for i in (1, 2, 3) for j in (1, 2, 3)}
    attrs.update(x=repr(xyz[0]), y=repr(xyz[1]), z=repr(xyz[2]))
    intr_attrs = {"centerPointU": intr[2], "centerPointV": intr[3], "focalLengthU": intr[0], "focalLengthV": intr[1],
                  "focallength": 9.3, "radialDistortion1": dist[0], "radialDistortion2": dist[1],
                  "radialDistortion3": 0.0, "sensorMaxU": 64 * (width - 1), "sensorMaxV": 64 * (height - 1),
                  "sensorMinU": 0.0, "sensorMinV": 0.0, "skew": 0.0, "tangentalDistortion1": dist[2],
                  "tangentalDistortion2": dist[3]}
    for key, value in (override or {}).items():
        (attrs if key in attrs else intr_attrs)[key] = value
    box = f'bottom="{height - 1}" left="0" right="{width - 1}" top="0"'
    t = " ".join(f'{k}="{v}"' for k, v in attrs.items())
    i = " ".join(f'{k}="{v}"' for k, v in intr_attrs.items())
    return (f'    <camera active="{active}" avg-residual="0.4" model="none" point-count="999999999" serial="{serial}" '
            f'viewrotation="0">\n      <fov_marker {box}/>\n      <fov_marker_max {box}/>\n'
            f'      <fov_video {box}/>\n      <fov_video_max {box}/>\n      <transform {t}/>\n'
            f'      <intrinsic {i}/>\n    </camera>\n')


def write_qca(path: Path, cameras: list[str]) -> Path:
    path.write_text("<?xml version='1.0' encoding='ASCII'?>\n"
                    '<calibration created="sometimes ago" type="regular" wandLength="none">\n'
                    '  <results min-max-diff="0." std-dev="0."/>\n  <cameras>\n' + "".join(cameras)
                    + "  </cameras>\n</calibration>\n")
    return path


def pose2sim_file(path: Path, **override) -> Path:
    return write_qca(path, [camera_xml(s, *v, override=override.get(s)) for s, v in POSE2SIM.items()])


def test_units_subpixels_and_millimetres(tmp_path):
    cams = read_qualisys(pose2sim_file(tmp_path / "c.qca.txt"))
    assert list(cams) == ["cam01", "cam02", "cam03", "cam04"]
    for serial, (_, xyz, intr, dist) in POSE2SIM.items():
        c = cams[serial]
        np.testing.assert_allclose(c.f, np.array(intr[:2]) / 64)
        np.testing.assert_allclose(c.c, np.array(intr[2:]) / 64)
        np.testing.assert_allclose(c.center, np.array(xyz) / 1000, atol=1e-9)    # centre = -R^T t
        assert c.image_size == (1088, 1920)
        np.testing.assert_allclose(c.dist, [dist[0], dist[1], dist[2], dist[3], 0.0])
        np.testing.assert_allclose(c.R @ c.R.T, np.eye(3), atol=1e-9)
        assert np.linalg.det(c.R) == pytest.approx(1.0)
        # principal point inside the image, near its centre (the sub-pixel factor is right)
        assert 0.4 < c.c[0] / 1088 < 0.6 and 0.4 < c.c[1] / 1920 < 0.6


def test_real_cameras_look_at_one_volume_upright(tmp_path):
    """The convention is the one under which Pose2Sim's 4 real cameras look at a common point in front of
    all of them, with the image's y axis pointing down the lab (+z up), and that point images near the
    middle of every picture.  The transposed matrix or the unflipped axes fail these facts."""
    cams = list(read_qualisys(pose2sim_file(tmp_path / "c.qca.txt")).values())
    A = sum(np.eye(3) - np.outer(c.R[2], c.R[2]) for c in cams)
    b = sum((np.eye(3) - np.outer(c.R[2], c.R[2])) @ c.center for c in cams)
    target = np.linalg.solve(A, b)                      # closest point to the 4 optical axes
    for c in cams:
        to = target - c.center
        along = to @ c.R[2]
        assert along > 2.0                              # in front, metres away
        assert np.linalg.norm(to - along * c.R[2]) < 0.15   # on the axis within 15 cm
        assert c.R[1] @ np.array([0.0, 0.0, 1.0]) < -0.8    # image down = world down (z up)
        uv = c.project(c.world_to_camera(target))
        assert 0.3 * 1088 < uv[0] < 0.7 * 1088 and 0.3 * 1920 < uv[1] < 0.7 * 1920
    # a person standing there (feet at z = 0, head at 1.7 m) is upright in every image
    for c in cams:
        head = c.project(c.world_to_camera(np.array([target[0], target[1], 1.7])))
        feet = c.project(c.world_to_camera(np.array([target[0], target[1], 0.0])))
        assert head[1] < feet[1] - 500
    # other readings of the matrix break the geometry: transposed, or OpenCV axes taken as they are
    for alt in (lambda c: QUALISYS_TO_OPENCV @ (QUALISYS_TO_OPENCV @ c.R).T, lambda c: QUALISYS_TO_OPENCV @ c.R):
        fronts = [(target - c.center) @ alt(c)[2] for c in cams]
        assert min(fronts) < 0


def test_round_trip_through_a_synthetic_rig(tmp_path):
    """Write cameras known in structpose's model as Qualisys would (M = diag(1,-1,-1) R, sub-pixels, mm),
    read them back, and project the same world points to the same pixels."""
    rng = np.random.default_rng(3)
    xml, truth = [], []
    for k, eye in enumerate(([3.0, 0.5, 1.5], [-2.0, 2.5, 2.0], [0.5, -3.0, 1.0])):
        R, t = look_at(np.array(eye), np.array([0.0, 0.0, 1.0]), up=np.array([0.0, 0.0, 1.0]))
        f, c = np.array([1500.0, 1502.0]), np.array([530.0, 950.0])
        truth.append(Camera(R, t, f, c, (1088, 1920), np.array([-0.05, 0.1, 0.001, -0.0005, 0.0])))
        M = QUALISYS_TO_OPENCV @ R
        xml.append(camera_xml(f"c{k}", M.ravel().tolist(), (1000 * truth[-1].center).tolist(),
                              (64 * f[0], 64 * f[1], 64 * c[0], 64 * c[1]), (-0.05, 0.1, 0.001, -0.0005)))
    cams = list(read_qualisys(write_qca(tmp_path / "s.qca.txt", xml)).values())
    pts = rng.normal(size=(50, 3)) * 0.4 + np.array([0.0, 0.0, 1.0])
    for a, b in zip(cams, truth):
        np.testing.assert_allclose(a.project(a.world_to_camera(pts)), b.project(b.world_to_camera(pts)), atol=1e-6)


def test_inactive_cameras_are_skipped(tmp_path):
    xml = [camera_xml(s, *v, active="0" if s == "cam02" else "1") for s, v in POSE2SIM.items()]
    assert list(read_qualisys(write_qca(tmp_path / "c.qca.txt", xml))) == ["cam01", "cam03", "cam04"]


@pytest.mark.parametrize("make, message", [
    (lambda p: write_qca(p, []), "no active <camera>"),
    (lambda p: pose2sim_file(p, cam02={"focalLengthU": "abc"}), "focalLengthU='abc'> is not a finite number"),
    (lambda p: pose2sim_file(p, cam03={"x": "nan"}), "x='nan'> is not a finite number"),
    (lambda p: pose2sim_file(p, cam01={"r31": "0", "r32": "0", "r33": "0"}), "is not a rotation"),
    (lambda p: pose2sim_file(p, cam04={"r11": "2.0"}), "is not a rotation"),
    (lambda p: p.write_text(Path(p).read_text() if p.exists() else "<calibration><cameras>"), "does not parse"),
    (lambda p: p.write_text("<calib/>"), "starts with <calibration>"),
    (lambda p: p.write_text(""), "file is empty"),
])
def test_bad_files_one_line(tmp_path, make, message):
    path = tmp_path / "bad.qca.txt"
    make(path)
    with pytest.raises(StructposeError) as e:
        read_qualisys(path)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_missing_element_and_missing_file(tmp_path):
    text = pose2sim_file(tmp_path / "c.qca.txt").read_text()
    start = text.index("<intrinsic")
    (tmp_path / "m.qca.txt").write_text(text[:start] + text[text.index("/>", start) + 2:])
    with pytest.raises(StructposeError, match="cam01.*has no <intrinsic> element"):
        read_qualisys(tmp_path / "m.qca.txt")
    with pytest.raises(StructposeError, match="no such file"):
        read_qualisys(tmp_path / "absent.qca.txt")


def test_subpixel_constant():
    assert SUBPIXELS == 69568 / 1087 == 122816 / 1919

"""The viewer page in a real headless browser (Debian's chromium through chromedriver; `make setup` installs both).

The pose file is a real walk (DeepMimic) with its world frame, seen by a camera whose 2D projection
is the 2D track, and a video whose frame i is a flat grey of level 40 + 8 i.  The test steps the page
to given frames and checks, from the page: the joints it holds are the file's; the magenta joint
dots in the screenshot sit exactly where the file's joints project through the page's camera (and
nowhere else); the video pane shows frame i's picture with cyan keypoints at the file's 2D points.
"""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from browser_harness import chromium, wait_for

from structpose.cameras import front_camera
from structpose.data import deepmimic
from structpose.io.posefile import PoseSequence
from structpose.viewer import write_viewer

T, FPS, INVALID = 24, 30.0, 15


def _sequence():
    clip = next(c for c in deepmimic.load_all() if c.name.endswith("/walk"))
    world = clip.world[:T].astype(np.float64)
    cam = front_camera(world, distance=4.0, image_size=(640, 480))
    p3 = cam.world_to_camera(world)
    p2 = cam.project(p3)
    valid = np.ones(T, bool)
    valid[INVALID] = False
    for a in (world, p3, p2):
        a[INVALID] = np.nan
    contacts = np.zeros((T, 2))
    contacts[:12, 0], contacts[12:, 1] = 1.0, 0.8
    contacts[INVALID] = np.nan
    return PoseSequence(poses_3d=p3, fps=FPS, poses_2d=p2, image_size=(640, 480), valid=valid, poses_world=world,
                        contacts=contacts)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("viewer")
    seq = _sequence()
    vw = cv2.VideoWriter(str(tmp / "in.avi"), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    for i in range(T):
        vw.write(np.full((480, 640, 3), 40 + 8 * i, np.uint8))
    vw.release()
    html = write_viewer(tmp / "view.html", seq, video=tmp / "in.avi")
    with chromium() as d:
        d.get(html.as_uri() + "#frame=3")
        wait_for(d, "window.structpose && window.structpose.ready")
        yield d, seq


def _go(d, i):
    d.execute_async_script("const done = arguments[arguments.length - 1];"
                           f"window.structpose.setFrame({i}).then(done);")
    return cv2.imdecode(np.frombuffer(d.get_screenshot_as_png(), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]  # RGB


def _project(cam, pts):
    """Page pixels of world points through the page's own camera matrices (three.js: column-major)."""
    V = np.array(cam["view"]).reshape(4, 4).T
    P = np.array(cam["projection"]).reshape(4, 4).T
    h = (P @ V @ np.c_[pts, np.ones(len(pts))].T).T
    ndc = h[:, :3] / h[:, 3:]
    x0, y0, w, hh = cam["rect3d"]
    return np.c_[x0 + (ndc[:, 0] + 1) / 2 * w, y0 + (1 - ndc[:, 1]) / 2 * hh]


def _mask(img, rect, rgb, tol=70):
    x0, y0, w, h = (int(np.rint(v)) for v in rect)
    m = np.zeros(img.shape[:2], bool)
    m[y0:y0 + h, x0:x0 + w] = (np.abs(img[y0:y0 + h, x0:x0 + w].astype(int) - rgb) < tol).all(-1)
    return m


def test_the_page_starts_at_the_frame_in_the_url_and_holds_the_files_joints(page):
    d, seq = page
    assert d.execute_script("return window.structpose.frame") == 3
    for i in (0, 7, T - 1):
        got = np.array(d.execute_script(f"return window.structpose.joints({i})"))
        assert np.abs(got - seq.poses_world[i]).max() < 1e-5            # metres, the file's world frame
    assert d.execute_script(f"return window.structpose.joints({INVALID})") is None


@pytest.mark.parametrize("i", [0, 11, T - 1])
def test_joint_dots_are_drawn_where_the_files_joints_project(page, i):
    d, seq = page
    img = _go(d, i)
    cam = d.execute_script("return window.structpose.camera()")
    px = _project(cam, seq.poses_world[i].astype(np.float64))
    magenta = _mask(img, cam["rect3d"], (255, 0, 255))
    ys, xs = np.nonzero(magenta)
    assert len(xs) > 17 * 10
    for u, v in px:                                   # every joint has its dot
        assert magenta[int(np.rint(v)) - 2:int(np.rint(v)) + 3, int(np.rint(u)) - 2:int(np.rint(u)) + 3].any()
    dist = np.linalg.norm(np.c_[xs, ys][:, None] - px[None], axis=-1).min(1)
    assert dist.max() < 10                            # and no dot anywhere else
    other = _project(cam, seq.poses_world[(i + 12) % T].astype(np.float64))   # another frame's skeleton
    assert np.linalg.norm(other[:, None] - np.c_[xs, ys][None], axis=-1).min(1).max() > 10


@pytest.mark.parametrize("i", [2, 20])
def test_video_pane_shows_frame_i_with_its_2d_keypoints(page, i):
    d, seq = page
    img = _go(d, i)
    cam = d.execute_script("return window.structpose.camera()")
    x0, y0, w, _ = cam["rect2d"]
    corner = img[int(y0) + 3:int(y0) + 13, int(x0) + 3:int(x0) + 13].reshape(-1, 3).mean(0)
    assert np.abs(corner - (40 + 8 * i)).max() < 4                     # frame i's picture, not a neighbour's
    s = w / seq.image_size[0]
    cyan = _mask(img, cam["rect2d"], (0, 255, 255))
    for u, v in seq.poses_2d[i] * s + (x0, y0):
        assert cyan[int(np.rint(v)) - 1:int(np.rint(v)) + 2, int(np.rint(u)) - 1:int(np.rint(u)) + 2].any()


def test_a_frame_without_a_person_draws_no_skeleton(page):
    d, _ = page
    img = _go(d, INVALID)
    cam = d.execute_script("return window.structpose.camera()")
    assert not _mask(img, cam["rect3d"], (255, 0, 255)).any()
    assert not _mask(img, cam["rect2d"], (0, 255, 255)).any()
    assert "no person" in d.execute_script("return document.getElementById('label').textContent")


def test_play_advances_the_timeline(page):
    d, _ = page
    _go(d, 0)
    d.find_element("id", "play").click()
    deadline = time.time() + 10
    while d.execute_script("return window.structpose.frame") < 5:
        assert time.time() < deadline, "the timeline did not advance while playing"
        time.sleep(0.05)
    d.find_element("id", "play").click()

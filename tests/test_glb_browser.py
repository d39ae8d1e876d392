"""The GLB export in headless chromium, with two tools vendored for these tests (tests/assets):

* the Khronos glTF validator (2.0.0-dev.3.10, Apache-2.0) must find no error, warning, info or hint;
* three.js (GLTFLoader + AnimationMixer, 0.187.0) plays it: at each frame's time, every joint node's world position
  must be the pose file's joint.  glTF and three.js are both Y up in metres: no conversion, no alignment.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from browser_harness import chromium, wait_for

from structpose.data import deepmimic
from structpose.io.gltf_export import GLB_TO_H36M, write_glb
from structpose.io.posefile import PoseSequence
from structpose.skeleton import H36M17

T, FPS, INVALID = 20, 30.0, 7
ASSETS = Path(__file__).parent / "assets"

VALIDATE = """
const bytes = Uint8Array.from(atob(GLB), (c) => c.charCodeAt(0));
exports.validateBytes(bytes, { maxIssues: 0, writeTimestamp: false })
  .then((r) => { window.result = r; }, (err) => { window.result = { error: String(err) }; });
"""

PLAYER = """
const bytes = Uint8Array.from(atob(GLB), (c) => c.charCodeAt(0));
new THREE.GLTFLoader().parse(bytes.buffer, "", (gltf) => {
  const mixer = new THREE.AnimationMixer(gltf.scene);
  const action = mixer.clipAction(gltf.animations[0]);
  action.setLoop(THREE.LoopOnce);          // played once and held: the last frame's time is the clip's end
  action.clampWhenFinished = true;
  action.play();
  const v = new THREE.Vector3(), frames = [];
  for (let i = 0; i < NUM_FRAMES; i++) {
    mixer.setTime(i / FPS);
    gltf.scene.updateMatrixWorld(true);
    frames.push(NAMES.map((n) => gltf.scene.getObjectByName(n).getWorldPosition(v).toArray()));
  }
  let skinned = null;
  gltf.scene.traverse((o) => { if (o.isSkinnedMesh) skinned = o; });
  window.result = { frames, bones: skinned ? skinned.skeleton.bones.length : 0,
                    duration: gltf.animations[0].duration };
}, (err) => { window.result = { error: String(err) }; });
"""


@pytest.fixture(scope="module")
def walk_glb(tmp_path_factory):
    """A real walk (world frame, one frame without a person) as GLB: (path, world poses)."""
    clip = next(c for c in deepmimic.load_all() if c.name.endswith("/walk"))
    world = clip.world[:T].astype(np.float64)
    world[INVALID] = np.nan
    valid = np.isfinite(world).all((1, 2))
    seq = PoseSequence(poses_3d=clip.in_camera()[:T], fps=FPS, valid=valid, poses_world=world)
    glb = tmp_path_factory.mktemp("glb") / "walk.glb"
    write_glb(glb, seq)
    return glb, world


def test_khronos_validator_finds_nothing_to_report(walk_glb, tmp_path):
    glb, _ = walk_glb
    page = tmp_path / "validate.html"
    page.write_text("<!DOCTYPE html><html><body><script>var exports = {};</script><script>"
                    + (ASSETS / "gltf_validator.dart.js").read_text() + "</script><script>"
                    f"const GLB = '{base64.b64encode(glb.read_bytes()).decode()}';" + VALIDATE + "</script></body></html>")
    with chromium() as d:
        d.get(page.as_uri())
        wait_for(d, "window.result")
        r = d.execute_script("return window.result")
    assert "error" not in r, r.get("error")
    issues = r["issues"]
    assert (issues["numErrors"], issues["numWarnings"], issues["numInfos"], issues["numHints"]) == (0, 0, 0, 0), \
        issues["messages"]
    assert r["info"]["hasSkins"] and r["info"]["animationCount"] == 1


def test_threejs_plays_the_glb_as_the_pose_file(walk_glb, tmp_path):
    glb, world = walk_glb
    names = list(GLB_TO_H36M)
    page = tmp_path / "play.html"
    page.write_text("<!DOCTYPE html><html><body><script>" + (ASSETS / "three-gltf-test.min.js").read_text()
                    + "</script><script>"
                    f"const GLB = '{base64.b64encode(glb.read_bytes()).decode()}', NUM_FRAMES = {T}, FPS = {FPS}, "
                    f"NAMES = {json.dumps(names)};" + PLAYER + "</script></body></html>")
    with chromium() as d:
        d.get(page.as_uri())
        wait_for(d, "window.result")
        r = d.execute_script("return window.result")
    assert "error" not in r, r.get("error")
    assert r["bones"] == 25                                 # the skin binds every joint: an armature to play
    assert abs(r["duration"] - (T - 1) / FPS) < 1e-6
    got = np.array(r["frames"])                             # (T, joints, 3)
    expected = world.copy()
    expected[INVALID] = world[INVALID + 1]         # a frame without a pose holds the nearest (tie: the later)
    cols = [H36M17.index(GLB_TO_H36M[n]) for n in names]
    err_mm = 1000 * np.linalg.norm(got - expected[:, cols], axis=-1)
    assert err_mm.max() < 0.01, err_mm.max()

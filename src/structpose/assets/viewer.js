// structpose viewer: the 3D skeleton (three.js, orbit/zoom), floor, path and foot contacts, beside the
// source video with the 2D keypoints, on one timeline.  Data come from the JSON block the page
// embeds (written by structpose.viewer); nothing is fetched.  window.structpose is the page's API:
// setFrame(i) -> Promise (resolves once both views show frame i), joints(i), keypoints2d(i),
// camera() (view/projection matrices and the 3D canvas rectangle), ready.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("structpose-data").textContent);
  const VIDEO = JSON.parse(document.getElementById("structpose-video").textContent);
  const T = D.num_frames, J = D.parents.length;
  const JOINT_COLOUR = 0xff00ff, LEFT = 0x2f6bff, RIGHT = 0xff4030, MID = 0xd0d0d0;
  const KP_COLOUR = "#00ffff";
  const side = (j) => (D.left.includes(j) ? LEFT : D.right.includes(j) ? RIGHT : MID);
  const pose = (i) => D.poses[i];                      // 17 x [x, y, z] metres (Y up) or null

  // ---------- 3D view ----------
  const view3d = document.getElementById("view3d");
  let renderer;
  try {
    renderer = new THREE.WebGLRenderer({ canvas: view3d, antialias: false, preserveDrawingBuffer: true });
  } catch (e) {
    document.getElementById("status").textContent = "WebGL is not available in this browser: " + e.message;
    window.structpose = { ready: false, error: String(e) };
    return;
  }
  renderer.setPixelRatio(1);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0x1b1d22);
  const camera = new THREE.PerspectiveCamera(45, 1, 0.05, 200);
  const controls = new THREE.OrbitControls(camera, view3d);

  const floorY = D.floor_y;
  const span = Math.max(2.5, D.extent);
  const grid = new THREE.GridHelper(Math.ceil(span * 2) + 2, Math.ceil(span * 2) + 2, 0x6a6f7a, 0x3a3e46);
  grid.position.set(D.centre[0], floorY, D.centre[2]);
  scene.add(grid);

  const pathPts = [];
  for (let i = 0; i < T; i++) if (pose(i)) pathPts.push(new THREE.Vector3(pose(i)[0][0], floorY + 0.002, pose(i)[0][2]));
  if (pathPts.length > 1) {
    const g = new THREE.BufferGeometry().setFromPoints(pathPts);
    scene.add(new THREE.Line(g, new THREE.LineBasicMaterial({ color: 0xffa020 })));
  }

  const skel = new THREE.Group();
  scene.add(skel);
  const jointGeo = new THREE.SphereGeometry(0.03, 12, 8);
  const jointMat = new THREE.MeshBasicMaterial({ color: JOINT_COLOUR, depthTest: false });
  const jointMeshes = [];
  for (let j = 0; j < J; j++) {
    const m = new THREE.Mesh(jointGeo, jointMat);
    m.renderOrder = 10;                                 // joints drawn last, never hidden by bones
    skel.add(m);
    jointMeshes.push(m);
  }
  const boneGeo = new THREE.CylinderGeometry(0.018, 0.018, 1, 8);
  boneGeo.translate(0, 0.5, 0);
  const bones = [];
  for (let j = 0; j < J; j++) {
    if (D.parents[j] < 0) continue;
    const m = new THREE.Mesh(boneGeo, new THREE.MeshBasicMaterial({ color: side(j) }));
    skel.add(m);
    bones.push([D.parents[j], j, m]);
  }
  const feet = [D.foot_joints[0], D.foot_joints[1]];
  const contactMarks = feet.map(() => {
    const m = new THREE.Mesh(new THREE.CylinderGeometry(0.09, 0.09, 0.004, 24),
      new THREE.MeshBasicMaterial({ color: 0x30e060, transparent: true, opacity: 0.8 }));
    scene.add(m);
    return m;
  });
  const up = new THREE.Vector3(0, 1, 0), a = new THREE.Vector3(), b = new THREE.Vector3();

  function show3d(i) {
    const p = pose(i);
    skel.visible = !!p;
    contactMarks.forEach((m) => (m.visible = false));
    if (!p) return;
    for (let j = 0; j < J; j++) jointMeshes[j].position.set(p[j][0], p[j][1], p[j][2]);
    for (const [pa, c, m] of bones) {
      a.set(p[pa][0], p[pa][1], p[pa][2]);
      b.set(p[c][0], p[c][1], p[c][2]).sub(a);
      const len = b.length();
      m.position.copy(a);
      m.scale.set(1, Math.max(len, 1e-6), 1);
      m.quaternion.setFromUnitVectors(up, len > 1e-9 ? b.normalize() : up);
    }
    if (D.contacts && D.contacts[i]) {
      feet.forEach((f, k) => {
        const c = D.contacts[i][k];
        if (c === null || c < 0.5) return;
        contactMarks[k].visible = true;
        contactMarks[k].position.set(p[f][0], floorY + 0.003, p[f][2]);
        contactMarks[k].material.opacity = 0.3 + 0.6 * c;
      });
    }
  }

  function resize() {
    const r = view3d.parentElement.getBoundingClientRect();
    renderer.setSize(Math.floor(r.width), Math.floor(r.height), false);
    view3d.style.width = Math.floor(r.width) + "px";
    view3d.style.height = Math.floor(r.height) + "px";
    camera.aspect = r.width / Math.max(r.height, 1);
    camera.updateProjectionMatrix();
    sizeOverlay();
  }

  // ---------- video + 2D overlay ----------
  const view2d = document.getElementById("view2d");
  const ctx = view2d.getContext("2d");
  const images = new Array(T);
  const haveVideo = VIDEO.frames && VIDEO.frames.length > 0;
  function sizeOverlay() {
    const r = view2d.parentElement.getBoundingClientRect();
    const iw = D.image_size ? D.image_size[0] : 640, ih = D.image_size ? D.image_size[1] : 480;
    const s = Math.min(r.width / iw, r.height / ih);
    view2d.width = Math.max(1, Math.floor(iw * s));
    view2d.height = Math.max(1, Math.floor(ih * s));
  }
  function image(i) {
    if (!haveVideo) return Promise.resolve(null);
    if (!images[i]) {
      images[i] = new Promise((resolve) => {
        const im = new Image();
        im.onload = () => resolve(im);
        im.onerror = () => resolve(null);
        im.src = "data:image/jpeg;base64," + VIDEO.frames[i];
      });
    }
    return images[i];
  }
  function keypoints2d(i) {
    // overlay canvas pixels of the joints shown (null: not seen), from the pose file's 2D keypoints
    if (!D.poses_2d || !D.poses_2d[i]) return null;
    const s = view2d.width / (D.image_size ? D.image_size[0] : 640);
    return D.poses_2d[i].map((k) => (k ? [k[0] * s, k[1] * s] : null));
  }
  function draw2d(i, im) {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, view2d.width, view2d.height);
    if (im) ctx.drawImage(im, 0, 0, view2d.width, view2d.height);
    const k = keypoints2d(i);
    if (!k) return;
    ctx.lineWidth = 2;
    for (let j = 0; j < J; j++) {
      const pa = D.parents[j];
      if (pa < 0 || !k[j] || !k[pa]) continue;
      ctx.strokeStyle = "#" + side(j).toString(16).padStart(6, "0");
      ctx.beginPath();
      ctx.moveTo(k[pa][0], k[pa][1]);
      ctx.lineTo(k[j][0], k[j][1]);
      ctx.stroke();
    }
    ctx.fillStyle = KP_COLOUR;
    for (const p of k) {
      if (!p) continue;
      ctx.beginPath();
      ctx.arc(p[0], p[1], 4, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  // ---------- timeline ----------
  const slider = document.getElementById("slider"), label = document.getElementById("label");
  const playBtn = document.getElementById("play"), follow = document.getElementById("follow");
  follow.addEventListener("change", () => setFrame(frame));
  slider.max = String(T - 1);
  let frame = 0, playing = false, t0 = 0, f0 = 0, token = 0;

  function setFrame(i) {
    i = Math.max(0, Math.min(T - 1, Math.round(i)));
    frame = i;
    slider.value = String(i);
    label.textContent = `frame ${i} / ${T - 1}  ${(i / D.fps).toFixed(2)} s` + (D.valid[i] ? "" : "  (no person)");
    show3d(i);
    if (follow.checked && pose(i)) {                  // keep the orbit centred on the pelvis, same view angle
      const p = pose(i)[0];
      a.set(p[0], p[1], p[2]).sub(controls.target);
      controls.target.add(a);
      camera.position.add(a);
      controls.update();
    }
    renderer.render(scene, camera);
    const mine = ++token;
    return image(i).then((im) => {
      if (mine === token) draw2d(i, im);
      return i;
    });
  }
  function tick(now) {
    if (!playing) return;
    const i = f0 + Math.floor(((now - t0) / 1000) * D.fps);
    if (i >= T) { playing = false; playBtn.textContent = "play"; setFrame(T - 1); return; }
    if (i !== frame) setFrame(i);
    requestAnimationFrame(tick);
  }
  function play() {
    playing = !playing;
    playBtn.textContent = playing ? "pause" : "play";
    if (playing) {
      if (frame >= T - 1) setFrame(0);
      t0 = performance.now(); f0 = frame;
      requestAnimationFrame(tick);
    }
  }
  playBtn.addEventListener("click", play);
  slider.addEventListener("input", () => { playing = false; playBtn.textContent = "play"; setFrame(+slider.value); });
  document.addEventListener("keydown", (e) => {
    if (e.key === " ") { e.preventDefault(); play(); }
    if (e.key === "ArrowRight") setFrame(frame + 1);
    if (e.key === "ArrowLeft") setFrame(frame - 1);
  });
  controls.addEventListener("change", () => renderer.render(scene, camera));
  window.addEventListener("resize", () => { resize(); setFrame(frame); });
  window.addEventListener("hashchange", fromHash);
  function fromHash() {
    const m = /frame=(\d+)/.exec(location.hash);
    return setFrame(m ? +m[1] : frame);
  }

  camera.position.set(D.centre[0] + 2.2, D.centre[1] + 1.0, D.centre[2] + 3.2);
  controls.target.set(D.centre[0], D.centre[1], D.centre[2]);
  controls.update();
  resize();
  document.getElementById("status").textContent =
    `${T} frames at ${D.fps} fps; ${D.frame_note}` + (haveVideo ? `; video: ${VIDEO.note}` : "; no video embedded");

  window.structpose = {
    ready: false,
    numFrames: T,
    fps: D.fps,
    get frame() { return frame; },
    setFrame,
    joints: (i) => pose(i),
    valid: (i) => D.valid[i],
    keypoints2d,
    camera() {
      camera.updateMatrixWorld();
      const r = view3d.getBoundingClientRect(), r2 = view2d.getBoundingClientRect();
      return { view: camera.matrixWorldInverse.elements.slice(), projection: camera.projectionMatrix.elements.slice(),
               rect3d: [r.left, r.top, r.width, r.height], rect2d: [r2.left, r2.top, r2.width, r2.height] };
    },
  };
  fromHash().then(() => { window.structpose.ready = true; });
})();

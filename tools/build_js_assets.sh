#!/usr/bin/env bash
# Rebuild src/structpose/assets/three-viewer.min.js: only the three.js classes the viewer uses, plus
# OrbitControls, tree-shaken and minified by esbuild into one IIFE that defines the global THREE.
# Also tests/assets/three-gltf-test.min.js: GLTFLoader + AnimationMixer for the GLB playback test, and
# tests/assets/gltf_validator.dart.js: the Khronos glTF validator (Apache-2.0) for the GLB conformance test.
# Needs npm (build time only; the viewer page itself fetches nothing).  three.js is MIT
# (src/structpose/assets/three.LICENSE).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund three@0.187.0 esbuild@0.28.2 gltf-validator@2.0.0-dev.3.10 >/dev/null
cp "$here/three_entry.js" entry.js
npx esbuild entry.js --bundle --minify --format=iife --global-name=THREE --legal-comments=none \
  --outfile="$here/../src/structpose/assets/three-viewer.min.js"
cp "$here/three_gltf_test_entry.js" gltf_entry.js
npx esbuild gltf_entry.js --bundle --minify --format=iife --global-name=THREE --legal-comments=none \
  --outfile="$here/../tests/assets/three-gltf-test.min.js"
cp node_modules/three/LICENSE "$here/../src/structpose/assets/three.LICENSE"
cp node_modules/three/LICENSE "$here/../tests/assets/three.LICENSE"
cp node_modules/gltf-validator/gltf_validator.dart.js "$here/../tests/assets/"
cp node_modules/gltf-validator/LICENSE "$here/../tests/assets/gltf-validator.LICENSE"
cp node_modules/gltf-validator/NOTICES "$here/../tests/assets/gltf-validator.NOTICES"

// three.js 0.187.0 (MIT): what the GLB playback test needs (no renderer); bundled by tools/build_js_assets.sh
export { AnimationMixer, LoopOnce, Vector3 } from 'three';
export { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

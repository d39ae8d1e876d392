// three.js 0.187.0 (MIT) classes the structpose viewer uses; bundled by tools/build_js_assets.sh
export { Scene, PerspectiveCamera, WebGLRenderer, Color, Group, Mesh, SphereGeometry, CylinderGeometry,
  MeshBasicMaterial, MeshLambertMaterial, LineBasicMaterial, Line, BufferGeometry, Float32BufferAttribute,
  GridHelper, Vector3, Quaternion, AmbientLight, DirectionalLight, PlaneGeometry, DoubleSide } from 'three';
export { OrbitControls } from 'three/addons/controls/OrbitControls.js';

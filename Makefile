# structpose — quick start: `make demo`, then `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PIP     := $(BIN)/pip
# the data folder: the same variable the package reads (a DATA or other variable in the caller's
# environment changes nothing); `make setup` restores missing data files whatever the venv's state
STRUCTPOSE_DATA ?= $(HOME)/.cache/structpose
export STRUCTPOSE_DATA
STAMP   := $(VENV)/.structpose-installed

.PHONY: setup data demo test bench clean

setup: $(STAMP) data

# torch is installed first and pinned, so that nothing can pull a CUDA build; MediaPipe is installed
# without its heavy optional dependencies (jax, opencv-contrib, sounddevice) — see README "Install".
$(STAMP): pyproject.toml Makefile
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[mocap,train,onnx,dev]' 'protobuf<5'
	$(PIP) install -q --no-deps mediapipe==0.10.21
	$(PIP) install -q 'protobuf<5' opencv-python-headless==4.11.0.86 attrs absl-py flatbuffers
	@# realistic renders (extra `render`): Anny and pyrender, --no-deps (anny would pull warp-lang, pyrender
	@# pins PyOpenGL 3.1.0; 3.1.7 works with OSMesa)
	$(PIP) install -q --no-deps anny==0.6.2 roma==1.8.0 trimesh==5.2.0 safetensors==0.8.0 pyrender==0.1.45 \
	  PyOpenGL==3.1.7 freetype-py==2.5.1 imageio==2.38.2 pyglet==1.5.31 six requests
	touch $(STAMP)

# every time `make setup` runs; each step is a no-op when its files are there
data: $(STAMP)
	@# real climbing mocap: read straight from the holosoma-retargeting wheel (never installed)
	mkdir -p "$(STRUCTPOSE_DATA)"
	test -f "$(STRUCTPOSE_DATA)/holosoma_retargeting-0.1.0-py3-none-any.whl" || \
	  $(PIP) download -q --no-deps holosoma-retargeting==0.1.0 -d "$(STRUCTPOSE_DATA)"
	@# real videos for `python -m benchmarks real` (Pose2Sim's 4 calibrated views, Sports2D's demo), read from the wheels
	test -f "$(STRUCTPOSE_DATA)/pose2sim-0.10.49-py3-none-any.whl" || \
	  $(PIP) download -q --no-deps pose2sim==0.10.49 -d "$(STRUCTPOSE_DATA)"
	test -f "$(STRUCTPOSE_DATA)/sports2d-0.8.34-py3-none-any.whl" || \
	  $(PIP) download -q --no-deps sports2d==0.8.34 -d "$(STRUCTPOSE_DATA)"
	@# real photos and video (messi5, basketball, vtest.avi) from Debian's opencv-doc
	dpkg -s opencv-doc >/dev/null 2>&1 || \
	  (apt-get install -y -q opencv-doc >/dev/null || sudo apt-get install -y -q opencv-doc >/dev/null)
	@# the export and viewer tests: headless Blender (with Debian's numpy for its glTF importer) and chromium
	dpkg -s blender python3-numpy chromium chromium-driver >/dev/null 2>&1 || \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q blender python3-numpy chromium chromium-driver >/dev/null || \
	   (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q blender python3-numpy chromium chromium-driver >/dev/null) || \
	   sudo apt-get install -y -q blender python3-numpy chromium chromium-driver >/dev/null)
	@# CMU boxing and CMU 01_01 as BVH (the AMC/BVH cross-check) from Debian's assimp-testmodels
	dpkg -s assimp-testmodels >/dev/null 2>&1 || \
	  (apt-get install -y -q assimp-testmodels >/dev/null || sudo apt-get install -y -q assimp-testmodels >/dev/null)
	@# real motion at scale (Bandai Namco, CMU ASF/AMC, DeepMimic's full set): git clone when missing.
	@# Offline this says what to do and setup goes on: only training at scale needs them, never the tests.
	$(BIN)/structpose data fetch all || \
	  echo "motion sources not fetched (see the line above); only training at scale needs them"
	@# realistic renders (extra `render`, installed above): off-screen OpenGL, then Anny's model cache (built
	@# once, ~2 min and ~0.8 GB in the data folder; a 2 s load afterwards)
	dpkg -s libosmesa6 >/dev/null 2>&1 || \
	  (apt-get install -y -q libosmesa6 >/dev/null || sudo apt-get install -y -q libosmesa6 >/dev/null)
	$(BIN)/python -c "from structpose.render.anny_body import load_body; load_body()" || \
	  echo "Anny's model cache not built (see the line above); the first render builds it (~2 min)"

demo: setup
	$(BIN)/structpose demo --out demo_out

# the layer contracts (import-linter, pyproject.toml), lint and types first, then the tests
test: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest tests

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) demo_out

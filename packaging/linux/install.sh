#!/bin/sh
# Install the unpacked bundle for the current user (or system-wide with PREFIX=/usr/local as root):
#   tar xzf instruction-workbench-*-linux-*.tar.gz && instruction-workbench/install.sh
# Copies the bundle to $PREFIX/lib/instruction-workbench, links $PREFIX/bin/instruction-workbench,
# and installs the desktop file, the icons and the AppStream metainfo.
# Uninstall: instruction-workbench/install.sh --uninstall (same PREFIX).
set -eu
APP_ID=io.github.instruction_workbench.InstructionWorkbench
PREFIX=${PREFIX:-$HOME/.local}
HERE=$(cd "$(dirname "$0")" && pwd)
DEST="$PREFIX/lib/instruction-workbench"
SHARE="$PREFIX/share"

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$DEST" "$PREFIX/bin/instruction-workbench" "$SHARE/applications/$APP_ID.desktop" \
        "$SHARE/metainfo/$APP_ID.metainfo.xml"
    find "$SHARE/icons/hicolor" -name "$APP_ID.*" -delete 2>/dev/null || true
    echo "removed Instruction Workbench from $PREFIX"
    exit 0
fi

mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$SHARE/applications" "$SHARE/metainfo" "$SHARE/icons"
if [ "$HERE" != "$DEST" ]; then
    rm -rf "$DEST"
    cp -r "$HERE" "$DEST"
fi
ln -sf "$DEST/instruction-workbench" "$PREFIX/bin/instruction-workbench"
# Exec= names the binary; give the full path in case $PREFIX/bin is not on PATH.
sed "s#^Exec=instruction-workbench#Exec=$DEST/instruction-workbench#; s#^TryExec=.*#TryExec=$DEST/instruction-workbench#" \
    "$HERE/share/$APP_ID.desktop" > "$SHARE/applications/$APP_ID.desktop"
cp "$HERE/share/$APP_ID.metainfo.xml" "$SHARE/metainfo/"
cp -r "$HERE/share/hicolor" "$SHARE/icons/"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
echo "installed Instruction Workbench in $DEST (command: $PREFIX/bin/instruction-workbench)"

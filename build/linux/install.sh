#!/usr/bin/env bash
# Install the FieldScreen Linux archive system-wide (run as root from the unpacked archive):
#   sudo ./install.sh [--provision FILE]
# Copies the app to /opt/fieldscreen, adds the menu entry and icon, and places the provisioning
# file (if given) in /etc/xdg/FieldScreen/, where first run picks it up.
# Uninstall: sudo ./install.sh --uninstall (user data in ~/.local/share/FieldScreen stays; wipe it
# from the app or with `fieldscreen wipe` first).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX=/opt/fieldscreen
if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$PREFIX" /usr/share/applications/fieldscreen.desktop \
        /usr/share/icons/hicolor/256x256/apps/fieldscreen.png /usr/local/bin/fieldscreen \
        /etc/xdg/FieldScreen/fieldscreen-provisioning.json
    echo "FieldScreen removed."
    exit 0
fi
install -d "$PREFIX"
cp -a "$HERE/fieldscreen/." "$PREFIX/"
install -m 0644 "$HERE/fieldscreen.desktop" /usr/share/applications/fieldscreen.desktop
install -D -m 0644 "$HERE/fieldscreen-256.png" /usr/share/icons/hicolor/256x256/apps/fieldscreen.png
ln -sf "$PREFIX/fieldscreen" /usr/local/bin/fieldscreen
if [ "${1:-}" = "--provision" ]; then
    install -d -m 0755 /etc/xdg/FieldScreen
    install -m 0644 "$2" /etc/xdg/FieldScreen/fieldscreen-provisioning.json
fi
QT_QPA_PLATFORM=offscreen "$PREFIX/fieldscreen" --self-test >/dev/null
echo "FieldScreen installed in $PREFIX."

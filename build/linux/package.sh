#!/usr/bin/env bash
# Linux release archive: the frozen folder plus the menu entry, icon and installer script.
#   build/linux/package.sh   ->   dist/fieldscreen-<version>-linux-<arch>-installer.tar.gz
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x dist/fieldscreen/fieldscreen ] || make dist
VERSION=$(python3 -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
STAGE=$(mktemp -d)
NAME="fieldscreen-$VERSION-linux-$(uname -m)-installer"
mkdir "$STAGE/$NAME"
cp -a dist/fieldscreen "$STAGE/$NAME/"
cp build/linux/fieldscreen.desktop build/linux/install.sh resources/icons/fieldscreen-256.png "$STAGE/$NAME/"
tar -C "$STAGE" -czf "dist/$NAME.tar.gz" "$NAME"
rm -rf "$STAGE"
echo "dist/$NAME.tar.gz"

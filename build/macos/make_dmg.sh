#!/usr/bin/env bash
# Build the macOS app bundle and disk image. Run on a Mac with Python 3.11 and make:
#   build/macos/make_dmg.sh
# The spec produces dist/FieldScreen.app (BUNDLE). Signing and notarisation need the
# organisation's Apple Developer identity: set CODESIGN_IDENTITY (and NOTARY_PROFILE for
# `xcrun notarytool`) to enable them; without them the image is unsigned.
# Provisioning: a signed bundle must not be modified, so IT places the provisioning file in
# "/Library/Application Support/FieldScreen/fieldscreen-provisioning.json" (or beside the .app,
# or chooses it at first run); see docs/deployment-it.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
make dist
VERSION=$(python3 -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
APP=dist/FieldScreen.app
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --deep --force --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
fi
STAGE=$(mktemp -d)
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "FieldScreen $VERSION" -srcfolder "$STAGE" -ov -format UDZO \
    "dist/FieldScreen-$VERSION-macos.dmg"
rm -rf "$STAGE"
if [ -n "${NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "dist/FieldScreen-$VERSION-macos.dmg" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "dist/FieldScreen-$VERSION-macos.dmg"
fi
"$APP/Contents/MacOS/fieldscreen" --self-test
echo "dist/FieldScreen-$VERSION-macos.dmg"

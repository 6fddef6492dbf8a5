"""``make dist``: build the one-folder frozen app into ``dist/`` and pack it into an archive.

PyInstaller's work files go to a temporary folder, never to this tracked ``build/`` folder.
Prints the folder's size (P9's first figure).
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    with tempfile.TemporaryDirectory(prefix="fieldscreen-pyinstaller-") as work:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "PyInstaller",
                "--noconfirm",
                "--clean",
                "--log-level",
                "WARN",
                "--workpath",
                work,
                "--distpath",
                str(DIST),
                str(ROOT / "build" / "fieldscreen.spec"),
            ],
            cwd=ROOT,
            check=True,
        )
    folder = DIST / name
    machine = platform.machine().lower() or "unknown"
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    archive_base = DIST / f"{name}-{version}-{system}-{machine}"
    archive = shutil.make_archive(
        str(archive_base), "zip" if system == "windows" else "gztar", DIST, name
    )
    size = folder_size(folder)
    print(f"frozen app: {folder} ({size / 1e6:.1f} MB)")
    print(f"archive:    {archive} ({Path(archive).stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

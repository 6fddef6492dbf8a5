"""``make smoke``: run the frozen app's ``--self-test`` offscreen; fail on a non-zero exit or on
anything unexpected on stderr. The last stage of the release build (and of CI)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Lines the offscreen platform prints on every window; nothing else may reach stderr.
EXPECTED_STDERR = ("This plugin does not support propagateSizeHints()",)


def executable() -> Path:
    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    suffix = ".exe" if sys.platform == "win32" else ""
    return ROOT / "dist" / name / f"{name}{suffix}"


def main() -> int:
    exe = executable()
    if not exe.exists():
        print(f"smoke test: {exe} does not exist; run 'make dist' first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="fieldscreen-smoke-") as tmp:
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": tmp,
            "TMPDIR": tmp,
            "XDG_DATA_HOME": tmp,
            "XDG_CONFIG_HOME": tmp,
            "XDG_CACHE_HOME": tmp,
        }
        env.pop("FIELDSCREEN_PROFILE", None)
        result = subprocess.run(
            [str(exe), "--self-test"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        leftovers = [p.name for p in Path(tmp).iterdir()]
    unexpected = [
        line for line in result.stderr.splitlines() if line.strip() and line not in EXPECTED_STDERR
    ]
    print(result.stdout, end="")
    if result.returncode != 0 or unexpected:
        print(f"smoke test FAILED: exit {result.returncode}", file=sys.stderr)
        for line in unexpected:
            print(f"  stderr: {line}", file=sys.stderr)
        return 1
    if any(name.startswith("fieldscreen-selftest-") for name in leftovers):
        print(f"smoke test FAILED: the self-test left files behind: {leftovers}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""P9: size of the frozen one-folder app (bar 150 MB) and its cold start against the unfrozen
app in the same run (bar 1.5x). Builds ``dist/`` first when it is missing or older than the code.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from benchmarks.harness import Result, ratio_result, run_process, sized, time_interleaved

ROOT = Path(__file__).resolve().parent.parent
RUNS = sized(7, 3)
SIZE_BAR_MB = 150.0


def _frozen_dir() -> Path:
    name: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    return ROOT / "dist" / name


def _stale(folder: Path) -> bool:
    exe = folder / folder.name
    if not exe.exists():
        return True
    built = exe.stat().st_mtime
    return any(p.stat().st_mtime > built for p in (ROOT / "fieldscreen").rglob("*.py"))


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def run() -> list[Result]:
    folder = _frozen_dir()
    if _stale(folder):
        subprocess.run([sys.executable, str(ROOT / "build" / "build.py")], check=True)
    size_mb = folder_size(folder) / 1e6
    env = {"QT_QPA_PLATFORM": "offscreen", "FIELDSCREEN_QUIT_WHEN_IDLE": "1"}
    with tempfile.TemporaryDirectory(prefix="fieldscreen-p9-") as tmp:
        frozen_profile, source_profile = Path(tmp) / "frozen", Path(tmp) / "source"

        def frozen() -> float:
            exe = folder / folder.name
            return run_process([str(exe), "--profile", str(frozen_profile)], env=env)

        def unfrozen() -> float:
            return run_process(
                [sys.executable, "-m", "fieldscreen", "--profile", str(source_profile)], env=env
            )

        measured, baseline = time_interleaved([frozen, unfrozen], runs=RUNS, warmup=1)
    return [
        Result(
            id="P9",
            name="frozen folder size",
            value=round(size_mb, 1),
            unit="MB",
            baseline=None,
            ratio=None,
            bar=f"≤ {SIZE_BAR_MB:.0f} MB",
            passed=size_mb <= SIZE_BAR_MB,
        ),
        ratio_result(
            id="P9",
            name="frozen cold start vs unfrozen",
            measured=measured,
            baseline=baseline,
            unit="s",
            bar=1.5,
            direction="at_most",
        ),
    ]

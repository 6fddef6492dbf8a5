"""P4: cold start of the whole app to its first window, against a bare PySide6 window.

Both are whole processes, offscreen, that quit once the event loop is idle after the window is
shown. The app runs with a fresh profile each time, as on a laptop's first start of the day.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Result, ratio_result, run_process, time_interleaved

RUNS = 9
HERE = Path(__file__).resolve().parent


def run() -> list[Result]:
    env = {"QT_QPA_PLATFORM": "offscreen", "FIELDSCREEN_QUIT_WHEN_IDLE": "1"}
    with tempfile.TemporaryDirectory(prefix="fieldscreen-p4-") as tmp:
        profile = Path(tmp) / "profile"

        def app() -> float:
            return run_process(
                [sys.executable, "-m", "fieldscreen", "--profile", str(profile)], env=env
            )

        def bare() -> float:
            return run_process([sys.executable, str(HERE / "bare_window.py")], env=env)

        measured, baseline = time_interleaved([app, bare], runs=RUNS, warmup=1)
    return [
        ratio_result(
            id="P4",
            name="cold start to the first window",
            measured=measured,
            baseline=baseline,
            unit="s",
            bar=1.5,
            direction="at_most",
        )
    ]

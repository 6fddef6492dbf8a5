"""P4: cold start of the whole app to its unlock window, against a bare PySide6 window.

Both are whole processes, offscreen, that quit once the event loop is idle after the window is
shown. The app's profile holds a vault with one account (made once before timing, with light
Argon2id parameters: no key is derived during start-up, the unlock window only lists users), so
every run starts as on a laptop's first start of the day and stops at the unlock window.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Result, ratio_result, run_process, time_interleaved

RUNS = 9
HERE = Path(__file__).resolve().parent

_CHECK = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from fieldscreen.app import build_context, build_services, create_application
from fieldscreen.ui.main_window import MainWindow
app = create_application()
window = MainWindow(build_services(build_context(sys.argv[1])))
assert window.stack.currentWidget() is window.unlock_page, window.stack.currentWidget()
"""


def _prepare(profile: Path) -> None:
    from fieldscreen import crypto
    from fieldscreen.paths import Paths
    from fieldscreen.vault import Vault

    paths = Paths.for_profile(profile).ensure()
    crypto.permit_test_parameters(True)
    try:
        vault = Vault.create(
            paths.data / "vault",
            admin_login="bench",
            passphrase=b"benchmark passphrase",
            kdf=crypto.KdfParams.for_tests(),
        )
        vault.close()
    finally:
        crypto.permit_test_parameters(False)


def run() -> list[Result]:
    env = {"QT_QPA_PLATFORM": "offscreen", "FIELDSCREEN_QUIT_WHEN_IDLE": "1"}
    with tempfile.TemporaryDirectory(prefix="fieldscreen-p4-") as tmp:
        profile = Path(tmp) / "profile"
        _prepare(profile)
        run_process([sys.executable, "-c", _CHECK, str(profile)], env=env)

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
            name="cold start to the unlock window",
            measured=measured,
            baseline=baseline,
            unit="s",
            bar=1.5,
            direction="at_most",
        )
    ]

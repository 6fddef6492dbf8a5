"""P4: cold start of the whole app to its unlock window, against a bare PySide6 window.

Both are whole processes, offscreen, that quit once the event loop is idle after the window is
shown. The app starts as a user starts it: ``fieldscreen`` with no arguments, its profile in the
user's platform folders (here the XDG folders of a temporary home), holding a vault with two
accounts (made once before timing, with light Argon2id parameters: no key is derived during
start-up, the unlock window only lists the logins). The package's bytecode is compiled ahead,
as ``pip install`` and the frozen build do; a source checkout run with PYTHONDONTWRITEBYTECODE
would otherwise compile every module at each start, which no installed app does.
"""

from __future__ import annotations

import compileall
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.harness import Result, ratio_result, run_process, sized, time_interleaved

RUNS = sized(9, 3)
HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent / "fieldscreen"

_CHECK = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from fieldscreen.app import build_context, build_services, create_application
from fieldscreen.ui.main_window import MainWindow
app = create_application()
window = MainWindow(build_services(build_context(None)))
assert window.stack.currentWidget() is window.unlock_page, window.stack.currentWidget()
assert window.unlock_page.user.count() == 2, window.unlock_page.user.count()
"""


def home_env(home: Path) -> dict[str, str]:
    """The environment that puts the user's platform folders under ``home`` (Linux: XDG)."""
    return {
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "FIELDSCREEN_PROFILE": "",
    }


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def prepare(env: dict[str, str]) -> None:
    """A vault with two accounts in the default profile that ``env`` points at."""
    from fieldscreen import crypto
    from fieldscreen.paths import Paths
    from fieldscreen.vault import Vault

    with _environment(env):
        paths = Paths.default().ensure()
    crypto.permit_test_parameters(True)
    try:
        vault = Vault.create(
            paths.vault_dir,
            admin_login="bench",
            passphrase=b"benchmark passphrase",
            kdf=crypto.KdfParams.for_tests(),
        )
        vault.unlock("bench", b"benchmark passphrase")
        vault.add_user(
            "second",
            b"another benchmark passphrase",
            "specialist",
            admin_passphrase=b"benchmark passphrase",
        )
        vault.close()
    finally:
        crypto.permit_test_parameters(False)


def run() -> list[Result]:
    if not sys.platform.startswith("linux"):
        raise RuntimeError("P4 isolates the user's folders through XDG variables: run it on Linux")
    compileall.compile_dir(PACKAGE, quiet=1)
    with tempfile.TemporaryDirectory(prefix="fieldscreen-p4-") as tmp:
        env = {
            "QT_QPA_PLATFORM": "offscreen",
            "FIELDSCREEN_QUIT_WHEN_IDLE": "1",
            **home_env(Path(tmp) / "home"),
        }
        prepare(env)
        run_process([sys.executable, "-c", _CHECK], env=env)

        def app() -> float:
            return run_process([sys.executable, "-m", "fieldscreen"], env=env)

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
            details={"start": "fieldscreen with no arguments, default profile, bytecode cached"},
        )
    ]

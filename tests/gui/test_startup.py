"""P4: the unlock window is shown without the vault's storage and cryptography stack.

The window lists the logins from the key file's plain JSON; the vault (sqlite-utils,
cryptography) is imported on a worker after the first paint. Only a short list of our own
modules, and none of the Qt types that are costly to create, may be loaded before the window is
shown (``benchmarks/p4_startup.py`` measures the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.p4_startup import home_env
from fieldscreen import crypto
from fieldscreen.paths import Paths
from fieldscreen.ui.backends import KEY_FILE, VaultBackend, read_logins, read_roster
from fieldscreen.vault import Vault

ROOT = Path(__file__).resolve().parents[2]

_START = """
import sys
from fieldscreen.app import build_context, build_services, create_application
from fieldscreen.ui.main_window import MainWindow
from PySide6.QtCore import QCoreApplication
app = create_application()
services = build_services(build_context(sys.argv[1]))
window = MainWindow(services)
window.show()
for _ in range(50):
    QCoreApplication.processEvents()
    services.ops.wait_idle(2000)
heavy = sorted(m for m in ("fieldscreen.vault", "cryptography", "sqlite_utils", "sqlite3")
               if m in sys.modules)
users = [window.unlock_page.user.itemText(i) for i in range(window.unlock_page.user.count())]
print(heavy, users, window.stack.currentWidget() is window.unlock_page)
from fieldscreen.app import warm_after_paint
warm_after_paint(services)
services.ops.wait_idle(120_000)  # generous: a busy machine
print("fieldscreen.vault" in sys.modules and services.vault._vault is not None)
"""


def _make_vault(folder: Path, *logins: str) -> None:
    crypto.permit_test_parameters(True)
    try:
        vault = Vault.create(
            folder,
            admin_login="ana",
            passphrase=b"admin passphrase long",
            kdf=crypto.KdfParams.for_tests(),
        )
        vault.unlock("ana", b"admin passphrase long")
        for login in logins:
            vault.add_user(
                login,
                b"another passphrase",
                "specialist",
                admin_passphrase=b"admin passphrase long",
            )
        vault.close()
    finally:
        crypto.permit_test_parameters(False)


def test_unlock_window_shows_without_importing_the_vault(tmp_path: Path) -> None:
    paths = Paths.for_profile(tmp_path / "profile").ensure()
    _make_vault(paths.data / "vault", "luis")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", _START, str(tmp_path / "profile")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "[] ['ana', 'luis'] True", out
    assert out[1] == "True", out  # the warm-up after the first paint opened the vault


def test_the_cheap_roster_is_the_vaults_list(tmp_path: Path) -> None:
    folder = tmp_path / "vault"
    _make_vault(folder, "luis", "marta")
    roster = read_roster(folder / KEY_FILE)
    assert roster is not None
    vault = Vault.open(folder)
    try:
        assert [(u.name, u.role) for u in roster] == [(u.login, u.role) for u in vault.users()]
    finally:
        vault.close()
    assert [u.name for u in VaultBackend(folder).users()] == ["ana", "luis", "marta"]


@pytest.mark.parametrize("content", ["", "{", '{"users": 3}', '{"users": []}', '{"x": 1}'])
def test_an_unreadable_roster_falls_back_to_the_vault(tmp_path: Path, content: str) -> None:
    key_file = tmp_path / KEY_FILE
    key_file.write_text(content, encoding="utf-8")
    assert read_roster(key_file) is None
    assert read_roster(tmp_path / "missing") is None


#: Every module of ours that may be imported before the unlock window is shown. A module added
#: to the start-up path must be added here on purpose (and P4 measured again).
ALLOWED_BEFORE_SHOW = {
    "fieldscreen",
    "fieldscreen.__main__",
    "fieldscreen.app",
    "fieldscreen.cli",
    "fieldscreen.errors",
    "fieldscreen.paths",
    "fieldscreen.settings",
    "fieldscreen.ui",
    "fieldscreen.ui.backends",
    "fieldscreen.ui.common",
    "fieldscreen.ui.i18n",
    "fieldscreen.ui.idle",
    "fieldscreen.ui.main_window",
    "fieldscreen.ui.shell",  # the screen registry (it builds the unlock screen), controllers
    "fieldscreen.ui.shell.screens",
    "fieldscreen.ui.shell.idle_lock",
    "fieldscreen.ui.shell.sync_ticks",
    "fieldscreen.ui.shell.enrolment",
    "fieldscreen.ui.shell.language",
    "fieldscreen.ui.shell.lock",
    "fieldscreen.ui.shell.navigation",
    "fieldscreen.ui.shell.resume",
    "fieldscreen.ui.shell.home",
    "fieldscreen.ui.shell.case_list",
    "fieldscreen.ui.operations",
    "fieldscreen.ui.unlock",
}
#: Third-party packages allowed before the window is shown.
THIRD_PARTY_BEFORE_SHOW = {
    "PySide6",
    "shiboken6",
    "shibokensupport",
    "signature_bootstrap",
    "platformdirs",
}
#: Qt types whose creation costs start-up time (their enums are made when the type is first
#: touched: the ``Qt`` namespace alone takes about 20 ms), none needed by the unlock window.
QT_TYPES_NOT_BEFORE_SHOW = {
    "Qt",
    "QEvent",
    "QKeySequence",
    "QShortcut",
    "QIcon",
    "QStyle",
    "QMessageBox",
    "QDialog",
    "QDialogButtonBox",
    "QPlainTextEdit",
}

_ENTRY = """
import json, runpy, sys
import PySide6.QtCore as C, PySide6.QtGui as G, PySide6.QtWidgets as W
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMainWindow

report = {}
show = QMainWindow.show

def spy(window):
    show(window)
    if report:
        return
    report["modules"] = sorted(sys.modules)
    report["qt_types"] = sorted(n for m in (C, G, W) for n in m.__dict__)
    page = window.unlock_page
    report["logins"] = [page.user.itemText(i) for i in range(page.user.count())]
    report["unlock_shown"] = window.stack.currentWidget() is page
    # The user types at once and presses Enter, before the warm-up has loaded the vault.
    from fieldscreen import crypto
    crypto.permit_test_parameters(True)  # the profile's vault has light test parameters
    from PySide6.QtTest import QTest
    page.user.setCurrentIndex(page.user.findData("luis"))
    QTest.keyClicks(page.passphrase, "another passphrase")
    report["vault_loaded_at_enter"] = "fieldscreen.vault" in sys.modules
    QTest.keyClick(page.passphrase, C.Qt.Key.Key_Return)
    waited = [0]

    def poll():
        user = window.services.user
        if user is not None or waited[0] > 2400:  # two minutes: generous for a busy machine
            report["unlocked_as"] = user.name if user is not None else None
            report["home"] = window.stack.currentWidget() is window._built("home")
            W.QApplication.instance().quit()
            return
        waited[0] += 1
        QTimer.singleShot(50, poll)

    poll()

QMainWindow.show = spy
sys.argv = ["fieldscreen"]
try:
    runpy.run_module("fieldscreen", run_name="__main__")
except SystemExit as exit:
    report["exit"] = exit.code
print(json.dumps(report))
"""


def test_the_app_shows_the_unlock_window_with_only_what_it_needs(tmp_path: Path) -> None:
    env = {**os.environ, **home_env(tmp_path / "home")}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    env.pop("FIELDSCREEN_QUIT_WHEN_IDLE", None)
    saved = {k: os.environ.get(k) for k in home_env(tmp_path)}
    os.environ.update(home_env(tmp_path / "home"))
    try:
        folder = Paths.default().ensure().vault_dir
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    _make_vault(folder, "luis")
    result = subprocess.run(
        [sys.executable, "-c", _ENTRY],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    ours = {m for m in report["modules"] if m.split(".")[0] == "fieldscreen"}
    assert ours <= ALLOWED_BEFORE_SHOW, sorted(ours - ALLOWED_BEFORE_SHOW)
    tops = {m.split(".")[0] for m in report["modules"]}
    # The interpreter's own site hooks (a Linux distribution's Python ships a sitecustomize
    # that only some users' processes import) are not ours to keep out.
    site_hooks = {"sitecustomize", "usercustomize"}
    third = {
        t
        for t in tops
        if t not in sys.stdlib_module_names and not t.startswith("_") and t not in site_hooks
    }
    assert third <= THIRD_PARTY_BEFORE_SHOW | {"fieldscreen"}, sorted(third)
    costly = QT_TYPES_NOT_BEFORE_SHOW & set(report["qt_types"])
    assert not costly, sorted(costly)
    assert report["unlock_shown"] is True
    assert report["logins"] == ["ana", "luis"]
    assert report["vault_loaded_at_enter"] is False
    assert report["unlocked_as"] == "luis"  # Enter before the warm-up: the unlock still works
    assert report["home"] is True
    assert report.get("exit", 0) == 0


def test_the_logins_are_read_without_the_ports_records(tmp_path: Path) -> None:
    folder = tmp_path / "vault"
    _make_vault(folder, "luis")
    assert read_logins(folder / KEY_FILE) == [("ana", "admin"), ("luis", "specialist")]
    assert VaultBackend(folder).logins() == ["ana", "luis"]
    assert VaultBackend(tmp_path / "none").logins() == []
    (folder / KEY_FILE).write_text("{", encoding="utf-8")
    assert VaultBackend(folder).logins() is None  # the window then asks the vault on a worker

"""P4: the unlock window is shown without the vault's storage and cryptography stack.

The window lists the logins from the key file's plain JSON; the vault (sqlite-utils,
cryptography) is imported on a worker after the first paint.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.paths import Paths
from fieldscreen.ui.backends import KEY_FILE, VaultBackend, read_roster
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
services.ops.wait_idle(20000)
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

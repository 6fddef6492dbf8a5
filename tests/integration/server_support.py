"""A test server's storage, its receipt key unlocked with a passphrase under light Argon2id
parameters (the product's own unlock path; only the cost is a test's)."""

from __future__ import annotations

from pathlib import Path

from fieldscreen import crypto
from fieldscreen.paths import Paths
from fieldscreen.sync.server.storage import Storage
from fieldscreen.vault import Vault

#: The server passphrase of every test database opened with :func:`open_storage`.
SERVER_PASSPHRASE = b"the test server's passphrase"


def open_storage(url: str) -> Storage:
    with crypto.permitting_test_parameters():
        return Storage.open(url, passphrase=SERVER_PASSPHRASE, kdf=crypto.KdfParams.for_tests())


def passphrase_file_for_serve(storage: Storage, folder: Path) -> Path:
    """Re-protect ``storage``'s receipt key at production cost (a ``serve`` process refuses
    test parameters) and write the passphrase file that process reads."""
    with crypto.permitting_test_parameters():
        storage.repos.keys.change_passphrase(SERVER_PASSPHRASE, SERVER_PASSPHRASE)
    path = folder / "server-passphrase"
    path.write_bytes(SERVER_PASSPHRASE + b"\n")
    path.chmod(0o600)
    return path


def new_profile(tmp_path: Path, passphrase: str, admin: str = "admin1") -> Path:
    """A laptop profile under ``tmp_path`` with a vault whose first admin is ``admin``, and the
    passphrase in ``tmp_path / "pass.txt"`` for the commands' ``--passphrase-file``."""
    root = tmp_path / "profile"
    paths = Paths.for_profile(root).ensure()
    Vault.create(
        paths.vault_dir,
        admin_login=admin,
        passphrase=passphrase.encode(),
        kdf=crypto.KdfParams.for_tests(),
    ).close()
    (tmp_path / "pass.txt").write_text(passphrase + "\n", encoding="utf-8")
    return root

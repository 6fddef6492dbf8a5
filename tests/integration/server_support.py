"""A test server's storage, its receipt key unlocked with a passphrase under light Argon2id
parameters (the product's own unlock path; only the cost is a test's)."""

from __future__ import annotations

from pathlib import Path

from fieldscreen import crypto
from fieldscreen.sync.server.storage import Storage

#: The server passphrase of every test database opened with :func:`open_storage`.
SERVER_PASSPHRASE = b"the test server's passphrase"


def open_storage(url: str) -> Storage:
    with crypto.permitting_test_parameters():
        return Storage.open(url, passphrase=SERVER_PASSPHRASE, kdf=crypto.KdfParams.for_tests())


def passphrase_file_for_serve(storage: Storage, folder: Path) -> Path:
    """Re-protect ``storage``'s receipt key at production cost (a ``serve`` process refuses
    test parameters) and write the passphrase file that process reads."""
    with crypto.permitting_test_parameters():
        storage.change_passphrase(SERVER_PASSPHRASE, SERVER_PASSPHRASE)
    path = folder / "server-passphrase"
    path.write_bytes(SERVER_PASSPHRASE + b"\n")
    path.chmod(0o600)
    return path

"""Server key custody, played by someone else on the server machine: the database file and its
companions are the server user's alone (0600 in a 0700 folder), a looser file is tightened and
reported at start, and another user of the machine cannot read them."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from fieldscreen import crypto
from fieldscreen.sync.envelope import key_id_hex
from fieldscreen.sync.errors import ServerError, SyncError
from fieldscreen.sync.server import db
from fieldscreen.sync.server.api import create_app
from fieldscreen.sync.server.cli import PASSPHRASE_ENV
from fieldscreen.sync.server.cli import main as server_main
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.live import free_port
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import Receipt, sign_document, verify_document
from fieldscreen.sync.simulate import SimOrg
from tests.integration.server_support import (
    SERVER_PASSPHRASE,
    open_storage,
    passphrase_file_for_serve,
)

posix = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _files(path: Path) -> list[Path]:
    return [p for p in (path, *(Path(f"{path}{s}") for s in db.SQLITE_COMPANIONS)) if p.exists()]


def _other_user_reads(path: Path) -> bool:
    """Whether the unprivileged user ``nobody`` can open ``path`` (run as root only)."""
    code = (
        "import os, sys\n"
        "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
        "try:\n    open(sys.argv[1], 'rb').read(1)\nexcept PermissionError:\n    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], check=False, timeout=60)
    assert done.returncode in (0, 3), done
    return done.returncode == 0


@posix
def test_a_new_database_is_the_server_users_alone(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "server"
    path = folder / "server.sqlite3"
    old = os.umask(0o022)  # the usual umask: SQLite alone would make 0644 files
    try:
        storage = Storage.open(str(path))
        org = SimOrg()
        storage.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
        storage.repos.credentials.create_credential("admin", [], "x")
        files = _files(path)
        assert {p.name for p in files} >= {"server.sqlite3", "server.sqlite3-wal"}
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert _mode(folder) == 0o700
        assert storage.notices == []
        storage.close()
    finally:
        os.umask(old)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user of the machine may enter (as a server's data folder often is)."""
    folder = Path(tempfile.mkdtemp(prefix="fieldscreen-custody-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


@posix
def test_a_loose_database_is_tightened_and_reported_at_start(
    shared_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_folder / "server.sqlite3"
    Storage.open(str(path)).close()
    for file in _files(path):
        file.chmod(0o644)
    Path(f"{path}-wal").write_bytes(b"")  # a companion left readable by an older version
    Path(f"{path}-wal").chmod(0o666)
    if os.geteuid() == 0:
        assert _other_user_reads(path)  # the attack, before: another user reads the file

    code = server_main(["devices", "list", "--db", str(path)])
    _, err = capsys.readouterr()
    assert code == 0
    assert err.count("now readable by the server's user only (0600)") == 2, err
    assert "mode 0644" in err
    assert "mode 0666" in err
    assert {_mode(p) for p in _files(path)} == {0o600}
    if os.geteuid() == 0:
        assert not any(_other_user_reads(p) for p in _files(path))
    storage = Storage.open(str(path))
    assert storage.notices == []  # reported once, at the start that fixed it
    with storage.engine.connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(t.audit.c.action))]
    storage.close()
    assert actions.count("file-mode-tightened") == 2


@posix
def test_a_database_the_server_cannot_tighten_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "server.sqlite3"
    Storage.open(str(path)).close()
    path.chmod(0o640)

    def not_owner(*_args: object) -> None:
        raise PermissionError("not the owner")

    monkeypatch.setattr(os, "chmod", not_owner)  # as for a file another user owns
    with pytest.raises(ServerError) as caught:
        Storage.open(str(path))
    assert caught.value.code == "server-file-mode-loose"
    assert "0640" in str(caught.value)
    assert "chmod 600" in str(caught.value)
    monkeypatch.undo()
    folder = tmp_path / "not-a-file.sqlite3"
    folder.mkdir()
    with pytest.raises(ServerError) as caught:
        Storage.open(str(folder))
    assert caught.value.code == "server-file-mode-loose"


@posix
def test_init_org_writes_its_keys_in_a_private_folder(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    out.mkdir(mode=0o755)
    out.chmod(0o755)
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery staple\n")
    code = server_main(
        [
            "init-org",
            *("--db", str(tmp_path / "server.sqlite3")),
            *("--out", str(out), "--passphrase-file", str(passfile)),
        ]
    )
    assert code == 0
    assert _mode(out) == 0o700
    assert {_mode(p) for p in out.iterdir()} == {0o600}


# ---------------------------------------------------------------------- the receipt key
def _disk_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in _files(path))


def _canaries(private: bytes) -> list[bytes]:
    """The private key as it could sit in a file: raw, base64, hex."""
    import base64

    return [private, base64.b64encode(private), private.hex().encode()]


def _hits(path: Path, private: bytes) -> int:
    data = _disk_bytes(path)
    return sum(data.count(c) for c in _canaries(private))


def _write_clear_key(storage: Storage) -> bytes:
    """The receipt key as versions before this one stored it: raw, in the clear."""
    private, public = crypto.generate_signing_keypair()
    with storage.engine.begin() as conn:
        conn.execute(sa.delete(t.org_keys).where(t.org_keys.c.kind == "receipt"))
        conn.execute(
            t.org_keys.insert().values(
                kind="receipt", key_id=key_id_hex(public), public_key=public, private_key=private
            )
        )
    return private


def test_the_receipt_key_never_reaches_the_database_file_in_the_clear(tmp_path: Path) -> None:
    path = tmp_path / "server.sqlite3"
    storage = open_storage(str(path))
    org = SimOrg()
    storage.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    private = storage.repos.keys.receipt_private
    assert private is not None
    assert storage.repos.keys.receipt_key_state() == "protected"
    storage.repos.receipts.receipt("dev-x", [("a" * 32, "b" * 64)], [])
    assert _hits(path, private) == 0
    storage.close()
    assert _hits(path, private) == 0


def test_a_clear_receipt_key_is_encrypted_and_scrubbed_at_the_first_unlock(
    db_url: str, tmp_path: Path
) -> None:
    org = SimOrg()
    old = Storage.open(db_url)  # an older server: no passphrase, the key stored raw
    old.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    private = _write_clear_key(old)
    public = crypto.public_from_private(private)
    for i in range(50):  # ordinary traffic around it: the key's page is in the file and WAL
        old.repos.audit.record("cli", "padding", {"i": i})
    assert old.repos.keys.receipt_key_state() == "clear"
    file = db.sqlite_file(db_url)
    if file is not None:
        assert _hits(file, private) >= 1  # the attack, before: the key read from the file
    old.close()

    storage = open_storage(db_url)  # the first start with a passphrase
    try:
        assert storage.repos.keys.receipt_key_state() == "protected"
        assert (
            storage.repos.keys.keys().receipt_public == public
        )  # the key laptops pinned still works
        receipt = storage.repos.receipts.receipt("dev-x", [("a" * 32, "b" * 64)], [])
        verify_document(receipt.to_bytes(), public, kind="receipt")
        with storage.engine.connect() as conn:
            actions = [r.action for r in conn.execute(sa.select(t.audit.c.action))]
        assert actions.count("receipt-key-protected") == 1
        if file is not None:
            assert _hits(file, private) == 0
    finally:
        storage.close()
    if file is not None:
        assert _hits(file, private) == 0


def test_nobody_signs_a_receipt_a_laptop_accepts_without_the_passphrase(
    tmp_path: Path, rng: random.Random
) -> None:
    """Someone with the server's database file (a copy, or write access): with no passphrase,
    a wrong one, a tampered or a swapped key, no receipt that the laptop's pinned key accepts
    comes out. Counted over seeded variants."""
    path = tmp_path / "server.sqlite3"
    storage = open_storage(str(path))
    org = SimOrg()
    storage.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    pinned = storage.repos.keys.keys().receipt_public  # what every laptop's provisioning holds
    genuine = storage.repos.receipts.receipt("dev-x", [("a" * 32, "b" * 64)], []).to_bytes()
    verify_document(genuine, pinned, kind="receipt")  # the control: a real one verifies
    storage.close()

    attempts = accepted = refused = 0
    codes: set[str] = set()
    kinds: tuple[str, ...] = (
        "no passphrase",
        "wrong passphrase",
        "flipped byte",
        "own key, pinned public",
    )
    kinds += ("own key and own public", "own signature")
    variants = int(os.environ.get("FIELDSCREEN_CUSTODY_VARIANTS", "0")) or (
        300 if os.environ.get("FIELDSCREEN_FULL") else 24
    )
    for n in range(variants):
        kind = kinds[n % len(kinds)]
        copy = tmp_path / f"copy-{n}.sqlite3"
        shutil.copy(path, copy)
        forged: bytes | None = None
        with crypto.permitting_test_parameters():
            attacker = Storage.open(str(copy))
            try:
                forged = _attack(attacker, kind, rng)
            except ServerError as error:
                codes.add(error.code)
                refused += 1
            finally:
                attacker.close()
        attempts += 1
        if forged is not None:
            try:
                verify_document(forged, pinned, kind="receipt")
            except SyncError:
                refused += 1
            else:
                accepted += 1
        copy.unlink()
    print(f"forged receipts: {attempts} attempts, accepted {accepted}, refused {refused}")
    assert accepted == 0
    assert refused == attempts
    assert codes <= {"server-locked", "server-passphrase-wrong", "server-receipt-key-damaged"}


def _attack(attacker: Storage, kind: str, rng: random.Random) -> bytes | None:
    """One try at a receipt for ``dev-x`` from a copy of the database; the bytes, if any."""
    guess = rng.randbytes(12).hex().encode()
    own_private, own_public = crypto.generate_signing_keypair()
    row = attacker.repos.keys.receipt_row()
    if kind == "no passphrase":
        with pytest.raises(ServerError):
            create_app(attacker)
    elif kind == "wrong passphrase":
        attacker.repos.keys.unlock(guess)
    elif kind == "flipped byte":
        stored = bytearray(row.private_key)
        stored[rng.randrange(len(stored))] ^= 1 << rng.randrange(8)
        _store(attacker, bytes(stored), row.public_key)
        attacker.repos.keys.unlock(SERVER_PASSPHRASE)
    elif kind == "own key, pinned public":  # the attacker's key under their own passphrase
        blob = crypto.protect_private_key(own_private, guess, params=crypto.KdfParams.for_tests())
        _store(attacker, json.dumps(blob).encode(), row.public_key)
        attacker.repos.keys.unlock(guess)
    elif kind == "own key and own public":  # the server starts, but signs with another key
        blob = crypto.protect_private_key(own_private, guess, params=crypto.KdfParams.for_tests())
        _store(attacker, json.dumps(blob).encode(), own_public)
        attacker.repos.keys.unlock(guess)
    else:  # sign the receipt's content outside the server, with any key at hand
        receipt = Receipt("dev-x", (("a" * 32, "b" * 64),), ())
        document = sign_document(
            "receipt", "dev-x", "1", receipt.to_content(), own_private, bytes(row.public_key)
        )
        return document.to_bytes()
    return attacker.repos.receipts.receipt("dev-x", [("a" * 32, "b" * 64)], []).to_bytes()


def _store(storage: Storage, private_blob: bytes, public: bytes) -> None:
    with storage.engine.begin() as conn:
        conn.execute(
            sa.update(t.org_keys)
            .where(t.org_keys.c.kind == "receipt")
            .values(private_key=private_blob, public_key=bytes(public), key_id=key_id_hex(public))
        )


def test_the_passphrase_command_sets_and_changes_it_and_serve_needs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = str(tmp_path / "server.sqlite3")
    org = SimOrg()
    Storage.open(db_path).repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    first, second, short = tmp_path / "first", tmp_path / "second", tmp_path / "short"
    first.write_text("first server passphrase\n")
    second.write_text("second server passphrase\n")
    short.write_text("too short\n")

    def run(*args: str) -> tuple[int, str]:
        code = server_main([*args, "--db", db_path])
        return code, capsys.readouterr().err

    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    code, err = run("serve", "--port", "0")  # no passphrase: refused before serving
    assert code == 1
    assert "passphrase is needed to unlock its receipt key" in err
    assert " on http://" not in err
    assert run("passphrase", "--new-passphrase-file", str(short))[0] == 1  # too short
    with crypto.permitting_test_parameters():
        assert run("passphrase", "--new-passphrase-file", str(first))[0] == 0
        code, err = run(
            "passphrase", "--new-passphrase-file", str(second), "--passphrase-file", str(second)
        )
        assert code == 1
        assert "passphrase is wrong" in err
        monkeypatch.setenv(PASSPHRASE_ENV, str(first))  # the current one, from the environment
        assert run("passphrase", "--new-passphrase-file", str(second))[0] == 0
        code, err = run("serve", "--port", "0")  # the old passphrase opens nothing any more
        assert code == 1
        assert "passphrase is wrong" in err
    storage = Storage.open(db_path)
    with storage.engine.connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(t.audit.c.action))]
    storage.close()
    assert actions.count("receipt-key-created") == 1
    assert actions.count("receipt-key-passphrase-changed") == 1


def test_serve_starts_with_the_passphrase_file_named_in_its_environment(tmp_path: Path) -> None:
    """The real process, as a service manager starts it: production Argon2id cost."""
    db_path = str(tmp_path / "server.sqlite3")
    org = SimOrg()
    storage = open_storage(db_path)
    storage.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    passfile = passphrase_file_for_serve(storage, tmp_path)
    pinned = storage.repos.keys.keys().receipt_public
    storage.close()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), PASSPHRASE_ENV: str(passfile)}
    port = free_port()
    args = [sys.executable, "-m", "fieldscreen.sync.server.cli", "serve", "--db", db_path]
    proc = subprocess.Popen([*args, "--port", str(port)], cwd=root, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "serve did not answer"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            assert health.status_code == 200
            break
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    # and the key it serves with is the one laptops pinned
    assert Storage.open(db_path).repos.keys.keys().receipt_public == pinned


def test_a_replaced_receipt_key_leaves_the_old_one_nowhere(tmp_path: Path) -> None:
    path = tmp_path / "server.sqlite3"
    storage = open_storage(str(path))
    old_private = storage.repos.keys.receipt_private
    old_public = storage.repos.keys.receipt_key_id()
    assert old_private is not None
    with crypto.permitting_test_parameters():
        storage.repos.keys.replace_receipt_key(SERVER_PASSPHRASE, kdf=crypto.KdfParams.for_tests())
    assert storage.repos.keys.receipt_key_id() != old_public
    org = SimOrg()
    storage.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    receipt = storage.repos.receipts.receipt("dev-x", [("a" * 32, "b" * 64)], []).to_bytes()
    verify_document(receipt, storage.repos.keys.keys().receipt_public, kind="receipt")
    with pytest.raises(SyncError):  # a laptop still pinned to the old key refuses it
        verify_document(receipt, crypto.public_from_private(old_private), kind="receipt")
    storage.close()
    assert _hits(path, old_private) == 0

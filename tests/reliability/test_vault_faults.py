"""Crashes and injected faults while the vault writes.

* Passphrase change killed (SIGKILL) at every I/O step of the key-file write: afterwards
  exactly one of the old and new passphrases opens the vault, and every record decrypts.
* User removal killed at every step of its key rotation (pending key file, database
  re-encryption, final key file): the vault opens and loses nothing, and once the pending file
  is on disk the removed user and the old key file are kept out.
* Passphrase change (a key rotation: a new key pair and a new master key) killed at every step
  of that rotation, an admin's and a specialist's: exactly one passphrase opens (the old one
  before the pending key file is on disk, the new one after), nothing is lost, and the key
  file from before the change opens nothing.
* An error (disk full) injected at every step of a key-file write: the old file is intact and
  the error is the catalogue's ``disk-full``.
* I/O errors injected at every page write of the database (RLIMIT_FSIZE on the writer, so the
  n-th write of the transaction fails with EFBIG) and disk full (``max_page_count``), for each
  kind of write: the previous state is intact and the error is ``io-error`` / ``disk-full``.
* Purge: the purged record's ciphertext and wrapped key, in every version it ever had, are
  found nowhere in the database or its WAL afterwards.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from fieldscreen.vault import keyring as keyring_module
from tests.reliability.vault_support import count, fork

pytestmark = pytest.mark.reliability

OLD = b"the old passphrase"
NEW = b"the new passphrase"
STEPS = ("create", "write", "fsync", "rename", "fsync-folder", "done")


@pytest.fixture(autouse=True)
def permitted() -> Iterator[None]:
    crypto.permit_test_parameters(True)
    yield
    crypto.permit_test_parameters(False)


def _make(folder: Path, clock: Callable[[], datetime] | None = None) -> list[str]:
    _, sealing_public = crypto.generate_sealing_keypair()
    _, signing_public = crypto.generate_signing_keypair()
    vault = Vault.create(
        folder, admin_login="admin1", passphrase=OLD, kdf=crypto.KdfParams.for_tests(), clock=clock
    )
    vault.set_org_keys(sealing_public, signing_public)
    records = [vault.new_draft("f", "1", {"n": n, "pad": "p" * 3000}) for n in range(4)]
    vault.finalise(records[0], record={"n": 0}, case_card={"c": 0})
    vault.close()
    return records


def _opens(folder: Path, passphrase: bytes) -> bool:
    vault = Vault.open(folder)
    try:
        vault.unlock("admin1", passphrase)
    except UnlockFailed:
        return False
    finally:
        vault.close()
    return True


def _logical_state(folder: Path, passphrase: bytes) -> str:
    """A hash of everything readable: records, case cards, outbox, plus the integrity result."""
    vault = Vault.open(folder)
    vault.unlock("admin1", passphrase)
    state: list[Any] = []
    for summary in vault.list_records():
        content = None
        if summary.status in ("draft", "finalised"):
            content = vault.load_record(summary.record_id)
        state.append([summary.record_id, summary.status, summary.version, content])
    for item in vault.outbox_page(states=["pending", "sending", "failed", "delivered"]):
        state.append([item.record_id, item.kind, item.device_seq, item.state])
    report = vault.integrity_check()
    vault.close()
    assert report.ok, report.to_json()
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def test_passphrase_change_killed_at_every_io_step(tmp_path: Path) -> None:
    outcomes = []
    for step in STEPS:
        folder = tmp_path / step / "data"
        _make(folder)
        before = _logical_state(folder, OLD)

        def child(fd: int, step: str = step, folder: Path = folder) -> None:
            vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
            vault.unlock("admin1", OLD)

            def hook(name: str) -> None:
                if name == step:
                    os.kill(os.getpid(), signal.SIGKILL)

            keyring_module.io_hook = hook
            vault.change_passphrase(OLD, NEW)

        pid, read_fd = fork(child)
        _, status = os.waitpid(pid, 0)
        os.close(read_fd)
        assert os.WIFSIGNALED(status), f"the writer was not killed at {step}"
        old_ok, new_ok = _opens(folder, OLD), _opens(folder, NEW)
        outcomes.append((step, old_ok, new_ok))
        assert old_ok != new_ok, f"killed at {step}: old {old_ok}, new {new_ok}"
        assert _logical_state(folder, NEW if new_ok else OLD) == before
        assert not list(folder.glob(".vault.keys.*.tmp"))  # the next unlock cleans up
    print(f"\npassphrase change killed at each step (step, old opens, new opens): {outcomes}")
    assert [o[1] for o in outcomes] == [True, True, True, True, False, False]


def test_key_file_write_errors_leave_the_old_file(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    _make(folder)
    vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
    vault.unlock("admin1", OLD)
    failures = 0
    try:
        for step in STEPS[:4]:
            before = (folder / "vault.keys").read_bytes()

            def hook(name: str, step: str = step) -> None:
                if name == step:
                    raise OSError(errno.ENOSPC, "No space left on device")

            keyring_module.io_hook = hook
            with pytest.raises(KnownError) as caught:
                vault.change_passphrase(OLD, NEW)
            assert caught.value.code == "disk-full"
            assert (folder / "vault.keys").read_bytes() == before
            assert not list(folder.glob(".vault.keys.*.tmp"))
            failures += 1
    finally:
        keyring_module.io_hook = None
    vault.close()
    assert _opens(folder, OLD)
    assert not _opens(folder, NEW)
    print(f"\nkey-file write errors injected: {failures}, previous file intact: {failures}")


def _operations(records: list[str]) -> list[tuple[str, Callable[[Vault], object]]]:
    return [
        ("save", lambda v: v.save_draft(records[1], {"n": 1, "pad": "q" * 6000})),
        ("new", lambda v: v.new_draft("f", "1", {"pad": "r" * 6000})),
        ("finalise", lambda v: v.finalise(records[2], record={"x": "y" * 5000}, case_card={})),
        ("outbox", lambda v: v.outbox_mark(records[0], "delivered")),
        ("travel", lambda v: v.travel_mode()),
    ]


def _fault_child(
    folder: Path, op: Callable[[Vault], object], limit: Callable[[Vault], None]
) -> Callable[[int], None]:
    def run(fd: int) -> None:
        vault = Vault.open(folder)
        vault.unlock("admin1", OLD)
        limit(vault)
        try:
            op(vault)
            result = "ok"
        except KnownError as error:
            result = error.code
        except Exception as error:  # an unexpected failure kind is reported, not hidden
            result = "unexpected " + type(error).__name__
        os.write(fd, result.encode())

    return run


def _run_child(run: Callable[[int], None]) -> str:
    pid, read_fd = fork(run)
    os.waitpid(pid, 0)
    result = os.read(read_fd, 200).decode()
    os.close(read_fd)
    return result


def test_io_errors_and_disk_full_at_every_write(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    records = _make(folder)
    points = count(8, 40)
    tally: dict[str, int] = {}
    for name, op in _operations(records):
        for n in range(points):

            def limit(vault: Vault, n: int = n) -> None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                vault._open_store().conn.execute("PRAGMA wal_autocheckpoint=0")
                wal = folder / "vault.sqlite3-wal"
                size = wal.stat().st_size if wal.exists() else 0
                allowed = size + n * 4120
                resource.setrlimit(resource.RLIMIT_FSIZE, (allowed, resource.RLIM_INFINITY))

            before = _logical_state(folder, OLD)
            result = _run_child(_fault_child(folder, op, limit))
            after = _logical_state(folder, OLD)
            if result == "ok":
                tally["succeeded"] = tally.get("succeeded", 0) + 1
                break  # the operation fits; the next operation starts from its result
            assert result in ("io-error", "disk-full"), f"{name} at write {n}: {result}"
            assert after == before, f"{name}: state changed after a failed write {n}"
            tally[f"io-error {name}"] = tally.get(f"io-error {name}", 0) + 1
        # disk full: the database may not grow by a single page
        before = _logical_state(folder, OLD)

        def full(vault: Vault) -> None:
            conn = vault._open_store().conn
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")

        result = _run_child(_fault_child(folder, op, full))
        assert result in ("ok", "disk-full", "vault-record-state"), f"{name}: {result}"
        if result == "disk-full":
            assert _logical_state(folder, OLD) == before
            tally["disk-full"] = tally.get("disk-full", 0) + 1
    print(f"\ninjected write faults: {tally}")
    assert sum(v for k, v in tally.items() if k.startswith("io-error")) >= len(_operations(records))


def test_purge_leaves_no_trace_of_the_record(tmp_path: Path) -> None:
    now = [datetime(2026, 5, 1, tzinfo=UTC)]
    folder = tmp_path / "data"
    _, sealing_public = crypto.generate_sealing_keypair()
    _, signing_public = crypto.generate_signing_keypair()
    vault = Vault.create(
        folder,
        admin_login="admin1",
        passphrase=OLD,
        kdf=crypto.KdfParams.for_tests(),
        clock=lambda: now[0],
    )
    vault.set_org_keys(sealing_public, signing_public)
    conn = vault._open_store().conn
    victim = vault.new_draft("f", "1", {"pad": "a" * 5000})
    keep = vault.new_draft("f", "1", {"pad": "b" * 5000})
    traces: list[bytes] = []
    for i in range(10):
        vault.save_draft(victim, {"pad": "a" * 5000, "i": i})
        vault.save_draft(keep, {"pad": "b" * 5000, "i": i})
        row = conn.execute(
            "SELECT ciphertext, wrapped_key FROM records WHERE id = ?", (victim,)
        ).fetchone()
        traces.extend([bytes(row[0]), bytes(row[1])])
    vault.finalise(victim, record={"pad": "c" * 5000}, case_card={"c": 1})
    row = conn.execute(
        "SELECT ciphertext, wrapped_key FROM records WHERE id = ?", (victim,)
    ).fetchone()
    traces.extend([bytes(row[0]), bytes(row[1])])
    needles = {t[i : i + 24] for t in traces for i in range(0, len(t) - 24, 600)}

    def hits() -> int:
        found = 0
        for suffix in ("", "-wal"):
            path = Path(str(folder / "vault.sqlite3") + suffix)
            data = path.read_bytes() if path.exists() else b""
            found += sum(needle in data for needle in needles)
        return found

    control = hits()
    now[0] += timedelta(days=8)
    assert vault.purge_due() == 1
    after_purge = hits()
    vault.save_draft(keep, {"pad": "b" * 5000, "i": 99})  # life goes on after the purge
    after_more = hits()
    vault.close()
    after_close = hits()
    print(
        f"\npurge: {len(needles)} slices of {len(traces)} ciphertexts and wrapped keys; "
        f"found before purge {control}, after purge {after_purge}, after more writes "
        f"{after_more}, after close {after_close}"
    )
    assert control > 0  # the scan does find the record while it exists
    assert (after_purge, after_more, after_close) == (0, 0, 0)


REMOVED = b"the removed user's passphrase"
#: The I/O steps of removing a user: the key file with the next roster pending, the database
#: re-encrypted in one transaction, the key file with the next roster alone.
ROTATION_STEPS = (
    *(f"pending:{s}" for s in (*STEPS[:5], "shred", "done")),
    "db:reencrypt",
    "db:commit",
    *(f"final:{s}" for s in (*STEPS[:5], "shred", "done")),
)


def test_user_removal_killed_at_every_step_of_the_key_rotation(tmp_path: Path) -> None:
    from fieldscreen.vault import rekey

    opened = lost = kept_out = expected_out = old_file_opens = 0
    outcomes = []
    for index, step in enumerate(ROTATION_STEPS):
        folder = tmp_path / f"s{index}" / "data"
        _make(folder)
        vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
        vault.unlock("admin1", OLD)
        vault.add_user("leaver", REMOVED, "specialist", admin_passphrase=OLD)
        vault.close()
        before = _logical_state(folder, OLD)
        old_copy = (folder / "vault.keys").read_bytes()

        def child(fd: int, index: int = index, folder: Path = folder) -> None:
            vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
            vault.unlock("admin1", OLD)
            seen = [0]

            def hook(name: str) -> None:
                if seen[0] == index:
                    os.kill(os.getpid(), signal.SIGKILL)
                seen[0] += 1

            keyring_module.io_hook = hook
            rekey.io_hook = hook
            vault.remove_user("leaver", admin_passphrase=OLD)

        pid, read_fd = fork(child)
        _, status = os.waitpid(pid, 0)
        os.close(read_fd)
        assert os.WIFSIGNALED(status), f"the writer was not killed at {step}"
        # The vault opens with the admin's passphrase (finishing the rotation if it began) and
        # has lost nothing.
        admin_opens = _opens(folder, OLD)
        opened += admin_opens
        state_kept = admin_opens and _logical_state(folder, OLD) == before
        lost += not state_kept
        started = index >= ROTATION_STEPS.index("pending:rename") + 1
        leaver = Vault.open(folder)
        try:
            leaver.unlock("leaver", REMOVED)
            leaver_in = True
        except (UnlockFailed, VaultError):
            leaver_in = False
        finally:
            leaver.close()
        if started:
            expected_out += 1
            kept_out += not leaver_in
            current = (folder / "vault.keys").read_bytes()
            (folder / "vault.keys").write_bytes(old_copy)
            with pytest.raises(VaultError) as refused:
                old_file_opens += _opens(folder, OLD)
            assert refused.value.code == "vault-roster-invalid"
            (folder / "vault.keys").write_bytes(current)
        assert not list(folder.glob(".vault.keys.*.tmp"))
        outcomes.append((step, admin_opens, state_kept, started, not leaver_in))
    print(
        f"\nuser removal killed at {len(ROTATION_STEPS)} steps of the key rotation: vault opened "
        f"{opened}, lost {lost}; rotation on disk at {expected_out} steps, removed user kept "
        f"out {kept_out}, old key file opened {old_file_opens}\n{outcomes}"
    )
    assert opened == len(ROTATION_STEPS)
    assert lost == 0
    assert kept_out == expected_out
    assert old_file_opens == 0


SPEC_OLD = b"the specialist's old passphrase"
SPEC_NEW = b"the specialist's new passphrase"
INTERIM = b"a passphrase used in between"


def _unlocks(folder: Path, login: str, passphrase: bytes) -> str:
    """``opens``, ``refused`` (the passphrase is not this account's) or the error's code."""
    vault = Vault.open(folder, sleep=lambda seconds: None)
    try:
        vault.unlock(login, passphrase)
    except UnlockFailed:
        return "refused"
    except VaultError as error:
        return error.code
    finally:
        vault.close()
    return "opens"


def test_passphrase_change_killed_at_every_step_of_its_key_rotation(tmp_path: Path) -> None:
    """A passphrase change is a key rotation (a new key pair and a new master key): killed at
    every step of it, for an admin's change and a specialist's, the vault opens with exactly
    one of the two passphrases (the old one until the pending key file is on disk, the new one
    from then on), loses nothing, and the key file from before the change opens nothing.
    Under ``make reliability`` four rounds: as created, after earlier changes of the same
    passphrase (a specialist's still awaiting an admin), with a duress passphrase set, and after
    an admin's rotation."""
    from fieldscreen.vault import rekey

    rounds = count(1, 4)
    tally = dict.fromkeys(("points", "opened", "lost", "unopenable", "both", "rolled-back"), 0)
    outcomes = []
    for round_ in range(rounds):
        for who in ("admin1", "spec1"):
            old, new = (OLD, NEW) if who == "admin1" else (SPEC_OLD, SPEC_NEW)
            for index, step in enumerate(ROTATION_STEPS):
                folder = tmp_path / f"{who}-{round_}-{index}" / "data"
                _make(folder)
                vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
                vault.unlock("admin1", OLD)
                vault.add_user("spec1", SPEC_OLD, "specialist", admin_passphrase=OLD)
                if round_ % 4 == 2:  # with a duress passphrase set
                    vault.set_duress_passphrase(b"a duress passphrase", admin_passphrase=OLD)
                elif round_ % 4 == 3:  # after an admin's rotation
                    vault.rotate_keys(admin_passphrase=OLD)
                vault.close()
                before = _logical_state(folder, OLD)
                if round_ % 4 == 1:  # changed before (a specialist's still awaits an admin)
                    vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
                    vault.unlock(who, old)
                    vault.change_passphrase(old, INTERIM)
                    vault.change_passphrase(INTERIM, old)
                    vault.close()
                old_copy = (folder / "vault.keys").read_bytes()

                def child(
                    fd: int,
                    index: int = index,
                    folder: Path = folder,
                    *,
                    who: str = who,
                    old: bytes = old,
                    new: bytes = new,
                ) -> None:
                    vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
                    vault.unlock(who, old)
                    seen = [0]

                    def hook(name: str) -> None:
                        if seen[0] == index:
                            os.kill(os.getpid(), signal.SIGKILL)
                        seen[0] += 1

                    keyring_module.io_hook = hook
                    rekey.io_hook = hook
                    vault.change_passphrase(old, new)

                pid, read_fd = fork(child)
                _, status = os.waitpid(pid, 0)
                os.close(read_fd)
                assert os.WIFSIGNALED(status), f"the writer was not killed at {step}"
                tally["points"] += 1
                started = index >= ROTATION_STEPS.index("pending:rename") + 1
                # the old passphrase first: a refused unlock changes nothing, an accepted one
                # (and the new one's) finishes the change
                old_result = _unlocks(folder, who, old)
                new_result = _unlocks(folder, who, new)
                opens = (old_result == "opens", new_result == "opens")
                tally["opened"] += any(opens)
                tally["unopenable"] += not any(opens)
                tally["both"] += all(opens)
                assert opens == ((False, True) if started else (True, False)), (
                    f"{who} killed at {step}: old {old_result}, new {new_result}"
                )
                admin_pass = NEW if who == "admin1" and started else OLD
                kept = _logical_state(folder, admin_pass) == before
                tally["lost"] += not kept
                if started:  # the key file from before the change, put back, opens nothing
                    current = (folder / "vault.keys").read_bytes()
                    (folder / "vault.keys").write_bytes(old_copy)
                    for passphrase in (old, new):
                        tally["rolled-back"] += _unlocks(folder, who, passphrase) == "opens"
                    (folder / "vault.keys").write_bytes(current)
                assert not list(folder.glob(".vault.keys.*.tmp"))
                outcomes.append((who, step, old_result, new_result, kept))
    print(
        f"\npassphrase change killed at {tally['points']} points ({len(ROTATION_STEPS)} steps of "
        f"its key rotation, admin and specialist, {rounds} round(s)): opened {tally['opened']}, "
        f"lost {tally['lost']}, unopenable {tally['unopenable']}, both passphrases "
        f"{tally['both']}, old key file put back opened {tally['rolled-back']}"
    )
    assert tally["opened"] == tally["points"] == rounds * 2 * len(ROTATION_STEPS)
    assert tally["lost"] == tally["unopenable"] == tally["both"] == tally["rolled-back"] == 0

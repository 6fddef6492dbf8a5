"""The server's audit log is a hash chain with signed checkpoints, on both databases: what the
product appends verifies, through a receipt-key replacement and appends made without the key;
many appending at once keep it linear; ``fieldscreen-server audit`` reports it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldscreen import crypto
from fieldscreen.sync.server import cli
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimOrg
from tests.integration.server_support import SERVER_PASSPHRASE, open_storage


def build_log(url: str, org: SimOrg, *, replace_key: bool = True) -> Storage:
    """A log as the product writes it: signed entries (key unlocked), entries appended by a
    command run without the passphrase, a receipt-key replacement, a checkpoint at the end."""
    store = open_storage(url)
    store.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    store.repos.credentials.create_credential("admin", [], "first admin")
    locked = Storage.open(url)  # a command run without the server's passphrase
    try:
        for n in range(3):
            locked.repos.credentials.create_enrol_code(f"site-{n}")
        locked.repos.audit.record("cli", "import-bundle", {"device": "dev-x", "stored": 2})
    finally:
        locked.close()
    store.repos.audit.record("cli", "import-bundle", {"device": "dev-y", "stored": 1})
    if replace_key:
        with crypto.permitting_test_parameters():
            store.repos.keys.replace_receipt_key(
                SERVER_PASSPHRASE, kdf=crypto.KdfParams.for_tests()
            )
    for n in range(3):
        store.repos.credentials.create_enrol_code(f"after-{n}")
    locked = Storage.open(url)
    try:
        locked.repos.audit.record("cli", "retention", {"destroyed": 0})
    finally:
        locked.close()
    store.repos.audit.checkpoint()
    return store


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = cli.main(list(args))
    out = capsys.readouterr().out
    return code, json.loads(out) if "--json" in args else {"text": out}


def test_the_log_the_product_writes_verifies_and_names_its_head(
    db_url: str, org: SimOrg, capsys: pytest.CaptureFixture[str]
) -> None:
    store = build_log(db_url, org)
    try:
        report = store.verify_audit()
        assert report.ok, report.to_json()
        assert report.unanchored == 0
        assert report.checkpoints >= 6
        assert len(report.trusted_keys) == 2  # the replaced key, vouched for by the new one
        with store.engine.connect() as conn:
            actions = [r.action for r in conn.execute(sa.select(t.audit.c.action))]
        assert actions.count("receipt-key-created") == 2  # (PostgreSQL too)
        code, data = run_cli(capsys, "audit", "verify", "--db", db_url, "--json")
        assert code == 0
        assert data["ok"] is True
        assert data["entries"] == report.entries == store.repos.reporting.count("audit")
        head = data["head"]
        assert isinstance(head, dict)
        kept = f"{head['id']}:{head['hash']}"
        code, _ = run_cli(capsys, "audit", "verify", "--db", db_url, "--expect-head", kept)
        assert code == 0
        # appended without the key: chained, reported as not yet signed (exit 1 only --strict)
        locked = Storage.open(db_url)
        try:
            locked.repos.audit.record("cli", "import-bundle", {"device": "dev-z"})
        finally:
            locked.close()
        code, data = run_cli(capsys, "audit", "verify", "--db", db_url, "--json")
        assert (code, data["unanchored"]) == (0, 1)
        assert "checkpoint" in str(data["warning"])
        code, data = run_cli(capsys, "audit", "verify", "--db", db_url, "--strict")
        assert code == 1
        assert "audit checkpoint" in str(data["text"])
        store.repos.audit.checkpoint()
        code, data = run_cli(capsys, "audit", "verify", "--db", db_url, "--json", "--strict")
        assert (code, data["unanchored"]) == (0, 0)
    finally:
        store.close()


def test_the_cli_names_the_first_broken_entry_in_both_languages(
    db_url: str, org: SimOrg, capsys: pytest.CaptureFixture[str]
) -> None:
    store = build_log(db_url, org, replace_key=False)
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.update(t.audit).where(t.audit.c.id == 3).values(actor="someone"))
        code, data = run_cli(capsys, "audit", "verify", "--db", db_url, "--json")
        assert code == 1
        assert data["broken"] == {"entry": 3, "reason": "edited", "after": 2}
        message = data["message"]
        assert isinstance(message, dict)
        assert "entry 3" in message["en"]
        assert "entrada 3" in message["es"]
        assert cli.main(["audit", "verify", "--db", db_url]) == 1
        assert "entry 3 no longer matches its hash" in capsys.readouterr().err
        assert cli.main(["audit", "verify", "--db", db_url, "--expect-head", "nonsense"]) == 1
        assert "ID:HASH" in capsys.readouterr().err
    finally:
        store.close()


def test_concurrent_appends_keep_one_linear_chain(db_url: str, org: SimOrg) -> None:
    """Several server processes (each its own engine) and threads append at once: every entry
    is there once, each follows exactly one other, and the chain verifies."""
    store = open_storage(db_url)
    store.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    others = [Storage.open(db_url) for _ in range(2)]  # other processes, without the key
    writers = [store, *others]
    per_thread, threads_per_writer = 15, 2
    errors: list[BaseException] = []

    def work(writer: Storage, name: str) -> None:
        try:
            for n in range(per_thread):
                writer.repos.audit.record(name, "import-bundle", {"n": n})
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    try:
        before = store.repos.reporting.count("audit")
        threads = [
            threading.Thread(target=work, args=(writer, f"w{w}-{k}"))
            for w, writer in enumerate(writers)
            for k in range(threads_per_writer)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        appended = len(writers) * threads_per_writer * per_thread
        assert store.repos.reporting.count("audit") == before + appended
        report = store.verify_audit()
        assert report.ok, report.to_json()
        with store.engine.connect() as conn:
            prevs = [r.prev for r in conn.execute(sa.select(t.audit.c.prev))]
        assert len(prevs) == len(set(prevs))
    finally:
        for writer in writers:
            writer.close()


def test_checkpoint_needs_the_passphrase(
    tmp_path: Path, org: SimOrg, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "server.sqlite3")
    build_log(url, org, replace_key=False).close()
    locked = Storage.open(url)
    try:
        locked.repos.audit.record("cli", "import-bundle", {})
    finally:
        locked.close()
    secret = tmp_path / "pass"
    secret.write_bytes(SERVER_PASSPHRASE + b"\n")
    with crypto.permitting_test_parameters():
        code, data = run_cli(
            capsys, "audit", "checkpoint", "--db", url, "--passphrase-file", str(secret), "--json"
        )
    assert code == 0
    code, data = run_cli(capsys, "audit", "verify", "--db", url, "--json", "--strict")
    assert (code, data["unanchored"]) == (0, 0)

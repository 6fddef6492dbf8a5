"""The audit log sealed for the team: ``audit`` envelopes of who, when, what and which record,
each entry once, the mark of how far it was sealed kept across a key rotation."""

from __future__ import annotations

import json
from typing import Any

from fieldscreen import crypto
from fieldscreen.vault import Vault
from fieldscreen.vault import records as records_module

from .conftest import PASS


def _opened(vault: Vault, org: dict[str, bytes]) -> list[dict[str, Any]]:
    out = []
    for item in vault.outbox_page():
        if item.kind != "audit":
            continue
        info = crypto.record_sealing_info(
            item.record_id, item.form_id, item.form_version, item.device_id
        )
        assert item.sealed is not None
        plain = crypto.open_sealed(org["sealing_private"], item.sealed, info=info, aad=b"")
        out.append(json.loads(crypto.unpad(plain)))
    return out


def _entries(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for p in payloads for e in p["content"]["entries"]]


def test_each_entry_is_sealed_once_without_answers(vault: Vault, org: dict[str, bytes]) -> None:
    rid = vault.new_draft("screening", "1", {"name": "Secreto Nombre"})
    vault.load_record(rid)
    vault.finalise(rid, record={"name": "Secreto Nombre"}, case_card={"alias": "Alias Privado"})
    first = vault.seal_audit_segments()
    assert first["segments"] == 1
    assert vault.seal_audit_segments() == {"segments": 0, "entries": 0}
    rid2 = vault.new_draft("screening", "1", {})
    second = vault.seal_audit_segments()
    assert second == {"segments": 1, "entries": 1}
    payloads = _opened(vault, org)
    entries = _entries(payloads)
    seqs = [e["seq"] for e in entries]
    assert seqs == list(range(1, len(seqs) + 1)) == [e.seq for e in vault.audit_log()]
    assert {"create", "finalise"} <= {e["a"] for e in entries}
    assert entries[-1] == {
        "seq": seqs[-1],
        "t": entries[-1]["t"],
        "u": entries[-1]["u"],
        "a": "create",
        "r": rid2,
    }
    assert all(set(e) == {"seq", "t", "u", "a", "r"} for e in entries)
    for text in ("Secreto", "Alias Privado"):
        assert all(text not in json.dumps(p) for p in payloads)
    assert all(p["kind"] == "audit" and p["form_id"] == "audit" for p in payloads)
    assert vault.integrity_check().ok


def test_long_logs_split_into_segments(
    vault: Vault, org: dict[str, bytes], monkeypatch: Any
) -> None:
    monkeypatch.setattr(records_module, "AUDIT_SEGMENT", 3)
    for _ in range(7):
        vault.new_draft("screening", "1", {})
    counts = vault.seal_audit_segments()
    total = len(vault.audit_log())
    assert counts == {"segments": -(-total // 3), "entries": total}
    payloads = _opened(vault, org)
    assert all(len(p["content"]["entries"]) <= 3 for p in payloads)
    assert [e["seq"] for e in _entries(payloads)] == list(range(1, total + 1))


def test_the_mark_survives_a_key_rotation(vault: Vault, org: dict[str, bytes]) -> None:
    vault.new_draft("screening", "1", {})
    vault.seal_audit_segments()
    sent = len(vault.audit_log())
    vault.rotate_keys(admin_passphrase=PASS)
    counts = vault.seal_audit_segments()
    # only what came after: the rotation's own entries, never the ones already sealed
    assert counts["entries"] == len(vault.audit_log()) - sent
    seqs = [e["seq"] for e in _entries(_opened(vault, org))]
    assert seqs == list(range(1, len(vault.audit_log()) + 1))


def test_a_forged_or_removed_mark_loses_no_entry(
    vault: Vault, vault_dir: Any, org: dict[str, bytes]
) -> None:
    """Someone with the laptop's files moves the mark (another secret's ciphertext in its
    place, or the row deleted) to hide entries from the team: the log is sent again whole."""
    import sqlite3

    lost = 0
    for variant in ("swap", "delete"):
        vault.new_draft("screening", "1", {})
        vault.seal_audit_segments()
        vault.new_draft("screening", "1", {})
        conn = sqlite3.connect(vault_dir / "vault.sqlite3")
        if variant == "swap":
            conn.execute(
                "UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets "
                "WHERE name = 'org_keys') WHERE name = 'audit_sent'"
            )
        else:
            conn.execute("DELETE FROM secrets WHERE name = 'audit_sent'")
        conn.commit()
        conn.close()
        vault.seal_audit_segments()
        sent = {e["seq"] for e in _entries(_opened(vault, org))}
        lost += len({e.seq for e in vault.audit_log()} - sent)
    assert lost == 0

"""Canary scan after a full workflow (draft -> edit -> finalise -> purge, then travel mode):
a unique string typed into answers and case cards is found in no file of the profile, the
temporary folder or the logs. A control stores the same answers in a plain SQLite file and
checks that the scan finds them, so a scan that silently stopped working would fail.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from fieldscreen import crypto
from fieldscreen.paths import Paths
from fieldscreen.vault import Vault
from tests.reliability.vault_support import canary_hits

pytestmark = pytest.mark.reliability


def test_full_workflow_leaves_no_canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crypto.permit_test_parameters(True)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    paths = Paths.for_profile(tmp_path / "profile").ensure()
    canary = "CANARY-" + os.urandom(8).hex()
    now = [datetime(2026, 3, 1, tzinfo=UTC)]
    _, sealing_public = crypto.generate_sealing_keypair()
    _, signing_public = crypto.generate_signing_keypair()
    vault = Vault.create(
        paths.vault_dir,
        admin_login="admin1",
        passphrase=b"canary passphrase",
        kdf=crypto.KdfParams.for_tests(),
        clock=lambda: now[0],
    )
    vault.set_org_keys(sealing_public, signing_public)
    records = []
    for n in range(5):
        record = vault.new_draft("canary-form", "1")
        for i in range(20):
            vault.save_draft(record, {"name": f"{canary} child {n}", "answer": i})
        records.append(record)
    for record in records[:3]:
        vault.finalise(
            record,
            record={"name": f"{canary} final", "tier": "act-now"},
            case_card={"follow_up": f"{canary} card"},
        )
    vault.load_record(records[0])
    vault.case_card(records[0])
    now[0] += timedelta(days=8)
    assert vault.purge_due() == 3
    report = vault.integrity_check()
    assert report.ok
    mid_hits = canary_hits([*paths.roots, scratch], canary)
    assert vault.travel_mode()["drafts_sealed"] == 2
    vault.close()
    hits = canary_hits([*paths.roots, scratch], canary)
    print(f"\ncanary scan after the workflow: hits {len(mid_hits)}; after travel mode: {len(hits)}")
    assert mid_hits == []
    assert hits == []
    # control: the same answers in a plain SQLite file are found by the same scan
    control = sqlite_utils.Database(paths.cache / "plain.db", execute_plugins=False)
    control.table("answers").insert({"name": f"{canary} child 0"})
    control.close()
    assert canary_hits([paths.cache], canary) == [str(paths.cache / "plain.db")]

"""Every released vault format keeps opening: fixture vaults committed under tests/fixtures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.vault import UnlockFailed, Vault
from fieldscreen.vault.migrations import MIGRATIONS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    target = tmp_path / "vault-v1"
    shutil.copytree(FIXTURES / "vault-v1", target)
    return target


def test_first_released_format_opens_and_verifies(v1: Path) -> None:
    expected = json.loads((v1 / "expected.json").read_text())
    vault = Vault.open(v1)
    with pytest.raises(UnlockFailed):
        vault.unlock("fixture-admin", b"fixture specialist passphrase")
    vault.unlock("fixture-specialist", b"fixture specialist passphrase")
    assert vault.load_record(expected["draft"]) == {"q1": "draft answer", "n": 2}
    assert vault.load_record(expected["final"]) == {"q1": "final answer"}
    assert vault.case_card(expected["final"]) == {"follow_up": "yes"}
    vault.lock()
    vault.unlock("fixture-admin", b"fixture admin passphrase")
    report = vault.integrity_check()
    assert report.ok, report.to_json()
    [item] = vault.outbox_page()
    assert item.header() == expected["header"]
    assert item.sealed is not None
    info = crypto.record_sealing_info(
        item.record_id, item.form_id, item.form_version, item.device_id
    )
    payload = json.loads(
        crypto.open_sealed(
            bytes.fromhex(expected["sealing_private"]), item.sealed, info=info, aad=b""
        )
    )
    assert payload["content"] == {"q1": "final answer"}
    applied = [r["name"] for r in vault._open_store().read("SELECT name FROM migrations")]
    assert applied == [m.name for m in MIGRATIONS]  # grows as formats are added
    vault.close()

"""``fieldscreen simulate`` on the real vault: N screenings through the form engine, each a
finalised record with a sealed, signed envelope in the outbox; the same seed gives the same
screenings whether the forms are answered in one process or several."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.cli import main
from fieldscreen.device import wire_signing
from fieldscreen.paths import Paths
from fieldscreen.reports.aggregates import parse_aggregate
from fieldscreen.sync.envelope import key_id_hex, verify_envelope
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.sync.vault_bridge import envelope_from_item
from fieldscreen.vault import Vault

PASS = "correct horse battery"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture(scope="module")
def provisioning_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, sealing = crypto.generate_sealing_keypair()
    signing_private, signing = crypto.generate_signing_keypair()
    _, receipt = crypto.generate_signing_keypair()
    content = Provisioning(
        "Org", "https://sync.example.org", sealing, signing, receipt, (Site("tij1", "T", "MX"),)
    ).to_content()
    path = tmp_path_factory.mktemp("org") / "provisioning.json"
    document = sign_document("provisioning", "provisioning", "1", content, signing_private, signing)
    path.write_bytes(document.to_bytes())
    return path


def _simulate(root: Path, provisioning: Path, *extra: str) -> Path:
    data = Paths.for_profile(root).ensure().vault_dir
    Vault.create(
        data, admin_login="admin1", passphrase=PASS.encode(), kdf=crypto.KdfParams.for_tests()
    ).close()
    passfile = root.parent / f"{root.name}.pass"
    passfile.write_text(PASS, encoding="utf-8")
    common = ["--passphrase-file", str(passfile), "--json"]
    assert main(["--profile", str(root), "provision", str(provisioning), *common]) == 0
    args = ["--profile", str(root), "simulate", "--screenings", "260", "--seed", "9", *extra]
    assert main([*args, *common]) == 0
    return data


class _Day(date):
    """A fixed day: the two runs compared below must not straddle midnight (the aggregates
    carry the ISO week of the day of the run)."""

    @classmethod
    def today(cls) -> _Day:
        return cls(2026, 11, 29)  # a Sunday: the next day is in another ISO week


def test_simulate_fills_the_vault_the_same_whatever_the_workers(
    tmp_path: Path,
    provisioning_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fieldscreen.device_commands import simulate

    monkeypatch.setattr(simulate, "date", _Day)
    summaries = []
    aggregates = []
    for name, jobs in (("one", "1"), ("two", "2")):
        data = _simulate(tmp_path / name, provisioning_file, "--jobs", jobs, "--distinct", "60")
        out = capsys.readouterr().out
        summaries.append(json.loads(out[out.rindex("\n{") + 1 :]))  # after provision's
        with Vault.open(data) as vault:
            vault.unlock("admin1", PASS.encode())
            assert wire_signing(vault)
            counts = vault.outbox_counts()
            assert counts["pending"] == 260
            assert counts["sealed"] == 260
            assert len(vault.list_records("finalised")) == 260
            key_id = key_id_hex(vault.org_sealing_key() or b"")
            found = []
            cursor = 0
            while page := vault.outbox_page(limit=500, after_seq=cursor):
                for item in page:
                    envelope = envelope_from_item(item, key_id)
                    verify_envelope(envelope, vault.device_public_key)
                    if envelope.aggregate:
                        found.append(parse_aggregate(envelope.aggregate).to_json())
                cursor = page[-1].device_seq
            assert vault.integrity_check().ok
            aggregates.append(found)
    assert summaries[0]["with_aggregate"] == summaries[1]["with_aggregate"]
    assert len(aggregates[0]) == summaries[0]["with_aggregate"]
    assert aggregates[0] == aggregates[1]


def test_simulated_screenings_wait_for_a_supervisor_as_the_app_would_queue_them(
    tmp_path: Path, provisioning_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cards say what waits for a supervisor (actions recorded, kinds) as the app writes
    them, and the screenings not left waiting are signed off in the audit log: the real
    supervisor queue shows exactly the ones left waiting."""
    from fieldscreen.ui.backends import VaultBackend
    from fieldscreen.ui.preview import SampleForms
    from fieldscreen.ui.supervision import SupervisionModel

    data = _simulate(tmp_path / "w", provisioning_file, "--distinct", "40", "--waiting", "0.25")
    out = capsys.readouterr().out
    summary = json.loads(out[out.rindex("\n{") + 1 :])
    assert summary["waiting_for_supervisor"] > 0
    assert summary["signed_off"] > 0
    backend = VaultBackend(data)
    backend.unlock("admin1", PASS)
    try:
        items = SupervisionModel(backend, SampleForms()).items()
        flagged = backend.vault.supervision_candidates()
        views = [e for e in backend.vault.audit_log() if e.action == "view"]
    finally:
        backend.lock()
    assert len(items) == summary["waiting_for_supervisor"]
    # Only the flagged cards with a kind not signed off were decrypted, not every flagged one.
    cards_read = [e.detail["cards"] for e in views if e.detail.get("what") == "case-list"][-1]
    assert cards_read == summary["waiting_for_supervisor"] < len(flagged)
    assert {i.status for i in items} == {"finalised"}
    assert {k for i in items for k in i.kinds} <= {"consent-override", "act-now", "bid-required"}


def test_simulate_refuses_a_waiting_share_outside_0_to_1(
    tmp_path: Path, provisioning_file: Path
) -> None:
    with pytest.raises(AssertionError):
        _simulate(tmp_path / "x", provisioning_file, "--waiting", "1.5")

"""``fieldscreen sync`` ends with one line that counts what did not go, in the laptop's
language: records the receipt did not confirm and outbox rows changed after they were signed."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from fieldscreen.cli import main
from fieldscreen.paths import Paths
from fieldscreen.sync.commands import language
from fieldscreen.sync.commands.sync import summary_line
from fieldscreen.sync.engine import SyncSummary
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimOrg

# the travel-mode tests' profile (a vault made by the CLI) and set-up
from tests.integration.test_travel_mode import _set_up, profile  # noqa: F401

pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def test_the_summary_line_counts_unconfirmed_and_tampered_in_both_languages() -> None:
    summary = SyncSummary(delivered=3, already_held=1, unconfirmed=2, tampered=5, retries=1)
    en, es = summary_line(summary, "en"), summary_line(summary, "es")
    assert en.startswith("4 delivered, 0 conflicts")
    assert "2 unconfirmed" in en
    assert "5 changed on this laptop" in en
    assert "2 sin confirmar" in es
    assert "5 modificados en esta computadora" in es
    assert "\n" not in en + es


def test_the_summary_line_says_what_went_with_the_handovers_in_both_languages() -> None:
    quiet = summary_line(SyncSummary(delivered=1), "en")
    assert "Handover" not in quiet  # no handover moved: nothing said
    summary = SyncSummary(handovers_sent=2, handovers_queued=1, handover_acks=1)
    summary.handover_acks_refused = 1
    en, es = summary_line(summary, "en"), summary_line(summary, "es")
    assert "Handover packets: 2 sent to the server, 1 still queued" in en
    assert "1 partner acknowledgements applied, 1 refused" in en
    assert "Paquetes de traspaso: 2 enviados al servidor, 1 aún en cola" in es
    assert "\n" not in en + es


def test_the_language_is_the_option_then_the_laptops_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse

    monkeypatch.setenv("LANG", "es_MX.UTF-8")
    assert language(argparse.Namespace()) == "es"
    assert language(argparse.Namespace(lang=None, device_language="en")) == "en"
    assert language(argparse.Namespace(lang="es", device_language="en")) == "es"
    monkeypatch.setenv("LANG", "C")
    assert language(argparse.Namespace(device_language="fr")) == "en"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fieldscreen_sync_says_in_spanish_that_a_changed_row_was_held(  # noqa: PLR0917
    profile: Path,  # noqa: F811 -- the fixture
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _set_up(profile, tmp_path, org, storage, server.url, capsys)
    passfile = str(profile.parent / "pass.txt")
    base = ["--profile", str(profile)]
    assert main([*base, "simulate", "--screenings", "3", "--passphrase-file", passfile]) == 0
    capsys.readouterr()
    conn = sqlite3.connect(Paths.for_profile(profile).vault_dir / "vault.sqlite3")
    with conn:  # anyone with the laptop's files: one byte of one sealed copy, its hash redone
        rid, sealed = conn.execute("SELECT record_id, sealed FROM outbox LIMIT 1").fetchone()
        flipped = bytes([sealed[0] ^ 1]) + bytes(sealed[1:])
        conn.execute(
            "UPDATE outbox SET sealed = ?, payload_sha256 = ? WHERE record_id = ?",
            (flipped, hashlib.sha256(flipped).hexdigest(), rid),
        )
    conn.close()
    code = main([*base, "--lang", "es", "sync", "--passphrase-file", passfile])
    out, err = capsys.readouterr()
    assert code == 1, err  # a script notices
    line = out.strip().splitlines()[-1]
    assert line.startswith("2 entregados"), line  # the audit log's segment apart
    assert "0 sin confirmar" in line
    assert "1 modificados en esta computadora" in line
    code = main([*base, "sync", "--passphrase-file", passfile, "--json"])
    out, _ = capsys.readouterr()
    assert (code, json.loads(out)["tampered"]) == (0, 0)  # held: not checked, not sent again


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_screening_relabelled_as_the_audit_log_is_held_not_hidden_from_the_counts(  # noqa: PLR0917
    profile: Path,  # noqa: F811 -- the fixture
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Anyone with the laptop's files marks screenings' outbox rows as audit segments (which no
    count of screenings shows): the kind is signed, so the rows are held as changed, never sent
    and never delivered uncounted; the genuine segment is counted apart."""
    _set_up(profile, tmp_path, org, storage, server.url, capsys)
    passfile = str(profile.parent / "pass.txt")
    base = ["--profile", str(profile)]
    assert main([*base, "simulate", "--screenings", "3", "--passphrase-file", passfile]) == 0
    capsys.readouterr()
    conn = sqlite3.connect(Paths.for_profile(profile).vault_dir / "vault.sqlite3")
    with conn:
        ids = [r[0] for r in conn.execute("SELECT record_id FROM outbox ORDER BY device_seq")]
        conn.executemany(
            "UPDATE outbox SET kind = 'audit' WHERE record_id = ?", [(rid,) for rid in ids[:2]]
        )
    conn.close()
    code = main([*base, "sync", "--passphrase-file", passfile, "--json"])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 1, err
    assert sorted(summary["tampered_ids"]) == sorted(ids[:2])
    assert (summary["delivered"], summary["audit_envelopes"]) == (1, 1)
    held = {e.record_id: e.kind for e in storage.repos.reporting.iter_envelopes()}
    assert ids[2] in held
    assert not set(ids[:2]) & set(held)  # applied 0, silently accepted 0
    assert sorted(held.values()) == ["audit", "screening"]

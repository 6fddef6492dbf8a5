"""The audit log view walks the chain: an entry deleted from the middle, edited, moved, or the
newest ones removed, is said with the entry where the chain breaks, never shown as a shorter log.

Played by someone with the laptop's files: the audit table is edited with SQLite's own
connection while the vault is closed; then the vault is opened and its real view read. Counted
over seeded variants: shown short silently 0.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.vault import Vault, VaultError
from fieldscreen.vault.base import DB_NAME
from fieldscreen.vault.cli_status import run as status_run
from tests.unit.vault.conftest import LOGIN, PASS

VARIANTS = 16


def _make(folder: Path, org: dict[str, bytes], rng: random.Random) -> int:
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    for n in range(rng.randint(3, 6)):
        vault.load_record(vault.new_draft("f", "1", {"n": n}))
    count = len(vault.audit_log())
    vault.close()
    return count


def _tamper(folder: Path, rng: random.Random) -> tuple[str, int]:
    """Edit the audit table; the kind and the first entry it breaks."""
    raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    try:
        newest = raw.execute("SELECT max(seq) FROM audit").fetchone()[0]
        how = rng.choice(["middle", "tail", "moved", "edited"])
        seq = rng.randint(2, newest - 1)
        if how == "middle":
            raw.execute("DELETE FROM audit WHERE seq = ?", (seq,))
        elif how == "tail":
            raw.execute("DELETE FROM audit WHERE seq >= ?", (seq,))
        elif how == "moved":  # an entry replaced by its neighbour's bytes
            ct, mac = raw.execute(
                "SELECT ciphertext, mac FROM audit WHERE seq = ?", (seq - 1,)
            ).fetchone()
            raw.execute("UPDATE audit SET ciphertext = ?, mac = ? WHERE seq = ?", (ct, mac, seq))
        else:
            (ct,) = raw.execute("SELECT ciphertext FROM audit WHERE seq = ?", (seq,)).fetchone()
            flipped = bytearray(ct)
            flipped[rng.randrange(len(flipped))] ^= 1
            raw.execute("UPDATE audit SET ciphertext = ? WHERE seq = ?", (bytes(flipped), seq))
        return how, seq
    finally:
        raw.close()


def test_an_intact_log_is_shown_whole(vault: Vault) -> None:
    vault.new_draft("f", "1", {"n": 1})
    found, report = vault.audit_log_report()
    assert report.intact
    assert report.first_bad_seq is None
    assert [e.seq for e in found] == list(range(1, len(found) + 1))
    assert [e.seq for e in vault.audit_log()] == [e.seq for e in found]


def test_a_broken_chain_is_said_where_it_breaks_counted_over_variants(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(900 + seed)
        folder = tmp_path / f"v{seed}"
        _make(folder, org, rng)
        how, seq = _tamper(folder, rng)
        with Vault.open(folder) as vault:
            vault.unlock(LOGIN, PASS)
            error: VaultError | None = None
            try:
                vault.audit_log()
            except VaultError as raised:
                error = raised
            if error is None:
                tally["shown short silently"] += 1
            else:
                assert error.code == "vault-audit-broken"
                # the break is named at the first entry that no longer checks
                assert error.context["seq"] == seq, (how, error.context)
                assert f"entry {seq}" in error.message("en")
                assert f"entrada {seq}" in error.message("es")
                tally["said where it breaks"] += 1
            found, report = vault.audit_log_report()
            assert not report.intact
            assert report.first_bad_seq == seq
            assert [e.seq for e in found] == list(range(1, seq))  # what checks, no more
            alerts = [
                e for e in found if e.action == "integrity-alert" and e.detail.get("from") == seq
            ]
            assert not alerts  # audited after the break, so not among what checks
            report_full = vault.integrity_check()
            assert not report_full.audit_intact
            assert report_full.audit_first_bad == seq
        tally[f"kind {how}"] += 1
    print(f"\nbroken audit chains: {dict(tally)}")
    assert tally["shown short silently"] == 0
    assert tally["said where it breaks"] == VARIANTS


def test_status_check_names_the_entry_where_the_chain_breaks(
    tmp_path: Path, org: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    profile = tmp_path / "profile"
    folder = profile / "data" / "vault"
    _make(folder, org, random.Random(3))
    raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    raw.execute("DELETE FROM audit WHERE seq = 3")
    raw.close()
    passphrase = tmp_path / "pass.txt"
    passphrase.write_bytes(PASS + b"\n")
    args = argparse.Namespace(
        profile=str(profile),
        check=True,
        user=LOGIN,
        passphrase_file=str(passphrase),
        json=False,
        lang="en",
    )
    assert status_run(args) == 1
    assert "its chain breaks at entry 3" in capsys.readouterr().out

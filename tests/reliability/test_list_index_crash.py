"""``kill -9`` of a writer finalising screenings: the case list's index equals the case cards
after every crash (checked as stored, before any read repairs it), acknowledged cards lost 0,
and no card's list fields on disk in plaintext.

Each trial forks a writer that finalises screenings as fast as it can, alternating single
finalises with bulk groups (one transaction for many cards, as ``fieldscreen simulate`` does),
acknowledging each group on a pipe only after its transaction committed. The parent kills it
with SIGKILL at a random moment, reopens the vault and compares the stored index with the cards.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.vault import Vault
from tests.reliability.test_vault_autosave_crash import _read_acks
from tests.reliability.vault_support import canary_hits, count, fork, kill

pytestmark = pytest.mark.reliability

PASS = b"reliability passphrase"


def _writer(folder: Path, canary: str, tmp: Path, seed: int) -> object:
    def run(fd: int) -> None:
        import tempfile

        tempfile.tempdir = str(tmp)
        os.environ["TMPDIR"] = str(tmp)
        crypto.permit_test_parameters(True)
        rng = random.Random(seed)
        vault = Vault.open(folder)
        vault.unlock("admin1", PASS)
        os.write(fd, b"S\n")
        while True:
            group = rng.choice((1, 1, 5, 40))
            with vault.bulk():
                for _ in range(group):
                    rid = vault.new_draft("crash-form", "1", {"n": 1})
                    card = {"alias": f"{canary} {rng.random()}", "tier": "T2", "x": "y" * 300}
                    vault.finalise(rid, record={"n": 1}, case_card=card)
            os.write(fd, f"A {group}\n".encode())

    return run


def test_kill_9_while_finalising_leaves_index_equal_to_cards(tmp_path: Path) -> None:
    crypto.permit_test_parameters(True)
    trials = count(25, 250)
    folder = tmp_path / "profile" / "data"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    canary = "CANARY-" + os.urandom(8).hex()
    vault = Vault.create(
        folder, admin_login="admin1", passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    _, sealing = crypto.generate_sealing_keypair()
    _, signing = crypto.generate_signing_keypair()
    vault.set_org_keys(sealing, signing)
    vault.close()
    rng = random.Random(20261129)
    acknowledged = lost = inconsistent = killed_with_cards = 0
    cards_before = 0
    for trial in range(trials):
        pid, read_fd = fork(_writer(folder, canary, scratch, trial))  # type: ignore[arg-type]
        lines = _read_acks(read_fd, time.monotonic() + 10.0, until="S")
        assert lines, "writer did not start"
        lines += _read_acks(read_fd, time.monotonic() + 0.1 + rng.random() * 0.3)
        kill(pid)
        lines += _read_acks(read_fd, time.monotonic() + 0.01)
        os.close(read_fd)
        acked = sum(int(line[2:]) for line in lines if line.startswith("A "))
        acknowledged += acked
        vault = Vault.open(folder)
        vault.unlock("admin1", PASS)
        check = vault.list_index_check()  # as stored: nothing has repaired it
        inconsistent += not check.consistent
        lost += check.cards < cards_before + acked
        killed_with_cards += check.cards > cards_before
        cards_before = check.cards
        vault.close()
    vault = Vault.open(folder)
    vault.unlock("admin1", PASS)
    listed = sum(1 for row in vault.case_list() if row.fields)
    report = vault.integrity_check()
    final = vault.list_index_check()
    vault.close()
    hits = canary_hits([folder.parent, scratch], canary)
    print(
        f"\nkill -9 while finalising: trials {trials}, acknowledged cards {acknowledged}, "
        f"cards {final.cards}, index entries {final.entries}, listed {listed}, "
        f"index unequal to cards {inconsistent}, lost {lost}, "
        f"integrity failures {len(report.failed)}, canary hits {len(hits)}"
    )
    assert (inconsistent, lost) == (0, 0)
    assert final.cards == final.entries == listed
    assert report.ok, report.to_json()
    assert hits == []
    assert killed_with_cards > trials // 2  # the writer really was writing when killed
